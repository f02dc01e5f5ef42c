// Database and Redis servers (issue 9, items 3 and 4): the files written there (exact text), the builders, the
// topology from targets, the planner from fake facts (fresh, converged, one file changed), and the app's URLs.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import type { Cmd } from '../../src/ops/command.js';
import { allowFrom, applyPostgres, remoteDump, serverCertificate } from '../../src/ops/db-server.js';
import { sha256 } from '../../src/ops/services.js';
import { renderCmd } from '../../src/ops/shell.js';
import { deployPlacement, endpointsOf, holdsDatabase, holdsDatabaseByRoles, holdsRedis, topologyOf } from '../../src/plan/data-servers.js';
import { dbServerItem } from '../../src/plan/db-server.js';
import { appEnv } from '../../src/plan/env-file.js';
import { parseSetupFacts, type SetupFacts } from '../../src/plan/setup-facts.js';
import type { Target } from '../../src/plan/target.js';
import { hostCidr, renderPgHba, renderPostgresConf } from '../../src/render/db-server-files.js';
import { renderRedisConfig } from '../../src/render/setup-files.js';
import { testConfig } from './fixtures/config.js';

const text = (commands: Cmd[]) => commands.map((c) => renderCmd(c, { redact: true })).join('\n');
const database: Config['database'] = { engine: 'postgresql', name: 'shop', user: 'shop', password: 'p@ss word', host: 'localhost', port: 5432 };
const base = testConfig();
const config = testConfig({ database, setup: { ...base.setup, redis: { ...base.setup.redis, enabled: true, password: 'r/pw' } } });
const server = (label: string, address: string | undefined, roles: string[]): Target => ({
  kind: 'ssh',
  label,
  host: address ?? label,
  roles,
  hostKeyChecking: 'yes',
  connectTimeout: 10,
  ...(address ? { privateAddress: address } : {}),
});
const db1 = server('db1', '10.77.1.2', ['db']);
const app1 = server('app1', '10.77.2.2', ['web']);
const worker1 = server('worker1', '10.77.3.2', ['worker']);
const lb1 = server('lb1', '10.77.4.2', ['lb']);
const topology = topologyOf(config, [db1, app1, worker1, lb1]);

describe('files on a database server', () => {
  it('postgresql.conf drop-in: the private address and localhost, SCRAM, TLS with the given files', () => {
    expect(renderPostgresConf({ address: '10.77.1.2', certFile: '/etc/postgresql/slipway/server.crt', keyFile: '/etc/postgresql/slipway/server.key' })).toBe(
      [
        '# Written by slipway: changes here are replaced on the next `slipway setup` or `slipway deploy`.',
        '# The app servers reach PostgreSQL on the private address; nothing else listens beyond localhost.',
        "listen_addresses = 'localhost,10.77.1.2'",
        "password_encryption = 'scram-sha-256'",
        'ssl = on',
        "ssl_cert_file = '/etc/postgresql/slipway/server.crt'",
        "ssl_key_file = '/etc/postgresql/slipway/server.key'",
        "ssl_min_protocol_version = 'TLSv1.2'",
        '',
      ].join('\n'),
    );
  });

  it('pg_hba.conf: local lines, then one hostssl line per app server, each address once', () => {
    expect(renderPgHba({ database: 'shop', user: 'shop', clients: ['10.77.2.2', 'fd00::5', '10.77.2.2'] })).toBe(
      [
        '# Written by slipway: changes here are replaced on the next `slipway setup` or `slipway deploy`.',
        "# Local connections (the postgres superuser by peer, slipway's own tools); then the app servers, TLS only.",
        '# TYPE  DATABASE        USER            ADDRESS             METHOD',
        'local   all             postgres                            peer',
        'local   all             all                                 peer',
        'host    all             all             127.0.0.1/32        scram-sha-256',
        'host    all             all             ::1/128             scram-sha-256',
        'hostssl shop            shop            10.77.2.2/32        scram-sha-256',
        'hostssl shop            shop            fd00::5/128         scram-sha-256',
        '',
      ].join('\n'),
    );
    expect(hostCidr('10.0.0.1')).toBe('10.0.0.1/32');
  });

  it('Redis on a server of its own: bound to loopback and the private address', () => {
    expect(renderRedisConfig({ password: 'pw', maxmemory: '256mb', appendonly: false, address: '10.77.1.2' })).toBe(
      [
        '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
        '# Included from the end of /etc/redis/redis.conf: the values here win.',
        'bind 127.0.0.1 -::1 10.77.1.2',
        'protected-mode yes',
        'requirepass "pw"',
        'maxmemory 256mb',
        'maxmemory-policy allkeys-lru',
        'appendonly no',
        'rename-command FLUSHALL ""',
        'rename-command FLUSHDB ""',
        'rename-command CONFIG ""',
        'rename-command KEYS ""',
        'rename-command DEBUG ""',
        '',
      ].join('\n'),
    );
  });
});

