// The one place in the sandbox that runs programs on this machine. Everything else builds argv arrays as data
// and hands them here, so the builders stay testable with exact strings.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { CommandFailedError } from '../errors.js';

export interface HostResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Kill the program (SIGKILL) after this long; the result then has code 124 like timeout(1). */
  timeoutMs?: number;
  /** Each complete output line, as it arrives: image builds take minutes and should show progress. */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export function runHost(argv: readonly string[], opts: RunOptions = {}): Promise<HostResult> {
  const [program, ...args] = argv;
  if (program === undefined) throw new Error('runHost: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    const feedLines = (chunk: string): void => {
      if (!opts.onLine) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) opts.onLine(line);
    };
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      feedLines(c);
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      feedLines(c);
    });
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (pending && opts.onLine) opts.onLine(pending);
      resolve({ code: timedOut ? 124 : (code ?? (signal ? 128 : 1)), stdout, stderr });
    });
  });
}

/** Runs a step that must succeed; a failure carries the step name and the tail of the output. */
export async function mustRun(step: string, argv: readonly string[], opts: RunOptions = {}): Promise<HostResult> {
  const result = await runHost(argv, opts);
  if (result.code !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-15);
    throw new CommandFailedError('localhost', step, argv.join(' '), result.code, tail);
  }
  return result;
}

/** Finds a program the way a root shell would, including the sbin directories sudo's PATH may lack. */
export async function findProgram(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) answers signal 0 but is gone for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/**
 * Whether systemd is the host's init (sd_booted). If so, nspawn gets its own scope from PID 1, with cgroup
 * delegation, outliving the terminal that ran `sudo slipway`; without it (containers, CI runners) there is no
 * bus to ask, and nspawn must stay in the caller's cgroup (`--keep-unit`).
 */
export async function hostRunsSystemd(): Promise<boolean> {
  return access('/run/systemd/system').then(
    () => true,
    () => false,
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
