// backup, backups, restore: the app's PostgreSQL dumps under shared/backups.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { load, operationContext, type GlobalOptions } from './context.js';
import type { Io } from './io.js';
import { table } from './output.js';

export const LIVE_CONFIRMATION = '--yes-really-replace-live-data';

export function humanSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function registerBackupCommands(program: Command, io: Io, argv: readonly string[]): void {
  const globals = () => program.opts<GlobalOptions>();
  const context = async (env: string, options: { host?: string }, action: string) => {
    const loaded = await load(io, env, globals());
    return operationContext(io, loaded, { ...globals(), ...options }, action, argv);
  };

  program
    .command('backup')
    .description('dump the app database now (pg_dump -Fc into shared/backups), then delete dumps older than backups.retention_days')
    .argument('<env>', 'environment')
    .option('--host <name>', 'only this server')
    .action(async (env: string, options: { host?: string }) => {
      const { backup } = await import('../execute/backups.js');
      const made = await backup(await context(env, options, 'backup'));
      for (const m of made) {
        io.out(`${m.host}: ${m.file} (${humanSize(m.size)})`);
        for (const old of m.expired) io.out(`${m.host}: deleted ${old} (older than the retention)`);
      }
    });

  program
    .command('backups')
    .description('list the database backups on each server: name, kind (manual, timer, pre-migrate, pre-restore), size, time')
    .argument('<env>', 'environment')
    .option('--host <name>', 'only this server')
    .option('--json', 'machine-readable output')
    .action(async (env: string, options: { host?: string; json?: boolean }) => {
      const { listAll } = await import('../execute/backups.js');
      const hosts = await listAll(await context(env, options, 'backups'));
      if (options.json) {
        io.out(JSON.stringify(hosts.map((h) => ({ host: h.host, backups: h.backups.map((b) => ({ ...b, at: b.at.toISOString() })) })), null, 2));
        return;
      }
      const rows = [['HOST', 'BACKUP', 'KIND', 'SIZE', 'TIME (UTC)']];
      for (const { host, backups } of hosts) {
        for (const b of backups) rows.push([host, b.name, b.kind, humanSize(b.size), b.at.toISOString().replace('T', ' ').slice(0, 19)]);
        if (backups.length === 0) rows.push([host, '(no backups)', '', '', '']);
      }
      io.out(table(rows));
    });

  program
    .command('restore')
    .description(`check a backup (--verify: restore into a scratch database and compare every table) or restore it into the live database (--into-live ${LIVE_CONFIRMATION})`)
    .argument('<env>', 'environment')
    .argument('<backup>', 'backup name (or a unique prefix, or `latest`), as `slipway backups` lists them')
    .option('--verify', 'restore into a scratch database, compare tables and row counts with the dump, drop it')
    .option('--into-live', 'replace the live data with the backup (after a fresh backup; the app is stopped meanwhile)')
    .option(LIVE_CONFIRMATION, 'confirms --into-live')
    .option('--host <name>', 'only this server')
    .action(async (env: string, name: string, options: { verify?: boolean; intoLive?: boolean; yesReallyReplaceLiveData?: boolean; host?: string }) => {
      const { restoreIntoLive, verify } = await import('../execute/backups.js');
      if (!options.verify === !options.intoLive) throw new UserError('give exactly one of --verify and --into-live');
      if (options.intoLive) {
        if (!options.yesReallyReplaceLiveData) throw new UserError(`--into-live replaces every row of the live database with the backup's`, `add ${LIVE_CONFIRMATION} to confirm (a fresh backup is taken first)`);
        const done = await restoreIntoLive(await context(env, options, 'restore'), name);
        io.out(`${done.host}: backed up the live data to ${done.safety}`);
        io.out(`${done.host}: restored ${done.backup.name} into the live database`);
        for (const [host, units] of Object.entries(done.stopped)) if (units.length > 0) io.out(`${host}: restarted ${units.join(' ')}`);
        return;
      }
      const results = await verify(await context(env, options, 'restore'), name);
      for (const r of results) {
        if (r.error) {
          io.err(`${r.host}: ${r.backup.name} could not be restored: it is damaged or incomplete`);
          throw r.error;
        }
        if (!r.result.ok) {
          for (const p of r.result.problems) io.err(`${r.host}: ${p}`);
          throw new UserError(`${r.host}: ${r.backup.name} does not restore to what it holds`);
        }
        const rows = r.result.tables.reduce((n, t) => n + (t.restored ?? 0), 0);
        io.out(`${r.host}: ${r.backup.name} ok: ${r.result.tables.length} tables, ${rows} rows restored, as in the dump`);
      }
    });
}
