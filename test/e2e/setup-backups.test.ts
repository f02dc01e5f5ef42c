// slipway setup, backup, backups and restore on sandbox servers (issue 6): setup of a fresh server, a second run
// that changes nothing, the Django example deployed on it; Redis locked to localhost behind a password; backups by
// the command and by the timer, retention, restore --verify of a good and a damaged dump, restore into the live
// database; and the sshd hardening refused while the SSH user has no key in an authorized_keys file. Each describe
// boots one server and tells one story in order: a test builds on the one before it.
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { HelloRepo } from './helpers/hello-app.js';
import { AppRepo, http, onServer, waitFor } from './helpers/python-app.js';
import { useSandboxes, type TestServer } from './helpers/sandbox.js';
import { setupItems } from './helpers/setup-report.js';

const items = setupItems;

/** Whether anything accepts a TCP connection at address:port, seen from this machine. */
function reachable(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const visits = (server: TestServer) => onServer(server, "cd / && runuser -u postgres -- psql -AtX -d shop -c 'SELECT count(*) FROM visits_visit'").then(Number);
const backupFiles = (server: TestServer) => onServer(server, 'ls -1 /opt/shop/shared/backups').then((out) => out.split('\n').filter(Boolean));

describe('setup of a fresh server, then the Django example and its backups', () => {
  const servers = useSandboxes(['e2e-setup1']);
  const server = () => servers[0]!;
  const REDIS_PASSWORD = `e2e-redis-${randomBytes(12).toString('hex')}`;
  let repo: AppRepo;
  afterAll(async () => repo?.remove());

  it('setup prepares the server; ufw, which cannot run in a container, is skipped with a warning', async () => {
    repo = await AppRepo.create('django-app', ['e2e-setup1'], { setup: { redis: { enabled: true, password: '${REDIS_PASSWORD}' } }, backups: { retention_days: 30 } });
    repo.secrets.REDIS_PASSWORD = REDIS_PASSWORD;
    await appendFile(join(repo.dir, '.slipway', 'secrets-sandbox.env'), `REDIS_PASSWORD=${REDIS_PASSWORD}\n`);
    // The image's PostgreSQL is local already: open it up, so setup has something to close.
    await onServer(server(), [
      "cd / && runuser -u postgres -- psql -qX -c \"ALTER SYSTEM SET listen_addresses = '*'\"",
      "echo 'host all all 0.0.0.0/0 scram-sha-256' >> /etc/postgresql/15/main/pg_hba.conf",
      'systemctl restart postgresql',
    ].join(' && '));
    expect(await onServer(server(), 'curl -sI http://127.0.0.1/ | grep -i "^server:"')).toMatch(/^Server: nginx\/[\d.]+/);
    // The image keeps ufw and unattended-upgrades in its apt cache only: setup installs them, offline.
    expect(await onServer(server(), 'ls /var/cache/apt/archives/ | grep -c "^ufw_"')).toBe('1');

    const first = await repo.cli('setup', 'sandbox');
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(items(first, 'e2e-setup1')).toEqual([
      'changed System packages: install ufw unattended-upgrades',
      'changed App user shop',
      'changed Directories under /opt/shop',
      'skipped Firewall (ufw): only SSH, 80 and 443 in',
      'changed sshd: key-only login',
      'changed Unattended security upgrades',
      'changed journald: at most 500M',
      'changed logrotate: /opt/shop/shared/logs/*.log daily, keep 30',
      'changed nginx: base settings (server_tokens off)',
      'changed PostgreSQL: local connections only',
      'changed PostgreSQL role shop and database shop',
      'changed Backup timer shop-backup.timer (daily)',
      'changed Restore drill shop-restore-drill.timer (monthly): the newest dump restored and checked',
      'changed Redis: localhost only, password, maxmemory 256mb',
    ]);
    expect(first.stdout).toMatch(/ufw cannot run on this host \(iptables.*\), no firewall rules were applied/);
    expect(first.stdout).toMatch(/warning: pg_hba\.conf line \d+ accepts shop connections from any address/);
    expect(first.stdout).toMatch(/^setup sandbox: 13 changed, 1 skipped on 1 host\(s\)$/m);
    expect(first.stdout + first.stderr).not.toContain(REDIS_PASSWORD);
    expect(await repo.readLogs()).not.toContain(REDIS_PASSWORD);

    // What the items did, seen on the server.
    const state = await onServer(server(), [
      'dpkg-query -W -f="\\${Status}\\n" ufw unattended-upgrades',
      "cd / && runuser -u postgres -- psql -AtX -c 'SHOW listen_addresses'",
      'sshd -T -C user=root,host=x,addr=1.2.3.4 | grep -E "^(passwordauthentication|permitrootlogin)"',
      'stat -c "%a %U %G %n" /opt/shop /opt/shop/shared /opt/shop/shared/logs /opt/shop/shared/backups',
      'systemctl is-enabled shop-backup.timer',
      'curl -sI http://127.0.0.1/ | grep -i "^server:" | tr -d "\\r"',
      'cat /etc/apt/apt.conf.d/20auto-upgrades | grep Unattended',
      'grep SystemMaxUse /etc/systemd/journald.conf.d/50-slipway.conf',
      'logrotate -d /etc/logrotate.d/shop 2>&1 | grep -c "rotating pattern: /opt/shop/shared/logs/\\*.log"',
    ].join('; '));
    expect(state.split('\n')).toEqual([
      'install ok installed',
      'install ok installed',
      'localhost',
      'permitrootlogin without-password',
      'passwordauthentication no',
      '755 root root /opt/shop',
      '755 shop shop /opt/shop/shared',
      '750 shop shop /opt/shop/shared/logs',
      '700 shop shop /opt/shop/shared/backups',
      'enabled',
      'Server: nginx',
      'APT::Periodic::Unattended-Upgrade "1";',
      'SystemMaxUse=500M',
      '1',
    ]);
    // SSH still lets us in after the sshd reload.
    expect((await server().run('echo still in')).stdout).toBe('still in\n');
  });

  it('a second setup changes nothing', async () => {
    const second = await repo.cli('setup', 'sandbox');
    expect(second.code, second.stderr).toBe(0);
    expect(items(second, 'e2e-setup1').filter((i) => !i.startsWith('ok '))).toEqual(['skipped Firewall (ufw): only SSH, 80 and 443 in']);
    expect(second.stdout).toMatch(/^setup sandbox: 13 ok, 1 skipped on 1 host\(s\)$/m);
  });

  it('Redis refuses commands without the password, has no FLUSHALL, and is not reachable from outside', async () => {
    const redis = await onServer(server(), [
      'redis-cli ping',
      `REDISCLI_AUTH='${REDIS_PASSWORD}' redis-cli ping`,
      `REDISCLI_AUTH='${REDIS_PASSWORD}' redis-cli flushall`,
      `REDISCLI_AUTH='${REDIS_PASSWORD}' redis-cli config get maxmemory`,
      'ss -Htln "sport = :6379" | awk "{ print \\$4 }" | sort',
    ].join('; '));
    // redis-cli follows an error with an empty line.
    const lines = redis.split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/^NOAUTH Authentication required/);
    expect(lines[1]).toBe('PONG');
    expect(lines[2]).toMatch(/^ERR unknown command 'flushall'/);
    expect(lines[3]).toMatch(/^ERR unknown command 'config'/);
    expect(lines.slice(4).sort()).toEqual(['127.0.0.1:6379', '[::1]:6379'].sort());
    expect(await reachable(server().address, 6379)).toBe(false);
    // The server itself answers on its address: what refuses the connection is Redis's bind, not the network.
    expect(await reachable(server().address, 22)).toBe(true);
  });

  it('the Django example deploys onto the prepared server, and setup still finds nothing to change', async () => {
    await repo.commit('v1');
    await repo.deploy();
    expect((await http(server(), 'http://127.0.0.1:8000/health/')).status).toBe(200);
    const again = await repo.cli('setup', 'sandbox');
    expect(again.stdout).toMatch(/^setup sandbox: 13 ok, 1 skipped on 1 host\(s\)$/m);
  });

  it('backups are made by the command and by the timer, listed with their kind, and old ones deleted', async () => {
    const made = await repo.cli('backup', 'sandbox');
    expect(made.code, made.stderr).toBe(0);
    const manual = /^e2e-setup1: (\/opt\/shop\/shared\/backups\/\d{8}T\d{6}\.\d{3}Z-manual\.dump) \([\d.]+ KB\)$/m.exec(made.stdout)?.[1];
    expect(manual, made.stdout).toBeDefined();
    expect(await onServer(server(), `stat -c '%a %U' ${manual}`)).toBe('600 root');

    await onServer(server(), 'systemctl start shop-backup.service');
    expect((await backupFiles(server())).filter((f) => f.endsWith('-timer.dump'))).toHaveLength(1);
    expect(await onServer(server(), 'journalctl -u shop-backup.service -o cat | grep -c "^backup /opt/shop/shared/backups/"')).toBe('1');

    // Two dumps past the 30 days, one within.
    await onServer(server(), [
      'cd /opt/shop/shared/backups',
      `cp ${manual} 20200101T000000.000Z-timer.dump && touch -d '40 days ago' 20200101T000000.000Z-timer.dump`,
      `cp ${manual} 20200102T000000.000Z-manual.dump && touch -d '31 days ago' 20200102T000000.000Z-manual.dump`,
      `cp ${manual} 20200103T000000.000Z-manual.dump && touch -d '20 days ago' 20200103T000000.000Z-manual.dump`,
    ].join(' && '));
    const pruned = await repo.cli('backup', 'sandbox');
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toContain('e2e-setup1: deleted /opt/shop/shared/backups/20200101T000000.000Z-timer.dump (older than the retention)');
    expect(pruned.stdout).toContain('e2e-setup1: deleted /opt/shop/shared/backups/20200102T000000.000Z-manual.dump (older than the retention)');
    const left = await backupFiles(server());
    expect(left).toContain('20200103T000000.000Z-manual.dump');
    expect(left.filter((f) => f.startsWith('202001'))).toEqual(['20200103T000000.000Z-manual.dump']);

    const listed = await repo.cli('backups', 'sandbox', '--json');
    const [host] = (JSON.parse(listed.stdout) as { hosts: { host: string; backups: { name: string; kind: string; size: number }[] }[] }).hosts;
    expect(host!.backups.map((b) => b.kind).sort()).toEqual(['manual', 'manual', 'manual', 'pre-migrate', 'timer']);
    expect(host!.backups.every((b) => b.size > 0)).toBe(true);
    const table = await repo.cli('backups', 'sandbox');
    expect(table.stdout.split('\n')[0]).toMatch(/^HOST\s+BACKUP\s+KIND\s+SIZE\s+TIME \(UTC\)$/);
  });

  it('restore --verify passes on a good dump and fails clearly on a damaged one, and leaves no scratch database', async () => {
    await http(server(), 'http://127.0.0.1:8000/'); // a visit, so a table has rows
    const made = await repo.cli('backup', 'sandbox');
    const name = /backups\/(\S+-manual\.dump)/.exec(made.stdout)![1]!;
    const good = await repo.cli('restore', 'sandbox', name, '--verify');
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(new RegExp(`^e2e-setup1: ${name.replaceAll('.', '\\.')} ok: \\d+ tables, [1-9]\\d* rows restored, as in the dump$`, 'm'));

    await onServer(server(), `cd /opt/shop/shared/backups && head -c $(( $(stat -c %s ${name}) / 2 )) ${name} > 20990101T000000.000Z-damaged-manual.dump`);
    const bad = await repo.cli('restore', 'sandbox', '20990101T000000.000Z-damaged-manual.dump', '--verify');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('e2e-setup1: 20990101T000000.000Z-damaged-manual.dump could not be restored: it is damaged or incomplete');
    expect(bad.stderr).toMatch(/\| pg_restore: error: /);
    expect(await onServer(server(), "cd / && runuser -u postgres -- psql -AtX -c \"SELECT count(*) FROM pg_database WHERE datname LIKE 'shop_verify_%'\"")).toBe('0');
    await onServer(server(), 'rm /opt/shop/shared/backups/20990101T000000.000Z-damaged-manual.dump');
  });

  it('restore --into-live needs its confirmation, backs up first, and puts the data back with the app running', async () => {
    const made = await repo.cli('backup', 'sandbox');
    const name = /backups\/(\S+-manual\.dump)/.exec(made.stdout)![1]!;
    const before = await visits(server());
    for (let i = 0; i < 3; i += 1) expect((await http(server(), 'http://127.0.0.1:8000/')).status).toBe(200);
    expect(await visits(server())).toBe(before + 3);

    const unconfirmed = await repo.cli('restore', 'sandbox', name, '--into-live');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('hint: add --yes-really-replace-live-data');
    expect(await visits(server())).toBe(before + 3);

    const restored = await repo.cli('restore', 'sandbox', name, '--into-live', '--yes-really-replace-live-data');
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/^e2e-setup1: backed up the live data to \/opt\/shop\/shared\/backups\/\S+-pre-restore\.dump$/m);
    expect(restored.stdout).toContain('e2e-setup1: restarted shop-web.service');
    expect(await visits(server())).toBe(before);
    expect(await onServer(server(), 'systemctl is-active shop-web')).toBe('active');
    expect((await http(server(), 'http://127.0.0.1:8000/health/')).status).toBe(200);
    // The data replaced is kept: the pre-restore dump verifies with the 3 extra visits in it.
    const safety = (await backupFiles(server())).find((f) => f.endsWith('-pre-restore.dump'))!;
    expect((await repo.cli('restore', 'sandbox', safety, '--verify')).code).toBe(0);
  });
});

