// Running server-wide work on a host as root (directly, or through sudo for other login users), with the same
// step markers, progress and deploy log as a deploy's scripts.
import { CommandFailedError } from '../errors.js';
import type { Step } from '../ops/command.js';
import { asRoot } from '../ops/privilege.js';
import { renderCmd, renderScript } from '../ops/shell.js';
import type { ScriptResult } from './agent-session.js';
import type { HostConnection } from './connection.js';
import type { StepObserver } from './run-steps.js';

export interface Login {
  user: string;
  uid: number;
}

/** Who slipway is logged in as on the host. */
export async function loginOf(connection: HostConnection): Promise<Login> {
  const result = await connection.session.run('id -un; id -u');
  const [user = '', uid = ''] = result.lines;
  if (result.code !== 0 || !/^\d+$/.test(uid)) throw new CommandFailedError(connection.target.label, 'Find the login user', 'id -un; id -u', result.code, result.lines.slice(-5));
  return { user, uid: Number(uid) };
}

/** A read-only script run as root; its output lines, or an error naming `what`. */
export async function readAsRoot(connection: HostConnection, login: Login, script: string, what: string): Promise<string[]> {
  const result = await connection.session.run(asRoot(script, login.uid));
  if (result.code !== 0) throw new CommandFailedError(connection.target.label, what, '', result.code, result.lines.slice(-10));
  return result.lines;
}

export interface StepsRun {
  result: ScriptResult;
  /** The failure, naming the failed step, its command and its last output lines. */
  error?: CommandFailedError;
}

/** Runs steps as root in one script (one round trip); a failure stops the script at the failing step. */
export async function runAsRoot(connection: HostConnection, login: Login, steps: readonly Step[], observer: StepObserver): Promise<StepsRun> {
  const host = connection.target.label;
  const byId = new Map(steps.map((s) => [s.id, s]));
  observer.onRun?.(host, renderScript(steps, { redact: true }));
  const result = await connection.session.run(asRoot(renderScript(steps), login.uid), {
    onStep: (id) => {
      const step = byId.get(id);
      if (step) observer.onStep(host, step);
    },
    onLine: (line) => observer.onLine?.(host, line),
  });
  if (result.code === 0) return { result };
  const step = (result.lastStep ? byId.get(result.lastStep) : undefined) ?? steps[0];
  const tail = (result.lastStep ? result.byStep.get(result.lastStep) ?? [] : result.lines).filter((l) => l.trim() !== '').slice(-10);
  const command = result.failedCommand === 'false' ? '' : (result.failedCommand ?? step?.commands.map((c) => renderCmd(c, { redact: true })).join('; ') ?? '');
  return { result, error: new CommandFailedError(host, step?.title ?? 'script', command, result.code, tail) };
}
