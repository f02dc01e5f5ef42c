// The life of one deploy or rollback: connect and lock every host, gather facts, plan, run, record.
import { hostname, userInfo } from 'node:os';
import type { LoadedConfig } from '../config/types.js';
import { CommandFailedError } from '../errors.js';
import type { LockRequest } from '../ops/agent.js';
import type { Step } from '../ops/command.js';
import { appendHistory, clearPending, pendingFromHost, recordFromHost, type HistoryEntry, type PendingEntry } from '../ops/history.js';
import { factsProbe, type ProbeWants } from '../ops/probe.js';
import { renderScript, type Recovery } from '../ops/shell.js';
import { bootRecovery, bootRecoveryFile, type BootRecovery } from '../ops/boot.js';
import { parseFacts, type HostFacts } from '../plan/facts.js';
import { layoutFor, type Layout } from '../plan/layout.js';
import type { Target } from '../plan/target.js';
import type { BatchGuard, HostPlan, Plan } from '../plan/types.js';
import { ConnectionPool, type HostConnection } from './connection.js';
import { mapLimit } from './parallel.js';
import { Redactor } from './redact.js';
import { CarriedData, runSteps, type StepObserver, type StepsOutcome } from './run-steps.js';
import { resolveTargets } from './targets.js';

export interface OperationContext {
  loaded: LoadedConfig;
  observer: StepObserver;
  /** The command line, recorded as the lock holder's command. */
  command: string;
  lockWaitSeconds: number;
  /** Only this server (by label), for a partial run. */
  only?: string;
  now?: () => Date;
  /** Who asked, when not the user running slipway: a dashboard's signed-in user (recorded with the machine). */
  actor?: { user: string; via: string };
}

/** Who deploys, as the lock holder and the history record it: the local user, or the dashboard's. */
export const deployer = (ctx?: Pick<OperationContext, 'actor'>) =>
  ctx?.actor ? { user: ctx.actor.user, machine: `${hostname()} (${ctx.actor.via})` } : { user: userInfo().username, machine: hostname() };

function lockRequest(layout: Layout, ctx: OperationContext): LockRequest {
  const who = deployer(ctx);
  return {
    lockFile: layout.lockFile,
    holderFile: layout.holderFile,
    // Redacted as well: whatever the command line carried must not reach a file on the server.
    holder: { user: who.user, machine: who.machine, pid: process.pid, command: new Redactor(ctx.loaded.secrets).redact(ctx.command), started_at: new Date().toISOString() },
    history: { history: layout.history, pendingHistory: layout.pendingHistory },
    bootRecovery: bootRecoveryFile(layout),
    waitSeconds: ctx.lockWaitSeconds,
  };
}

export async function gatherFacts(connection: HostConnection, layout: Layout, sha: string | undefined, wants: ProbeWants = {}): Promise<HostFacts> {
  const result = await connection.session.run(factsProbe(layout, sha, wants).shell);
  if (result.code !== 0) throw new CommandFailedError(connection.target.label, 'Read the host state', 'facts probe', result.code, result.lines.slice(-10));
  return parseFacts(result.lines.join('\n'), `${connection.target.label}: the facts probe`);
}

/** A session over every host: connections are closed on the way out and on Ctrl-C. */
export async function withHosts<T>(
  ctx: Pick<OperationContext, 'loaded' | 'only'>,
  lock: ((target: Target) => LockRequest) | undefined,
  body: (connections: HostConnection[], redactor: Redactor) => Promise<T>,
): Promise<T> {
  const redactor = new Redactor(ctx.loaded.secrets);
  const pool = new ConnectionPool(redactor);
  let interrupted = false;
  const onSignal = () => {
    process.exitCode = 130;
    if (interrupted) {
      pool.killAll();
      return;
    }
    interrupted = true;
    process.stderr.write('interrupted: stopping after the current command on each host (Ctrl-C again to cut the connections)\n');
    pool.interruptAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const targets = await resolveTargets(ctx.loaded.config, ctx.only);
    const connections = await mapLimit(targets, ctx.loaded.config.ssh.concurrency, (target) => pool.connect(target, lock?.(target)));
    return await body(connections, redactor);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await pool.closeAll();
  }
}

