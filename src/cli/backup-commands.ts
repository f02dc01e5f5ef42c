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
        for (const c of m.copied) io.out(`${m.host}: copied ${c.name} to ${c.to} (sha256 ${c.sum.slice(0, 12)}, checked there)`);
      }
      const failures = made.flatMap((m) => m.copyFailures.map((f) => `${m.host}: ${f}`));
      if (failures.length > 0) throw new UserError(`the dump is made, but a copy failed: ${failures.join('; ')}`, 'the next backup sends what is missing; `slipway setup <env>` sets the copies up again and sends them');
    });

  program
    .command('backups')
    .description('list the database backups on each server (name, kind: manual, timer, pre-migrate, pre-restore, pitr; size, time; which copies hold it), and the copies of backups.copy_to')
    .argument('<env>', 'environment')
    .option('--host <name>', 'only this server')
    .option('--check', 'recompute the checksum of every copy (on a copy server; a bucket\'s read back) and compare it with the one recorded when it arrived')
    .option('--copies', 'list only the copies: the environment\'s own servers are not reached (for when they are gone)')
    .option('--json', 'machine-readable output')
    .action(async (env: string, options: { host?: string; json?: boolean; check?: boolean; copies?: boolean }) => {
      const { listAll } = await import('../execute/backups.js');
      const { copyState } = await import('../plan/backup-copies.js');
      const { whereOf } = await import('../execute/backup-copies.js');
      const listing = await listAll(await context(env, options, 'backups'), { check: options.check === true, copiesOnly: options.copies === true });
      const time = (at: Date) => at.toISOString().replace('T', ' ').slice(0, 19);
      const holders = (name: string) => listing.copies.filter((c) => c.listing.files.some((f) => f.name === name)).map((c) => c.name);
      if (options.json) {
        io.out(JSON.stringify({
          hosts: listing.hosts.map((h) => ({ host: h.host, backups: h.backups.map((b) => ({ ...b, at: b.at.toISOString(), copies: holders(b.name) })) })),
          copies: listing.copies.map((c) => ({ copy: c.name, where: whereOf(c.destination), ...(c.unlisted ? { unlisted: c.unlisted } : {}), live: c.listing.live, files: c.listing.files.map((f) => ({ ...f, at: f.at.toISOString(), state: copyState(f) })) })),
        }, null, 2));
      } else {
        const withCopies = listing.copies.length > 0;
        const rows = [['HOST', 'BACKUP', 'KIND', 'SIZE', 'TIME (UTC)', ...(withCopies ? ['COPIES'] : [])]];
        for (const { host, backups } of listing.hosts) {
          for (const b of backups) rows.push([host, b.name, b.kind, humanSize(b.size), time(b.at), ...(withCopies ? [b.format === 'dump' ? holders(b.name).join(',') || '-' : ''] : [])]);
          if (backups.length === 0) rows.push([host, '(no backups)', '', '', '', ...(withCopies ? [''] : [])]);
        }
        if (listing.hosts.length > 0) io.out(table(rows));
        for (const c of listing.copies) {
          io.out(`\ncopies on ${c.name} (${whereOf(c.destination)}, kept ${c.destination.retentionDays} days)${c.listing.live ? `; live release recorded: ${c.listing.live.release}` : ''}${c.unlisted ? `: not listed (${c.unlisted})` : ''}`);
          if (c.unlisted) continue;
          const copyRows = [['COPY', 'BACKUP', 'SIZE', 'TIME (UTC)', options.check ? 'CHECKSUM' : 'RECORDED SHA256']];
          for (const f of c.listing.files) copyRows.push([c.name, f.name, humanSize(f.size), time(f.at), options.check ? copyState(f) : f.sum.slice(0, 16)]);
          if (c.listing.files.length === 0) copyRows.push([c.name, '(no copies)', '', '', '']);
          io.out(table(copyRows));
        }
      }
      const damaged = listing.copies.flatMap((c) => c.listing.files.filter((f) => copyState(f) === 'damaged').map((f) => `${c.name}: ${f.name}`));
      if (damaged.length > 0) {
        io.err(`error: damaged copies (their checksum is not the one recorded when they arrived): ${damaged.join(', ')}`);
        io.err('hint: restore from another copy or from the database server\'s own dump');
        process.exitCode = 1;
      }
    });

  program
    .command('restore')
    .description(`check a backup (--verify: restore into a scratch database and compare every table) or restore it into the live database (--into-live ${LIVE_CONFIRMATION})`)
    .argument('<env>', 'environment')
    .argument('[backup]', 'backup name (or a unique prefix, or `latest`), as `slipway backups` lists them')
    .option('--to-time <time>', 'backups.pitr: the database as it was at this moment ("2026-12-01 10:15", UTC unless a zone is given), restored from the pgBackRest repository into a scratch cluster and dumped, then checked (--verify) or restored into live')
    .option('--verify', 'restore into a scratch database, compare tables and row counts with the dump, drop it')
    .option('--into-live', 'replace the live data with the backup (after a fresh backup; the app is stopped meanwhile)')
    .option(LIVE_CONFIRMATION, 'confirms --into-live')
    .option('--host <name>', 'only this server')
    .option('--from <copy>', 'with --verify: check the copy on this copy server (backups.copy_to) instead of the dump on the database server')
    .action(async (env: string, requested: string | undefined, options: { verify?: boolean; intoLive?: boolean; yesReallyReplaceLiveData?: boolean; host?: string; from?: string; toTime?: string }) => {
      const { pointInTime, restoreIntoLive, verify } = await import('../execute/backups.js');
      if (!options.verify === !options.intoLive) throw new UserError('give exactly one of --verify and --into-live');
      if ((requested === undefined) === (options.toTime === undefined)) throw new UserError('give a backup, or --to-time for a point in time (not both)', 'see `slipway backups <env>`');
      if (options.toTime !== undefined && options.from !== undefined) throw new UserError('--to-time restores from the pgBackRest repository: leave out --from');
      if (options.intoLive && !options.yesReallyReplaceLiveData) throw new UserError(`--into-live replaces every row of the live database with the backup's`, `add ${LIVE_CONFIRMATION} to confirm (a fresh backup is taken first)`);
      let name = requested ?? '';
      if (options.toTime !== undefined) {
        const made = await pointInTime(await context(env, options, 'restore'), options.toTime);
        io.out(`${made.host}: ${made.name}: the database as of ${made.target}${made.reached ? ` (the last transaction replayed was committed at ${made.reached})` : ''}`);
        name = made.name;
      }
      if (options.from !== undefined && !options.verify) throw new UserError('--from checks a copy: use it with --verify', '`slipway recover` restores a copy onto a new server');
      if (options.intoLive) {
        const done = await restoreIntoLive(await context(env, options, 'restore'), name);
        io.out(`${done.host}: backed up the live data to ${done.safety}`);
        io.out(`${done.host}: restored ${done.backup.name} into the live database`);
        for (const [host, units] of Object.entries(done.stopped)) if (units.length > 0) io.out(`${host}: restarted ${units.join(' ')}`);
        return;
      }
      const results = await verify(await context(env, options, 'restore'), name, options.from);
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

  program
    .command('recover')
    .description('rebuild a lost server on a new machine: set it up, restore the database (with backups.pitr its last archived commit, else the newest copy of backups.copy_to), deploy the release that was live, each step timed')
    .argument('<env>', 'environment')
    .option('--host <address>', 'the new server (host name or address, reached like the lost one: same user, port, key)')
    .option('--sandbox <name>', 'the new server is this `slipway sandbox` server')
    .option('--server <name>', 'the lost server, as the config names it (default: the database server, or the only server)')
    .option('--from <copy>', 'restore from this copy server (default: the one with the newest copy)')
    .option('--backup <name>', 'restore this copy (default: the newest)')
    .option('--ref <ref>', 'deploy this commit (default: the release the copies recorded as live)')
    .option('--to-time <time>', 'backups.pitr: recover the database as it was at this moment (default: its last archived commit)')
    .action(async (env: string, options: { host?: string; sandbox?: string; server?: string; from?: string; backup?: string; ref?: string; toTime?: string }) => {
      const { recover } = await import('../execute/recover.js');
      const { setupReport } = await import('./setup-commands.js');
      const { reportOperation } = await import('./deploy-commands.js');
      const loaded = await load(io, env, globals());
      const ctx = operationContext(io, loaded, globals(), 'recover', argv);
      const phases: string[] = [];
      const done = await recover(ctx, options, {
        onPhase: (p) => {
          const line = `${(p.ms / 1000).toFixed(1).padStart(6)} s  ${p.title}`;
          phases.push(line);
          io.err(`recover: ${p.title}: ${(p.ms / 1000).toFixed(1)} s`);
        },
        onSetup: (reports) => io.out(setupReport(reports).text),
      });
      await reportOperation(io, done.deploy, 'deployed');
      if (done.point) io.out(`restored ${done.point.backup} from ${done.point.from}; deployed ${done.point.ref.slice(0, 12)} (${done.point.refSource})`);
      io.out(`recovered ${loaded.config.environment} onto ${done.replacement.label} in ${(done.totalMs / 1000).toFixed(1)} s:`);
      for (const line of phases) io.out(line);
      io.out(`now point deploy-${env}.yml at the new server: ${done.replacement.edit}`);
    });
}
