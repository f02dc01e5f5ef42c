// slipway setup: the files it writes (exact text), the probe's output parsed, the planner from fake facts (a fresh
// host, a host already set up, the safety refusals), the password check against a real PostgreSQL verifier, and
// the file-writing and sudo wrappers run by a real bash.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import type { Cmd } from '../../src/ops/command.js';
import { installConfigFile } from '../../src/ops/config-file.js';
import { asRoot } from '../../src/ops/privilege.js';
import { sha256 } from '../../src/ops/services.js';
import { renderCmd, renderScript } from '../../src/ops/shell.js';
import { layoutFor } from '../../src/plan/layout.js';
import { passwordMatches } from '../../src/plan/pg-password.js';
import { checkKeyLogin, databaseHosts, drillFiles, packagesItem, planSetupItems, setupPackages, setupWants, type SetupInput } from '../../src/plan/setup.js';
import { parseSetupFacts, type SetupFacts } from '../../src/plan/setup-facts.js';
import { backupSpec, renderBackupScript, renderBackupService, renderBackupTimer } from '../../src/render/backup.js';
import {
  renderAutoUpgrades,
  renderJournaldLimits,
  renderLogrotate,
  renderNginxBase,
  renderNodeExporterDefaults,
  renderRedisConfig,
  renderSshdHardening,
} from '../../src/render/setup-files.js';
import { localTarget, sshTarget, testConfig } from './fixtures/config.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-setup-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const PASSWORD = 'correct horse';
const database: Config['database'] = { engine: 'postgresql', name: 'shop', user: 'shop', password: PASSWORD, host: 'localhost', port: 5432 };
const base = testConfig();
const redis = { ...base.setup.redis, enabled: true, password: 'r3dis "pass" \\ é' };
const config = testConfig({ database, setup: { ...base.setup, redis } });
const layout = layoutFor(config, 'main');
const text = (commands: Cmd[]) => commands.map((c) => renderCmd(c, { redact: true })).join('\n');

describe('files setup writes', () => {
  it('sshd: key-only login', () => {
    expect(renderSshdHardening()).toBe(
      [
        '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
        '# Key-only logins: no passwords, root by key only. Remove this file and reload ssh to undo.',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        '',
      ].join('\n'),
    );
  });

  it('Redis: localhost, the password quoted for redis.conf, memory policy, dangerous commands disabled', () => {
    expect(renderRedisConfig({ password: 'r3dis "pass" \\ é', maxmemory: '256MB', appendonly: true })).toBe(
      [
        '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
        '# Included from the end of /etc/redis/redis.conf: the values here win.',
        'bind 127.0.0.1 -::1',
        'protected-mode yes',
        'requirepass "r3dis \\"pass\\" \\\\ \\xc3\\xa9"',
        'maxmemory 256mb',
        'maxmemory-policy allkeys-lru',
        'appendonly yes',
        'rename-command FLUSHALL ""',
        'rename-command FLUSHDB ""',
        'rename-command CONFIG ""',
        'rename-command KEYS ""',
        'rename-command DEBUG ""',
        '',
      ].join('\n'),
    );
    // A newline in the password cannot start a directive of its own.
    expect(renderRedisConfig({ password: 'a\nrename-command GET ""', maxmemory: '1gb', appendonly: false })).toContain('requirepass "a\\x0arename-command GET \\"\\""\n');
  });

  it('journald, logrotate, nginx base and unattended upgrades', () => {
    expect(renderJournaldLimits('500M')).toBe('# Written by slipway setup: changes here are replaced on the next `slipway setup`.\n[Journal]\nSystemMaxUse=500M\n');
    expect(renderLogrotate({ logDir: '/opt/shop/shared/logs', appUser: 'shop', keep: 30 })).toBe(
      [
        '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
        '/opt/shop/shared/logs/*.log {',
        '    daily',
        '    rotate 30',
        '    compress',
        '    delaycompress',
        '    missingok',
        '    notifempty',
        '    copytruncate',
        '    su shop shop',
        '}',
        '',
      ].join('\n'),
    );
    expect(renderNginxBase()).toBe('# Written by slipway setup: changes here are replaced on the next `slipway setup`.\n# Do not announce the nginx version in error pages and the Server header.\nserver_tokens off;\n');
    expect(renderAutoUpgrades()).toBe(
      '// Written by slipway setup: install security updates every day (see 50unattended-upgrades).\nAPT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
    );
  });
});

