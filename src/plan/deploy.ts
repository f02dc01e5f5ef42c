// Planning a deploy for one host: pure, from the config, the host's facts and the resolved commit.
import type { Config } from '../config/types.js';
import type { Cmd, Step } from '../ops/command.js';
import { cmd } from '../ops/command.js';
import { createRelease, fetchSource, hook, linkShared, makeDirectories, markFailed, pushSource, removeRelease, setStatus, writeManifest } from '../ops/release.js';
import { ensureAppUser, installUnits, ownShared } from '../ops/services.js';
import { UserError } from '../errors.js';
import { goodReleases, type HostFacts } from './facts.js';
import { releaseDir, type Layout } from './layout.js';
import { healthCheckFor, processesOn, unitFiles } from './processes.js';
import { releasesToRemove } from './cleanup.js';
import { switchBackSteps, switchSteps } from './switch.js';
import { pushUrl, type Target } from './target.js';
import type { HostPlan } from './types.js';

export type Source = { mode: 'push'; gitDir: string } | { mode: 'fetch'; url: string };

export interface DeployInput {
  config: Pick<Config, 'project' | 'processes' | 'health' | 'hooks' | 'shared' | 'env_vars' | 'keep_releases'>;
  configHash: string;
  layout: Layout;
  target: Target;
  facts: HostFacts;
  source: Source;
  sha: string;
  ref: string;
  releaseId: string;
  deployedBy: string;
  now: Date;
}

function envFileCommands(layout: Layout, id: string, vars: Record<string, string>, owner: string | undefined): Cmd[] {
  const text = Object.entries(vars)
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join('\n');
  const next = `${layout.envFile}.slipway-new`;
  const ownership = owner ? ['-o', owner, '-g', owner] : [];
  return [
    // Created 0600 before the secrets are written into it, then renamed over the old file: never readable, never half-written.
    cmd('install', '-m', '600', ...ownership, '/dev/null', next),
    { argv: ['tee', next], stdin: { text: `${text}\n`, secret: true }, stdoutTo: '/dev/null' },
    cmd('mv', '-f', next, layout.envFile),
    cmd('ln', '-sfn', layout.envFile, `${releaseDir(layout, id)}/.env`),
  ];
}

export function planDeployHost(input: DeployInput): HostPlan {
  const { config, layout, target, facts, sha, releaseId: id } = input;
  const processes = processesOn(config, target);
  if (processes.length > 0 && !facts.systemd) {
    throw new UserError(`${target.label}: processes are configured (${processes.join(', ')}) but systemd does not run there`, 'run the processes elsewhere, or deploy to a host with systemd');
  }
  const hookUser = processes.length > 0 ? layout.appUser : undefined;
  const dir = releaseDir(layout, id);
  const units = unitFiles(config, layout, processes);
  const unitNames = units.filter((u) => u.name.endsWith('.service')).map((u) => u.name);

  const prepare: Cmd[] = [...makeDirectories(layout, config.shared.dirs, config.shared.files)];
  if (processes.length > 0) prepare.push(ensureAppUser(layout), ownShared(layout));
  const steps: Step[] = [{ id: 'prepare', title: `Prepare ${layout.root}`, commands: prepare }];

  if (input.source.mode === 'fetch') {
    steps.push({ id: 'fetch', title: `Fetch ${input.ref} on the host`, commands: fetchSource(layout, input.source.url, sha) });
  } else if (!facts.hasCommit) {
    steps.push({ id: 'push', title: `Push ${sha.slice(0, 7)} to the host`, runsOn: 'deployer', commands: [pushSource(input.source.gitDir, pushUrl(target, layout.repo), sha, id)] });
  }

  const release: Cmd[] = [...createRelease(layout, id, sha), ...linkShared(layout, id, config.shared.dirs, config.shared.files)];
  if (Object.keys(config.env_vars).length > 0) release.push(...envFileCommands(layout, id, config.env_vars, hookUser));
  release.push(
    ...writeManifest(layout, { id, sha, ref: input.ref, config_hash: input.configHash, deployed_by: input.deployedBy, created_at: input.now.toISOString() }),
  );
  steps.push({ id: 'release', title: `Create release ${id}`, commands: release });

  if (config.hooks.build.length > 0) steps.push({ id: 'build', title: 'Run build hooks', commands: config.hooks.build.map((line) => hook(dir, line, hookUser)) });
  const install = installUnits(units, facts.units);
  if (install.length > 0) steps.push({ id: 'units', title: 'Install systemd units', commands: install });
  if (config.hooks.before_switch.length > 0) {
    steps.push({ id: 'before-switch', title: 'Run before_switch hooks', commands: config.hooks.before_switch.map((line) => hook(dir, line, hookUser)) });
  }

  const switchIndex = steps.length;
  steps.push(...switchSteps({ layout, to: id, units: unitNames, afterSwitchHooks: config.hooks.after_switch, hookUser, health: healthCheckFor(config, processes) }));

  const good = goodReleases(facts).filter((r) => r !== facts.current);
  const previous = good[good.length - 1];
  const protect = new Set([id, ...(facts.current ? [facts.current] : []), ...(previous ? [previous] : [])]);
  const remove = releasesToRemove([...facts.releases.map((r) => r.id), id], config.keep_releases, protect);
  steps.push({ id: 'finish', title: 'Mark the release good and remove old releases', commands: [setStatus(layout, id, 'ok'), ...remove.map((r) => removeRelease(layout, r))] });

  return {
    target,
    layout,
    ...(facts.current ? { from: facts.current } : {}),
    to: id,
    steps,
    switchIndex,
    onFailureBeforeSwitch: [{ id: 'mark-failed', title: `Mark ${id} failed`, commands: [markFailed(layout, id)] }],
    onFailureAfterSwitch: switchBackSteps(layout, facts.current, id, unitNames, true),
    warnings: [],
  };
}
