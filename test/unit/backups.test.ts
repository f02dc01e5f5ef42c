// Backups: the script the timer and `slipway backup` run (exact units, and the script itself run by bash against a
// temp directory with stand-ins for runuser and pg_dump: naming, modes, retention), the verify step's counting of
// a dump's rows, and the pure side (listing, names, scratch database, comparison).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { listBackups, verifyBackup } from '../../src/ops/backups.js';
import { systemdManager } from '../../src/ops/systemd-manager.js';
import type { Layout } from '../../src/plan/layout.js';
import { renderScript } from '../../src/ops/shell.js';
import { backupKind, compareCounts, parseBackups, resolveBackup, scratchDatabase } from '../../src/plan/backups.js';
import { layoutFor } from '../../src/plan/layout.js';
import { backupSpec, renderBackupScript, renderBackupService, renderBackupTimer, type BackupSpec } from '../../src/render/backup.js';
import { testConfig } from './fixtures/config.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-backups-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const bin = join(scratch, 'bin');
mkdirSync(bin);
const tool = (name: string, body: string) => {
  writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
};
// runuser -u postgres -- CMD...: run CMD as we are.
tool('runuser', 'shift 3; exec "$@"');
const bash = (script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  spawnSync('bash', ['-c', script, 'backup.sh', ...args], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, ...env } });

const spec = backupSpec(layoutFor(testConfig(), 'main'), 'shop', { retention_days: 30, plain_sql_gzip: false, copy_to: [] });

describe('backup timer units', () => {
  it('a oneshot service running the script, and a persistent timer on the schedule', () => {
    expect(spec).toEqual({ database: 'shop', dir: '/opt/shop/shared/backups', retentionDays: 30, plainSql: false, prefix: 'shop' });
    expect(renderBackupService(spec)).toBe(
      [
        '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
        '[Unit]',
        'Description=Back up the shop database (slipway)',
        'After=postgresql.service',
        '',
        '[Service]',
        'Type=oneshot',
        'ExecStart=/usr/local/lib/slipway/shop-backup.sh timer',
        'Nice=10',
        'IOSchedulingClass=idle',
        '',
      ].join('\n'),
    );
    expect(renderBackupTimer(spec, '*-*-* 03:15:00')).toBe(
      [
        '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
        '[Unit]',
        'Description=Back up the shop database on schedule (slipway)',
        '',
        '[Timer]',
        'OnCalendar=*-*-* 03:15:00',
        'Persistent=true',
        'RandomizedDelaySec=10min',
        '',
        '[Install]',
        'WantedBy=timers.target',
        '',
      ].join('\n'),
    );
  });
});

