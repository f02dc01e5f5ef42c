// setup, backup and restore in-process: what is refused before any server is contacted, and setup's report.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';
import { humanSize } from '../../src/cli/backup-commands.js';
import { setupReport } from '../../src/cli/setup-commands.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function configDir(env: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-cli-setup-'));
  dirs.push(dir);
  await writeFile(join(dir, 'deploy-prod.yml'), env);
  return dir;
}

async function slipway(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), env, cwd: '/nonexistent' };
  const code = await run(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

// No server answers at this address: anything that tried to connect would fail differently (and slowly).
const UNREACHABLE = 'project: {name: shop}\nservers: [{host: 192.0.2.1}]\nssh: {connect_timeout: 1}\n';
const WITH_DB = `${UNREACHABLE}database: {engine: postgresql, name: shop, user: shop, password: '\${DB_PASSWORD}'}\n`;

describe('refused before connecting', () => {
  it('restore needs exactly one of --verify and --into-live', async () => {
    const dir = await configDir(WITH_DB);
    for (const flags of [[], ['--verify', '--into-live']]) {
      const result = await slipway(['-c', dir, 'restore', 'prod', 'latest', ...flags], { DB_PASSWORD: 'pw-1234' });
      expect(result).toMatchObject({ code: 2, err: 'error: give exactly one of --verify and --into-live' });
    }
  });

  it('restore --into-live needs its confirmation flag', async () => {
    const dir = await configDir(WITH_DB);
    const result = await slipway(['-c', dir, 'restore', 'prod', 'latest', '--into-live'], { DB_PASSWORD: 'pw-1234' });
    expect(result.code).toBe(2);
    expect(result.err).toBe("error: --into-live replaces every row of the live database with the backup's\nhint: add --yes-really-replace-live-data to confirm (a fresh backup is taken first)");
  });

  it('backup needs a PostgreSQL database in the config', async () => {
    const result = await slipway(['-c', await configDir(UNREACHABLE), 'backup', 'prod']);
    expect(result).toMatchObject({ code: 2, err: 'error: this environment has no database to back up (database.engine is not postgresql)' });
  });

  it('Redis needs a password, and a process may not take the backup units\' name', async () => {
    const redis = await slipway(['-c', await configDir(`${UNREACHABLE}setup: {redis: {enabled: true}}\n`), 'setup', 'prod']);
    expect(redis.code).toBe(2);
    expect(redis.err).toMatch(/deploy-prod\.yml:4:\d+: setup\.redis\.password: required when redis is enabled \(write it as \$\{REDIS_PASSWORD\}\)$/);
    const literal = await slipway(['-c', await configDir(`${UNREACHABLE}setup: {redis: {enabled: true, password: hunter22}}\n`), 'validate', 'prod']);
    expect(literal.err).toContain('setup.redis.password: a literal password in the config; write ${REDIS_PASSWORD} instead');
    const unit = await slipway(['-c', await configDir(`${WITH_DB}processes: {backup: {command: run-backup}}\n`), 'validate', 'prod'], { DB_PASSWORD: 'pw-1234' });
    expect(unit.code).toBe(2);
    expect(unit.err).toContain("processes.backup: the name `backup` is taken by the database backup timer's units; rename this process");
  });
});

describe('what setup prints', () => {
  it('one row per item and host, reasons and warnings under their item, a summary of the statuses', () => {
    const { text, summary } = setupReport([
      {
        host: 'web1',
        items: [
          { id: 'packages', title: 'System packages', status: 'ok', notes: [] },
          { id: 'firewall', title: 'Firewall (ufw)', status: 'skipped', notes: ['ufw cannot run on this host'] },
          { id: 'postgres-access', title: 'PostgreSQL: local connections only', status: 'changed', notes: ['pg_hba.conf line 3 is open'] },
          { id: 'ssh', title: 'sshd: key-only login', status: 'refused', notes: ['refused: root has no key'] },
        ],
      },
    ]);
    expect(text).toBe(
      [
        'web1  ok       System packages',
        'web1  skipped  Firewall (ufw)',
        '                 ufw cannot run on this host',
        'web1  changed  PostgreSQL: local connections only',
        '                 warning: pg_hba.conf line 3 is open',
        'web1  refused  sshd: key-only login',
        '                 refused: root has no key',
      ].join('\n'),
    );
    expect(summary).toBe('1 changed, 1 ok, 1 skipped, 1 refused');
  });

  it('sizes', () => {
    expect([0, 852, 30355, 5 * 1024 * 1024 * 1024].map(humanSize)).toEqual(['0 B', '852 B', '29.6 KB', '5.0 GB']);
  });
});
