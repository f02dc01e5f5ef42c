// `env set` / `env unset` as a plan for one host (pure): write the new .env beside the old one, switch it in
// and restart the app, check health; if anything fails from the switch on, the old file comes back.
import { ENV_VAR_NAME } from '../config/names.js';
import type { Config } from '../config/types.js';
import { UserError } from '../errors.js';
import type { Step } from '../ops/command.js';
import { discardEnvFiles, replaceEnvFile, restoreEnvFile, writeNextEnvFile } from '../ops/env.js';
import { healthProbe, healthTarget } from '../ops/health.js';
import type { Recovery } from '../ops/shell.js';
import { managerOf } from '../ops/managers.js';
import { appServices, currentManifest } from './app-units.js';
import { blueGreenSteps, recordedTier, slotsOf } from './web.js';
import { slotUnit } from '../ops/web.js';
import { appEnv, envFileText } from './env-file.js';
import type { HostFacts } from './facts.js';
import type { Layout } from './layout.js';

export type EnvChange = { kind: 'set'; values: Record<string, string> } | { kind: 'unset'; keys: string[] };

function checkKey(key: string): string {
  if (!ENV_VAR_NAME.test(key)) throw new UserError(`${JSON.stringify(key)} is not a variable name`, 'names are letters, digits and _, not starting with a digit');
  return key;
}

/** `KEY=VALUE` arguments (the value may contain `=`, and may be empty). */
export function parseAssignments(args: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UserError(`expected KEY=VALUE, got ${JSON.stringify(arg.split('=')[0])}`, 'or give one KEY with --stdin and the value on standard input');
    values[checkKey(arg.slice(0, eq))] = checkValue(arg.slice(0, eq), arg.slice(eq + 1));
  }
  return values;
}

/** A value read from standard input: one trailing newline (from `echo`) is not part of it. */
export function stdinValue(key: string, text: string): Record<string, string> {
  return { [checkKey(key)]: checkValue(key, text.replace(/\r?\n$/, '')) };
}

function checkValue(key: string, value: string): string {
  // One line per variable keeps the file editable key by key (and readable by systemd's EnvironmentFile=).
  if (/[\r\n\0]/.test(value)) throw new UserError(`the value of ${key} has a line break or NUL byte`, 'write multi-line values (keys, certificates) to a file under shared/ and set its path');
  return value;
}

export function unsetKeys(args: readonly string[]): string[] {
  return [...new Set(args.map(checkKey))];
}

export const changedKeys = (change: EnvChange) => (change.kind === 'set' ? Object.keys(change.values) : change.keys);

export interface EnvHostPlan {
  steps: Step[];
  recovery: Recovery;
  /** Services restarted to pick up the change. */
  units: string[];
  health: boolean;
}

export interface EnvChangeInput {
  layout: Layout;
  facts: HostFacts;
  /** The keys the host's .env has now. Unsetting keys it does not have changes nothing (no restart). */
  present: readonly string[];
  /** Running instances of the app's template units (blue/green slots): restarted too. */
  instances: readonly string[];
  change: EnvChange;
  label: string;
  http: Config['http'];
}

