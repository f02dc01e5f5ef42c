// Planning a deploy for one host: pure, from the config, the host's facts and the resolved commit.
import type { Config, ProcessConfig } from '../config/types.js';
import type { Cmd, Step } from '../ops/command.js';
import { cmd } from '../ops/command.js';
import { createRelease, fetchSource, fullDiskNote, incomingPack, linkShared, makeDirectories, markFailed, packSource, receivePack, removeRelease, sealRelease, setStatus, tidyRepo, writeManifest, writeReleaseIdentity } from '../ops/release.js';
import { ensureAppUser, ownShared } from '../ops/services.js';
import { managerOf, managerPackages } from '../ops/managers.js';
import { checkManager, forgetPrevious, inPlaceBack, managerChangeOf, previousManagerKind, slotsDuringChange } from './manager-change.js';
import { removeVenv } from '../ops/python.js';
import { appCommand } from '../ops/app-command.js';
import type { HealthCheck } from '../ops/health.js';
import { runtimeOf, type AppProfile } from '../recipes/types.js';
import { nodeSteps, unusedNodeDirs, type NodeDeploy } from './node-steps.js';
import { databaseStep, recordedInputs, releaseChecks, systemPackagesStep, venvStep, type AppStepsInput } from './app-steps.js';
import type { StepInputs } from './incremental.js';
import { appEnv, envFileText } from './env-file.js';
import { unusedVenvs } from './venv.js';
import { blueGreenSteps, sitePackages, siteSteps, slotPort, slotsOf, strategyChange, upstreamTarget, webPackages, webTierFor } from './web.js';
import { balancerHostSteps, isBalancer, placeOf, type Balancing, type BalancerState } from './balancer.js';
import { UserError } from '../errors.js';
import { goodReleases, type HostFacts } from './facts.js';
import { releaseDir, type Layout } from './layout.js';
import { bootRecoveryUnit, healthCheckFor, portStep, processesOn, serviceNames, unitFiles } from './processes.js';
import { listensOnPort, listensOnSocket, slotSocket, slotUnit, socketDirectory, socketLink } from '../ops/web.js';
import { releasesToRemove } from './cleanup.js';
import { switchBackSteps, switchSteps } from './switch.js';
import { monitorSteps } from './monitor.js';
import type { Target } from './target.js';
import type { HostPlan } from './types.js';
import { lastOperationNotes } from './last-operation.js';
import type { Endpoints } from './data-servers.js';
import { deployHandover, type HostTopology } from './deploy-handover.js';
import { unitName } from '../render/systemd.js';

/**
 * Where the commit comes from. `push`: the deployer's repository, sent to each host as a pack; `known` lists the
 * hosts' commits (facts.commits) that it has too, which a pack may leave out.
 */
export type Source = { mode: 'push'; gitDir: string; known?: readonly string[] } | { mode: 'fetch'; url: string };

export interface DeployInput {
  config: Pick<Config, 'project' | 'health' | 'hooks' | 'shared' | 'env_vars' | 'keep_releases' | 'python' | 'pip' | 'dependencies' | 'database' | 'migrate' | 'django' | 'http' | 'smoke' | 'environment' | 'notify' | 'monitor' | 'backups'>;
  configHash: string;
  profile: AppProfile;
  /** Node apps: what every host's install and build share (the deployer's Node and cache, the keys' inputs). */
  node?: NodeDeploy;
  /** Key of the venv the release needs (Python apps). */
  venvKey: string | undefined;
  /** Input hash of each incremental check (src/plan/incremental.ts); empty when unknown. */
  stepInputs: StepInputs;
  /** deploy --full: every check runs, whatever earlier releases recorded. */
  full: boolean;
  /** Where the app reaches its database and Redis when they are not this host's own (a database server). */
  endpoints?: Endpoints;
  layout: Layout;
  target: Target;
  facts: HostFacts;
  source: Source;
  sha: string;
  ref: string;
  releaseId: string;
  deployedBy: string;
  now: Date;
  /** This host creates the database (it has role db, or no server does). */
  hostsDatabase: boolean;
  /** Migrations (and the superuser) run on one host only. */
  runsMigrations: boolean;
  /** Where singletons run (from every configured server, not only those this deploy reaches). */
  topology: HostTopology;
  /** The environment's load balancers and web servers (role lb), if it has any. */
  balancing: Balancing | undefined;
  /** On a load balancer: its upstream and balancing tier now. */
  balancerState: BalancerState;
  /**
   * This host runs the app: it has processes, or runs the migrations, or no server of the environment has
   * processes (a code-only deploy). Only such a host gets the venv, the app's .env (its secrets) and the release
   * checks; a load balancer or a database server gets the code and nothing it would never run.
   */
  runsApp: boolean;
}

