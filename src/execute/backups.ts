// backup, backups, restore: on the hosts that hold the database (role db, or every host when none has it).
import type { LoadedConfig } from '../config/types.js';
import { CommandFailedError, UserError } from '../errors.js';
import { managerOf } from '../ops/managers.js';
import { isSlotService } from '../ops/process-manager.js';
import { listBackups, restoreLive, runBackup, verifyBackup } from '../ops/backups.js';
import type { Step } from '../ops/command.js';
import { backupSpec, type BackupSpec } from '../render/backup.js';
import { backupKind, compareCounts, parseBackups, resolveBackup, scratchDatabase, type BackupFile, type VerifyResult } from '../plan/backups.js';
import { quote } from '../ops/shell.js';
import { fetchCopy, listCopiesOn, whereOf, type CopiesOn } from './backup-copies.js';
import { pitrDump, targetTime } from './pitr.js';
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

export function specOf(loaded: LoadedConfig, layout: Layout): BackupSpec {
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
  /** backups.copy_to: `NAME on COPY (sha256 …)` for each dump sent now. */
  copied: { name: string; to: string; sum: string }[];
  /** Copies that failed: the dump is made, and the next backup sends what is missing. */
  copyFailures: string[];
}

export async function backup(ctx: OperationContext): Promise<BackupMade[]> {
  const layout = layoutForRef(ctx.loaded, undefined);
  const spec = specOf(ctx.loaded, layout);
  return withHosts(ctx, undefined, async (connections) =>
    mapLimit(await dbHosts(connections), ctx.loaded.config.ssh.concurrency, async (host) => {
      const run = await runAsRoot(host.connection, host.login, [{ id: 'backup', title: `Back up ${spec.database}`, commands: runBackup(spec, 'manual') }], ctx.observer);
      const lines = run.result.lines;
      const made = lines.map((l) => /^backup (\S+) (\d+)$/.exec(l)).find(Boolean);
      // Without a dump, the backup itself failed; with one, only a copy did (the script's exit 3).
      if (run.error && !made) throw run.error;
      const copied = lines.flatMap((l) => {
        const m = /^copied (\S+) (\S+) ([0-9a-f]{64})$/.exec(l);
        return m ? [{ name: m[1]!, to: m[2]!, sum: m[3]! }] : [];
      });
      const copyFailures = lines.filter((l) => l.startsWith('copy-failed ')).map((l) => l.slice('copy-failed '.length));
      if (run.error && copyFailures.length === 0) copyFailures.push(run.error.message);
      return {
        host: host.connection.target.label,
        file: made?.[1] ?? '',
        size: Number(made?.[2] ?? 0),
        expired: lines.filter((l) => l.startsWith('expired ')).map((l) => l.slice('expired '.length)),
        copied,
        copyFailures,
      };
    }),
  );
}

async function backupsOn(host: DbHost, dir: string): Promise<BackupFile[]> {
  return parseBackups((await readAsRoot(host.connection, host.login, listBackups(dir).shell, 'List the backups')).join('\n'));
}

export interface Listing {
  hosts: { host: string; backups: BackupFile[] }[];
  /** backups.copy_to: what each copy server holds. */
  copies: CopiesOn[];
}

/**
 * The dumps on the database server and the copies on each copy server (`check`: every copy's checksum
 * recomputed there). `copiesOnly`: the environment's servers are not reached (for when they are gone).
 */
export async function listAll(ctx: OperationContext, options: { check?: boolean; copiesOnly?: boolean } = {}): Promise<Listing> {
  const layout = layoutForRef(ctx.loaded, undefined);
  const spec = specOf(ctx.loaded, layout);
  if (options.copiesOnly) return { hosts: [], copies: await listCopiesOn(ctx, layout, options.check === true) };
  return withHosts(ctx, undefined, async (connections) => {
    const hosts = await dbHosts(connections);
    // Buckets are listed through the database server, where their credentials are.
    const copies = listCopiesOn(ctx, layout, options.check === true, undefined, hosts.length === 1 ? hosts[0] : undefined);
    const dumps = await Promise.all(hosts.map(async (host) => ({ host: host.connection.target.label, backups: await backupsOn(host, spec.dir) })));
    return { hosts: dumps, copies: await copies };
  });
}

/**
 * backups.pitr: the database as it was at `time`, as a dump on the database server (`<stamp>-pitr.dump`), made
 * from a scratch cluster restored from the repository; `restore` then checks it or restores it into live.
 */