export function planEnvChange(input: EnvChangeInput): EnvHostPlan {
  const { layout, facts, change, label } = input;
  if (!facts.current) throw new UserError(`${label}: nothing is deployed under ${layout.root} yet`, 'deploy first: the .env belongs to a deployed app');
  const units = [...appServices(facts, layout), ...input.instances];
  const health = units.length > 0 ? currentManifest(facts)?.health : undefined;
  const none: Step[] = [];
  if (change.kind === 'unset' && !change.keys.some((k) => input.present.includes(k))) {
    return { steps: none, units: [], health: false, recovery: { switchAt: -1, beforeSwitch: none, afterSwitch: none } };
  }
  const owner = facts.appUser && units.length > 0 ? layout.appUser : undefined;
  const edit = { keys: changedKeys(change), lines: change.kind === 'set' ? envFileText(change.values) : '' };
  const file = layout.envFile;
  const write: Step = { id: 'env-write', title: `Write the new .env (${edit.keys.join(', ')})`, commands: writeNextEnvFile(file, edit, owner) };
  const finish: Step = { id: 'env-finish', title: 'Remove the previous .env', commands: [discardEnvFiles(file, 'previous')] };
  const beforeSwitch = [{ id: 'env-discard', title: 'Discard the new .env', commands: [discardEnvFiles(file, 'both')] }];
  const web = currentManifest(facts)?.web;
  if (web?.strategy === 'blue-green' && health) {
    // Blue/green apps pick the new environment up like a deploy of the same release: a fresh slot, checked,
    // then traffic moves and the old slot drains. No request is dropped; a bad value never gets traffic.
    const tier = recordedTier(web, layout, input.http);
    const workers = appServices(facts, layout);
    const check = { path: new URL(health.url).pathname, expectedStatus: health.expectedStatus, timeoutSeconds: health.timeoutSeconds, retries: health.retries };
    const bg = blueGreenSteps({ tier, layout, facts, to: facts.current, from: facts.current, workers, afterSwitch: [], health: check, markBad: false, freshStart: true });
    return {
      steps: [write, { id: 'env-switch', title: 'Switch .env', commands: [replaceEnvFile(file)] }, ...bg.steps, finish],
      units: [...workers, slotUnit(layout, web.process, slotsOf(facts).idle)],
      health: true,
      recovery: {
        switchAt: 1,
        beforeSwitch,
        afterSwitch: [{ id: 'env-restore', title: 'Restore the previous .env', commands: [restoreEnvFile(file)] }, ...bg.recovery],
      },
    };
  }
  const steps: Step[] = [
    write,
    { id: 'env-switch', title: units.length > 0 ? `Switch .env and restart ${units.join(' ')}` : 'Switch .env', commands: [replaceEnvFile(file), ...managerOf(layout).restart(units)] },
  ];
  if (health) steps.push({ id: 'health', title: `Check health: ${healthTarget(health)}`, commands: [healthProbe(health)] });
  steps.push(finish);
  return {
    steps,
    units,
    health: health !== undefined,
    recovery: {
      switchAt: 1,
      beforeSwitch,
      // Back to the old file, and wait until the app answers again with it.
      afterSwitch: [{ id: 'env-restore', title: 'Restore the previous .env and restart', commands: [restoreEnvFile(file), ...managerOf(layout).restart(units), ...(health ? [healthProbe(health)] : [])] }],
    },
  };
}

/** Keys the deploy writes to .env: the config's env_vars and DATABASE_URL. */
/** Key names only: where Redis runs changes REDIS_URL's value, never whether the deploy writes it. */
export const configKeys = (config: Pick<Config, 'env_vars' | 'database' | 'setup'>) => {
  const redis = config.setup.redis;
  return Object.keys(appEnv(config, redis.enabled && redis.password ? { redis: { host: '127.0.0.1', password: redis.password } } : {})).sort();
};

export interface EnvDiff {
  /** In the config, not in the server's .env (the app runs without them until the next deploy). */
  missingOnServer: string[];
  /** In the server's .env, not in the config (set by hand or `env set`; the next deploy drops them). */
  notInConfig: string[];
}

export function envDiff(config: readonly string[], server: readonly string[]): EnvDiff {
  const inServer = new Set(server);
  const inConfig = new Set(config);
  return { missingOnServer: [...inConfig].filter((k) => !inServer.has(k)).sort(), notInConfig: [...inServer].filter((k) => !inConfig.has(k)).sort() };
}

/** What the next deploy does to a changed key: it rewrites .env from the config when the config has any. */
export function nextDeployWarning(change: EnvChange, config: readonly string[]): string | undefined {
  if (config.length === 0) return undefined;
  const keys = changedKeys(change);
  const inConfig = keys.filter((k) => config.includes(k));
  const notInConfig = keys.filter((k) => !config.includes(k));
  const parts: string[] = [];
  if (change.kind === 'set') {
    if (inConfig.length > 0) parts.push(`${inConfig.join(', ')} will be replaced by the config's value`);
    if (notInConfig.length > 0) parts.push(`${notInConfig.join(', ')} (not in the config) will be removed`);
  } else if (inConfig.length > 0) parts.push(`${inConfig.join(', ')} will be written again from the config`);
  if (parts.length === 0) return undefined;
  return `the next deploy rewrites .env from the config: ${parts.join('; ')}. To keep a value, put it in env_vars as \${NAME} and NAME in .slipway/secrets-<env>.env`;
}
