// backup, backups, restore: on the hosts that hold the database (role db, or every host when none has it).
import type { LoadedConfig } from '../config/types.js';
import { CommandFailedError, UserError } from '../errors.js';
import { managerOf } from '../ops/managers.js';
import { listBackups, restoreLive, runBackup, verifyBackup } from '../ops/backups.js';
import type { Step } from '../ops/command.js';
import { backupSpec, type BackupSpec } from '../render/backup.js';
import { compareCounts, parseBackups, resolveBackup, scratchDatabase, type BackupFile, type VerifyResult } from '../plan/backups.js';
import type { Layout } from '../plan/layout.js';
import { databaseHosts } from '../plan/setup.js';
import type { HostConnection } from './connection.js';
import { layoutForRef, lockFor, withHosts, type OperationContext } from './operation.js';
import { mapLimit } from './parallel.js';
import { loginOf, readAsRoot, runAsRoot, type Login } from './privileged.js';

interface DbHost {
  connection: HostConnection;
  login: Login;
}

function specOf(loaded: LoadedConfig, layout: Layout): BackupSpec {
  const { database, backups } = loaded.config;
  if (database.url) throw new UserError('this environment\'s database is external (database.url): slipway does not back it up', 'use the backups of the service that runs it');
  if (database.engine !== 'postgresql' || !database.name) throw new UserError('this environment has no database to back up (database.engine is not postgresql)');
  return backupSpec(layout, database.name, backups);
}

async function dbHosts(connections: HostConnection[]): Promise<DbHost[]> {
  const holds = databaseHosts(connections.map((c) => c.target));
  const hosts = connections.filter((_, i) => holds[i]);
  return Promise.all(hosts.map(async (connection) => ({ connection, login: await loginOf(connection) })));
}

async function steps(ctx: OperationContext, host: DbHost, list: Step[]): Promise<string[]> {
  const run = await runAsRoot(host.connection, host.login, list, ctx.observer);
  if (run.error) throw run.error;
  return run.result.lines;
}

export interface BackupMade {
  host: string;
  file: string;
  size: number;
  expired: string[];
}

export async function backup(ctx: OperationContext): Promise<BackupMade[]> {
  const layout = layoutForRef(ctx.loaded, undefined);
  const spec = specOf(ctx.loaded, layout);
  return withHosts(ctx, undefined, async (connections) =>
    mapLimit(await dbHosts(connections), ctx.loaded.config.ssh.concurrency, async (host) => {
      const lines = await steps(ctx, host, [{ id: 'backup', title: `Back up ${spec.database}`, commands: runBackup(spec, 'manual') }]);
      const made = lines.map((l) => /^backup (\S+) (\d+)$/.exec(l)).find(Boolean);
      return {
        host: host.connection.target.label,
        file: made?.[1] ?? '',
        size: Number(made?.[2] ?? 0),
        expired: lines.filter((l) => l.startsWith('expired ')).map((l) => l.slice('expired '.length)),
      };
    }),
  );
}

async function backupsOn(host: DbHost, dir: string): Promise<BackupFile[]> {
  return parseBackups((await readAsRoot(host.connection, host.login, listBackups(dir).shell, 'List the backups')).join('\n'));
}

export async function listAll(ctx: OperationContext): Promise<{ host: string; backups: BackupFile[] }[]> {
  const layout = layoutForRef(ctx.loaded, undefined);
  const spec = specOf(ctx.loaded, layout);
  return withHosts(ctx, undefined, async (connections) =>
    Promise.all((await dbHosts(connections)).map(async (host) => ({ host: host.connection.target.label, backups: await backupsOn(host, spec.dir) }))),
  );
}

export interface Verified {
  host: string;
  backup: BackupFile;
  result: VerifyResult;
  error?: CommandFailedError;
}