export async function pointInTime(ctx: OperationContext, time: string): Promise<{ host: string; name: string; target: string; reached?: string }> {
  const layout = layoutForRef(ctx.loaded, undefined);
  const spec = specOf(ctx.loaded, layout);
  if (!ctx.loaded.config.backups.pitr) throw new UserError('point-in-time recovery is off for this environment', 'set backups.pitr: true (with backups.copy_to) and run `slipway setup`');
  const target = targetTime(time);
  return withHosts(ctx, undefined, async (connections) => {
    const hosts = await dbHosts(connections);
    if (hosts.length !== 1) throw new UserError(`the database is on ${hosts.length} hosts`, 'give the one: --host <name>');
    const made = await pitrDump(ctx, hosts[0]!, layout.unitPrefix, spec.database, spec.dir, target);
    return { host: hosts[0]!.connection.target.label, name: made.file.slice(made.file.lastIndexOf('/') + 1), target, ...(made.reached ? { reached: made.reached } : {}) };
  });
}

/** A dump named among a copy server's copies, as resolveBackup finds one among the server's. */
export function resolveCopy(requested: string, on: CopiesOn): BackupFile {
  const files = on.listing.files.map((f): BackupFile => ({ name: f.name, path: `${whereOf(on.destination)}/${f.name}`, size: f.size, at: f.at, kind: backupKind(f.name), format: 'dump' }));
  try {
    return resolveBackup(requested, files);
  } catch (error) {
    if (error instanceof UserError) throw new UserError(`${on.name}: ${error.message}`, 'see `slipway backups <env> --copies`');
    throw error;
  }
}

export interface Verified {
  host: string;
  backup: BackupFile;
  result: VerifyResult;
  error?: CommandFailedError;
}

/** Restores the backup into a scratch database on each host that has it, and compares its tables with the dump. */
export async function verify(ctx: OperationContext, requested: string, from?: string): Promise<Verified[]> {
  const layout = layoutForRef(ctx.loaded, undefined);
  const spec = specOf(ctx.loaded, layout);
  if (from !== undefined) return [await verifyCopy(ctx, layout, spec, requested, from)];
  return withHosts(ctx, undefined, async (connections) => {
    const hosts = await dbHosts(connections);
    const found = await Promise.all(hosts.map(async (host) => ({ host, backup: resolveOn(await backupsOn(host, spec.dir), requested, hosts.length) })));
    const present = found.filter((f): f is { host: DbHost; backup: BackupFile } => f.backup !== undefined);
    if (present.length === 0) throw new UserError(`no backup ${requested} on ${hosts.map((h) => h.connection.target.label).join(', ')}`, 'see `slipway backups <env>`');
    return mapLimit(present, ctx.loaded.config.ssh.concurrency, ({ host, backup }) => verifyOn(ctx, host, backup, spec.database));
  });
}

async function verifyOn(ctx: OperationContext, host: DbHost, backup: BackupFile, database: string): Promise<Verified> {
  const scratch = scratchDatabase(database, ctx.now?.() ?? new Date());
  const run = await runAsRoot(host.connection, host.login, [{ id: 'verify', title: `Restore ${backup.name} into ${scratch} and compare`, commands: verifyBackup(backup.path, scratch) }], ctx.observer);
  const result = compareCounts(run.result.lines);
  // pg_restore's own words say what is wrong with the file; the script around it would only hide them.
  const error = run.error && new CommandFailedError(run.error.host, run.error.step, 'pg_restore', run.error.exitCode, run.error.outputTail);
  return { host: host.connection.target.label, backup, result, ...(error ? { error } : {}) };
}

/**
 * A copy checked where it would be restored: the database server fetches it (refused when its checksum is not
 * the one recorded on arrival), restores it into a scratch database, and deletes the fetched file.
 */
async function verifyCopy(ctx: OperationContext, layout: Layout, spec: BackupSpec, requested: string, from: string): Promise<Verified> {
  return withHosts(ctx, undefined, async (connections) => {
    const hosts = await dbHosts(connections);
    if (hosts.length !== 1) throw new UserError(`the database is on ${hosts.length} hosts`, 'check the copy on one of them: --host <name>');
    const host = hosts[0]!;
    const [on] = await listCopiesOn(ctx, layout, false, from, host);
    const backup = resolveCopy(requested, on!);
    const fetched = `${spec.dir}/.verify-${backup.name}`;
    try {
      await fetchCopy(ctx, host.connection, layout.unitPrefix, on!, backup.name, fetched);
      const verified = await verifyOn(ctx, host, { ...backup, path: fetched }, spec.database);
      return { ...verified, host: `${on!.name} (via ${verified.host})` };
    } finally {
      await readAsRoot(host.connection, host.login, `rm -f ${quote(fetched)}`, 'Delete the fetched copy').catch(() => undefined);
    }
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
      // A blue/green slot stopped is unloaded by systemd: it is started as a deploy starts one.
      const start = [...manager.restart(units.filter((u) => !isSlotService(u))), ...units.filter(isSlotService).flatMap((u) => manager.restartSlot(u))];
      if (units.length > 0) await steps(ctx, host, [{ id: 'start', title: `Start ${units.join(' ')}`, commands: start }]);
    }
    if (failure) throw failure;
    return { host: db.connection.target.label, backup, safety: safety ?? '', stopped };
  });
}
