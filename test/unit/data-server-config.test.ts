// Topologies slipway cannot build are refused before anything runs, one line naming file, line and key; and the
// setup planner's items on a database server and on an app server of that topology.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { renderCmd } from '../../src/ops/shell.js';
import { layoutFor } from '../../src/plan/layout.js';
import { topologyOf } from '../../src/plan/data-servers.js';
import { planSetupItems, setupPackages, setupWants } from '../../src/plan/setup.js';
import { parseSetupFacts } from '../../src/plan/setup-facts.js';
import type { Target } from '../../src/plan/target.js';
import { testConfig } from './fixtures/config.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function problems(env: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-topology-'));
  dirs.push(dir);
  await writeFile(join(dir, 'deploy-prod.yml'), env);
  await writeFile(join(dir, '.slipway-secrets'), '');
  return loadConfig({ dir, env: 'prod', processEnv: { DB_PASSWORD: 'x', REDIS_PASSWORD: 'y', DATABASE_URL: 'postgresql://u:p@h/d' } }).then(
    () => [],
    (e: Error) => e.message.replaceAll(dir, '<dir>').split('\n'),
  );
}

const head = 'project: {name: shop}\ndatabase: {engine: postgresql, name: shop, user: shop, password: "${DB_PASSWORD}"}\n';

describe('refused topologies', () => {
  it('backups.copy_to: a copy without a server, a name given twice, `local`, several databases', async () => {
    expect(await problems(`${head}servers: [{host: web1}]\nbackups:\n  copy_to:\n    - {retention_days: 5}\n    - {host: local}\n    - {sandbox: local}\n`)).toEqual([
      '<dir>/deploy-prod.yml:6:7: backups.copy_to[0]: give `host` or `sandbox` (the server the copies go to), or `s3` (a bucket)',
      '<dir>/deploy-prod.yml:7:14: backups.copy_to[1].host: a copy goes to another server: `local` is the machine slipway runs on',
      '<dir>/deploy-prod.yml:8:7: backups.copy_to[2].name: backups.copy_to[1] is named local too: give each copy its own name',
    ]);
    expect(await problems(`${head}servers: [{host: web1}]\nbackups:\n  pitr: true\n  copy_to:\n    - {s3: {endpoint: "https://s3.test", bucket: shop-b}}\n    - {host: vault, s3: {bucket: other-b, access_key_id: k, secret_access_key: "\${DB_PASSWORD}"}}\n`)).toEqual([
      '<dir>/deploy-prod.yml:7:12: backups.copy_to[0].s3.access_key_id: a bucket needs endpoint, bucket, access_key_id and secret_access_key',
      '<dir>/deploy-prod.yml:7:12: backups.copy_to[0].s3.secret_access_key: a bucket needs endpoint, bucket, access_key_id and secret_access_key',
      '<dir>/deploy-prod.yml:5:9: backups.pitr: the pgBackRest repository goes to the first copy of backups.copy_to, which must be a server (`host` or `sandbox`), not a bucket',
      '<dir>/deploy-prod.yml:8:25: backups.copy_to[1].s3.endpoint: a bucket needs endpoint, bucket, access_key_id and secret_access_key',
      '<dir>/deploy-prod.yml:8:7: backups.copy_to[1]: a copy goes to a bucket (`s3`) or to a server (`host` or `sandbox`), not both',
    ]);
    expect(await problems(`${head}servers: [{host: web1}, {host: web2}]\nbackups: {copy_to: [{host: vault}]}\n`)).toEqual([
      '<dir>/deploy-prod.yml:4:20: backups.copy_to: with several servers and none of role db, each server has a database of its own: give one server role db, so that one database is backed up and copied',
    ]);
  });

  it('a db role on two servers', async () => {
    expect(await problems(`${head}servers:\n  - {host: 10.0.0.1, roles: [db]}\n  - {host: 10.0.0.2, roles: [web, db]}\n`)).toEqual([
      '<dir>/deploy-prod.yml:5:29: servers[1].roles: a second server with role db (servers[0] has it): slipway sets up no replication, give role db to one server',
    ]);
  });

  it('database.url together with a db server, and with the keys it replaces', async () => {
    const env = 'project: {name: shop}\ndatabase:\n  engine: postgresql\n  url: ${DATABASE_URL}\n  name: shop\nservers:\n  - {host: 10.0.0.1, roles: [db]}\n  - {host: 10.0.0.2}\n';
    expect(await problems(env)).toEqual([
      '<dir>/deploy-prod.yml:4:8: database.url: an external database and a database server (servers[0] has role db) exclude each other: remove one',
      "<dir>/deploy-prod.yml:5:9: database.name: the external database's URL (database.url) says this already: remove the key",
    ]);
  });

  it('an app server known only by name, database.host with a db server, a lone tls_cert, a redis role without redis', async () => {
    const db = 'database: {engine: postgresql, name: shop, user: shop, password: "${DB_PASSWORD}", host: db.internal, tls_cert: /etc/ssl/db.crt}\n';
    const env = `project: {name: shop}\n${db}servers:\n  - {host: 10.0.0.1, roles: [db, redis]}\n  - {host: web1.example.com}\n`;
    expect(await problems(env)).toEqual([
      '<dir>/deploy-prod.yml:2:90: database.host: with a server of role db, the app servers reach it at its private address: remove database.host',
      '<dir>/deploy-prod.yml:2:11: database.tls_key: give both database.tls_cert and database.tls_key (or neither: slipway creates a certificate)',
      '<dir>/deploy-prod.yml:4:29: servers[0].roles: role redis needs setup.redis.enabled: true (and setup.redis.password)',
      '<dir>/deploy-prod.yml:5:12: servers[1].private_address: "web1.example.com" is a name: give private_address, the IP address the database or Redis server and the app servers use for each other',
    ]);
  });

  it('the same servers with private_address pass', async () => {
    expect(await problems(`${head}servers:\n  - {host: db1.example.com, private_address: 10.0.0.1, roles: [db]}\n  - {host: web1.example.com, private_address: 10.0.0.2}\n`)).toEqual([]);
  });
});

