// Deploys and rollbacks started from the dashboard: each one's progress as events, kept for the page and sent
// live to every browser following it. One run per environment at a time in this dashboard; the servers' own
// lock still decides against a deploy from anywhere else.
import { randomBytes } from 'node:crypto';
import type { StepObserver } from '../execute/run-steps.js';
import type { Io } from '../cli/io.js';
import type { RunEvent, RunHeader, RunView } from '../render/dashboard/types.js';

type Listener = (event: RunEvent | 'end') => void;

export class Run {
  readonly events: RunEvent[] = [];
  state: RunHeader['state'] = 'running';
  private readonly listeners = new Set<Listener>();
  private readonly started = Date.now();

  constructor(readonly header: Omit<RunHeader, 'state'>) {}

  view(): RunView {
    return { ...this.header, state: this.state, events: [...this.events] };
  }

  add(kind: RunEvent['kind'], text: string, host?: string): void {
    const event: RunEvent = { seq: this.events.length + 1, seconds: (Date.now() - this.started) / 1000, kind, text, ...(host ? { host } : {}) };
    this.events.push(event);
    for (const listener of this.listeners) listener(event);
  }

  finish(state: 'ok' | 'failed'): void {
    this.state = state;
    for (const listener of this.listeners) listener('end');
    this.listeners.clear();
  }

  /** Events after `after`, then each new one as it comes; returns the unsubscribe. */
  follow(after: number, listener: Listener): () => void {
    for (const event of this.events.slice(after)) listener(event);
    if (this.state !== 'running') {
      listener('end');
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** What the CLI would print, as events: the same text the terminal shows at the end of a deploy. */
  io(base: Pick<Io, 'env' | 'cwd'>): Io {
    const lines = (kind: 'out' | 'err') => (text: string) => {
      for (const line of text.replace(/\n$/, '').split('\n')) this.add(kind, line);
    };
    return { out: lines('out'), err: lines('err'), env: base.env, cwd: base.cwd };
  }

  /** Step titles and warnings, per host, as they happen (the output of commands goes to the local log only). */
  observer(): StepObserver {
    return {
      onStep: (host, step) => this.add('step', step.title, host),
      onLine: () => undefined,
      onWarning: (host, text) => this.add('warning', text, host),
    };
  }
}

export class RunRegistry {
  private readonly runs = new Map<string, Run>();

  /** The run going on in `env`, if any. */
  running(env: string): Run | undefined {
    return [...this.runs.values()].find((r) => r.header.env === env && r.state === 'running');
  }

  get(id: string): Run | undefined {
    return this.runs.get(id);
  }

  active(): Run[] {
    return [...this.runs.values()].filter((r) => r.state === 'running');
  }

  /**
   * Starts `body` in the background; its promise says whether it succeeded. A run is refused (undefined) while
   * another runs in the same environment: the caller shows who holds it.
   */
  start(header: Omit<RunHeader, 'id' | 'startedAt' | 'state'>, body: (run: Run) => Promise<boolean>): Run | undefined {
    if (this.running(header.env)) return undefined;
    const run = new Run({ ...header, id: randomBytes(6).toString('hex'), startedAt: new Date().toISOString() });
    this.runs.set(run.header.id, run);
    // Kept for the pages that follow it; the oldest finished ones go once there are many.
    const finished = [...this.runs.values()].filter((r) => r.state !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - 50))) this.runs.delete(old.header.id);
    void body(run).then(
      (ok) => run.finish(ok ? 'ok' : 'failed'),
      (error: unknown) => {
        run.add('err', `bug: ${error instanceof Error ? error.message : String(error)}`);
        run.finish('failed');
      },
    );
    return run;
  }
}
