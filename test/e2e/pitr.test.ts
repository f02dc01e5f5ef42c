// Point-in-time recovery (issue 15) on sandbox servers: setup turns on WAL archiving with pgBackRest to a second
// server, which holds the repository and a first full backup; rows written through the app, the time noted, the
// rows deleted by mistake; `restore --to-time` then checks and restores the database as it was at that time, and
// every row is back. One story in order: each test builds on the one before it.
import { afterAll, describe, expect, it } from 'vitest';
import { AppRepo, http, onServer, waitFor } from './helpers/python-app.js';
import { startSandboxes, stopSandboxes, useSandboxes } from './helpers/sandbox.js';
import { setupItems } from './helpers/setup-report.js';

const items = setupItems;

describe('point-in-time recovery with pgBackRest on another server', () => {
  const servers = useSandboxes(['e2e-pitr1', 'e2e-pitr2']);
  const db = () => servers[0]!;
  const repoHost = () => servers[1]!;
  let repo: AppRepo;
  afterAll(async () => {
    await stopSandboxes(['e2e-pitr3']);
    await repo?.remove();
  });
  const visits = () => onServer(db(), "cd / && runuser -u postgres -- psql -AtX -d shop -c 'SELECT count(*) FROM visits_visit'").then(Number);

  it('setup archives the WAL to the repository host and takes a first full backup there', async () => {
    repo = await AppRepo.create('django-app', ['e2e-pitr1'], {
      http: { enabled: true, default_server: true },
      setup: { ufw: false, unattended_upgrades: false },
      backups: { copy_to: [{ sandbox: 'e2e-pitr2' }], pitr: true, verify_schedule: 'off' },
    });
    const made = await repo.cli('setup', 'sandbox');
    expect(made.code, made.stderr + made.stdout).toBe(0);
    expect(items(made, 'e2e-pitr1').slice(-4)).toEqual([
      'changed pgBackRest installed',
      'changed Key of postgres for pgBackRest',
      "changed pgBackRest: the repository host's key runs the remote as postgres, the stanza's configuration",
      'changed PostgreSQL archives its WAL to the repository host (archive_timeout 60 s): restarts PostgreSQL',
    ]);
    expect(items(made, 'e2e-pitr2').slice(-4)).toEqual([
      'changed pgBackRest installed',
      "changed pgBackRest account shop-pgbackrest: the repository in /var/lib/slipway/pgbackrest/shop, the database server's key runs its remote only",
      'changed pgBackRest stanza shop: full backups weekly (2 kept), differentials daily',
      'changed pgBackRest stanza shop: created, WAL arriving, a first full backup',
    ]);
    expect(await onServer(db(), "cd / && runuser -u postgres -- psql -AtX -c 'SHOW archive_mode' -c 'SHOW archive_timeout'")).toBe('on\n1min');
    const info = await onServer(repoHost(), 'cd / && runuser -u shop-pgbackrest -- pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --stanza=shop --output=json info');
    expect((JSON.parse(info) as { backup: { type: string }[] }[])[0]!.backup.map((b) => b.type)).toEqual(['full']);

    const again = await repo.cli('setup', 'sandbox');
    expect(again.code, again.stderr).toBe(0);
    expect([...items(again, 'e2e-pitr1'), ...items(again, 'e2e-pitr2')].filter((i) => !i.startsWith('ok ') && !i.startsWith('skipped '))).toEqual([]);
  });

  it('the repository host\'s key runs pgBackRest\'s remote on the database server and nothing else', async () => {
    const ssh = `ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -i /etc/slipway/pgbackrest/shop/id_ed25519 -o UserKnownHostsFile=/etc/slipway/pgbackrest/shop/known_hosts postgres@${db().address}`;
    const shell = await repoHost().run(`${ssh} 'cat /etc/shadow' 2>&1; echo "exit=$?"`);
    expect(shell.stdout).toMatch(/refused: this key runs pgBackRest's remote only\nexit=1/);
    const other = await repoHost().run(`${ssh} 'pgbackrest --stanza=other info:remote' 2>&1; echo "exit=$?"`);
    expect(other.stdout).toMatch(/refused: stanza shop only\nexit=1/);
  });

  it('doctor sees the archive working, then failing while the repository cannot be reached; setup will not take over another archive', async () => {
    const psql = (sql: string) => onServer(db(), `cd / && runuser -u postgres -- psql -AtXq -c ${JSON.stringify(sql)}`);
    const walCheck = async () => {
      const result = await repo.cli('doctor', 'sandbox', '--host', 'e2e-pitr1', '--json');
      return (JSON.parse(result.stdout) as { checks: { name: string; status: string; detail: string }[] }[])[0]!.checks.find((c) => c.name === 'wal archive')!;
    };
    await psql('SELECT pg_switch_wal()');
    expect(await waitFor(() => psql('SELECT last_archived_wal IS NOT NULL FROM pg_stat_archiver'), (v) => v === 't', 20_000)).toBe('t');
    expect(await walCheck()).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^WAL archived with pgBackRest, the last segment \d+ s ago$/) });

    // The way to the repository host broken (its SSH wrapper unusable): the next segment fails, and doctor says so.
    await onServer(db(), 'chmod 000 /usr/local/lib/slipway/shop-pgbackrest-ssh.sh');
    try {
      await psql('CREATE TABLE IF NOT EXISTS doctor_probe (n int); INSERT INTO doctor_probe VALUES (1)');
      await psql('SELECT pg_switch_wal()');
      expect(await waitFor(() => psql('SELECT coalesce(last_failed_time > coalesce(last_archived_time, to_timestamp(0)), false) FROM pg_stat_archiver'), (v) => v === 't', 60_000)).toBe('t');
      const failing = await walCheck();
      expect(failing.status).toBe('fail');
      expect(failing.detail).toMatch(/^archiving fails: \S+ failed \d+ s ago \(\d+ failures so far\)/);
    } finally {
      await onServer(db(), 'chmod 755 /usr/local/lib/slipway/shop-pgbackrest-ssh.sh');
    }
    // A new segment wakes the archiver, which otherwise waits a minute before trying the failed one again.
    await psql('INSERT INTO doctor_probe VALUES (2)');
    await psql('SELECT pg_switch_wal()');
    // PostgreSQL tries the segment again by itself; once through, doctor is content again.
    expect((await waitFor(walCheck, (c) => c.status === 'ok', 90_000)).status).toBe('ok');

    // Another archive_command on the cluster (another app's, or one made by hand): setup refuses to replace it.
    const ours = await psql('SHOW archive_command');
    await psql("ALTER SYSTEM SET archive_command = 'test ! -f /var/tmp/wal/%f && cp %p /var/tmp/wal/%f'");
    await psql('SELECT pg_reload_conf()');
    try {
      const refused = await repo.cli('setup', 'sandbox');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('e2e-pitr1: PostgreSQL already archives its WAL with another command (test ! -f /var/tmp/wal/%f && cp %p /var/tmp/wal/%f)');
      expect(await psql('SHOW archive_command')).toBe('test ! -f /var/tmp/wal/%f && cp %p /var/tmp/wal/%f');
    } finally {
      await psql(`ALTER SYSTEM SET archive_command = '${ours.replaceAll("'", "''")}'`);
      await psql('SELECT pg_reload_conf()');
    }
  });

  it('rows deleted by mistake come back with restore --to-time the moment before', async () => {
    await repo.commit('v1');
    await repo.deploy();
    // Visits every 100 ms for 3 s; the time is noted in the middle of them.
    const writing = onServer(db(), 'for i in $(seq 30); do curl -s -o /dev/null http://127.0.0.1/; sleep 0.1; done');
    await new Promise((r) => setTimeout(r, 1500));
    const noted = await onServer(db(), 'date -u +"%Y-%m-%d %H:%M:%S.%3N"');
    await writing;
    const sql = (query: string) => onServer(db(), `cd / && runuser -u postgres -- psql -AtX -d shop -c ${JSON.stringify(query)}`);
    const before = Number(await sql(`SELECT count(*) FROM visits_visit WHERE created_at <= '${noted}+00'`));
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(await visits());
    await sql('DELETE FROM visits_visit');
    expect(await visits()).toBe(0);

    const checked = await repo.cli('restore', 'sandbox', '--to-time', noted, '--verify');
    expect(checked.code, checked.stderr + checked.stdout).toBe(0);
    const reached = /the last transaction replayed was committed at (\S+)\)/.exec(checked.stdout)?.[1];
    expect(reached, checked.stdout).toBeDefined();
    const window = (Date.parse(`${noted.replace(' ', 'T')}Z`) - Date.parse(reached!)) / 1000;
    // Writes came every 100 ms or so (each one a request through nginx): the last one kept is the one just before.
    console.log(`[pitr] target ${noted}, last transaction replayed ${reached}: data loss window ${window.toFixed(3)} s`);
    expect(window).toBeGreaterThanOrEqual(0);
    expect(window).toBeLessThan(2);
    expect(checked.stdout).toMatch(/^e2e-pitr1: \d{8}T\d{6}\.\d{3}Z-pitr\.dump ok: \d+ tables, [1-9]\d* rows restored, as in the dump$/m);

    const restored = await repo.cli('restore', 'sandbox', '--to-time', noted, '--into-live', '--yes-really-replace-live-data');
    expect(restored.code, restored.stderr + restored.stdout).toBe(0);
    expect(restored.stdout).toMatch(/^e2e-pitr1: restored \d{8}T\d{6}\.\d{3}Z-pitr\.dump into the live database$/m);
    expect(await visits()).toBe(before);
    expect(Number(await sql(`SELECT count(*) FROM visits_visit WHERE created_at > '${noted}+00'`))).toBe(0);
    // No scratch cluster is left, and it never archived into the repository.
    expect(await onServer(db(), 'ls -d /var/lib/postgresql/slipway-pitr-* 2>/dev/null | wc -l')).toBe('0');
    expect((await http(db(), 'http://127.0.0.1/')).status).toBe(200);
  });

  it('the database server powered off for good, recover brings its cluster back to the last archived commit', async () => {
    for (let i = 0; i < 3; i++) expect((await http(db(), 'http://127.0.0.1/')).status).toBe(200);
    // What is archived survives the server: the last segment is closed and pushed before the power goes.
    const sql = (query: string, on = db()) => onServer(on, `cd / && runuser -u postgres -- psql -AtX -d shop -c ${JSON.stringify(query)}`);
    const segment = await sql('SELECT pg_walfile_name(pg_current_wal_lsn())');
    await sql('SELECT pg_switch_wal()');
    await waitFor(() => sql('SELECT coalesce(last_archived_wal, \'\') FROM pg_stat_archiver'), (last) => last >= segment, 30_000);
    const rows = await visits();

    await stopSandboxes(['e2e-pitr1']);
    const [fresh] = await startSandboxes(['e2e-pitr3']);
    const recovered = await repo.cli('recover', 'sandbox', '--sandbox', 'e2e-pitr3');
    expect(recovered.code, recovered.stderr + recovered.stdout).toBe(0);
    expect(recovered.stdout).toMatch(/^restored the database as of its last commit replayed, \S+ from the pgBackRest repository on e2e-pitr2; deployed /m);
    expect(Number(await sql('SELECT count(*) FROM visits_visit', fresh))).toBe(rows);
    expect((await http(fresh!, 'http://127.0.0.1/version/')).body).toBe('v1\n');
    // The new server archives into the same stanza.
    const next = await sql('SELECT pg_walfile_name(pg_current_wal_lsn())', fresh);
    await sql('SELECT pg_switch_wal()', fresh);
    const archived = await waitFor(() => sql('SELECT coalesce(last_archived_wal, \'\') || \' \' || failed_count FROM pg_stat_archiver', fresh), (last) => last.split(' ')[0]! >= next, 30_000);
    expect(archived.split(' ')[0]! >= next, archived).toBe(true);
  });
});