describe('sshd hardening and the SSH user\'s keys', () => {
  const servers = useSandboxes(['e2e-setup2']);
  const server = () => servers[0]!;
  let repo: HelloRepo;
  afterAll(async () => repo?.remove());

  /**
   * `systemctl reload ssh` returns before sshd is back: on SIGHUP it closes its listener and re-executes itself, so
   * a login at once can be refused (it was, on a busy CI machine). Waits up to 10 s for a login that works.
   */
  const loginAfterReload = (on: TestServer, command: string) => waitFor(() => on.run(command), (r) => r.code === 0, 10_000);

  it('is refused while the SSH user has no key in an authorized_keys file (its key comes from an AuthorizedKeysCommand)', async () => {
    // root still logs in with the same key, but sshd gets it from a command instead of ~/.ssh/authorized_keys.
    await onServer(server(), [
      'install -m 644 /root/.ssh/authorized_keys /etc/ssh/e2e-root.pub',
      "printf '#!/bin/sh\\ncat /etc/ssh/e2e-root.pub\\n' > /usr/local/bin/e2e-keys && chmod 755 /usr/local/bin/e2e-keys",
      "printf 'AuthorizedKeysFile none\\nAuthorizedKeysCommand /usr/local/bin/e2e-keys\\nAuthorizedKeysCommandUser nobody\\n' > /etc/ssh/sshd_config.d/00-e2e-keys.conf",
      'systemctl reload ssh',
    ].join(' && '));
    expect((await loginAfterReload(server(), 'echo in by command')).stdout).toBe('in by command\n');

    repo = await HelloRepo.create(servers, { setup: { ufw: false, unattended_upgrades: false } });
    const refused = await repo.cli('setup', 'sandbox');
    expect(refused.code).toBe(2);
    expect(items(refused, 'e2e-setup2')).toContain('refused sshd: key-only login');
    expect(refused.stdout).toContain('refused: root has no key in any authorized_keys file (AuthorizedKeysFile none) (keys from AuthorizedKeysCommand cannot be checked)');
    expect(refused.stderr).toContain('error: not applied: e2e-setup2: sshd: key-only login');
    // Everything else was applied; the sshd file was not written.
    expect(refused.stdout).toMatch(/^setup sandbox: \d+ changed, \d+ ok, 1 refused on 1 host\(s\)$/m);
    expect((await server().run('test -e /etc/ssh/sshd_config.d/01-slipway.conf')).code).toBe(1);
  });

  it('is applied once the user has a key in authorized_keys, and SSH still works after the reload', async () => {
    await onServer(server(), 'rm /etc/ssh/sshd_config.d/00-e2e-keys.conf && systemctl reload ssh');
    expect((await loginAfterReload(server(), 'echo in by key')).stdout).toBe('in by key\n');
    const applied = await repo.cli('setup', 'sandbox');
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    expect(items(applied, 'e2e-setup2')).toContain('changed sshd: key-only login');
    expect(await onServer(server(), 'cat /etc/ssh/sshd_config.d/01-slipway.conf | grep -v "^#"')).toBe('PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password');
    expect((await server().run('echo in by key')).stdout).toBe('in by key\n');
    const again = await repo.cli('setup', 'sandbox');
    expect(again.code).toBe(0);
    expect(items(again, 'e2e-setup2').every((i) => i.startsWith('ok '))).toBe(true);
  });

  it('doctor finds the server ready, and reports a server that is down (with its fix) instead of stopping', async () => {
    const ready = await repo.cli('doctor', 'sandbox');
    expect(ready.code, ready.stdout).toBe(0);
    expect(ready.stdout).toMatch(/^e2e-setup2\s+ok\s+ssh\s+connected as root$/m);
    expect(ready.stdout).toMatch(/^e2e-setup2\s+ok\s+clock\s+in step with this machine$/m);
    expect(ready.stdout).toMatch(/^doctor sandbox: ready to deploy \(1 host\(s\)\)$/m);

    await repo.configure([...servers, { name: 'e2e-setup-gone' } as TestServer], { setup: { ufw: false, unattended_upgrades: false } });
    const down = await repo.cli('doctor', 'sandbox');
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^e2e-setup-gone\s+FAIL\s+ssh\s+sandbox server e2e-setup-gone is not running$/m);
    expect(down.stdout).toContain('fix: start it: sudo slipway sandbox up e2e-setup-gone');
    expect(down.stdout).toMatch(/^e2e-setup2\s+ok\s+disk\s+/m);
    expect(down.stdout).toMatch(/^doctor sandbox: 1 problem\(s\): e2e-setup-gone: ssh$/m);
  });
});
