// A database server (issue 9, items 3 and 4) on three sandbox servers: e2e-db1 (role db: PostgreSQL and Redis),
// e2e-app1 (role web) and e2e-other1 (role monitor, one of the user's own: of the environment, but no app server). `setup`, then a deploy
// of the Django example: the app answers on app1 and its rows land in PostgreSQL on db1; PostgreSQL refuses
// other1 and takes app1 only over TLS; Redis answers app1 with the password and refuses it without.
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AppRepo, expectPostgresTlsOnly, http, onServer, psqlTo, type CliResult } from './helpers/python-app.js';
import { useSandboxes, type TestServer } from './helpers/sandbox.js';
import { runHost } from '../../src/sandbox/host.js';

const NAMES = ['e2e-db1', 'e2e-app1', 'e2e-other1'];
const REDIS_PASSWORD = 'e2e-redis-pw-3f9a1c';

/** `STATUS TITLE` rows of setup's report for one host. */
const items = (result: CliResult, host: string) =>
  result.stdout
    .split('\n')
    .map((line) => new RegExp(`^${host}\\s+(ok|changed|skipped|refused|failed|not run)\\s+(.*)$`).exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);

describe('a database server for the Django example', () => {
  const servers = useSandboxes(NAMES);
  const [db1, app1, other1] = [0, 1, 2].map((i) => () => servers[i]!) as [() => TestServer, () => TestServer, () => TestServer];
  let repo: AppRepo;

  const psql = psqlTo(db1, () => repo.secrets.DB_PASSWORD!);

  beforeAll(async () => {
    repo = await AppRepo.create('django-app', NAMES);
    const roles = { 'e2e-db1': ['db'], 'e2e-app1': ['web'], 'e2e-other1': ['monitor'] } as Record<string, string[]>;
    await writeFile(
      join(repo.dir, 'deploy-sandbox.yml'),
      stringify({
        servers: NAMES.map((sandbox) => ({ sandbox, roles: roles[sandbox] })),
        // What this test is about is not the firewall or upgrades (setup-backups covers them): setup stays short.
        // node_exporter comes from the package archive, through the sandbox's proxy, as on a real server.
        setup: { ufw: false, unattended_upgrades: false, ssh_hardening: false, node_exporter: true, redis: { enabled: true, password: '${REDIS_PASSWORD}' } },
      }),
    );
    await appendFile(join(repo.dir, '.slipway', 'secrets-sandbox.env'), `REDIS_PASSWORD=${REDIS_PASSWORD}\n`);
    await repo.commit('v1');
  });
  afterAll(async () => repo?.remove());

  it('setup: PostgreSQL and Redis on db1 listen on its address, for app1 only; a second run changes nothing', async () => {
    const first = await repo.cli('setup', 'sandbox');
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(items(first, 'e2e-db1')).toContain('changed PostgreSQL: listen on the private address, TLS, 1 app server only');
    expect(items(first, 'e2e-db1')).toContain(`changed Redis: localhost and ${db1().address}, password, maxmemory 256mb`);
    expect(items(first, 'e2e-app1').join('\n')).not.toMatch(/PostgreSQL|Redis|Backup timer/);
    const listening = await onServer(db1(), 'ss -Hltn');
    expect(listening).toContain(`${db1().address}:5432`);
    expect(listening).toContain(`${db1().address}:6379`);
    expect(await onServer(db1(), `cat /etc/postgresql/15/main/pg_hba.conf | grep hostssl`)).toBe(`hostssl shop            shop            ${app1().address}/32        scram-sha-256`);
    expect(await onServer(db1(), 'systemctl is-active shop-backup.timer')).toBe('active');

    const second = await repo.cli('setup', 'sandbox');
    expect(second.code, second.stderr).toBe(0);
    expect(items(second, 'e2e-db1').filter((line) => !line.startsWith('ok ') && !line.startsWith('skipped '))).toEqual([]);
  });

  it('setup.node_exporter: each server\'s metrics on its own private address, port 9100, for a Prometheus to scrape; status shows load, memory and disk', async () => {
    for (const server of [db1(), app1()]) {
      const metrics = await runHost(['curl', '-sS', '-m', '5', `http://${server.address}:9100/metrics`]);
      expect(metrics.code, metrics.stderr).toBe(0);
      expect(metrics.stdout).toMatch(/^node_load1 \d/m);
      expect(await onServer(server, 'ss -Hltn sport = :9100')).toContain(`${server.address}:9100`);
    }
    const status = await repo.cli('status', 'sandbox');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^ {2}server {2}load \d+\.\d\d \d+\.\d\d \d+\.\d\d, memory \d+ % used \(.* available of .*\), \/ \d+ % full/m);
  });

  it('deploy: the app on app1 writes its rows into PostgreSQL on db1, over TLS; migrations ran once, on app1', async () => {
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);
    const env = await onServer(app1(), 'grep -E "^(DATABASE|REDIS)_URL=" /opt/shop/shared/.env');
    expect(env).toContain(`@${db1().address}:5432/shop?sslmode=require"`);
    expect(env).toContain(`REDIS_URL="redis://:${REDIS_PASSWORD}@${db1().address}:6379/0"`);

    const page = await http(app1(), 'http://127.0.0.1:8000/');
    expect(page.status, page.body).toBe(200);
    expect(page.body).toContain('<p class="count">1 visit so far</p>');
    await http(app1(), 'http://127.0.0.1:8000/');
    expect(await onServer(db1(), `cd / && runuser -u postgres -- psql -AtX -d shop -c 'SELECT count(*) FROM visits_visit'`)).toBe('2');
    // The app's own connections arrive at db1 from app1's address, encrypted.
    const ssl = await onServer(db1(), `cd / && runuser -u postgres -- psql -AtX -d shop -c "SELECT DISTINCT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'shop' AND a.client_addr = '${app1().address}'"`);
    expect(ssl === '' || ssl === 't').toBe(true);

    // The pre-migration dump is made by app1 (through the network), the only host that migrated.
    expect(await onServer(app1(), 'ls /opt/shop/shared/backups/')).toMatch(/-pre-migrate\.dump$/m);
    expect(await onServer(db1(), 'ls /opt/shop/shared/backups/ | grep -c pre-migrate || true')).toBe('0');
    expect(await onServer(db1(), `cd / && runuser -u postgres -- psql -AtX -d shop -c "SELECT count(*) > 0 FROM django_migrations"`)).toBe('t');
  });

  it('PostgreSQL on db1 refuses other1, and app1 without TLS; takes app1 with TLS', async () => {
    await expectPostgresTlsOnly(psql, other1(), app1());
  });

  it('Redis on db1 answers app1 with the password and refuses it without', async () => {
    const withPassword = await app1().run(`REDISCLI_AUTH=${REDIS_PASSWORD} redis-cli -h ${db1().address} ping`);
    expect(withPassword.stdout.trim()).toBe('PONG');
    const without = await app1().run(`redis-cli -h ${db1().address} ping`);
    expect(without.stdout + without.stderr).toMatch(/NOAUTH/);
  });

  it('a redeploy leaves PostgreSQL alone: nothing on db1 is rewritten or restarted', async () => {
    const before = await onServer(db1(), 'systemctl show -p MainPID --value postgresql@15-main');
    const again = await repo.cli('deploy', 'sandbox');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/PostgreSQL: listen on the private address/);
    expect(await onServer(db1(), 'systemctl show -p MainPID --value postgresql@15-main')).toBe(before);
  });
});
