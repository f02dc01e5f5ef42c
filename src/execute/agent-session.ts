// A running remote agent (local bash or over ssh): send a script, get its output and exit code back.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';
import { agentBootstrap, agentScript, exitMarker, GOODBYE, HEARTBEAT_SECONDS, LOCK_HELD_MARKER, READY_MARKER, UP_MARKER, type LockRequest } from '../ops/agent.js';
import { FAILED_COMMAND_MARKER, RECORDED_MARKER, RECOVER_MARKER, STEP_MARKER } from '../ops/shell.js';
import { describeHolder, keepLast, OUTPUT_LIMITS } from './agent-output.js';
import type { Redactor } from './redact.js';

export interface ScriptResult {
  code: number;
  /** Output lines (redacted), step markers removed. */
  lines: string[];
  /** Output lines by step id. */
  byStep: Map<string, string[]>;
  /** Last step that started: the failed one when code is not 0. */
  lastStep?: string;
  failedCommand?: string;
  /** Recovery steps the script ran after failing (see Recovery in ops/shell.ts). */
  recovered: string[];
  /** The script's recovery wrote the operation's history line on the host itself. */
  recorded?: boolean;
}

interface Pending {
  result: ScriptResult;
  onStep?: (id: string, recovery: boolean) => void;
  onLine?: (line: string) => void;
  resolve: (result: ScriptResult) => void;
}

/** The host said nothing at all within the time it was given (a kept connection whose server is gone). */
export class SilentHost extends Error {
  constructor(label: string, ms: number) {
    super(`${label}: no answer within ${ms} ms`);
  }
}