describe('setup probe output', () => {
  it('parses packages, directories, files, sshd, the firewall, PostgreSQL and flags', () => {
    const facts = parseSetupFacts(
      [
        'flag systemd',
        'package nginx',
        'package ufw',
        'flag app-user',
        'dir 755 root root /opt/shop',
        'dir 750 shop shop /opt/shop/shared/logs',
        'file abc123 /etc/ssh/sshd_config.d/01-slipway.conf',
        'sshd port 22',
        'sshd port 2222',
        'sshd passwordauthentication no',
        'sshd authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2',
        'authorized-keys 2',
        'firewall unusable iptables v1.8.9 (nf_tables): Permission denied (you must be root)',
        'ufw Status: inactive',
        'pg-running',
        'pg-listen localhost',
        'pg-role SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5',
        'pg-db shop',
        'pg-hba 3 host all,shop 0.0.0.0 0.0.0.0',
        'flag redis-include',
        'flag timer',
      ].join('\n'),
    );
    expect(facts).toEqual({
      systemd: true,
      packages: ['nginx', 'ufw'],
      appUser: true,
      dirs: { '/opt/shop': { mode: '755', owner: 'root', group: 'root' }, '/opt/shop/shared/logs': { mode: '750', owner: 'shop', group: 'shop' } },
      files: { '/etc/ssh/sshd_config.d/01-slipway.conf': 'abc123' },
      sshd: { port: '22 2222', passwordauthentication: 'no', authorizedkeysfile: '.ssh/authorized_keys .ssh/authorized_keys2' },
      authorizedKeys: 2,
      firewall: { usable: false, reason: 'iptables v1.8.9 (nf_tables): Permission denied (you must be root)', status: ['Status: inactive'] },
      postgres: { listen: 'localhost', verifier: 'SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5', database: true, hba: [{ line: 3, type: 'host', databases: ['all', 'shop'], address: '0.0.0.0', netmask: '0.0.0.0' }] },
      redisInclude: true,
      timer: true,
    });
  });

  it('a bare host: nothing installed, no firewall, no PostgreSQL', () => {
    expect(parseSetupFacts('')).toEqual({ systemd: false, packages: [], appUser: false, dirs: {}, files: {}, sshd: {}, redisInclude: false, timer: false });
  });
});

/** A real verifier: PostgreSQL 15 stored it for `CREATE ROLE ... PASSWORD 'correct horse'`. */
const VERIFIER = 'SCRAM-SHA-256$4096:LWYwAVqc6OshM+D5eG5yUA==$oCTA8smpHgLghUCaHUIf2gvNiMgUxVjqcrqu+nWgThM=:H3flAv/jsxgsWNOjpxwyS9hMP5FpMrwc3hJ/3aA4TEs=';

describe('PostgreSQL password check', () => {
  it('matches a SCRAM verifier made by PostgreSQL, and md5 ones', () => {
    expect(passwordMatches(VERIFIER, 'zz_verifier', 'correct horse')).toBe(true);
    expect(passwordMatches(VERIFIER, 'zz_verifier', 'correct horse!')).toBe(false);
    expect(passwordMatches('md5c0d4bd4a7d4f7e6d4e8aec1a9e4b0da2', 'shop', 'x')).toBe(false);
    expect(passwordMatches(`md5${'3a6b0ba0e5d2b8dcd0e5e0c8b6d1ae5a'}`, 'shop', 'nope')).toBe(false);
    expect(passwordMatches('none', 'shop', 'x')).toBe(false);
  });

  it('md5 verifiers: md5 of the password followed by the user name', async () => {
    const { createHash } = await import('node:crypto');
    const md5 = `md5${createHash('md5').update('secretshop').digest('hex')}`;
    expect(passwordMatches(md5, 'shop', 'secret')).toBe(true);
    expect(passwordMatches(md5, 'other', 'secret')).toBe(false);
  });
});

