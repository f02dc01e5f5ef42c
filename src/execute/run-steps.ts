// Runs a host's steps: consecutive host steps go as one script (one round trip), deployer steps run here.
import { CommandFailedError } from '../errors.js';
import type { Command, Step } from '../ops/command.js';
import { quoteArgv, renderCmd, renderScript, type Recovery } from '../ops/shell.js';
import type { HostConnection } from './connection.js';
import { runLocal, runLocalBytes, type LocalBytes } from './deployer.js';

export interface StepsOutcome {
  ok: boolean;
  /** Index (in the given steps) of the step that failed. */
  failedIndex?: number;
  error?: CommandFailedError;
  /** The script recovered by itself: 'before' marked the release failed, 'after' switched back. */
  recovered?: 'before' | 'after';
  /** Output of steps marked `report` (checks whose warnings the user should read). */
  reports?: { title: string; lines: string[] }[];
  /**
   * A step after the commit point failed or was interrupted: the change stands (ok stays true), and this says
   * what was left undone (old releases not yet removed), for a warning.
   */
  unfinished?: CommandFailedError;
  /** The host wrote this operation's history line itself (its recovery ran): the client must not add another. */
  recorded?: boolean;
}

export interface StepObserver {
  onStep(host: string, step: Step): void;
  onLine?(host: string, line: string): void;
  /** Every script or deployer command exactly as run (secrets redacted), for the local deploy log. */
  onRun?(host: string, text: string): void;
  /** Something the user should know before the operation runs (the plan's warnings). */
  onWarning?(host: string, text: string): void;
}

/** Groups steps into batches: runs of host steps (each carrying at most one step's data), and single deployer steps. */
export function batches(steps: readonly Step[]): Step[][] {
  const result: Step[][] = [];
  for (const step of steps) {
    const last = result[result.length - 1];
    const joins = step.runsOn !== 'deployer' && last && last[0]?.runsOn !== 'deployer' && !(step.carries && last.some((s) => s.carries));
    if (joins) last.push(step);
    else result.push([step]);
  }
  return result;
}

/**
 * The data host steps carry, made once per operation: every host that lacks the same commits gets the same pack,
 * from one git run on the deployer however many hosts there are.
 */
export class CarriedData {
  private readonly made = new Map<string, Promise<LocalBytes>>();

  make(command: Command): Promise<LocalBytes> {
    const key = JSON.stringify(command);
    let made = this.made.get(key);
    if (!made) {
      made = runLocalBytes(command);
      this.made.set(key, made);
    }
    return made;
  }
}

/** A command of `step` that failed on the deployer, with the last lines of what it printed. */
function deployerFailure(host: string, step: Step, command: Command, code: number, output: string): CommandFailedError {
  return new CommandFailedError(`${host} (from the deployer)`, step.title, quoteArgv(command.argv), code, output.trim().split('\n').slice(-10));
}

/** A step index of the whole run as seen by one batch: 0 when it came before the batch, -1 when after it. */
function batchIndex(index: number | undefined, offset: number, size: number): number {
  if (index === undefined || index < 0) return -1;
  return index < offset ? 0 : index < offset + size ? index - offset : -1;
}

/** The recovery for one batch of a host's steps: which step (if any) in it switches traffic, and commits. */
function batchRecovery(recovery: Recovery | undefined, offset: number, size: number): Recovery | undefined {
  if (!recovery) return undefined;
  return { ...recovery, switchAt: batchIndex(recovery.switchAt, offset, size), commitAt: batchIndex(recovery.commitAt, offset, size) };
}

/**
 * Runs steps in order. With a recovery, each host script repairs the host itself when it fails (marks the
 * release failed, or switches back), so the host is safe even if slipway dies in the middle.
 */
export async function runSteps(connection: HostConnection, steps: readonly Step[], observer: StepObserver, recovery?: Recovery, carriedData = new CarriedData()): Promise<StepsOutcome> {
  const host = connection.target.label;
  let offset = 0;
  const reports: { title: string; lines: string[] }[] = [];
  for (const batch of batches(steps)) {
    const first = batch[0]!;
    if (first.runsOn === 'deployer') {
      observer.onStep(host, first);
      for (const command of first.commands) {
        if (!('argv' in command)) continue;
        observer.onRun?.(host, `# on the deployer\n${renderCmd(command, { redact: true })}\n`);
        const result = await runLocal(command, connection.deployerEnv);
        if (result.code !== 0) return { ok: false, failedIndex: offset, error: deployerFailure(host, first, command, result.code, result.stderr || result.stdout) };
      }
    } else {
      const scriptRecovery = batchRecovery(recovery, offset, batch.length);
      const recoverySteps = recovery ? [...recovery.beforeSwitch, ...recovery.afterSwitch] : [];
      const byId = new Map(batch.map((s) => [s.id, s]));
      const recoveryById = new Map(recoverySteps.map((s) => [s.id, s]));
      const carrier = batch.findIndex((s) => s.carries);
      let carried: { data: Buffer; into: string } | undefined;
      if (carrier >= 0) {
        const { make, into } = batch[carrier]!.carries!;
        observer.onRun?.(host, `# on the deployer, its output sent with the next script to ${into}\n${renderCmd(make, { redact: true })}\n`);
        const made = await carriedData.make(make);
        if (made.code !== 0) {
          observer.onStep(host, batch[carrier]!);
          // Its output is the pack: only stderr says why.
          return { ok: false, failedIndex: offset + carrier, error: deployerFailure(host, batch[carrier]!, make, made.code, made.stderr) };
        }
        carried = { data: made.stdout, into };
      }
      observer.onRun?.(host, renderScript(batch, { redact: true }, scriptRecovery));
      const result = await connection.session.run(renderScript(batch, {}, scriptRecovery), {
        onStep: (id, isRecovery) => {
          const step = isRecovery ? recoveryById.get(id) : byId.get(id);
          if (step) observer.onStep(host, step);
        },
        onLine: (line) => observer.onLine?.(host, line),
      }, carried);
      for (const step of batch) {
        const lines = result.byStep.get(step.id);
        if (step.report && lines && lines.length > 0) reports.push({ title: step.title, lines });
      }
      if (result.code !== 0) {
        const failed = batch.findIndex((s) => s.id === result.lastStep);
        const index = failed >= 0 ? failed : 0;
        const step = batch[index]!;
        const tail = (result.lastStep ? result.byStep.get(result.lastStep) ?? [] : result.lines).slice(-10);
        // A check that ends in `false` (the health probe) says more in its output than in its command.
        const command = result.failedCommand === 'false' ? '' : (result.failedCommand ?? step.commands.map((c) => renderCmd(c, { redact: true })).join('; '));
        const failedIndex = offset + index;
        const error = new CommandFailedError(host, step.title, command, result.code, tail.filter((l) => l.trim() !== ''));
        const recorded = result.recorded ? { recorded: true } : {};
        if (recovery?.commitAt !== undefined && recovery.commitAt >= 0 && failedIndex >= recovery.commitAt) return { ok: true, reports, unfinished: error, ...recorded };
        const recovered = result.recovered.length === 0 || !recovery ? undefined : failedIndex >= recovery.switchAt && recovery.switchAt >= 0 ? 'after' : 'before';
        return { ok: false, failedIndex, error, reports, ...(recovered ? { recovered } : {}), ...recorded };
      }
    }
    offset += batch.length;
  }
  return { ok: true, reports };
}