describe('the backup script, run by bash', () => {
  const dir = join(scratch, 'backups');
  const local = (overrides: Partial<BackupSpec> = {}) => renderBackupScript({ ...spec, dir, ...overrides });
  const files = () => readdirSync(dir).sort();
  const age = (name: string, days: number) => spawnSync('touch', ['-d', `${days} days ago`, join(dir, name)]);
  beforeEach(() => {
    rmSync(dir, { recursive: true, force: true });
    tool('pg_dump', 'echo "dump of ${@: -1} ($*)"');
    tool('mv', 'exec /bin/mv "$@"');
  });

  it('writes <UTC stamp>-<kind>.dump, readable by its owner only, and says so', () => {
    const result = bash(local(), ['manual']);
    expect(result.status, result.stderr).toBe(0);
    const [name] = files();
    expect(name).toMatch(/^\d{8}T\d{6}\.\d{3}Z-manual\.dump$/);
    expect(readFileSync(join(dir, name!), 'utf8')).toBe('dump of shop (--no-password -Fc shop)\n');
    expect((statSync(join(dir, name!)).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
    expect(result.stdout).toBe(`backup ${join(dir, name!)} 38\n`);
    expect(bash(local(), []).stdout).toMatch(/-timer\.dump \d+\n$/);
  });

  it('deletes dumps (and plain SQL files) older than the retention, keeps the others', () => {
    mkdirSync(dir);
    for (const name of ['20240101T000000.000Z-timer.dump', '20240101T000000.000Z-timer.sql.gz', '20240102T000000.000Z-r1-pre-migrate.dump', 'recent-manual.dump']) writeFileSync(join(dir, name), 'x');
    age('20240101T000000.000Z-timer.dump', 40);
    age('20240101T000000.000Z-timer.sql.gz', 40);
    age('20240102T000000.000Z-r1-pre-migrate.dump', 31);
    age('recent-manual.dump', 29);
    const result = bash(local(), ['timer']);
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n').filter((l) => l.startsWith('expired '))).toEqual([
      `expired ${dir}/20240101T000000.000Z-timer.dump`,
      `expired ${dir}/20240101T000000.000Z-timer.sql.gz`,
      `expired ${dir}/20240102T000000.000Z-r1-pre-migrate.dump`,
    ]);
    expect(files()).toHaveLength(2);
    expect(files()).toContain('recent-manual.dump');
  });

  it('never deletes the newest dump, whatever its age', () => {
    mkdirSync(dir);
    writeFileSync(join(dir, 'old-manual.dump'), 'x');
    age('old-manual.dump', 50);
    // The new dump lands with an old date (a clock set wrong): it is still the newest, and stays.
    tool('mv', '/bin/mv "$@" && case "$2" in *.dump) touch -d "45 days ago" "$2" ;; esac');
    const result = bash(local(), ['manual']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`expired ${dir}/old-manual.dump`);
    expect(files()).toEqual([expect.stringMatching(/-manual\.dump$/)]);
  });

  it('with plain_sql_gzip, also a gzip\'d plain SQL dump of the same name', () => {
    expect(bash(local({ plainSql: true }), ['manual']).status).toBe(0);
    const sql = files().find((f) => f.endsWith('.sql.gz'))!;
    expect(files()).toEqual([sql.replace('.sql.gz', '.dump'), sql]);
    expect(gunzipSync(readFileSync(join(dir, sql))).toString()).toBe('dump of shop (--no-password shop)\n');
  });

  it('a failed pg_dump leaves no file behind and deletes nothing', () => {
    mkdirSync(dir);
    writeFileSync(join(dir, 'old-timer.dump'), 'x');
    age('old-timer.dump', 90);
    tool('pg_dump', 'echo "pg_dump: error: connection refused" >&2; exit 1');
    const result = bash(local({ plainSql: true }), ['manual']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('connection refused');
    expect(files()).toEqual(['old-timer.dump']);
  });

  it('refuses an unknown kind', () => {
    const result = bash(local(), ['weekly; rm -rf /']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage:');
  });
});

describe('checking a backup', () => {
  it('counts every table\'s rows from the dump\'s COPY data, restores, and lists what the database holds', () => {
    const log = join(scratch, 'verify.log');
    tool('createdb', `echo "createdb $*" >> ${log}`);
    tool('dropdb', `echo "dropdb $*" >> ${log}`);
    // A value with an escaped newline and one holding a backslash-dot stay one row each.
    const sql = ['SET x = 1;', 'COPY public.visits (id, note) FROM stdin;', '1\\tone\\nline', '2\t\\\\.', '\\.', '', 'COPY public."Odd Name" (id) FROM stdin;', '\\.', ''].join('\n');
    writeFileSync(join(scratch, 'dump.sql'), sql);
    tool('pg_restore', `if [ "$1" = --data-only ]; then cat > /dev/null; cat ${scratch}/dump.sql; else echo "pg_restore $*" >> ${log}; cat > /dev/null; fi`);
    tool('psql', 'cat > /dev/null; echo "public.visits 2"; echo \'public."Odd Name" 0\'');
    const dump = join(scratch, 'x-manual.dump');
    writeFileSync(dump, 'PGDMP');
    const result = bash(renderScript([{ id: 'verify', title: 'verify', commands: verifyBackup(dump, 'shop_verify_20261122_031500') }]));
    expect(result.status).toBe(0);
    const lines = result.stdout.split('\n').filter((l) => /^(dump|restored) /.test(l));
    expect(lines).toEqual(['dump public.visits 2', 'dump public."Odd Name" 0', 'restored public.visits 2', 'restored public."Odd Name" 0']);
    expect(readFileSync(log, 'utf8')).toBe(
      'createdb shop_verify_20261122_031500\npg_restore --no-owner --no-privileges --exit-on-error -d shop_verify_20261122_031500\ndropdb --if-exists shop_verify_20261122_031500\n',
    );
  });

  it('drops the scratch database also when the restore fails, and fails', () => {
    const log = join(scratch, 'verify-fail.log');
    tool('createdb', `echo "createdb $*" >> ${log}`);
    tool('dropdb', `echo "dropdb $*" >> ${log}`);
    tool('pg_restore', 'cat > /dev/null; echo "pg_restore: error: could not read from input file: end of file" >&2; exit 1');
    const dump = join(scratch, 'broken-manual.dump');
    writeFileSync(dump, 'PGD');
    const result = bash(renderScript([{ id: 'verify', title: 'verify', commands: verifyBackup(dump, 'shop_verify_x') }]));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('could not read from input file');
    expect(readFileSync(log, 'utf8')).toBe('createdb shop_verify_x\ndropdb --if-exists shop_verify_x\n');
  });

  it('compares the counts: equal, missing tables, different counts', () => {
    expect(compareCounts(['dump public.a 3', 'dump public.b 0', 'restored public.a 3', 'restored public.b 0', 'noise'])).toEqual({
      ok: true,
      tables: [
        { table: 'public.a', dump: 3, restored: 3 },
        { table: 'public.b', dump: 0, restored: 0 },
      ],
      problems: [],
    });
    expect(compareCounts(['dump public.a 3', 'restored public.a 2', 'dump public.b 1', 'restored public.c 5']).problems).toEqual([
      'public.a: 3 rows in the dump, 2 restored',
      'public.b: in the dump, but not restored',
      'public.c: restored, but the dump has no data for it',
    ]);
  });
});

describe('backups as data', () => {
  it('lists dumps and SQL files, newest first, with their kind', () => {
    expect(listBackups('/opt/shop/shared/backups').shell).toBe(
      "for f in /opt/shop/shared/backups/*.dump /opt/shop/shared/backups/*.sql.gz; do if [ -f \"$f\" ]; then stat -c 'backup %s %Y %n' \"$f\"; fi; done",
    );
    const files = parseBackups(
      ['backup 100 1700000000 /b/20231114T221320.000Z-timer.dump', 'backup 50 1700000100 /b/20231114T221500.000Z-1234567-pre-migrate.dump', 'backup 9 1700000200 /b/hand-made.dump', 'backup 7 1700000000 /b/20231114T221320.000Z-timer.sql.gz', 'junk'].join('\n'),
    );
    expect(files.map((f) => [f.name, f.kind, f.format, f.size, f.at.toISOString()])).toEqual([
      ['hand-made.dump', 'other', 'dump', 9, '2023-11-14T22:16:40.000Z'],
      ['20231114T221500.000Z-1234567-pre-migrate.dump', 'pre-migrate', 'dump', 50, '2023-11-14T22:15:00.000Z'],
      ['20231114T221320.000Z-timer.sql.gz', 'timer', 'sql.gz', 7, '2023-11-14T22:13:20.000Z'],
      ['20231114T221320.000Z-timer.dump', 'timer', 'dump', 100, '2023-11-14T22:13:20.000Z'],
    ]);
    expect(backupKind('20231114T221320.000Z-pre-restore.dump')).toBe('pre-restore');
    expect(backupKind('20231114T221320.000Z-manual.dump')).toBe('manual');
  });

  it('resolves a name, a unique prefix or latest; refuses ambiguous, unknown and hostile names', () => {
    const files = parseBackups(['backup 1 300 /b/20231114T2213-timer.dump', 'backup 1 200 /b/20231114T2200-manual.dump', 'backup 1 100 /b/20231113T0000-manual.dump', 'backup 1 400 /b/20231114T2213-timer.sql.gz'].join('\n'));
    expect(resolveBackup('latest', files).name).toBe('20231114T2213-timer.dump');
    expect(resolveBackup('20231113T0000-manual.dump', files).name).toBe('20231113T0000-manual.dump');
    expect(resolveBackup('/opt/x/20231113T0000-manual', files).name).toBe('20231113T0000-manual.dump');
    expect(resolveBackup('20231114T2200', files).name).toBe('20231114T2200-manual.dump');
    expect(() => resolveBackup('20231114', files)).toThrow('20231114 matches 2 backups: 20231114T2213-timer.dump, 20231114T2200-manual.dump');
    expect(() => resolveBackup('2099', files)).toThrow('no backup 2099');
    expect(() => resolveBackup("x'; rm -rf /", files)).toThrow('is not a backup name');
    expect(() => resolveBackup('latest', [])).toThrow('there are no backups yet');
  });

  it('names the scratch database after the app database and the time, within 63 bytes', () => {
    const at = new Date('2026-11-22T03:15:07.123Z');
    expect(scratchDatabase('shop', at)).toBe('shop_verify_20261122_031507');
    expect(scratchDatabase('a'.repeat(63), at)).toHaveLength(63);
  });

  it('lists the running app services, without the backup timer\'s own', () => {
    expect(systemdManager({ unitPrefix: 'shop' } as Layout).runningProbe.shell).toBe(
      "systemctl list-units --plain --no-legend --type=service --state=active 'shop-*' | awk '{ print $1 }' | grep -vxF shop-backup.service | sed 's/^/unit /' || true",
    );
  });
});
