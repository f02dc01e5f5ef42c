// What the dashboard reads and does, through the same config loading, execute/ functions and renderers as the
// CLI: a page is `slipway status`, `releases`, `history`, `env list`, `backups`, `plan` or `handoff` as data,
// and a deploy or rollback is the CLI's own, with its lock, history and notifications.
import { readdir } from 'node:fs/promises';
import type { Io } from '../cli/io.js';
import { load } from '../cli/context.js';
import { deployLogFile, progressObserver } from '../cli/output.js';
import { report } from '../cli/report.js';
import type { LoadedConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { listAll } from '../execute/backups.js';
import { deploy, preview, rollback } from '../execute/deploy.js';
import { readEnvKeys } from '../execute/env.js';
import { gatherHandoff } from '../execute/handoff.js';
import { layoutForRef, type OperationContext } from '../execute/operation.js';
import type { StepObserver } from '../execute/run-steps.js';
import { listRefs, resolveSource } from '../execute/source.js';
import { hostHistory, hostReleases, hostStatuses } from '../execute/status.js';
import { handoffMarkdown } from '../render/handoff.js';
import { headline, planText } from '../render/plan.js';
import { liveRelease } from '../plan/types.js';
import type { EnvironmentDetail, EnvironmentSummary, Part, PlanView, Refs } from '../render/dashboard/types.js';

const ENV_FILE = /^deploy-([a-z0-9][a-z0-9_-]*)\.ya?ml$/i;

export interface OperationRequest {
  env: string;
  actor: { user: string; via: string };
  /** Where the CLI's text goes (the run's events). */
  io: Io;
  observer: StepObserver;
}

export interface Backend {
  dir: string;
  environments(): Promise<string[]>;
  summary(env: string): Promise<EnvironmentSummary>;
  detail(env: string): Promise<EnvironmentDetail>;
  refs(env: string): Promise<Refs>;
  plan(env: string, action: 'deploy' | 'rollback', requested: string, full: boolean): Promise<NonNullable<PlanView['plan']>>;
  rollbackChoices(env: string): Promise<{ id: string; label: string }[]>;
  handoff(env: string, to: string): Promise<string>;
  /** Runs it as the CLI would, printing what the CLI prints to `io`; false when it failed (the error printed). */
  deploy(request: OperationRequest & { ref: string; sha?: string; full: boolean }): Promise<boolean>;
  rollback(request: OperationRequest & { release?: string }): Promise<boolean>;
}

/** The text the CLI's error handler prints for this failure. */
export function failureText(error: unknown): string {
  const lines: string[] = [];
  report({ out: (t) => lines.push(t), err: (t) => lines.push(t), env: {}, cwd: '/' }, error, false);
  return lines.join('\n');
}

async function part<T>(work: () => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: failureText(error) };
  }
}

/** A command line for the lock holder and the local log: what was asked, and that the dashboard asked it. */
const commandOf = (words: string[]) => ['slipway', 'dashboard:', ...words].join(' ');