/** Where the new .env is written before its rename: a deploy stopped in between leaves secrets in it. */
const nextEnvFile = (layout: Layout) => `${layout.envFile}.slipway-new`;

function envFileCommands(layout: Layout, id: string, vars: Record<string, string>, owner: string | undefined): Cmd[] {
  const next = nextEnvFile(layout);
  const ownership = owner ? ['-o', owner, '-g', owner] : [];
  return [
    // Created 0600 before the secrets are written into it, then renamed over the old file: never readable, never half-written.
    cmd('install', '-m', '600', ...ownership, '/dev/null', next),
    { argv: ['tee', next], stdin: { text: `${envFileText(vars)}\n`, secret: true }, stdoutTo: '/dev/null' },
    cmd('mv', '-f', next, layout.envFile),
    cmd('ln', '-sfn', layout.envFile, `${releaseDir(layout, id)}/.env`),
  ];
}

function interpreterFor(input: DeployInput): string {
  const { facts, target, config } = input;
  if (facts.python) return facts.python;
  const version = config.project.python_version;
  const name = version ? `python${version}` : 'python3';
  throw new UserError(`${target.label}: ${name} is not installed`, version ? `install it (apt-get install ${name} ${name}-venv) or with pyenv (pyenv install ${version})` : 'install python3 and python3-venv');
}

function nodeDeployOf(input: DeployInput): NodeDeploy {
  if (!input.node) throw new Error('a Node app is planned without its install settings (execute/deploy.ts gives them)');
  return input.node;
}

/** A web process in place that listens on its socket is checked through it (uvicorn --uds has no port at all). */
function inPlaceSocket(layout: Layout, process: string, processes: Record<string, ProcessConfig>): { socket: string } | undefined {
  return listensOnSocket(processes[process]?.command) ? { socket: socketLink(layout, process) } : undefined;
}