const input = (facts: SetupFacts, overrides: Partial<SetupInput> = {}): SetupInput => ({ config, layout, target: sshTarget, loginUser: 'root', hostsDatabase: true, facts, ...overrides });

/** A host where everything already is as setup wants it: the planner's own files, hashed. */
function convergedFacts(): SetupFacts {
  const spec = backupSpec(layout, 'shop', config.backups);
  const files: Record<string, string> = {
    '/etc/ssh/sshd_config.d/01-slipway.conf': sha256(renderSshdHardening()),
    '/etc/apt/apt.conf.d/20auto-upgrades': sha256(renderAutoUpgrades()),
    '/etc/systemd/journald.conf.d/50-slipway.conf': sha256(renderJournaldLimits('500M')),
    '/etc/logrotate.d/shop': sha256(renderLogrotate({ logDir: '/opt/shop/shared/logs', appUser: 'shop', keep: 30 })),
    '/etc/nginx/conf.d/slipway-base.conf': sha256(renderNginxBase()),
    '/etc/redis/slipway.conf': sha256(renderRedisConfig({ password: redis.password, maxmemory: '256mb', appendonly: false })),
    '/usr/local/lib/slipway/shop-backup.sh': sha256(renderBackupScript(spec)),
    '/etc/systemd/system/shop-backup.service': sha256(renderBackupService(spec)),
    '/etc/systemd/system/shop-backup.timer': sha256(renderBackupTimer(spec, 'daily')),
    ...Object.fromEntries(drillFiles(config, layout, 'shop', sshTarget.label).map((f) => [f.path, sha256(f.text)])),
  };
  return {
    systemd: true,
    packages: setupPackages(config, true),
    appUser: true,
    dirs: {
      '/opt/shop': { mode: '755', owner: 'root', group: 'root' },
      '/opt/shop/releases': { mode: '755', owner: 'root', group: 'root' },
      '/opt/shop/shared': { mode: '755', owner: 'shop', group: 'shop' },
      '/opt/shop/shared/logs': { mode: '750', owner: 'shop', group: 'shop' },
      '/opt/shop/shared/backups': { mode: '700', owner: 'shop', group: 'shop' },
    },
    files,
    sshd: { port: '22', passwordauthentication: 'no', authorizedkeysfile: '.ssh/authorized_keys' },
    authorizedKeys: 1,
    firewall: {
      usable: true,
      status: ['Status: active', 'Default: deny (incoming), allow (outgoing), disabled (routed)', '22/tcp                     ALLOW IN    Anywhere', '80/tcp                     ALLOW IN    Anywhere', '443/tcp                    ALLOW IN    Anywhere', '22/tcp (v6)                ALLOW IN    Anywhere (v6)'],
    },
    postgres: { listen: 'localhost', verifier: VERIFIER, database: true, hba: [] },
    redisInclude: true,
    timer: true,
    drillTimer: true,
  };
}

const converged = () => {
  const facts = convergedFacts();
  // The verifier above is zz_verifier's; this config's role is shop with the same password.
  return { ...facts, postgres: { ...facts.postgres!, verifier: 'x' } };
};