export function localBackend(dir: string, env: NodeJS.ProcessEnv): Backend {
  // Warnings of a page's config load are the CLI's to print; a page shows what it found.
  const quiet: Io = { out: () => undefined, err: () => undefined, env, cwd: dir };
  const loadEnv = (name: string, io: Io = quiet) => load(io, name, { config: dir });
  const readCtx = (loaded: LoadedConfig): OperationContext => ({ loaded, observer: { onStep: () => undefined }, command: commandOf(['read']), lockWaitSeconds: 0 });
  const operationCtx = (loaded: LoadedConfig, request: OperationRequest, action: string, words: string[]): OperationContext => {
    const logged = progressObserver({ io: quiet, verbose: false, logFile: deployLogFile(loaded.dir, loaded.config.environment, action) });
    const live = request.observer;
    return {
      loaded,
      observer: {
        onStep: (host, step) => (logged.onStep(host, step), live.onStep(host, step)),
        onLine: (host, line) => logged.onLine?.(host, line),
        onRun: (host, text) => logged.onRun?.(host, text),
        onWarning: (host, text) => (logged.onWarning?.(host, text), live.onWarning?.(host, text)),
      },
      command: commandOf(words),
      lockWaitSeconds: 0,
      actor: request.actor,
    };
  };
  /** The CLI's run of an operation: its report printed, its failure printed by the one error handler. */
  const operate = async (io: Io, body: () => Promise<void>): Promise<boolean> => {
    try {
      await body();
      return true;
    } catch (error) {
      report(io, error, false);
      return false;
    }
  };

  return {
    dir,
    async environments() {
      const names = await readdir(dir).catch(() => [] as string[]);
      return [...new Set(names.flatMap((n) => ENV_FILE.exec(n)?.[1] ?? []))].sort();
    },
    async summary(name) {
      try {
        const loaded = await loadEnv(name);
        const base = { name, project: loaded.config.project.name, servers: loaded.config.servers.length };
        try {
          return { ...base, hosts: await hostStatuses({ loaded }, layoutForRef(loaded, undefined)) };
        } catch (error) {
          return { ...base, hosts: [], error: failureText(error) };
        }
      } catch (error) {
        return { name, hosts: [], error: failureText(error) };
      }
    },
    async detail(name) {
      const loaded = await loadEnv(name);
      const layout = layoutForRef(loaded, undefined);
      const ctx = { loaded };
      const [statuses, releases, history, envKeys, backups] = await Promise.all([
        part(() => hostStatuses(ctx, layout)),
        part(() => hostReleases(ctx, layout)),
        part(() => hostHistory(ctx, layout, 20)),
        part(() => readEnvKeys(ctx, layout)),
        loaded.config.database.engine === 'none' ? Promise.resolve(undefined) : part(() => listAll(readCtx(loaded))),
      ]);
      return { name, project: loaded.config.project.name, files: loaded.files, statuses, releases, history, envKeys, ...(backups ? { backups } : {}) };
    },
    async refs(name) {
      const loaded = await loadEnv(name);
      return { ...(await listRefs(loaded.config, loaded.dir)), default: loaded.config.project.branch };
    },
    async plan(name, action, requested, full) {
      const loaded = await loadEnv(name);
      const plan = await preview(readCtx(loaded), action, action === 'deploy' ? requested || undefined : undefined, action === 'rollback' ? requested || undefined : undefined, { full });
      return { text: planText(plan), sha: plan.sha, release: liveRelease(plan), headline: headline(plan) };
    },
    async rollbackChoices(name) {
      const loaded = await loadEnv(name);
      const [first] = await hostReleases({ loaded }, layoutForRef(loaded, undefined));
      if (!first) return [];
      return [...first.releases].reverse().flatMap((r) => (r.status === 'ok' && r.id !== first.current ? [{ id: r.id, label: `${r.id}${r.manifest?.ref ? ` (${r.manifest.ref})` : ''}` }] : []));
    },
    async handoff(name, to) {
      const loaded = await loadEnv(name);
      const { input, handoff } = await gatherHandoff(readCtx(loaded), to ? { to } : {});
      return handoffMarkdown(input, handoff);
    },
    async deploy(request) {
      const { io } = request;
      return operate(io, async () => {
        const { auditGate, reportOperation } = await import('../cli/deploy-commands.js');
        const loaded = await loadEnv(request.env, io);
        // The plan confirmed was of this commit: a branch that moved since must be looked at again.
        if (request.sha) {
          const now = await resolveSource(loaded.config, loaded.dir, request.ref || loaded.config.project.branch);
          if (now.sha !== request.sha) throw new UserError(`${request.ref || loaded.config.project.branch} moved to ${now.sha.slice(0, 7)} since the plan of ${request.sha.slice(0, 7)} was shown: nothing was deployed`, 'show the plan again and confirm that one');
        }
        await auditGate(io, loaded, request.ref || undefined);
        const words = ['deploy', request.env, ...(request.ref ? ['--ref', request.ref] : []), ...(request.full ? ['--full'] : [])];
        const outcome = await deploy(operationCtx(loaded, request, 'deploy', words), request.ref || undefined, { full: request.full });
        await reportOperation(io, outcome, 'deployed');
      });
    },
    async rollback(request) {
      const { io } = request;
      return operate(io, async () => {
        const { reportOperation } = await import('../cli/deploy-commands.js');
        const loaded = await loadEnv(request.env, io);
        const words = ['rollback', request.env, ...(request.release ? [request.release] : [])];
        const outcome = await rollback(operationCtx(loaded, request, 'rollback', words), request.release, undefined);
        await reportOperation(io, outcome, 'rolled back');
      });
    },
  };
}
