// Copies in an S3-compatible bucket (issue 15) on sandbox servers: s3rver (from npm) on the host side of the
// sandbox network stands for the bucket. The database server copies each dump there; `backups` lists where each
// one is; `restore --verify --from` checks a copy; the server is powered off for good and `recover` rebuilds it on
// a fresh one from the bucket (its copies read through the new server, which holds the credentials once set up).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppRepo, http, onServer } from './helpers/python-app.js';
import { setupItems } from './helpers/setup-report.js';
import { startSandboxes, stopSandboxes, useSandboxes } from './helpers/sandbox.js';

describe('copies in a bucket, and a lost server rebuilt from them', () => {
  const servers = useSandboxes(['e2e-bkt1']);
  const db = () => servers[0]!;
  const store = mkdtempSync(join(tmpdir(), 'slipway-e2e-s3-'));
  let bucket: S3rver | undefined;
  let endpoint = '';
  let repo: AppRepo;
  // After the servers boot: the sandbox network's host address exists from then on.
  beforeAll(async () => {
    bucket = new S3rver({ address: '10.77.0.1', port: 0, silent: true, directory: store, configureBuckets: [{ name: 'shop-offsite', configs: [] }] });
    endpoint = `http://10.77.0.1:${(await bucket.run()).port}`;
  });
  afterAll(async () => {
    await stopSandboxes(['e2e-bkt2']);
    await bucket?.close();
    rmSync(store, { recursive: true, force: true });
    await repo?.remove();
  });
  const visits = (server = db()) => onServer(server, "cd / && runuser -u postgres -- psql -AtX -d shop -c 'SELECT count(*) FROM visits_visit'").then(Number);

  it('setup writes the credentials for the copy script, root only; a backup goes to the bucket and is listed', async () => {
    repo = await AppRepo.create('django-app', ['e2e-bkt1'], {
      http: { enabled: true, default_server: true },
      setup: { ufw: false, unattended_upgrades: false },
      backups: { copy_to: [{ s3: { endpoint, bucket: 'shop-offsite', access_key_id: '${S3_KEY}', secret_access_key: '${S3_SECRET}' } }], verify_schedule: 'off' },
    });
    repo.secrets.S3_KEY = 'S3RVER';
    repo.secrets.S3_SECRET = 'S3RVER';
    const { appendFile } = await import('node:fs/promises');
    await appendFile(join(repo.dir, '.slipway', 'secrets-sandbox.env'), 'S3_KEY=S3RVER\nS3_SECRET=S3RVER\n');
    const made = await repo.cli('setup', 'sandbox');
    expect(made.code, made.stderr + made.stdout).toBe(0);
    const items = setupItems(made, 'e2e-bkt1');
    expect(items.at(-1)).toBe('changed Every dump copied to shop-offsite');
    expect(items.join('\n')).not.toContain('Key for the backup copies');
    expect(await onServer(db(), "stat -c '%a %U' /etc/slipway/backup-copies/shop/s3-shop-offsite.curl")).toBe('600 root');

    await repo.commit('v1');
    await repo.deploy();
    for (let i = 0; i < 4; i++) expect((await http(db(), 'http://127.0.0.1/')).status).toBe(200);
    const backup = await repo.cli('backup', 'sandbox');
    expect(backup.code, backup.stderr + backup.stdout).toBe(0);
    const name = /copied (\S+-manual\.dump) to shop-offsite \(sha256 [0-9a-f]{12}, checked there\)/.exec(backup.stdout)?.[1];
    expect(name, backup.stdout).toBeDefined();

    const listed = JSON.parse((await repo.cli('backups', 'sandbox', '--json')).stdout) as { hosts: { backups: { name: string; copies: string[] }[] }[]; copies: { copy: string; where: string; files: { name: string; state: string }[] }[] };
    expect(listed.hosts[0]!.backups.find((b) => b.name === name)?.copies).toEqual(['shop-offsite']);
    expect(listed.copies[0]).toMatchObject({ copy: 'shop-offsite', where: `${endpoint}/shop-offsite/shop/` });
    const checked = await repo.cli('backups', 'sandbox', '--check');
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toMatch(new RegExp(`^shop-offsite\\s+${name!.replaceAll('.', '\\.')}\\s+.*\\s+ok$`, 'm'));
    const verified = await repo.cli('restore', 'sandbox', name!, '--verify', '--from', 'shop-offsite');
    expect(verified.code, verified.stderr + verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(/ok: \d+ tables, [1-9]\d* rows restored, as in the dump$/m);
    // The secret is nowhere in what slipway printed or logged.
    expect(made.stdout + backup.stdout + (await repo.readLogs())).not.toContain('S3RVER:');
  });

  it('the server powered off for good, recover reads the bucket through the new server and brings every row back', async () => {
    const rows = await visits();
    await stopSandboxes(['e2e-bkt1']);
    const [fresh] = await startSandboxes(['e2e-bkt2']);
    const recovered = await repo.cli('recover', 'sandbox', '--sandbox', 'e2e-bkt2');
    expect(recovered.code, recovered.stderr + recovered.stdout).toBe(0);
    expect(recovered.stdout).toMatch(/^ +\d+\.\d s {2}Read the copies through the new server$/m);
    expect(recovered.stdout).toMatch(/^restored \S+-manual\.dump from shop-offsite; deployed /m);
    expect(await visits(fresh)).toBe(rows);
    expect(await http(fresh!, 'http://127.0.0.1/version/')).toEqual({ status: 200, body: 'v1\n' });
  });
});
