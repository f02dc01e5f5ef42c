// `slipway recover`: a lost server rebuilt on a new machine. setup prepares it (and gives its new key, alone, to
// the copy servers); the new database server fetches the newest copy and restores it (with backups.pitr, restores
// the cluster from pgBackRest to its last archived commit instead); then the release that was live is deployed to
// the environment, health gate and all. Each phase is timed.
import { UserError } from '../errors.js';
import { restoreLive } from '../ops/backups.js';
import { holdsDatabase, topologyOf } from '../plan/data-servers.js';
import { liveCommit, recoveryPoint, replaceServer, type RecoveryPoint, type Replacement } from '../plan/recovery.js';
import { fetchCopy, listCopiesOn, type CopiesOn } from './backup-copies.js';
import { copyName } from '../plan/backup-copies.js';
import { pitrRecover, targetTime } from './pitr.js';
import { resolveCopy, specOf } from './backups.js';
import { deploy, type OperationReport } from './deploy.js';
import { layoutForRef, lockFor, withHosts, type OperationContext } from './operation.js';
import { loginOf, runAsRoot } from './privileged.js';
import { setup, type SetupHostReport } from './setup.js';
import { resolveTargets } from './targets.js';

export interface RecoverOptions {
  host?: string;
  sandbox?: string;
  /** The lost server's name in the config (default: the database server). */
  server?: string;
  /** The copy server to restore from (default: the one with the newest copy). */
  from?: string;
  backup?: string;
  ref?: string;
  /** backups.pitr: the moment to recover to (default: the last archived commit). */
  toTime?: string;
}

export interface RecoverPhase {
  title: string;
  ms: number;
}

export interface RecoverEvents {
  onPhase(phase: RecoverPhase): void;
  onSetup(reports: SetupHostReport[]): void;
}

export interface Recovered {
  replacement: Replacement;
  /** Unset when the lost server held no database (an app server: nothing to restore). */
  point?: RecoveryPoint;
  deploy: OperationReport;
  totalMs: number;
}

async function timed<T>(events: RecoverEvents, title: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await work();
  events.onPhase({ title, ms: Date.now() - started });
  return result;
}

function pointFrom(copies: CopiesOn[], usesPitr: boolean, options: RecoverOptions): RecoveryPoint {
  if (usesPitr) return { from: '', backup: '', ...liveCommit(copies, options.ref) };
  return recoveryPoint(copies, { ...(options.backup ? { backup: options.backup } : {}), ...(options.ref ? { ref: options.ref } : {}), resolve: (requested, on) => resolveCopy(requested, copies.find((c) => c.name === on.name)!).name });
}

export async function recover(ctx: OperationContext, options: RecoverOptions, events: RecoverEvents): Promise<Recovered> {
  const started = Date.now();
  const replacement = replaceServer(ctx.loaded.config, options, options.server);
  const loaded = { ...ctx.loaded, config: replacement.config };
  const rebuilt: OperationContext = { ...ctx, loaded };
  const onNew: OperationContext = { ...rebuilt, only: replacement.label };
  const layout = layoutForRef(loaded, undefined);
  const topology = topologyOf(loaded.config, await resolveTargets(loaded.config));
  const restores = holdsDatabase(topology, replacement.label);

  // Everything that can refuse is asked before the new server is touched.
  let point: RecoveryPoint | undefined;
  // With point-in-time recovery, the cluster itself comes back (to its last archived commit), unless a dump is named.
  const usesPitr = restores && loaded.config.backups.pitr && options.backup === undefined;
  if (options.toTime !== undefined && !usesPitr) throw new UserError('--to-time recovers from the pgBackRest repository: it needs backups.pitr (and no --backup)');
  const target = options.toTime !== undefined ? targetTime(options.toTime) : undefined;
  const repository = loaded.config.backups.copy_to[0] ? copyName(loaded.config.backups.copy_to[0]) : '';
  let copies: CopiesOn[] = [];
  if (restores) {
    specOf(loaded, layout);
    if (loaded.config.backups.copy_to.length === 0) throw new UserError(`${replacement.lost} held the database, and backups.copy_to names no copy server to restore it from`);
    copies = await timed(events, 'Read the copies', () => listCopiesOn(rebuilt, layout, false, options.from));
    // A bucket is read through the database server, the new one once set up: refusals then come after setup.
    if (!copies.some((c) => c.unlisted)) point = pointFrom(copies, usesPitr, options);
  } else if (!options.ref) {
    throw new UserError(`${replacement.lost} held no database: give the commit to deploy there`, 'the live one, as `slipway releases <env>` shows it on the other servers: --ref <sha>');
  }

  const reports = await timed(events, `Set up ${replacement.label}`, () => setup(onNew));
  events.onSetup(reports);
  const failed = reports.find((r) => r.error);
  if (failed?.error) throw failed.error;

  if (restores && copies.some((c) => c.unlisted)) {
    copies = await timed(events, 'Read the copies through the new server', () =>
      withHosts(onNew, undefined, async ([connection]) => listCopiesOn(rebuilt, layout, false, options.from, { connection: connection!, login: await loginOf(connection!) })),
    );
    point = pointFrom(copies, usesPitr, options);
  }

  if (point && usesPitr) {
    const reached = await timed(events, `Restore the cluster from pgBackRest on ${repository}${target ? ` as of ${target}` : ''}`, () =>
      withHosts(onNew, lockFor(rebuilt, layout), async ([connection]) => pitrRecover(rebuilt, connection!, layout.unitPrefix, target)),
    );
    point = { ...point, from: `the pgBackRest repository on ${repository}`, backup: `the database as of its last commit replayed, ${reached ?? 'at an unknown time'}` };
  } else if (point) {
    const { backup, from } = point;
    const spec = specOf(loaded, layout);
    await timed(events, `Fetch ${backup} from ${from} and restore it`, () =>
      withHosts(onNew, lockFor(rebuilt, layout), async ([connection]) => {
        const path = `${spec.dir}/${backup}`;
        await fetchCopy(rebuilt, connection!, layout.unitPrefix, copies.find((c) => c.name === from)!, backup, path);
        const run = await runAsRoot(connection!, await loginOf(connection!), [{ id: 'restore', title: `Restore ${backup} into ${spec.database}`, commands: restoreLive(path, spec.database) }], ctx.observer);
        if (run.error) throw run.error;
      }),
    );
  }

  const ref = point?.ref ?? options.ref!;
  const outcome = await timed(events, `Deploy ${ref.slice(0, 12)}`, () => deploy(rebuilt, ref));
  return { replacement, ...(point ? { point } : {}), deploy: outcome, totalMs: Date.now() - started };
}
