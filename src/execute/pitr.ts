// Point-in-time recovery (backups.pitr): its setup across the database server and the repository host (each needs
// the other's key and host keys, so the items go back and forth in order), and a restore to a moment in time.
import { UserError } from '../errors.js';
import { pgVersionProbe, pitrDbProbe, pitrRepoProbe } from '../ops/pitr.js';
import type { Layout } from '../plan/layout.js';
import { dbFiles, dbItems, dbKeyItems, foreignArchive, parsePitrFacts, pitrSchedules, POSTGRES_KEYS, repoAccountHome, repoFiles, repoItems, stanzaItem, type PitrFacts } from '../plan/pitr.js';
import { pitrBackupTimer, pitrDbKeyDir, pitrRepoKeyDir, renderPitrRecover, renderPitrRestore, type PitrSpec } from '../render/pitr.js';
import type { CopyServer } from './backup-copies.js';
import type { HostConnection } from './connection.js';
import type { OperationContext } from './operation.js';
import { loginOf, readAsRoot, runAsRoot, type Login } from './privileged.js';
import { runItems, type ItemResult } from './setup-items.js';

export interface PitrSetup {
  dbItems: ItemResult[];
  repoItems: ItemResult[];
  error?: Error;
}

const placeholder = (spec: Pick<PitrSpec, 'stanza'>): PitrSpec => ({ ...spec, dbAddress: '', dbPort: 22, repoAddress: '', repoPort: 22, pgPath: '', pgVersion: '', retentionFull: 1, fullSchedule: '', diffSchedule: '' });

export async function setupPitr(ctx: OperationContext, layout: Layout, db: HostConnection, repo: CopyServer): Promise<PitrSetup> {
  const stanza = layout.unitPrefix;
  const dbLogin = await loginOf(db);
  const timers = (['full', 'diff'] as const).map((t) => pitrBackupTimer(stanza, t));
  const dbProbe = async () => parsePitrFacts(await readAsRoot(db, dbLogin, pitrDbProbe(stanza, pitrDbKeyDir(stanza), POSTGRES_KEYS, dbFiles(placeholder({ stanza }), []).map((f) => f.path)).shell, 'Read the pgBackRest state'));
  const repoProbe = async () =>
    parsePitrFacts(await readAsRoot(repo.connection, repo.login, pitrRepoProbe(stanza, pitrRepoKeyDir(stanza), `${repoAccountHome(stanza)}/.ssh/authorized_keys`, repoFiles(placeholder({ stanza }), []).map((f) => f.path), timers).shell, 'Read the pgBackRest state'));
  const done: { db: ItemResult[]; repo: ItemResult[] } = { db: [], repo: [] };
  const step = async (where: 'db' | 'repo', items: Parameters<typeof runItems>[3]) => {
    const run = where === 'db' ? await runItems(ctx, db, dbLogin, items) : await runItems(ctx, repo.connection, repo.login, items);
    done[where].push(...run.results);
    return run.error;
  };
  const result = (error?: Error): PitrSetup => ({ dbItems: done.db, repoItems: done.repo, ...(error ? { error } : {}) });

  let dbFacts = await dbProbe();
  const foreign = foreignArchive(stanza, dbFacts.pg?.settings);
  if (foreign) {
    return result(new UserError(`${db.target.label}: PostgreSQL already archives its WAL with another command (${foreign}): one cluster has one archive, and backups.pitr of ${stanza} would take it over and end that one`, 'two apps on one database server cannot both use backups.pitr: turn it off for one of them; if nothing uses that archive any more, clear it there (ALTER SYSTEM RESET archive_command) and run setup again'));
  }
  let error = await step('db', dbKeyItems(stanza, db.target.label, dbFacts));
  if (error) return result(error);
  // Read again only for the key the items just made.
  if (!dbFacts.publicKey) dbFacts = await dbProbe();
  if (!dbFacts.publicKey || !dbFacts.pg) throw new UserError(`${db.target.label}: PostgreSQL or postgres's key for pgBackRest is not there after setup`);
  const spec: PitrSpec = {
    stanza,
    dbAddress: db.target.privateAddress ?? (db.target.kind === 'ssh' ? db.target.host : '127.0.0.1'),
    dbPort: (db.target.kind === 'ssh' ? db.target.port : undefined) ?? 22,
    repoAddress: repo.destination.address,
    repoPort: repo.destination.port,
    pgPath: dbFacts.pg.path,
    pgVersion: dbFacts.pg.version,
    ...pitrSchedules(ctx.loaded.config.backups),
  };

  let repoFacts: PitrFacts = await repoProbe();
  error = await step('repo', repoItems(spec, dbFacts.publicKey, dbFacts.hostKeys, repoFacts));
  if (error) return result(error);
  repoFacts = await repoProbe();
  if (!repoFacts.publicKey) throw new UserError(`${repo.name}: the pgBackRest account's key is not there after setup`);
  error = await step('db', dbItems(spec, repoFacts.publicKey, repoFacts.hostKeys, dbFacts));
  if (error) return result(error);
  return result(await step('repo', [stanzaItem(stanza, repoFacts)]));
}

