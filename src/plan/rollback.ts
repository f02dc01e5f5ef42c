// Planning a rollback for one host: back to the previous good release, or the one named.
import type { Config } from '../config/types.js';
import { setStatus } from '../ops/release.js';
import { appCommand } from '../ops/app-command.js';
import type { Runtime } from '../recipes/types.js';
import { UserError } from '../errors.js';
import { goodReleases, type HostFacts } from './facts.js';
import { releaseDir, type Layout } from './layout.js';
import { switchBackSteps, switchSteps } from './switch.js';
import { blueGreenSteps, recordedTier } from './web.js';
import type { Step } from '../ops/command.js';
import type { Target } from './target.js';
import type { HostPlan } from './types.js';
import { lastOperationNotes } from './last-operation.js';
import { rollbackHandover } from './rollback-handover.js';

export interface RollbackInput {
  config: Pick<Config, 'hooks' | 'http' | 'processes' | 'project'>;
  layout: Layout;
  target: Target;
  facts: HostFacts;
  /** A release id (or a unique prefix of one) the user named; otherwise the previous good release. */
  requested: string | undefined;
}

export function chooseRollbackTarget(facts: HostFacts, requested: string | undefined, label: string): string {
  if (requested) {
    const exact = facts.releases.find((r) => r.id === requested);
    const matches = exact ? [exact] : facts.releases.filter((r) => r.id.startsWith(requested) || r.id.endsWith(`-${requested}`));
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

/**
 * A rollback restarts and checks what the target release itself ran (recorded in its manifest): its units, its
 * health check and its venv come back with it, without reinstalling anything.
 */
export function planRollbackHost({ config, layout, target, facts, requested }: RollbackInput): HostPlan {
  const to = chooseRollbackTarget(facts, requested, target.label);
  const manifest = facts.releases.find((r) => r.id === to)?.manifest;
  const installed = Object.keys(facts.units).filter((u) => u.endsWith('.service'));
  const units = manifest?.units ?? installed;
  const appUser = units.length > 0 ? layout.appUser : undefined;
  // The release's own runtime, as its manifest records it: a rollback across a move from Python to Node stays right.
  const runtime: Runtime = manifest?.venv !== undefined ? 'python' : manifest?.node_modules !== undefined ? 'node' : undefined;
  const afterSwitch = config.hooks.after_switch.map((line) => appCommand({ dir: releaseDir(layout, to), line, user: appUser, runtime }));
  const abandoned = facts.current;
  const abandonedManifest = facts.releases.find((r) => r.id === abandoned)?.manifest;
  const strategyOf = (m: typeof manifest) => m?.web?.strategy ?? 'restart';
  if (manifest && abandonedManifest && strategyOf(manifest) !== strategyOf(abandonedManifest)) {
    // The other strategy's service would hold the port: a deploy of the old commit handles the change safely.
    throw new UserError(
      `${target.label}: ${to} was deployed with http.strategy ${strategyOf(manifest)}, ${abandoned} with ${strategyOf(abandonedManifest)}: a rollback cannot change the strategy`,
      `deploy the old commit instead: slipway deploy <env> --ref ${manifest.sha.slice(0, 12)}`,
    );
  }
  const ranUnder = (m: typeof manifest) => (m?.manager ?? 'systemd');
  if (manifest?.units && abandonedManifest?.units && ranUnder(manifest) !== ranUnder(abandonedManifest)) {
    // The other manager's programs would run beside this one's: a rollback never moves processes between them.
    throw new UserError(
      `${target.label}: ${to} ran under ${ranUnder(manifest)}, ${abandoned} under ${ranUnder(abandonedManifest)}: a rollback cannot change the process manager`,
      `deploy the old commit instead: slipway deploy <env> --ref ${manifest.sha.slice(0, 12)}`,
    );
  }
  const handover = rollbackHandover({ config, layout, label: target.label, facts, to, services: units, runtime });
  const web = manifest?.web ?? abandonedManifest?.web;
  const recorded = manifest?.health ?? abandonedManifest?.health;
  let steps: Step[];
  let recovery: Step[];
  if (web?.strategy === 'blue-green') {
    // The release comes back in a slot: instantly if the old slot still runs it (within the drain period).
    const tier = recordedTier(web, layout, config.http);
    const health = {
      path: recorded ? new URL(recorded.url).pathname : '/health',
      expectedStatus: recorded?.expectedStatus ?? 200,
      timeoutSeconds: recorded?.timeoutSeconds ?? 5,
      retries: recorded?.retries ?? 10,
    };
    const bg = blueGreenSteps({ tier, layout, facts, to, from: abandoned, workers: handover.restarted, afterSwitch, health, markBad: false });
    steps = bg.steps;
    recovery = bg.recovery;
  } else {
    steps = switchSteps({ layout, to, units: handover.restarted, afterSwitch, health: manifest?.health });
    recovery = switchBackSteps(layout, abandoned, to, handover.restarted, false, abandonedManifest?.health);
  }
  steps = [...handover.beforeSwitch, ...steps];
  const switchIndex = handover.beforeSwitch.length;
  const commitIndex = steps.length;
  const marks = [...(abandoned ? [setStatus(layout, abandoned, 'bad')] : []), setStatus(layout, to, 'ok')];
  steps.push({ id: 'finish', title: abandoned ? `Mark ${abandoned} bad so the next rollback skips it` : `Mark ${to} good`, commands: marks }, ...handover.commit);
  return {
    target,
    layout,
    ...(abandoned ? { from: abandoned } : {}),
    to,
    steps,
    switchIndex,
    commitIndex,
    onFailureBeforeSwitch: handover.recovery,
    onFailureAfterSwitch: [...recovery, ...handover.recovery],
    onInterruptedCommit: [{ id: 'keep', title: `Keep ${to}: it passed its checks and serves`, commands: [...marks, ...handover.interrupted] }],
    warnings: lastOperationNotes(facts),
  };
}