export class AgentSession {
  private buffer = '';
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly preamble: string[] = [];
  private exited = false;
  /** stdin was ended (close, Ctrl-C): no more heartbeats. */
  private inputEnded = false;
  private readonly marker: string;
  private readyWaiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /** Set while the host has to say it is up in time (see start). */
  private upTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly redactor: Redactor,
    nonce: string,
  ) {
    this.marker = exitMarker(nonce);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.onData(chunk));
    child.stderr.on('data', (chunk: string) => this.preamble.push(...chunk.split('\n').filter(Boolean).map((l) => redactor.redact(l))));
    child.stdin.on('error', () => undefined);
    child.on('exit', (code) => this.onExit(code ?? 255));
  }

  /**
   * Starts the agent through `spawnAgent(bootstrap)`, a short shell command that reads the agent from stdin, and
   * waits until it is ready (and holds the lock, if asked). With `upWithinMs`, a host that has not said it is up
   * by then (before any lock wait) is given up on: the session is killed and start rejects with SilentHost.
   */
  static async start(
    label: string,
    redactor: Redactor,
    lock: LockRequest | undefined,
    spawnAgent: (bootstrap: string) => ChildProcessWithoutNullStreams,
    upWithinMs?: number,
  ): Promise<AgentSession> {
    const nonce = randomBytes(6).toString('hex');
    const agent = agentScript(nonce, lock);
    const session = new AgentSession(label, spawnAgent(agentBootstrap(agent)), redactor, nonce);
    session.child.stdin.write(agent);
    await new Promise<void>((resolve, reject) => {
      session.readyWaiter = { resolve, reject };
      if (upWithinMs === undefined) return;
      session.upTimer = setTimeout(() => {
        session.readyWaiter = undefined;
        session.child.kill('SIGKILL');
        reject(new SilentHost(label, upWithinMs));
      }, upWithinMs);
    });
    session.beat();
    return session;
  }

  /** Heartbeats from ready to the end: the host stops and frees the lock when they stop coming (ops/agent.ts). */
  private beat(): void {
    const heartbeat = setInterval(() => {
      if (this.inputEnded || this.exited) clearInterval(heartbeat);
      else this.child.stdin.write('\n');
    }, HEARTBEAT_SECONDS * 1000);
    // A heartbeat alone must not keep slipway running.
    heartbeat.unref();
    this.child.once('exit', () => clearInterval(heartbeat));
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline = this.buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      this.onLine(line);
      newline = this.buffer.indexOf('\n');
    }
    // Output with no line end (a binary file printed by mistake) is cut into lines rather than held whole.
    if (this.buffer.length > OUTPUT_LIMITS.lineChars) {
      const line = this.buffer;
      this.buffer = '';
      this.onLine(line);
    }
  }

  private onLine(raw: string): void {
    if (this.readyWaiter) {
      if (raw === UP_MARKER) {
        clearTimeout(this.upTimer);
      } else if (raw === READY_MARKER) {
        clearTimeout(this.upTimer);
        this.readyWaiter.resolve();
        this.readyWaiter = undefined;
      } else this.preamble.push(this.redactor.redact(raw));
      return;
    }
    const pending = this.pending;
    if (!pending) return;
    if (raw.startsWith(`${this.marker} `)) {
      pending.result.code = Number(raw.slice(this.marker.length + 1));
      // The agent prints a newline before the marker in case the script's output did not end with one.
      if (pending.result.lines.at(-1) === '') pending.result.lines.pop();
      this.pending = undefined;
      pending.resolve(pending.result);
      return;
    }
    const line = this.redactor.redact(raw);
    if (line.startsWith(STEP_MARKER)) {
      pending.result.lastStep = line.slice(STEP_MARKER.length);
      pending.result.byStep.set(pending.result.lastStep, []);
      pending.onStep?.(pending.result.lastStep, false);
      return;
    }
    if (line.startsWith(RECOVER_MARKER)) {
      const id = line.slice(RECOVER_MARKER.length);
      pending.result.recovered.push(id);
      pending.onStep?.(id, true);
      return;
    }
    if (line === RECORDED_MARKER) {
      pending.result.recorded = true;
      return;
    }
    if (line.startsWith(FAILED_COMMAND_MARKER)) {
      pending.result.failedCommand ??= line.slice(FAILED_COMMAND_MARKER.length);
      return;
    }
    const kept = line.length > OUTPUT_LIMITS.lineChars ? `${line.slice(0, OUTPUT_LIMITS.lineChars)} [cut]` : line;
    keepLast(pending.result.lines, kept);
    if (pending.result.lastStep) {
      const step = pending.result.byStep.get(pending.result.lastStep);
      if (step) keepLast(step, kept);
    }
    pending.onLine?.(line);
  }

  private onExit(code: number): void {
    this.exited = true;
    clearTimeout(this.upTimer);
    if (this.readyWaiter) {
      const waiter = this.readyWaiter;
      this.readyWaiter = undefined;
      if (this.preamble.includes(LOCK_HELD_MARKER)) {
        const holder = this.preamble.slice(this.preamble.indexOf(LOCK_HELD_MARKER) + 1).join(' ');
        waiter.reject(new UserError(`${this.label}: another deploy holds the lock: ${describeHolder(holder)}`, 'wait for it (--lock-wait <seconds>), or see `slipway lock status <env>`'));
      } else {
        const tail = this.preamble.slice(-5).join(' | ') || `exit ${code}`;
        waiter.reject(new UserError(`${this.label}: could not start a session: ${tail}`, code === 255 ? 'check that `ssh` to this host works non-interactively (keys, known_hosts)' : undefined));
      }
    }
    if (this.pending) {
      const pending = this.pending;
      this.pending = undefined;
      pending.result.code = 255;
      pending.result.lines.push(...this.preamble.slice(-5), 'connection to the host was lost');
      pending.resolve(pending.result);
    }
  }

  /**
   * Runs one script (scripts run one at a time, in order) and resolves with its result; never rejects. `carried`:
   * data the agent writes to `into` before the script starts (one path, no line break in it).
   */
  run(script: string, callbacks: { onStep?: (id: string, recovery: boolean) => void; onLine?: (line: string) => void } = {}, carried?: { data: Buffer; into: string }): Promise<ScriptResult> {
    if (carried && /[\n\r]/.test(carried.into)) throw new Error(`cannot carry data to a path with a line break: ${JSON.stringify(carried.into)}`);
    const next = this.queue.then(
      () =>
        new Promise<ScriptResult>((resolve) => {
          const result: ScriptResult = { code: -1, lines: [], byStep: new Map(), recovered: [] };
          if (this.exited) {
            resolve({ ...result, code: 255, lines: ['connection to the host was lost'] });
            return;
          }
          this.pending = { result, resolve, ...callbacks };
          const header = carried ? `${Buffer.byteLength(script)} ${carried.data.length} ${carried.into}` : String(Buffer.byteLength(script));
          this.child.stdin.write(`${header}\n${script}`);
          if (carried) this.child.stdin.write(carried.data);
        }),
    );
    this.queue = next;
    return next;
  }

  /** Ends the agent: closing its stdin ends the loop, which frees the lock. */
  async close(): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    // A goodbye first: the agent ends cleanly, without finishing an operation's pending history line.
    if (!this.inputEnded) this.child.stdin.write(`${GOODBYE}\n`);
    this.endInput();
    const timer = setTimeout(() => this.child.kill('SIGTERM'), 5000);
    await done;
    clearTimeout(timer);
  }

  /** For Ctrl-C: end the agent's input; the running script recovers and reports, and the agent then exits. */
  interrupt(): void {
    if (!this.exited) this.endInput();
  }

  private endInput(): void {
    this.inputEnded = true;
    this.child.stdin.end();
  }

  /** For a second Ctrl-C: end the connection now. */
  kill(): void {
    if (!this.exited) this.child.kill('SIGTERM');
  }
}