export interface HostResult {
  host: string;
  plan: HostPlan;
  outcome: StepsOutcome;
  /** Whether traffic was switched back after a failure. */
  switchedBack: boolean;
  /** Time this host spent running its steps (waits for the other hosts excluded). */
  busyMs: number;
}

/**
 * Runs the plan on every host. A host script repairs its host itself when it fails (see Recovery). With
 * several hosts, every host is prepared before any is switched, and a failure after the switch switches every
 * host back: no host is left on a different release than the others.
 */
export async function executePlan(connections: HostConnection[], plan: Plan, limit: number, observer: StepObserver, history?: OperationRecord): Promise<HostResult[]> {
  const hosts = plan.hosts;
  const results: HostResult[] = hosts.map((p) => ({ host: p.target.label, plan: p, outcome: { ok: true }, switchedBack: false, busyMs: 0 }));
  const carried = new CarriedData();
  const run = async (i: number, steps: Step[], rec?: Recovery) => {
    const started = Date.now();
    const outcome = await runSteps(connections[i]!, steps, observer, rec, carried);
    results[i]!.busyMs += Date.now() - started;
    return outcome;
  };
  const bookkeeping = hosts.map((p) => hostBookkeeping(p, history));
  const recovery = (i: number, switchAt: number, commitAt: number): Recovery => ({
    switchAt,
    beforeSwitch: hosts[i]!.onFailureBeforeSwitch,
    afterSwitch: hosts[i]!.onFailureAfterSwitch,
    commitAt,
    afterCommit: hosts[i]!.onInterruptedCommit,
    ...bookkeeping[i]!,
  });
  /** `after`: whether this host had switched (then it switches back; otherwise it only undoes its preparation). */
  const undoOthers = async (after: (i: number) => boolean) => {
    await mapLimit(hosts, limit, async (p, i) => {
      if (!results[i]!.outcome.ok) return;
      const disarm: Step = { id: 'disarm', title: 'Disarm the switch-back at boot', commands: [bookkeeping[i]!.boot.disarm] };
      const outcome = await run(i, after(i) ? [...p.onFailureAfterSwitch, disarm] : p.onFailureBeforeSwitch);
      results[i]!.switchedBack = after(i) && outcome.ok;
    });
  };

  if (hosts.length === 1) {
    const host = hosts[0]!;
    const outcome = await run(0, host.steps, recovery(0, host.switchIndex, host.commitIndex));
    results[0]!.outcome = outcome;
    results[0]!.switchedBack = outcome.recovered === 'after';
    return results;
  }

  const prepared = await mapLimit(hosts, limit, (p, i) => run(i, p.steps.slice(0, p.switchIndex), recovery(i, -1, -1)));
  prepared.forEach((outcome, i) => (results[i]!.outcome = outcome));
  if (prepared.some((o) => !o.ok)) {
    await undoOthers(() => false);
    return results;
  }
  // Every host switches and proves itself before any commits: a host whose bookkeeping is then interrupted
  // keeps the new release, and so do all the others, which were healthy too.
  // Batch after batch (deploy.batch_size); a failing batch ends the switching, and every host switched so far
  // goes back with it: all-or-nothing.
  const switched: (StepsOutcome | undefined)[] = hosts.map(() => undefined);
  // A load balancer's part around a batch (taken out of rotation, put back): a failure there fails the batch.
  let guardFailure: { host: number; outcome: StepsOutcome } | undefined;
  const guard = async (guards: readonly BatchGuard[], side: 'before' | 'after') => {
    const outcomes = await mapLimit(guards, limit, (g) => run(g.host, g[side]));
    const failed = outcomes.findIndex((o) => !o.ok);
    if (failed >= 0) guardFailure ??= { host: guards[failed]!.host, outcome: outcomes[failed]! };
    return failed < 0;
  };
  let inRotation: readonly BatchGuard[] = [];
  for (const [b, batch] of (plan.batches ?? [hosts.map((_, i) => i)]).entries()) {
    const guards = plan.guards?.[b] ?? [];
    inRotation = guards;
    if (!(await guard(guards, 'before'))) break;
    const outcomes = await mapLimit(batch, limit, (i) => run(i, hosts[i]!.steps.slice(hosts[i]!.switchIndex, hosts[i]!.commitIndex), recovery(i, 0, -1)));
    batch.forEach((i, k) => (switched[i] = outcomes[k]));
    if (outcomes.some((o) => !o.ok)) break;
    // Where the next batch's guard takes its servers out on the same load balancer, that one rewrite also puts
    // these back (it names everyone else up): one reload instead of two, and each reload closes idle clients.
    const next = plan.guards?.[b + 1] ?? [];
    if (!(await guard(guards.filter((g) => !next.some((n) => n.host === g.host)), 'after'))) break;
    inRotation = [];
  }
  switched.forEach((outcome, i) => {
    if (!outcome || outcome.ok) return;
    results[i]!.outcome = { ...outcome, failedIndex: (outcome.failedIndex ?? 0) + hosts[i]!.switchIndex };
    results[i]!.switchedBack = outcome.recovered === 'after';
  });
  if (guardFailure || switched.some((o) => o !== undefined && !o.ok)) {
    await undoOthers((i) => switched[i] !== undefined);
    // The servers taken out of rotation come back once they run the old release again.
    await guard(inRotation, 'after');
    if (guardFailure) results[guardFailure.host]!.outcome = guardFailure.outcome;
    return results;
  }
  const committed = await mapLimit(hosts, limit, (p, i) => run(i, p.steps.slice(p.commitIndex), recovery(i, 0, 0)));
  committed.forEach((outcome, i) => {
    const reports = [prepared[i]!, switched[i] ?? { ok: true }, outcome].flatMap((o) => o.reports ?? []);
    results[i]!.outcome = { ...outcome, reports };
  });
  return results;
}