describe('database server builders', () => {
  it('a certificate made once, for the address, its key readable by postgres only', () => {
    expect(text([serverCertificate({ cert: '/etc/postgresql/slipway/server.crt', key: '/etc/postgresql/slipway/server.key', address: '10.77.1.2' })])).toBe(
      [
        "if [ -s /etc/postgresql/slipway/server.crt ] && [ -s /etc/postgresql/slipway/server.key ]; then",
        ':',
        'else',
        'install -d -m 755 /etc/postgresql/slipway',
        'openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=10.77.1.2 -addext subjectAltName=IP:10.77.1.2 -keyout /etc/postgresql/slipway/server.key -out /etc/postgresql/slipway/server.crt >/dev/null 2>&1',
        'chown postgres:postgres /etc/postgresql/slipway/server.key /etc/postgresql/slipway/server.crt',
        'chmod 600 /etc/postgresql/slipway/server.key',
        'fi',
      ].join('\n'),
    );
  });

  it('reload or restart, then what PostgreSQL reports is checked', () => {
    const applied = text(applyPostgres({ restart: false, listen: 'localhost,10.77.1.2' }));
    expect(applied.split('\n')[0]).toBe('systemctl reload postgresql');
    expect(applied).toContain(`= 'localhost,10.77.1.2 on' ]; then`);
    expect(text(applyPostgres({ restart: true, listen: 'x' })).split('\n')[0]).toBe('systemctl restart postgresql');
  });

  it('pg_dump over the network: the password on stdin only, TLS required', () => {
    const dump = remoteDump({ host: '10.77.1.2', port: 5432, name: 'shop', user: 'shop', password: 'secret', sslmode: 'require' }, '/opt/shop/shared/backups/x.dump');
    expect(renderCmd(dump, { redact: true })).toBe(
      "env PGSSLMODE=require bash -c 'IFS= read -r PGPASSWORD; export PGPASSWORD; exec pg_dump \"$@\"' pg_dump -Fc -h 10.77.1.2 -p 5432 -U shop -d shop > /opt/shop/shared/backups/x.dump <<'SLIPWAY_EOF_0'\n<redacted: secret values>\nSLIPWAY_EOF_0",
    );
    expect(dump.argv.join(' ')).not.toContain('secret');
  });

  it('ufw: one rule per app server address', () => {
    expect(text(allowFrom(6379, ['10.77.2.2', '10.77.3.2']))).toBe('ufw allow from 10.77.2.2 to any port 6379 proto tcp\nufw allow from 10.77.3.2 to any port 6379 proto tcp');
  });
});

describe('topology', () => {
  it('the database and Redis on db1; app servers are the web and worker servers, not lb1 or db1', () => {
    expect(topology.database).toEqual({ kind: 'server', server: { label: 'db1', address: '10.77.1.2' } });
    expect(topology.redis).toEqual({ kind: 'server', server: { label: 'db1', address: '10.77.1.2' } });
    expect(topology.appServers.map((s) => s.label)).toEqual(['app1', 'worker1']);
    expect([holdsDatabase(topology, 'db1'), holdsDatabase(topology, 'app1'), holdsRedis(topology, 'db1')]).toEqual([true, false, true]);
  });

  it('a redis server of its own; no db role: the database on every server', () => {
    const t = topologyOf(config, [server('cache1', '10.0.0.9', ['redis']), app1]);
    expect([t.database.kind, t.redis]).toEqual(['local', { kind: 'server', server: { label: 'cache1', address: '10.0.0.9' } }]);
    expect([holdsDatabase(t, 'app1'), holdsRedis(t, 'app1')]).toEqual([true, false]);
  });

  it('an app server whose address is unknown is refused with the key to set', () => {
    expect(() => topologyOf(config, [db1, server('web1.example.com', undefined, ['web'])])).toThrow(/web1\.example\.com: it is an app server .* private address is not known/);
  });

  it('migrations on the first app server of the run, never on a db-only server; none when the run has no app server; each host\'s own database migrated', () => {
    expect(deployPlacement(config, topology, [db1, lb1, app1, worker1])).toMatchObject({ migrator: 2, migrates: [false, false, true, false] });
    expect(deployPlacement(config, topology, [db1])).toMatchObject({ migrator: -1, migrates: [false] });
    expect(deployPlacement(config, topology, [db1, app1]).hostsDatabase).toEqual([false, false]);
    const local = topologyOf(config, [app1, worker1]);
    expect(deployPlacement(config, local, [app1, worker1])).toMatchObject({ hostsDatabase: [true, true], migrator: 0, migrates: [true, true] });
    // One database.host for every app server (no db role): migrated once, from the first.
    expect(deployPlacement({ ...config, database: { ...config.database, host: '10.0.0.5' } }, local, [app1, worker1]).migrates).toEqual([true, false]);
  });

  it('the app gets DATABASE_URL with TLS required and REDIS_URL, both at db1; its own values win', () => {
    const env = appEnv(config, endpointsOf(topology, config));
    expect(env.DATABASE_URL).toBe('postgresql://shop:p%40ss%20word@10.77.1.2:5432/shop?sslmode=require');
    expect(env.REDIS_URL).toBe('redis://:r%2Fpw@10.77.1.2:6379/0');
    expect(appEnv({ ...config, env_vars: { REDIS_URL: '${MINE}' } }, endpointsOf(topology, config)).REDIS_URL).toBe('${MINE}');
    const external = { ...config, database: { engine: 'postgresql' as const, url: 'postgresql://u:p@managed:5432/shop?sslmode=require', host: 'localhost', port: 5432 } };
    expect(appEnv(external, endpointsOf(topologyOf(external, [app1]), external)).DATABASE_URL).toBe('postgresql://u:p@managed:5432/shop?sslmode=require');
    expect(topologyOf(external, [app1, db1]).database).toEqual({ kind: 'external' });
  });
});

