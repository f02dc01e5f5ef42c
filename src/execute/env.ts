// `env list|diff|set|unset`: read the .env's key names on every host, or change it under the deploy lock,
// one host at a time (a value that breaks the app stops at the first host, which gets its old file back).
import type { CommandFailedError } from '../errors.js';
import { envKeysProbe } from '../ops/env.js';
import { changedKeys, planEnvChange, type EnvChange } from '../plan/env-change.js';
import { appendHistory, type HistoryEntry } from '../ops/history.js';
import { renderScript } from '../ops/shell.js';
import { isSlotInstance, parseServices } from '../plan/status.js';
import { servicesProbe } from '../ops/status.js';
import type { Layout } from '../plan/layout.js';
import { deployer, lockFor, withHosts, type OperationContext } from './operation.js';
import { envKeysFrom, probeHost } from './host-probe.js';
import { runSteps } from './run-steps.js';

export interface HostEnvKeys {
  host: string;
  /** Undefined when the host has no .env. */
  keys: string[] | undefined;
}

export async function readEnvKeys(ctx: Pick<OperationContext, 'loaded' | 'only'>, layout: Layout): Promise<HostEnvKeys[]> {
  return withHosts(ctx, undefined, (connections) =>
    Promise.all(
      connections.map(async (c) => {
        const { lines } = await probeHost(c, layout, [envKeysProbe(layout.envFile)]);
        return { host: c.target.label, keys: envKeysFrom(lines) };
      }),
    ),
  );
}

export interface EnvChangeResult {
  host: string;
  /** Keys the file had before the change. */
  before: string[];
  units: string[];
  health: boolean;
  /** Undefined on success. */
  error?: CommandFailedError;
  /** The old .env was put back after a failure from the switch on. */
  restored: boolean;
}

/** Changes .env host by host and stops at the first failure; hosts after it are not touched. */
export async function changeEnv(ctx: OperationContext, layout: Layout, change: EnvChange): Promise<EnvChangeResult[]> {
  return withHosts(ctx, lockFor(ctx, layout), async (connections) => {
    const wants = { slotProcess: ctx.loaded.config.health.process };
    const probed = await Promise.all(connections.map((c) => probeHost(c, layout, [envKeysProbe(layout.envFile), servicesProbe(layout)], wants)));
    // Plan every host before changing any: a host with nothing deployed stops the command before any change.
    const plans = connections.map((c, i) => {
      const { facts, lines } = probed[i]!;
      const instances = parseServices(lines).filter((u) => u.active === 'active' && isSlotInstance(u.name, layout)).map((u) => u.name);
      return planEnvChange({ layout, facts, present: envKeysFrom(lines) ?? [], instances, change, label: c.target.label, http: ctx.loaded.config.http });
    });
    const results: EnvChangeResult[] = [];
    const who = deployer(ctx);
    for (const [i, connection] of connections.entries()) {
      const plan = plans[i]!;
      const started = Date.now();
      const outcome = await runSteps(connection, plan.steps, ctx.observer, plan.recovery);
      if (plan.steps.length > 0) {
        const { facts } = probed[i]!;
        const manifest = facts.releases.find((r) => r.id === facts.current)?.manifest;
        const entry: HistoryEntry = {
          at: new Date(started).toISOString(),
          action: 'env',
          env: ctx.loaded.config.environment,
          user: who.user,
          machine: who.machine,
          from: facts.current ?? null,
          to: facts.current ?? null,
          sha: manifest?.sha ?? null,
          ref: manifest?.ref ?? null,
          result: outcome.ok ? 'ok' : outcome.recovered === 'after' ? 'rolled-back' : 'failed',
          duration_ms: Date.now() - started,
          keys: changedKeys(change),
          ...(outcome.error ? { error: `${connection.target.label}: ${outcome.error.step} failed (exit ${outcome.error.exitCode})` } : {}),
        };
        await connection.session.run(renderScript([{ id: 'history', title: 'Record history', commands: [appendHistory(layout, entry)] }]));
      }
      results.push({
        host: connection.target.label,
        before: envKeysFrom(probed[i]!.lines) ?? [],
        units: plan.units,
        health: plan.health,
        ...(outcome.error ? { error: outcome.error } : {}),
        restored: outcome.recovered === 'after',
      });
      if (!outcome.ok) break;
    }
    return results;
  });
}
