// Off-server copies and rebuilding a lost server (issue 15) on sandbox servers: setup gives the database server a
// key and the copy server an account that key may use only to add and read dumps; a backup is copied and checked
// on arrival; the account can reach nothing else; a damaged copy is found by its checksum and by restore --verify;
// then the first server is powered off for good and `recover` rebuilds it on a fresh one, from the copy, with the
// same rows and the same commit served. One story in order: each test builds on the one before it.
import { afterAll, describe, expect, it } from 'vitest';
import { AppRepo, http, onServer, waitFor, type CliResult } from './helpers/python-app.js';
import { startSandboxes, stopSandboxes, useSandboxes, type TestServer } from './helpers/sandbox.js';
import { setupItems } from './helpers/setup-report.js';

const COPIES = '/var/backups/slipway/shop';
const KEY = '/etc/slipway/backup-copies/shop/id_ed25519';

const items = setupItems;

const visits = (server: TestServer) => onServer(server, "cd / && runuser -u postgres -- psql -AtX -d shop -c 'SELECT count(*) FROM visits_visit'").then(Number);
const copiedName = (result: CliResult) => /copied (\S+-manual\.dump) to e2e-vault \(sha256 [0-9a-f]{12}, checked there\)/.exec(result.stdout)?.[1];

/** The backup account's forced command, asked from the database server with its key: exit code and output. */
async function asAccount(from: TestServer, vault: TestServer, request: string, stdin = ''): Promise<{ code: number; out: string }> {
  const ssh = `ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -i ${KEY} -o UserKnownHostsFile=/etc/slipway/backup-copies/shop/known_hosts -o StrictHostKeyChecking=yes shop-backups@${vault.address}`;
  const result = await from.run(`printf '%s' '${stdin}' | ${ssh} ${JSON.stringify(request)} 2>&1; echo "exit=$?"`);
  const out = result.stdout.trimEnd();
  const code = Number(/exit=(\d+)$/.exec(out)?.[1] ?? -1);
  return { code, out: out.replace(/\n?exit=\d+$/, '') };
}