describe('setup planner', () => {
  const shopVerifierConfig = testConfig({ database: { ...database, user: 'zz_verifier' }, setup: { ...base.setup, redis } });
  const convergedInput = (overrides: Partial<SetupInput> = {}) => input(convergedFacts(), { config: shopVerifierConfig, ...overrides });

  it('a host already set up: every item ok, no command at all', () => {
    const items = planSetupItems(convergedInput());
    expect(items.map((i) => [i.id, i.commands.length, i.skip, i.warnings])).toEqual(
      ['app-user', 'directories', 'firewall', 'ssh', 'unattended-upgrades', 'journald', 'logrotate', 'nginx', 'postgres-access', 'database', 'backup-timer', 'restore-drill', 'redis'].map((id) => [id, 0, undefined, []]),
    );
    expect(packagesItem({ config: shopVerifierConfig, hostsDatabase: true, facts: convergedFacts() }).commands).toEqual([]);
  });

  it('node_exporter: the package, its listen address the server\'s private one (else localhost), restarted only when that changes', () => {
    const withExporter = testConfig({ ...shopVerifierConfig, setup: { ...shopVerifierConfig.setup, node_exporter: true } });
    expect(setupPackages(withExporter, true)).toContain('prometheus-node-exporter');
    const target = { ...sshTarget, privateAddress: '10.0.0.5' };
    const fresh = planSetupItems(convergedInput({ config: withExporter, target })).find((i) => i.id === 'node-exporter')!;
    expect(fresh.title).toBe('node_exporter: 10.0.0.5:9100');
    expect(text(fresh.commands)).toContain('ARGS="--web.listen-address=10.0.0.5:9100"');
    expect(text(fresh.commands)).toContain('systemctl restart prometheus-node-exporter.service');
    const done = { ...convergedFacts(), files: { ...convergedFacts().files, '/etc/default/prometheus-node-exporter': sha256(renderNodeExporterDefaults('10.0.0.5')) } };
    expect(planSetupItems(input(done, { config: withExporter, target })).find((i) => i.id === 'node-exporter')!.commands).toEqual([]);
    expect(planSetupItems(convergedInput({ config: withExporter })).find((i) => i.id === 'node-exporter')!.title).toBe('node_exporter: 127.0.0.1:9100');
    expect(planSetupItems(convergedInput()).some((i) => i.id === 'node-exporter')).toBe(false);
  });

  it('supervisor: installed with the packages, started and enabled unless it already runs', () => {
    const withSupervisor = testConfig({ ...shopVerifierConfig, process_manager: 'supervisor' });
    expect(setupPackages(withSupervisor, true)).toContain('supervisor');
    expect(setupWants({ ...convergedInput({ config: withSupervisor }) }).supervisor).toBe(true);
    const stopped = planSetupItems(convergedInput({ config: withSupervisor })).find((i) => i.id === 'supervisor')!;
    expect(text(stopped.commands)).toBe('systemctl enable --now --quiet supervisor');
    const running = planSetupItems(input({ ...convergedFacts(), supervisor: true }, { config: withSupervisor })).find((i) => i.id === 'supervisor')!;
    expect(running.commands).toEqual([]);
    expect(parseSetupFacts('flag supervisor\n').supervisor).toBe(true);
    expect(planSetupItems(convergedInput()).some((i) => i.id === 'supervisor')).toBe(false);
  });

  it('a fresh host: packages first, then every item has commands', () => {
    const fresh = parseSetupFacts('flag systemd\nauthorized-keys 1\nsshd port 22\nfirewall usable\nufw Status: inactive\npg-running\npg-listen *\n');
    expect(text(packagesItem({ config, hostsDatabase: true, facts: fresh }).commands)).toContain(
      'apt-get install -y -q python3-venv git curl sudo nginx logrotate postgresql redis-server ufw unattended-upgrades',
    );
    const items = planSetupItems(input(fresh));
    expect(items.filter((i) => i.commands.length === 0).map((i) => i.id)).toEqual([]);
    const byId = Object.fromEntries(items.map((i) => [i.id, text(i.commands)]));
    expect(byId['app-user']).toBe('{ id -u shop >/dev/null 2>&1 || useradd --system --user-group --home-dir /opt/shop --no-create-home --shell /usr/sbin/nologin shop; }');
    expect(byId.directories).toBe(
      [
        'install -d -m 755 -o root /opt/shop',
        'install -d -m 755 -o root /opt/shop/releases',
        'install -d -m 755 -o shop -g shop /opt/shop/shared',
        'install -d -m 750 -o shop -g shop /opt/shop/shared/logs',
        'install -d -m 700 -o shop -g shop /opt/shop/shared/backups',
      ].join('\n'),
    );
    // SSH is allowed before the firewall comes up.
    expect(byId.firewall).toBe(['ufw default deny incoming', 'ufw default allow outgoing', 'ufw allow 22/tcp', 'ufw allow 80/tcp', 'ufw allow 443/tcp', 'ufw --force enable'].join('\n'));
    expect(byId['postgres-access']).toBe(`(cd / && sudo -n -H -u postgres -- psql -v ON_ERROR_STOP=1 -qX -c 'ALTER SYSTEM SET listen_addresses = '\\''localhost'\\''')\nsystemctl restart postgresql`);
    expect(byId.database).toContain('<redacted: secret values>');
    expect(byId.redis).not.toContain('r3dis');
    expect(byId.redis).toContain("{ grep -qxF 'include /etc/redis/slipway.conf' /etc/redis/redis.conf || tee -a /etc/redis/redis.conf");
    expect(byId['backup-timer']).toContain('systemd-analyze calendar daily >/dev/null 2>&1');
    expect(byId['backup-timer']).toContain('systemctl enable --now --quiet shop-backup.timer');
  });

  it('sshd: the drop-in is checked by sshd (and that no other file turns passwords on) before the reload', () => {
    const facts = { ...convergedFacts(), files: {} };
    const ssh = planSetupItems(input(facts)).find((i) => i.id === 'ssh')!;
    expect(text(ssh.commands)).toBe(
      [
        'mkdir -p /etc/ssh/sshd_config.d',
        'install -m 644 /dev/null /etc/ssh/sshd_config.d/01-slipway.conf.slipway-new',
        `tee /etc/ssh/sshd_config.d/01-slipway.conf.slipway-new > /dev/null <<'SLIPWAY_EOF_0'`,
        renderSshdHardening().trimEnd(),
        'SLIPWAY_EOF_0',
        'if test -f /etc/ssh/sshd_config.d/01-slipway.conf; then\ncp -p /etc/ssh/sshd_config.d/01-slipway.conf /etc/ssh/sshd_config.d/01-slipway.conf.slipway-prev\nelse\nrm -f /etc/ssh/sshd_config.d/01-slipway.conf.slipway-prev\nfi',
        'mv -f /etc/ssh/sshd_config.d/01-slipway.conf.slipway-new /etc/ssh/sshd_config.d/01-slipway.conf',
        "if sshd -t && sshd -T -C user=root,host=localhost,addr=127.0.0.1 | grep -x 'passwordauthentication no' >/dev/null; then\nrm -f /etc/ssh/sshd_config.d/01-slipway.conf.slipway-prev\nelse\n" +
          'if test -f /etc/ssh/sshd_config.d/01-slipway.conf.slipway-prev; then\nmv -f /etc/ssh/sshd_config.d/01-slipway.conf.slipway-prev /etc/ssh/sshd_config.d/01-slipway.conf\nelse\nrm -f /etc/ssh/sshd_config.d/01-slipway.conf\nfi\n' +
          "echo 'sshd refused the new configuration, or another file turns password login on first: the previous /etc/ssh/sshd_config.d/01-slipway.conf was put back'\nfalse\nfi",
        '{ systemctl reload ssh || systemctl reload sshd; }',
      ].join('\n'),
    );
  });

  it('sshd hardening is refused without a key for the login user, or without an SSH connection', () => {
    const noKey = { ...convergedFacts(), files: {}, authorizedKeys: 0 };
    const refused = planSetupItems(input(noKey, { loginUser: 'deploy' })).find((i) => i.id === 'ssh')!;
    expect(refused.commands).toEqual([]);
    expect(refused.skip).toEqual({
      refused: true,
      reason: 'refused: deploy has no key in .ssh/authorized_keys: with passwords off, nobody could log in as deploy without one. Add a key (ssh-copy-id deploy@host) and run setup again, or set setup.ssh_hardening: false',
    });
    expect(checkKeyLogin({ target: sshTarget, loginUser: 'root', facts: { ...noKey, sshd: { authorizedkeyscommand: '/usr/bin/keys %u' } } }).reason).toBe(
      'root has no key in .ssh/authorized_keys (keys from AuthorizedKeysCommand cannot be checked): with passwords off, nobody could log in as root without one',
    );
    expect(checkKeyLogin({ target: localTarget, loginUser: 'root', facts: convergedFacts() })).toEqual({ ok: false, reason: 'slipway is not connected to this host over SSH, so it cannot tell that key login works' });
    expect(checkKeyLogin({ target: sshTarget, loginUser: 'root', facts: { ...convergedFacts(), authorizedKeys: undefined } })).toEqual({ ok: false, reason: 'sshd is not installed' });
    expect(checkKeyLogin({ target: sshTarget, loginUser: 'root', facts: convergedFacts() })).toEqual({ ok: true });
    // Once applied, it stays ok even if the keys are gone later: setup never undoes it on its own.
    expect(planSetupItems(input({ ...convergedFacts(), authorizedKeys: 0 })).find((i) => i.id === 'ssh')!.skip).toBeUndefined();
  });

  it('ufw that cannot run (a container) is skipped with the reason; unknown allow rules are reported', () => {
    const cannot = { ...convergedFacts(), firewall: { usable: false, reason: 'iptables: Permission denied (you must be root)', status: [] } };
    const skipped = planSetupItems(input(cannot)).find((i) => i.id === 'firewall')!;
    expect(skipped).toMatchObject({ commands: [], skip: { reason: 'ufw cannot run on this host (iptables: Permission denied (you must be root)), no firewall rules were applied' } });
    expect(skipped.skip!.refused).toBeUndefined();

    const facts = convergedFacts();
    const extra = { ...facts, firewall: { ...facts.firewall!, status: [...facts.firewall!.status, '5432/tcp                   ALLOW IN    Anywhere'] } };
    const item = planSetupItems(input(extra)).find((i) => i.id === 'firewall')!;
    expect(item.commands).toEqual([]);
    expect(item.warnings).toEqual(['ufw also allows: 5432/tcp ALLOW IN Anywhere (not added by slipway: remove it with `ufw delete` if it is not needed)']);

    const otherPort = { ...facts, sshd: { ...facts.sshd, port: '2222' } };
    expect(text(planSetupItems(input(otherPort)).find((i) => i.id === 'firewall')!.commands)).toContain('ufw allow 2222/tcp');
  });

  it('PostgreSQL: a role whose password differs is set again; open pg_hba lines are reported', () => {
    const facts = convergedFacts();
    const items = planSetupItems(input({ ...facts, postgres: { ...facts.postgres!, hba: [{ line: 99, type: 'host', databases: ['all'], address: '0.0.0.0', netmask: '0.0.0.0' }, { line: 100, type: 'host', databases: ['other'], address: 'all', netmask: '-' }] } }, { config: testConfig({ database: { ...database, user: 'zz_verifier', password: 'changed' }, setup: { ...base.setup, redis } }) }));
    expect(items.find((i) => i.id === 'database')!.commands).toHaveLength(1);
    expect(items.find((i) => i.id === 'postgres-access')!.warnings).toEqual([
      'pg_hba.conf line 99 accepts shop connections from any address; with listen_addresses = localhost none can arrive, but remove the line',
    ]);
    expect(planSetupItems(input(converged(), { config: shopVerifierConfig })).find((i) => i.id === 'database')!.commands).toHaveLength(1);
  });

  it('only the hosts that hold the database get PostgreSQL, Redis and the backup timer', () => {
    const web = { ...sshTarget, roles: ['web'] };
    const db = { ...sshTarget, label: 'db1', roles: ['db'] };
    expect(databaseHosts([web, db])).toEqual([false, true]);
    expect(databaseHosts([web, web])).toEqual([true, true]);
    const ids = planSetupItems(input(convergedFacts(), { config: shopVerifierConfig, hostsDatabase: false })).map((i) => i.id);
    expect(ids).not.toContain('database');
    expect(ids).not.toContain('redis');
    expect(ids).not.toContain('backup-timer');
    expect(setupPackages(config, false)).not.toContain('postgresql');
    expect(setupWants({ config, layout, loginUser: 'root', hostsDatabase: false }).database).toBeUndefined();
  });
});