describe('setup on a database server and its app servers', () => {
  const base = testConfig();
  const config: Config = testConfig({
    database: { engine: 'postgresql', name: 'shop', user: 'shop', password: 'pw', host: 'localhost', port: 5432 },
    setup: { ...base.setup, redis: { ...base.setup.redis, enabled: true, password: 'rpw' } },
  });
  const layout = layoutFor(config, 'main');
  const target = (label: string, address: string, roles: string[]): Target => ({ kind: 'ssh', label, host: address, privateAddress: address, roles, hostKeyChecking: 'yes', connectTimeout: 10 });
  const db1 = target('db1', '10.77.1.2', ['db']);
  const app1 = target('app1', '10.77.2.2', ['web']);
  const topology = topologyOf(config, [db1, app1, target('lb1', '10.77.3.2', ['lb'])]);
  const facts = parseSetupFacts(['firewall usable', 'ufw Status: active', 'ufw Default: deny (incoming), allow (outgoing), disabled (routed)', 'ufw 22/tcp ALLOW IN Anywhere', 'ufw 80/tcp ALLOW IN Anywhere', 'ufw 443/tcp ALLOW IN Anywhere', 'ufw 5432/tcp ALLOW IN 10.77.2.2', 'sshd port 22'].join('\n'));
  const input = (t: Target, hostsDatabase: boolean) => ({ config, layout, target: t, loginUser: 'root', hostsDatabase, hostsRedis: hostsDatabase, topology, facts });

  it('db1: PostgreSQL and Redis for the app servers, the probe asks for the server settings, ufw adds only the missing rule', () => {
    expect(setupPackages(config, true)).toContain('postgresql');
    expect(setupWants(input(db1, true)).database).toEqual({ name: 'shop', user: 'shop', server: { dropInName: '50-slipway.conf', certFile: '/etc/postgresql/slipway/server.crt' } });
    const items = planSetupItems(input(db1, true));
    const firewall = items.find((i) => i.id === 'firewall')!;
    expect(firewall.title).toBe('Firewall (ufw): only SSH, 80 and 443 in, 5432 from the app servers, 6379 from the app servers');
    expect(firewall.commands.map((c) => renderCmd(c))).toEqual(['ufw allow from 10.77.2.2 to any port 6379 proto tcp']);
    expect(firewall.warnings).toEqual([]);
    expect(items.find((i) => i.id === 'postgres-server')?.skip?.reason).toBe('PostgreSQL does not answer on db1: see `systemctl status postgresql`');
    expect(items.find((i) => i.id === 'redis')?.title).toBe('Redis: localhost and 10.77.1.2, password, maxmemory 256mb');
  });

  it('app1: no PostgreSQL, no Redis, no database port opened', () => {
    expect(setupPackages(config, false)).not.toContain('postgresql');
    const items = planSetupItems(input(app1, false));
    expect(items.map((i) => i.id)).not.toContain('postgres-server');
    expect(items.map((i) => i.id)).not.toContain('redis');
    expect(items.find((i) => i.id === 'firewall')?.title).toBe('Firewall (ufw): only SSH, 80 and 443 in');
  });
});