/** Restores the backup into a scratch database on each host that has it, and compares its tables with the dump. */
export async function verify(ctx: OperationContext, requested: string): Promise<Verified[]> {
  const layout = layoutForRef(ctx.loaded, undefined);
  const spec = specOf(ctx.loaded, layout);
  return withHosts(ctx, undefined, async (connections) => {
    const hosts = await dbHosts(connections);
    const found = await Promise.all(hosts.map(async (host) => ({ host, backup: resolveOn(await backupsOn(host, spec.dir), requested, hosts.length) })));
    const present = found.filter((f): f is { host: DbHost; backup: BackupFile } => f.backup !== undefined);
    if (present.length === 0) throw new UserError(`no backup ${requested} on ${hosts.map((h) => h.connection.target.label).join(', ')}`, 'see `slipway backups <env>`');
    return mapLimit(present, ctx.loaded.config.ssh.concurrency, async ({ host, backup }) => {
      const scratch = scratchDatabase(spec.database, ctx.now?.() ?? new Date());
      const run = await runAsRoot(host.connection, host.login, [{ id: 'verify', title: `Restore ${backup.name} into ${scratch} and compare`, commands: verifyBackup(backup.path, scratch) }], ctx.observer);
      const result = compareCounts(run.result.lines);
      // pg_restore's own words say what is wrong with the file; the script around it would only hide them.
      const error = run.error && new CommandFailedError(run.error.host, run.error.step, 'pg_restore', run.error.exitCode, run.error.outputTail);
      return { host: host.connection.target.label, backup, result, ...(error ? { error } : {}) };
    });
  });
}

/** With one host, a name that is not there is the user's mistake; with several, each host has its own dumps. */
function resolveOn(files: BackupFile[], requested: string, hosts: number): BackupFile | undefined {
  try {
    return resolveBackup(requested, files);
  } catch (error) {
    if (hosts === 1) throw error;
    return undefined;
  }
}

export interface RestoredLive {
  host: string;
  backup: BackupFile;
  /** The backup taken just before. */
  safety: string;
  /** App services stopped during the restore and started again, per host. */
  stopped: Record<string, string[]>;
}

/**
 * Replaces the live data with a backup's, under the deploy lock: a fresh backup first, the app's services stopped
 * on every host (nothing writes meanwhile), the restore in one transaction, the services started again even
 * when the restore failed.
 */
export async function restoreIntoLive(ctx: OperationContext, requested: string): Promise<RestoredLive> {
  const layout = layoutForRef(ctx.loaded, undefined);
  const spec = specOf(ctx.loaded, layout);
  const manager = managerOf(layout);
  return withHosts(ctx, lockFor(ctx, layout), async (connections) => {
    const hosts = await dbHosts(connections);
    if (hosts.length !== 1) throw new UserError(`the database is on ${hosts.length} hosts`, 'restore on one of them: --host <name>');
    const db = hosts[0]!;
    const backup = resolveBackup(requested, await backupsOn(db, spec.dir));
    const safety = (await steps(ctx, db, [{ id: 'backup', title: `Back up ${spec.database} before replacing it`, commands: runBackup(spec, 'pre-restore') }]))
      .map((l) => /^backup (\S+) /.exec(l)?.[1])
      .find(Boolean);
    const all = await Promise.all(connections.map(async (connection) => ({ connection, login: await loginOf(connection) })));
    const stopped: Record<string, string[]> = {};
    for (const host of all) {
      const units = (await readAsRoot(host.connection, host.login, manager.runningProbe.shell, 'List the app services')).flatMap((l) => (l.startsWith('unit ') ? [l.slice(5)] : []));
      stopped[host.connection.target.label] = units;
      if (units.length > 0) await steps(ctx, host, [{ id: 'stop', title: `Stop ${units.join(' ')}`, commands: manager.stop(units) }]);
    }
    let failure: unknown;
    try {
      await steps(ctx, db, [{ id: 'restore', title: `Restore ${backup.name} into ${spec.database}`, commands: restoreLive(backup.path, spec.database) }]);
    } catch (error) {
      failure = error;
    }
    for (const host of all) {
      const units = stopped[host.connection.target.label] ?? [];
      if (units.length > 0) await steps(ctx, host, [{ id: 'start', title: `Start ${units.join(' ')}`, commands: manager.restart(units) }]);
    }
    if (failure) throw failure;
    return { host: db.connection.target.label, backup, safety: safety ?? '', stopped };
  });
}