export function planDeployHost(input: DeployInput): HostPlan {
  const { config, layout, target, facts, sha, releaseId: id, profile } = input;
  const processes = processesOn(profile.processes, target, input.topology.placement);
  const manager = managerOf(layout);
  const appUser = processes.length > 0 ? layout.appUser : undefined;
  const dir = releaseDir(layout, id);
  const tier = processes.includes(config.health.process) ? webTierFor(config, profile.processes, layout, placeOf(input.balancing, target.label)) : undefined;
  // The live release ran under the other process manager: this deploy moves the app (plan/manager-change.ts).
  const managerChange = processes.length > 0 ? managerChangeOf(layout, facts) : undefined;
  if (processes.length > 0) checkManager(manager.kind, facts, target.label, processes, tier?.strategy ?? 'restart', managerChange);
  // A load balancer runs no web process: its part is its site and the upstream over the web servers.
  const balancer = input.balancing && isBalancer(target) ? balancerHostSteps({ config, layout, balancing: input.balancing, facts, state: input.balancerState }) : undefined;
  const blueGreen = tier?.strategy === 'blue-green' ? tier : undefined;
  const units = unitFiles(config.project.name, profile.processes, layout, processes, runtimeOf(profile), blueGreen?.process);
  const unitNames = serviceNames(units);
  const handover = deployHandover({ layout, target, facts, processes: profile.processes, services: unitNames, topology: input.topology, handledElsewhere: tier ? [unitName(layout, tier.process)] : [] });
  // While the app moves between managers, the old one's live slot is the one that serves.
  const slotFacts = managerChange ? slotsDuringChange(facts, managerChange) : facts;
  const slots = slotsOf(slotFacts);
  // Blue/green: the new release is checked in the slot it starts in.
  const slot = blueGreen ? { port: slotPort(blueGreen, slots.idle), unit: slotUnit(layout, blueGreen.process, slots.idle), ...(blueGreen.socket ? { socket: slotSocket(layout, blueGreen.process, slots.idle) } : {}) } : undefined;
  const health = healthCheckFor(config, profile.processes, profile.healthPath, processes, layout, slot ?? inPlaceSocket(layout, config.health.process, profile.processes));
  const app: AppStepsInput = { config, profile, layout, facts, label: target.label, id, dir, venvKey: input.venvKey, appUser, hostsDatabase: input.hostsDatabase, runsMigrations: input.runsMigrations, ...(input.endpoints ? { endpoints: input.endpoints } : {}), inputs: input.stepInputs, full: input.full, slotChecked: slot !== undefined && health !== undefined };
  const { runsApp } = input;
  // Checks that do not run here are not recorded as passed here either.
  const inputs = runsApp ? recordedInputs(app) : {};
  const runtime = runsApp ? runtimeOf(profile) : undefined;
  const interpreter = runtime === 'python' ? interpreterFor(input) : undefined;
  const node = runtime === 'node' ? nodeSteps(nodeDeployOf(input), { layout, facts, label: target.label, sshHost: target.kind === 'ssh' ? target.host : undefined, dir, appUser }) : undefined;
  const hookCommands = (lines: string[]) => lines.map((line) => appCommand({ dir, line, user: appUser, runtime }));

  const prepare: Cmd[] = [...makeDirectories(layout, config.shared.dirs, config.shared.files)];
  // The sockets' directory exists wherever a process runs: a command may listen on $SLIPWAY_SOCKET without nginx.
  if (processes.length > 0) prepare.push(ensureAppUser(layout), ownShared(layout), socketDirectory(layout, tier !== undefined));
  const steps: Step[] = [];
  const database = input.hostsDatabase ? databaseStep(app) : undefined;
  const sitePackagesHere = balancer ? sitePackages(config.http, { kind: 'balancer' }) : webPackages(tier);
  const packages = systemPackagesStep([...config.dependencies.system, ...profile.systemPackages, ...sitePackagesHere, ...(database ? ['postgresql'] : []), ...(processes.length > 0 ? managerPackages(manager.kind) : [])], facts);
  if (packages) steps.push(packages);
  steps.push({ id: 'prepare', title: `Prepare ${layout.root}`, commands: prepare });
  if (database) steps.push(database);

  if (input.source.mode === 'fetch') {
    steps.push({ id: 'fetch', title: `Fetch ${input.ref} on the host`, commands: fetchSource(layout, input.source.url, sha) });
  } else if (!facts.hasCommit) {
    const bases = packBases(facts, input.source, sha);
    steps.push({
      id: 'push',
      title: `Send ${sha.slice(0, 7)} to the host (${bases.length > 0 ? `what its ${bases.length === 1 ? 'release lacks' : `${bases.length} releases lack`}` : 'the whole commit'})`,
      carries: { make: packSource(input.source.gitDir, sha, bases), into: incomingPack(layout) },
      commands: receivePack(layout, sha, id),
    });
  }
  const sent = steps.some((s) => s.carries);

  const env = appEnv(config, input.endpoints);
  const release: Cmd[] = [
    ...writeManifest(layout, {
      id,
      sha,
      ref: input.ref,
      config_hash: input.configHash,
      deployed_by: input.deployedBy,
      created_at: input.now.toISOString(),
      ...(input.venvKey && interpreter ? { venv: input.venvKey } : {}),
      ...(node ? node.manifest : {}),
      units: unitNames,
      ...(manager.kind === 'supervisor' && processes.length > 0 ? { manager: 'supervisor' as const } : {}),
      ...(health ? { health } : {}),
      ...(tier ? { web: { process: tier.process, port: tier.port, strategy: tier.strategy, ...(tier.socket ? { socket: tier.socket } : {}) } } : {}),
      ...(Object.keys(inputs).length > 0 ? { inputs } : {}),
    }),
    ...createRelease(layout, id, sha),
    writeReleaseIdentity(layout, { id, sha, ref: input.ref }),
    ...linkShared(layout, id, config.shared.dirs, config.shared.files),
  ];
  // Build steps (collectstatic, hooks) run as the app user and write into the release.
  if (appUser) release.push(cmd('chown', '-R', `${appUser}:${appUser}`, dir));
  const writesEnv = runsApp && Object.keys(env).length > 0;
  if (writesEnv) release.push(...envFileCommands(layout, id, env, appUser));
  release.push(...sealRelease(layout, id));
  steps.push({ id: 'release', title: `Create release ${id}`, commands: release });
  if (interpreter) steps.push(venvStep(app, interpreter));
  if (node) steps.push(...node.steps);

  if (config.hooks.build.length > 0) steps.push({ id: 'build', title: 'Run build hooks', commands: hookCommands(config.hooks.build) });
  if (runsApp) steps.push(...releaseChecks(app));
  // The boot-time switch-back (ops/boot.ts) is installed with the app's units, outside the release's own list.
  const boot = processes.length > 0 ? [bootRecoveryUnit(layout, config.project.name)] : [];
  const install = manager.install([...units, ...boot], facts.units);
  if (install.length > 0) steps.push({ id: 'units', title: `Install ${manager.filesLabel}`, commands: install });
  if (config.hooks.before_switch.length > 0) steps.push({ id: 'before-switch', title: 'Run before_switch hooks', commands: hookCommands(config.hooks.before_switch) });

  const site = tier ? siteSteps({ tier, layout, facts, staticDir: config.http.static_dir ?? profile.staticDir, mediaDir: config.http.media_dir, upstream: upstreamTarget(tier, blueGreen ? slots.live ?? slots.idle : undefined) }) : [];
  // A first blue/green site would send nginx's traffic to a slot that does not run yet (502s): it is installed
  // once the slot answers. Otherwise the site changes before anything switches, under the running slot.
  const siteAfterSlot = blueGreen !== undefined && !slots.live && !facts.files[blueGreen.paths.site];
  if (!siteAfterSlot) steps.push(...site);
  if (balancer) steps.push(...balancer.prepare);

  // A web process on its socket alone holds no port: the socket's listener is checked instead (listenerCheck).
  if (health && listensOnPort(profile.processes[config.health.process]?.command)) steps.push(portStep(layout, config.health.process, Number(new URL(health.url).port), previousManagerKind(layout, facts, managerChange)));
  steps.push(...handover.beforeSwitch);

  const switchIndex = steps.length;
  const afterSwitch = hookCommands(config.hooks.after_switch);
  const change = tier ? strategyChange(tier, layout, facts) : { steps: [], recovery: [] };
  steps.push(...change.steps, ...(balancer?.switch ?? []));
  let recovery: Step[];
  if (blueGreen && health) {
    const workers = handover.restarted;
    const bg = blueGreenSteps({ tier: blueGreen, layout, facts: slotFacts, ...(managerChange ? { change: managerChange } : {}), to: id, from: facts.current, workers, afterSwitch, health: { ...health, path: profile.healthPath }, markBad: true, beforeRoute: siteAfterSlot ? site : [] });
    steps.push(...bg.steps);
    recovery = change.recovery.length > 0 ? [...bg.recovery, { id: 'strategy-back', title: 'Start the in-place web service again', commands: change.recovery }] : bg.recovery;
  } else {
    if (managerChange) {
      // In place, the old manager's processes (its web process holds the port) stop before the new one's start.
      const moved = managerChange.services;
      steps.push({ id: 'manager-stop', title: `Stop ${moved.join(' ')} under ${managerChange.previous.kind}: the app moves to ${manager.kind}`, commands: managerChange.previous.disable(moved, true) });
    }
    steps.push(...switchSteps({ layout, to: id, units: handover.restarted, afterSwitch, health }));
    recovery = managerChange
      ? inPlaceBack(layout, managerChange, facts.current, id, handover.restarted, previousHealth(facts, health))
      : switchBackSteps(layout, facts.current, id, handover.restarted, true, previousHealth(facts, health));
  }
  if (balancer) recovery = [...balancer.recovery, ...recovery];

  const good = goodReleases(facts).filter((r) => r !== facts.current);
  const previous = good[good.length - 1];
  const protect = new Set([id, ...(facts.current ? [facts.current] : []), ...(previous ? [previous] : [])]);
  const remove = releasesToRemove([...facts.releases.map((r) => r.id), id], config.keep_releases, protect);
  const keptVenvs = new Set([...(input.venvKey ? [input.venvKey] : []), ...facts.releases.filter((r) => !remove.includes(r.id)).flatMap((r) => (r.manifest?.venv ? [r.manifest.venv] : []))]);
  const dropVenvs = unusedVenvs(facts.venvs, keptVenvs);
  const dropNode = unusedNodeDirs(layout, facts, facts.releases.filter((r) => !remove.includes(r.id)), node?.manifest);
  const commitIndex = steps.length;
  steps.push({
    id: 'finish',
    title: 'Mark the release good and remove old releases',
    commands: [setStatus(layout, id, 'ok'), ...remove.map((r) => removeRelease(layout, r)), ...dropVenvs.map((v) => removeVenv(layout, v)), ...dropNode, ...(sent ? [tidyRepo(layout)] : [])],
  });
  steps.push(...handover.commit);
  if (managerChange) steps.push(...forgetPrevious(layout, managerChange, blueGreen?.process, config.project.name));
  // After the commit: the monitor watches a release that stands, and a failure to install it never undoes one.
  steps.push(...monitorSteps({ config, layout, label: target.label, serves: processes.includes(config.health.process), services: unitNames, ...(blueGreen ? { slotProcess: blueGreen.process } : {}), installed: facts.units }));

  return {
    target,
    layout,
    ...(facts.current ? { from: facts.current } : {}),
    to: id,
    steps,
    switchIndex,
    commitIndex,
    // The half-written .env goes too (a kill between its write and its rename left one, secrets in it: make chaos).
    onFailureBeforeSwitch: [{ id: 'mark-failed', title: `Mark ${id} failed`, commands: [fullDiskNote(layout.root), markFailed(layout, id), ...(writesEnv ? [cmd('rm', '-f', nextEnvFile(layout))] : [])] }, ...handover.recovery],
    onFailureAfterSwitch: [...recovery, ...handover.recovery],
    // Old releases left in place are removed by the next deploy; the release itself is whole once marked.
    onInterruptedCommit: [{ id: 'keep', title: `Keep ${id}: it passed its checks and serves`, commands: [setStatus(layout, id, 'ok'), ...handover.interrupted] }],
    warnings: [...lastOperationNotes(facts), ...(node?.warnings ?? [])],
  };
}

/** The commits a pack can leave out: the host's releases' that both it and the deployer hold, sorted (hosts alike share one pack). */
function packBases(facts: HostFacts, source: Extract<Source, { mode: 'push' }>, sha: string): string[] {
  const known = new Set(source.known ?? []);
  return [...new Set(facts.commits ?? [])].filter((c) => c !== sha && known.has(c)).sort();
}

/** After a switch back, wait until the previous release answers again (its own health check, if it had one). */
function previousHealth(facts: HostFacts, fallback: HealthCheck | undefined): HealthCheck | undefined {
  const manifest = facts.releases.find((r) => r.id === facts.current)?.manifest;
  return manifest?.health ?? fallback;
}