describe('copies of the dumps on another server, and a lost server rebuilt from them', () => {
  const servers = useSandboxes(['e2e-rec1', 'e2e-vault']);
  const db = () => servers[0]!;
  const vault = () => servers[1]!;
  let fresh: TestServer | undefined;
  let repo: AppRepo;
  let first: string;
  afterAll(async () => {
    await stopSandboxes(['e2e-rec2']);
    await repo?.remove();
  });

  it('setup makes a key on the database server and, on the copy server, an account for that key alone', async () => {
    repo = await AppRepo.create('django-app', ['e2e-rec1'], {
      http: { enabled: true, default_server: true },
      setup: { ufw: false, unattended_upgrades: false },
      backups: { copy_to: [{ sandbox: 'e2e-vault', retention_days: 60 }] },
    });
    const made = await repo.cli('setup', 'sandbox');
    expect(made.code, made.stderr + made.stdout).toBe(0);
    expect(items(made, 'e2e-vault')).toEqual([
      'changed Backup account shop-backups: adds and reads dumps in /var/backups/slipway/shop, nothing else',
      'changed Copies older than 60 days deleted daily (shop-backup-copies-expire.timer)',
    ]);
    expect(items(made, 'e2e-rec1').slice(-2)).toEqual(['changed Key for the backup copies', 'changed Every dump copied to e2e-vault']);

    const state = await onServer(vault(), `stat -c '%a %U %n' ${COPIES} /var/lib/slipway/backup-accounts/shop-backups/.ssh/authorized_keys; systemctl is-enabled shop-backup-copies-expire.timer`);
    expect(state.split('\n')).toEqual([`700 shop-backups ${COPIES}`, '644 root /var/lib/slipway/backup-accounts/shop-backups/.ssh/authorized_keys', 'enabled']);
    // The authorized key is the database server's, limited to the receiver.
    const publicKey = await onServer(db(), `cut -d' ' -f1,2 ${KEY}.pub`);
    expect(await onServer(vault(), 'cat /var/lib/slipway/backup-accounts/shop-backups/.ssh/authorized_keys')).toBe(`restrict,command="/usr/local/lib/slipway/shop-backup-receive.sh" ${publicKey} slipway backup copies of shop on e2e-rec1`);

    const again = await repo.cli('setup', 'sandbox');
    expect(again.code, again.stderr).toBe(0);
    expect([...items(again, 'e2e-vault'), ...items(again, 'e2e-rec1')].filter((i) => !i.startsWith('ok ') && !i.startsWith('skipped '))).toEqual([]);
  });

  it('a backup is copied, checked on arrival, and listed where it exists', async () => {
    await repo.commit('v1');
    await repo.deploy();
    // The deploy's dump before migrating goes off the server in the background.
    const premigrate = await waitFor(() => onServer(vault(), `ls ${COPIES} | grep -- '-pre-migrate\\.dump$' || true`), (names) => names !== '', 10_000);
    expect(premigrate, await onServer(db(), 'journalctl -u shop-backup-copy.service -o cat | tail -5')).toMatch(/^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{7}-pre-migrate\.dump$/);
    for (let i = 0; i < 3; i++) expect((await http(db(), 'http://127.0.0.1/')).status).toBe(200);
    const made = await repo.cli('backup', 'sandbox');
    expect(made.code, made.stderr + made.stdout).toBe(0);
    first = copiedName(made)!;
    expect(first, made.stdout).toMatch(/^\d{8}T\d{6}\.\d{3}Z-manual\.dump$/);

    const local = await onServer(db(), `sha256sum < /opt/shop/shared/backups/${first} | cut -d' ' -f1`);
    expect(await onServer(vault(), `cat ${COPIES}/${first}.sha256; stat -c '%a %U' ${COPIES}/${first}; sha256sum < ${COPIES}/${first} | cut -d' ' -f1`)).toBe(`${local}  ${first}\n600 shop-backups\n${local}`);

    const listed = await repo.cli('backups', 'sandbox', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    const json = JSON.parse(listed.stdout) as { hosts: { backups: { name: string; copies: string[] }[] }[]; copies: { copy: string; live?: { sha: string }; files: { name: string; sum: string; state: string }[] }[] };
    expect(json.hosts[0]!.backups.find((b) => b.name === first)?.copies).toEqual(['e2e-vault']);
    expect(json.copies[0]!.files.map((f) => [f.name, f.sum])).toContainEqual([first, local]);
    // The live release went with the copy, for `recover`.
    const { current } = await repo.releases();
    expect(current!.endsWith(json.copies[0]!.live!.sha.slice(0, 7))).toBe(true);
  });

  it('the backup account reaches nothing but its directory, and never deletes or overwrites a copy', async () => {
    const from = db();
    const held = await onServer(vault(), `cd ${COPIES} && sha256sum *`);
    const other = '0'.repeat(64);
    const refused = async (request: string, why: RegExp) => {
      const answer = await asAccount(from, vault(), request);
      expect(answer.code, `${request}: ${answer.out}`).not.toBe(0);
      expect(answer.out, request).toMatch(why);
    };
    await refused('cat /etc/passwd', /^refused: this key may only list, put, get and live/);
    await refused(`rm -rf ${COPIES}`, /^refused: this key may only list/);
    await refused('get ../../../../etc/shadow', /^refused: \.\.\/\.\.\/\.\.\/\.\.\/etc\/shadow is not a dump name/);
    await refused('get /etc/shadow', /is not a dump name/);
    await refused(`put ../escape.dump ${other}`, /is not a dump name/);
    await refused(`put ${first} ${other}`, /exists with another checksum: a copy is never overwritten/);
    await refused('bash -i', /^refused/);
    // What it may do: list, and read a copy back.
    const list = await asAccount(from, vault(), 'list');
    expect(list.code, list.out).toBe(0);
    expect(list.out).toContain(` ${first}`);
    // sftp and scp are requests like any other: refused.
    const sftp = await from.run(`echo 'get ${COPIES}/${first} /tmp/x' | sftp -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -i ${KEY} -o UserKnownHostsFile=/etc/slipway/backup-copies/shop/known_hosts shop-backups@${vault().address} 2>&1; echo "exit=$?"`);
    expect(sftp.stdout).not.toMatch(/exit=0$/m);
    expect(await onServer(vault(), `cd ${COPIES} && sha256sum *`)).toBe(held);
  });

  it('a damaged copy is found by its checksum and by restore --verify; a sound one verifies', async () => {
    // One byte flipped in the middle of the copy.
    await onServer(vault(), `f=${COPIES}/${first}; n=$(( $(stat -c %s $f) / 2 )); b=$(dd if=$f bs=1 skip=$n count=1 2>/dev/null | od -An -tu1 | tr -d ' '); printf "\\\\$(printf %03o $(( (b + 1) % 256 )))" | dd of=$f bs=1 seek=$n conv=notrunc 2>/dev/null`);
    const checked = await repo.cli('backups', 'sandbox', '--check');
    expect(checked.code).toBe(1);
    expect(checked.stdout).toMatch(new RegExp(`^e2e-vault\\s+${first.replaceAll('.', '\\.')}\\s+.*\\s+damaged$`, 'm'));
    expect(checked.stderr).toContain(`damaged copies (their checksum is not the one recorded when they arrived): e2e-vault: ${first}`);

    const verify = await repo.cli('restore', 'sandbox', first, '--verify', '--from', 'e2e-vault');
    expect(verify.code).toBe(1);
    expect(verify.stderr).toMatch(new RegExp(`the copy of ${first.replaceAll('.', '\\.')} on e2e-vault is damaged: its checksum is [0-9a-f]{64}, recorded [0-9a-f]{64}`));
    // Nothing of it stays on the database server.
    expect(await onServer(db(), 'ls -A /opt/shop/shared/backups | grep -c verify || true')).toBe('0');

    expect((await http(db(), 'http://127.0.0.1/')).status).toBe(200);
    const second = copiedName(await repo.cli('backup', 'sandbox'))!;
    const good = await repo.cli('restore', 'sandbox', second, '--verify', '--from', 'e2e-vault');
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(new RegExp(`^e2e-vault \\(via e2e-rec1\\): ${second.replaceAll('.', '\\.')} ok: \\d+ tables, [1-9]\\d* rows restored, as in the dump$`, 'm'));
  });

  it('the restore drill restores the newest copy on its timer, and status shows the result', async () => {
    expect(await onServer(db(), 'systemctl is-enabled shop-restore-drill.timer')).toBe('enabled');
    await onServer(db(), 'systemctl start shop-restore-drill.service');
    const status = await repo.cli('status', 'sandbox');
    expect(status.code, status.stderr).toBe(0);
    const newest = (await onServer(vault(), `ls -1t ${COPIES}/*.dump | head -n 1`)).split('/').pop()!;
    expect(status.stdout).toMatch(new RegExp(`drill +restore ok at \\S+Z: ${newest.replaceAll('.', '\\.')} from e2e-vault: \\d+ tables, [1-9]\\d* rows restored, as in the dump`));
  });

  it('the first server powered off for good, recover rebuilds it on a fresh one with the same rows and commit', async () => {
    for (let i = 0; i < 2; i++) expect((await http(db(), 'http://127.0.0.1/')).status).toBe(200);
    const last = await repo.cli('backup', 'sandbox');
    expect(copiedName(last), last.stdout).toBeDefined();
    const rows = await visits(db());
    expect(rows).toBeGreaterThanOrEqual(6);
    const { current } = await repo.releases();

    await stopSandboxes(['e2e-rec1']);
    [fresh] = await startSandboxes(['e2e-rec2']);
    const started = Date.now();
    const recovered = await repo.cli('recover', 'sandbox', '--sandbox', 'e2e-rec2');
    expect(recovered.code, recovered.stderr + recovered.stdout).toBe(0);
    console.log(`[recovery] recover took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(recovered.stdout).toContain(`restored ${copiedName(last)} from e2e-vault; deployed `);
    expect(recovered.stdout).toMatch(/^recovered sandbox onto e2e-rec2 in \d+\.\d s:$/m);
    expect(recovered.stdout).toMatch(/^ +\d+\.\d s {2}Set up e2e-rec2$/m);
    expect(recovered.stdout).toContain('now point deploy-sandbox.yml at the new server: servers[0] (e2e-rec1): sandbox: e2e-rec2');

    expect(await visits(fresh!)).toBe(rows);
    const sha7 = current!.slice(-7);
    expect(await onServer(fresh!, 'basename "$(readlink /opt/shop/current)"')).toMatch(new RegExp(`-${sha7}$`));
    const page = await http(fresh!, 'http://127.0.0.1/version/');
    expect(page).toEqual({ status: 200, body: 'v1\n' });
    // The copy server now lets in the new server's key alone.
    const publicKey = await onServer(fresh!, `cut -d' ' -f1,2 ${KEY}.pub`);
    expect(await onServer(vault(), 'cat /var/lib/slipway/backup-accounts/shop-backups/.ssh/authorized_keys')).toBe(`restrict,command="/usr/local/lib/slipway/shop-backup-receive.sh" ${publicKey} slipway backup copies of shop on e2e-rec2`);
  });
});