describe('file writes and sudo, run by bash', () => {
  const bash = (script: string, env: NodeJS.ProcessEnv = {}) => spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  const run = (commands: Cmd[]) => bash(renderScript([{ id: 'write', title: 'write', commands }]));

  it('a file is replaced whole; a file its check refuses gives way to the previous one, and the step fails', () => {
    const path = join(scratch, 'etc', 'app.conf');
    expect(run(installConfigFile({ path, text: 'one\n', mode: '600' })).status).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('one\n');
    expect(spawnSync('stat', ['-c', '%a', path], { encoding: 'utf8' }).stdout.trim()).toBe('600');

    const good = run(installConfigFile({ path, text: 'two\n' }, { check: { argv: ['grep', '-q', 'two', path] }, message: 'refused' }));
    expect(good.status).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('two\n');
    expect(existsSync(`${path}.slipway-prev`)).toBe(false);

    const bad = run(installConfigFile({ path, text: 'broken\n' }, { check: { argv: ['grep', '-q', 'two', path] }, message: 'the check refused it' }));
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toContain(`the check refused it: the previous ${path} was put back`);
    expect(readFileSync(path, 'utf8')).toBe('two\n');

    const fresh = join(scratch, 'etc', 'new.conf');
    expect(run(installConfigFile({ path: fresh, text: 'x\n' }, { check: { argv: ['false'] }, message: 'no' })).status).not.toBe(0);
    expect(existsSync(fresh)).toBe(false);
  });

  it('as root a script runs as it is; otherwise through sudo from a private file, with its exit code', () => {
    expect(asRoot('echo hi\n', 0)).toBe('echo hi\n');
    const bin = join(scratch, 'bin');
    mkdirSync(bin, { recursive: true });
    // A stand-in for `sudo -n`: records its arguments, then runs the command.
    writeFileSync(join(bin, 'sudo'), `#!/bin/bash\necho "sudo $*" >> ${scratch}/sudo.log\n[ "$1" = -n ] && shift\nexec "$@"\n`);
    chmodSync(join(bin, 'sudo'), 0o755);
    const script = `echo "secret: $(cat <<'X'\nhunter2\nX\n)"\nexit 3\n`;
    const result = bash(asRoot(script, 1000), { PATH: `${bin}:${process.env.PATH}` });
    expect(result.stdout).toBe('secret: hunter2\n');
    expect(result.status).toBe(3);
    const log = readFileSync(join(scratch, 'sudo.log'), 'utf8');
    expect(log).toMatch(/^sudo -n bash \/tmp\/tmp\.\w+\n$/);
    expect(log).not.toContain('hunter2');
    expect(existsSync(log.trim().split(' ').pop()!)).toBe(false);
  });
});