describe('database server planner', () => {
  const probe = (extra: string[]) =>
    parseSetupFacts(['pg-running', 'pg-listen localhost', 'pg-db shop', 'pg-config-file /etc/postgresql/15/main/postgresql.conf', 'pg-hba-file /etc/postgresql/15/main/pg_hba.conf', ...extra].join('\n'));
  const plan = (facts: SetupFacts) => dbServerItem({ config, topology, label: 'db1', facts });
  const dropIn = renderPostgresConf({ address: '10.77.1.2', certFile: '/etc/postgresql/slipway/server.crt', keyFile: '/etc/postgresql/slipway/server.key' });
  const hba = renderPgHba({ database: 'shop', user: 'shop', clients: ['10.77.2.2', '10.77.3.2'] });

  it('a fresh server: certificate, ALTER SYSTEM undone, both files checked by PostgreSQL, then a restart', () => {
    const item = plan(probe(['pg-ssl off', 'pg-listen-source /var/lib/postgresql/15/main/postgresql.auto.conf']));
    const commands = text(item.commands);
    expect(item.title).toBe('PostgreSQL: listen on the private address, TLS, 2 app servers only');
    expect(commands).toContain('openssl req -x509');
    expect(commands).toContain("psql -AtXq -v ON_ERROR_STOP=1 -d postgres -c 'ALTER SYSTEM RESET listen_addresses'");
    expect(commands).toContain('/etc/postgresql/15/main/conf.d/50-slipway.conf.slipway-new');
    expect(commands).toContain("grep -qE '^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'\\''conf\\.d'\\''' /etc/postgresql/15/main/postgresql.conf");
    expect(commands).toContain('pg_hba_file_rules WHERE error IS NOT NULL');
    expect(commands).toContain('systemctl restart postgresql');
  });

  it('converged: nothing runs; only pg_hba changed (a new app server): written and reloaded, no restart', () => {
    const files = { '/etc/postgresql/15/main/conf.d/50-slipway.conf': sha256(dropIn), '/etc/postgresql/15/main/pg_hba.conf': sha256(hba) };
    const converged = { ...probe(['pg-ssl on', 'pg-cert', 'pg-listen-source /etc/postgresql/15/main/conf.d/50-slipway.conf']), files };
    converged.postgres!.listen = 'localhost,10.77.1.2';
    expect(plan(converged).commands).toEqual([]);
    const newServer = { ...converged, files: { ...files, '/etc/postgresql/15/main/pg_hba.conf': 'old' } };
    const commands = text(plan(newServer).commands);
    expect(commands).toContain('pg_hba.conf.slipway-new');
    expect(commands).not.toContain('50-slipway.conf');
    expect(commands).toContain('systemctl reload postgresql');
    expect(commands).not.toContain('restart');
  });

  it('configured certificate files are used and no certificate is made; PostgreSQL not answering is a skip', () => {
    const own = { ...config, database: { ...database, tls_cert: '/etc/ssl/db.crt', tls_key: '/etc/ssl/db.key' } };
    const commands = text(dbServerItem({ config: own, topology, label: 'db1', facts: probe(['pg-ssl on']) }).commands);
    expect(commands).not.toContain('openssl');
    expect(commands).toContain("ssl_cert_file = '/etc/ssl/db.crt'");
    expect(plan(parseSetupFacts('')).skip?.reason).toBe('PostgreSQL does not answer on db1: see `systemctl status postgresql`');
  });
});

describe('where the database is, from the roles alone', () => {
  it('holds it on the db server, on every server without one, and nowhere for database.url or none', () => {
    const pg = { database: { engine: 'postgresql' as const, name: 'shop', url: undefined } } as never;
    const servers = [{ roles: ['db'] }, { roles: ['web'] }];
    expect([holdsDatabaseByRoles(pg, servers, ['db']), holdsDatabaseByRoles(pg, servers, ['web'])]).toEqual([true, false]);
    expect(holdsDatabaseByRoles(pg, [{ roles: ['web'] }, { roles: ['web'] }], ['web'])).toBe(true);
    expect(holdsDatabaseByRoles({ database: { engine: 'postgresql', name: 'shop', url: 'postgres://x/y' } } as never, servers, ['db'])).toBe(false);
    expect(holdsDatabaseByRoles({ database: { engine: 'none', name: 'shop' } } as never, servers, ['db'])).toBe(false);
  });
});
