// Planning a rollback for one host: back to the previous good release, or the one named.
import type { Config } from '../config/types.js';
import { setStatus } from '../ops/release.js';
import { UserError } from '../errors.js';
import { goodReleases, type HostFacts } from './facts.js';
import type { Layout } from './layout.js';
import { healthCheckFor, processesOn, unitFiles } from './processes.js';
import { switchBackSteps, switchSteps } from './switch.js';
import type { Target } from './target.js';
import type { HostPlan } from './types.js';

export interface RollbackInput {
  config: Pick<Config, 'project' | 'processes' | 'health' | 'hooks'>;
  layout: Layout;
  target: Target;
  facts: HostFacts;
  /** A release id (or a unique prefix of one) the user named; otherwise the previous good release. */
  requested: string | undefined;
}

export function chooseRollbackTarget(facts: HostFacts, requested: string | undefined, label: string): string {
  if (requested) {
    // An exact id wins over prefixes: `<id>` must still name it when `<id>-2` (the same commit again) exists.
    const exact = facts.releases.filter((r) => r.id === requested);
    const matches = exact.length > 0 ? exact : facts.releases.filter((r) => r.id.startsWith(requested) || r.id.endsWith(`-${requested}`));
    if (matches.length === 0) throw new UserError(`${label}: no release ${requested}`, 'see `slipway releases <env>`');
    if (matches.length > 1) throw new UserError(`${label}: ${requested} matches ${matches.length} releases: ${matches.map((r) => r.id).join(', ')}`);
    const match = matches[0]!;
    if (match.id === facts.current) throw new UserError(`${label}: ${match.id} is already current`);
    return match.id;
  }
  // The previous good release is the newest good one older than current; bad and failed ones are skipped.
  const older = goodReleases(facts).filter((id) => id !== facts.current && (!facts.current || id < facts.current));
  const candidate = older[older.length - 1];
  if (!candidate) throw new UserError(`${label}: no earlier good release to roll back to`, 'name one: `slipway rollback <env> <release>`');
  return candidate;
}

export function planRollbackHost({ config, layout, target, facts, requested }: RollbackInput): HostPlan {
  const to = chooseRollbackTarget(facts, requested, target.label);
  const processes = processesOn(config, target);
  const hookUser = processes.length > 0 ? layout.appUser : undefined;
  const unitNames = unitFiles(config, layout, processes).filter((u) => u.name.endsWith('.service')).map((u) => u.name);
  const steps = switchSteps({ layout, to, units: unitNames, afterSwitchHooks: config.hooks.after_switch, hookUser, health: healthCheckFor(config, processes) });
  const abandoned = facts.current;
  steps.push({
    id: 'finish',
    title: abandoned ? `Mark ${abandoned} bad so the next rollback skips it` : `Mark ${to} good`,
    commands: [...(abandoned ? [setStatus(layout, abandoned, 'bad')] : []), setStatus(layout, to, 'ok')],
  });
  return {
    target,
    layout,
    ...(abandoned ? { from: abandoned } : {}),
    to,
    steps,
    switchIndex: 0,
    onFailureBeforeSwitch: [],
    onFailureAfterSwitch: switchBackSteps(layout, abandoned, to, unitNames, false),
    warnings: [],
  };
}