describe('restore drill item', () => {
  const target = sshTarget;
  it('verify_schedule off removes a drill timer installed before, and nothing when there is none', () => {
    const off = testConfig({ database, backups: { ...config.backups, verify_schedule: 'off' } });
    const facts = { ...parseSetupFacts(''), postgres: { listen: 'localhost', database: true, hba: [] }, drillTimer: true };
    const items = planSetupItems({ config: off, layout, target, loginUser: 'root', hostsDatabase: true, facts });
    const drill = items.find((i) => i.id === 'restore-drill')!;
    expect(drill.title).toBe('Restore drill: off (backups.verify_schedule), its timer removed');
    expect(drill.commands.map((c) => renderCmd(c))).toEqual([
      'systemctl disable --now --quiet shop-restore-drill.timer',
      'rm -f /usr/local/lib/slipway/shop-restore-drill.sh /etc/slipway/shop-restore-drill.env /etc/systemd/system/shop-restore-drill.service /etc/systemd/system/shop-restore-drill.timer',
      'systemctl daemon-reload',
    ]);
    expect(planSetupItems({ config: off, layout, target, loginUser: 'root', hostsDatabase: true, facts: { ...facts, drillTimer: false } }).some((i) => i.id === 'restore-drill')).toBe(false);
  });
});