/**
 * A host's own bookkeeping, the same in every script of the operation: with a history record, the line it writes
 * when it repairs (the client may be gone by then) and the pending lines the agent finishes; and the boot-time
 * switch-back, with that line told the switch-back happened at boot.
 */
function hostBookkeeping(p: HostPlan, history: OperationRecord | undefined): Pick<Recovery, 'record' | 'pending' | 'pendingKept'> & { boot: BootRecovery } {
  if (!history) return { boot: bootRecovery(p.layout, p.onFailureAfterSwitch, undefined) };
  const entry = { ...history.entry, from: p.from ?? null, to: p.to };
  const { label } = p.target;
  const record = recordFromHost(p.layout, entry, label, history.startedMs);
  return {
    record,
    pending: pendingFromHost(p.layout, entry, label, history.startedMs),
    pendingKept: pendingFromHost(p.layout, entry, label, history.startedMs, true),
    boot: bootRecovery(p.layout, p.onFailureAfterSwitch, record),
  };
}

/** The history line of an operation as known before it runs, and when it started (for the host's duration). */
export interface OperationRecord {
  entry: Omit<PendingEntry, 'from' | 'to'>;
  startedMs: number;
}

/** The client's history line per host, except where the host already wrote its own while repairing. */
export async function recordHistory(connections: HostConnection[], results: HostResult[], entry: Omit<HistoryEntry, 'from' | 'to' | 'result' | 'error'>): Promise<void> {
  await Promise.all(
    results.map(async (result, i) => {
      if (result.outcome.recorded) return;
      const failed = results.find((r) => !r.outcome.ok);
      const line: HistoryEntry = {
        ...entry,
        from: result.plan.from ?? null,
        to: result.plan.to,
        result: !failed ? 'ok' : result.switchedBack ? 'rolled-back' : 'failed',
        ...(failed?.outcome.error ? { error: `${failed.host}: ${failed.outcome.error.step} failed (exit ${failed.outcome.error.exitCode})` } : {}),
      };
      await connections[i]!.session.run(renderScript([{ id: 'history', title: 'Record history', commands: [appendHistory(result.plan.layout, line), clearPending(result.plan.layout)] }]));
    }),
  );
}

/** The error the CLI reports for a failed operation: the first failing host's step, command and output. */
export function failureOf(results: HostResult[]): CommandFailedError | undefined {
  return results.find((r) => !r.outcome.ok)?.outcome.error;
}

export function layoutForRef(loaded: LoadedConfig, ref: string | undefined): Layout {
  const branch = ref ?? loaded.config.project.branch;
  return layoutFor(loaded.config, branch);
}

export const lockFor = (ctx: OperationContext, layout: Layout) => () => lockRequest(layout, ctx);