/** `2026-12-01 10:15` (UTC unless a zone is given), or an ISO time: what PostgreSQL takes as recovery_target_time. */
export function targetTime(text: string): string {
  const match = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?)(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(text.trim());
  if (!match) throw new UserError(`--to-time ${JSON.stringify(text)} is not a time`, 'give e.g. "2026-12-01 10:15" (UTC), "2026-12-01 10:15:30+01:00" or an ISO time');
  const zone = !match[3] || match[3] === 'Z' ? '+00' : match[3];
  const at = new Date(`${match[1]}T${match[2]}${zone === '+00' ? 'Z' : zone.length === 3 ? `${zone}:00` : zone}`);
  if (Number.isNaN(at.getTime())) throw new UserError(`--to-time ${JSON.stringify(text)} is not a time`);
  if (at.getTime() > Date.now() + 60_000) throw new UserError(`--to-time ${text} is in the future`);
  return `${match[1]} ${match[2]}${zone}`;
}

export interface PitrDump {
  /** The dump made from the database as it was at the target. */
  file: string;
  /** The last transaction replayed (ISO time, UTC): how close to the target the restore came. */
  reached?: string;
}

/** On the database server: the cluster restored as of `target` into a scratch directory, the app's database dumped from it. */
export async function pitrDump(ctx: OperationContext, host: { connection: HostConnection; login: Login }, stanza: string, database: string, dir: string, target: string): Promise<PitrDump> {
  const versionLine = (await readAsRoot(host.connection, host.login, pgVersionProbe.shell, 'Read the PostgreSQL version')).find((l) => /^pgversion \d+$/.test(l));
  if (!versionLine) throw new UserError(`${host.connection.target.label}: PostgreSQL does not answer`, 'see `systemctl status postgresql` there');
  const major = String(Math.floor(Number(versionLine.split(' ')[1]) / 10000));
  const stamp = new Date().toISOString().replace(/[-:]/g, '');
  const file = `${dir}/${stamp}-pitr.dump`;
  const run = await runAsRoot(host.connection, host.login, [{ id: 'pitr', title: `Restore the cluster as of ${target} into a scratch directory and dump ${database}`, commands: [{ shell: renderPitrRestore({ stanza, pgVersion: major }, target, database, file) }] }], ctx.observer);
  if (run.error) throw run.error;
  const reached = run.result.lines.map((l) => /^reached (\S+)$/.exec(l)?.[1]).find(Boolean);
  return { file, ...(reached ? { reached } : {}) };
}

/** recover: the cluster restored from the repository onto the new database server; the last transaction replayed. */
export async function pitrRecover(ctx: OperationContext, connection: HostConnection, stanza: string, target: string | undefined): Promise<string | undefined> {
  const login = await loginOf(connection);
  const run = await runAsRoot(connection, login, [{ id: 'pitr-recover', title: `Restore the cluster from pgBackRest${target ? ` as of ${target}` : ' to its last archived commit'}`, commands: [{ shell: renderPitrRecover(stanza, target) }] }], ctx.observer);
  if (run.error) throw run.error;
  return run.result.lines.map((l) => /^reached (\S+)$/.exec(l)?.[1]).find(Boolean);
}
