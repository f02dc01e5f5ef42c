// Rebuilding a lost database server of a multi-server environment (issue 15 on issue 9's topology): web1 (role
// web) runs the Django example against PostgreSQL on db1 (role db), whose dumps are copied to a vault. db1 is
// powered off for good; `recover --server db1` rebuilds it on a fresh server from the vault's copy, and the
// deploy that ends the recovery points web1 at the new database server: the same rows are read through web1,
// and PostgreSQL on the new server takes web1 only, over TLS.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AppRepo, expectPostgresTlsOnly, http, onServer, psqlTo } from './helpers/python-app.js';
import { startSandboxes, stopSandboxes, useSandboxes, type TestServer } from './helpers/sandbox.js';

const NAMES = ['e2e-rt-db1', 'e2e-rt-web1', 'e2e-rt-vault'];
const FRESH = 'e2e-rt-db2';

describe('a lost database server of a multi-server environment, rebuilt by recover', () => {
  const servers = useSandboxes(NAMES);
  const [db1, web1] = [0, 1].map((i) => () => servers[i]!) as [() => TestServer, () => TestServer];
  let fresh: TestServer | undefined;
  let repo: AppRepo;
  const visits = (server: TestServer) => onServer(server, "cd / && runuser -u postgres -- psql -AtX -d shop -c 'SELECT count(*) FROM visits_visit'").then(Number);

  beforeAll(async () => {
    repo = await AppRepo.create('django-app', NAMES);
    const roles: Record<string, string[]> = { 'e2e-rt-db1': ['db'], 'e2e-rt-web1': ['web'] };
    await writeFile(
      join(repo.dir, 'deploy-sandbox.yml'),
      stringify({
        // The vault is a copy server, not one of the environment's: it is named by copy_to only.
        servers: NAMES.slice(0, 2).map((sandbox) => ({ sandbox, roles: roles[sandbox] })),
        http: { enabled: true, default_server: true },
        setup: { ufw: false, unattended_upgrades: false, ssh_hardening: false },
        backups: { copy_to: [{ sandbox: 'e2e-rt-vault' }], verify_schedule: 'off' },
      }),
    );
    await repo.commit('v1');
  });
  afterAll(async () => {
    await stopSandboxes([FRESH]);
    await repo?.remove();
  });

  it('setup, deploy, rows written through web1 into db1, a backup copied to the vault', async () => {
    const setup = await repo.cli('setup', 'sandbox');
    expect(setup.code, setup.stderr + setup.stdout).toBe(0);
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);
    for (let i = 0; i < 3; i++) expect((await http(web1(), 'http://127.0.0.1/')).status).toBe(200);
    expect(await visits(db1())).toBeGreaterThanOrEqual(3);
    const backup = await repo.cli('backup', 'sandbox');
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/copied \S+-manual\.dump to e2e-rt-vault \(sha256 [0-9a-f]{12}, checked there\)/);
  });

  it('db1 powered off for good: recover --server db1 rebuilds it, and web1 serves the same rows from the new one', async () => {
    const rows = await visits(db1());
    const listed = await repo.cli('releases', 'sandbox', '--json');
    const current = (JSON.parse(listed.stdout) as { host: string; current: string | null }[]).find((h) => h.host === 'e2e-rt-web1')!.current;
    expect(current).toMatch(/-[0-9a-f]{7}$/);
    await stopSandboxes(['e2e-rt-db1']);
    [fresh] = await startSandboxes([FRESH]);

    const recovered = await repo.cli('recover', 'sandbox', '--server', 'e2e-rt-db1', '--sandbox', FRESH);
    expect(recovered.code, recovered.stderr + recovered.stdout).toBe(0);
    expect(recovered.stdout).toMatch(/restored \S+-manual\.dump from e2e-rt-vault; deployed /);
    expect(recovered.stdout).toContain(`now point deploy-sandbox.yml at the new server: servers[0] (e2e-rt-db1): sandbox: ${FRESH}`);

    expect(await visits(fresh!)).toBe(rows);
    // web1 kept its release's commit and now reads and writes the new database server.
    expect(await onServer(web1(), 'basename "$(readlink /opt/shop/current)"')).toMatch(new RegExp(`-${current!.slice(-7)}$`));
    const env = await onServer(web1(), "grep -o '@[^/]*/' /opt/shop/shared/.env | head -n 1");
    expect(env).toBe(`@${fresh!.address}:5432/`);
    expect((await http(web1(), 'http://127.0.0.1/')).status).toBe(200);
    expect(await visits(fresh!)).toBe(rows + 1);
    // The new server's PostgreSQL takes web1 alone, and only over TLS, as db1's did.
    await expectPostgresTlsOnly(psqlTo(() => fresh!, () => repo.secrets.DB_PASSWORD!), servers[2]!, web1());
  });
});
