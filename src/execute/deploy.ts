// Deploy, rollback and plan as whole operations over every host of an environment.
import { managerPackages } from '../ops/managers.js';
import { planDeployHost } from '../plan/deploy.js';
import { planRollbackHost } from '../plan/rollback.js';
import { releaseId } from '../plan/release-id.js';
import type { Plan } from '../plan/types.js';
import type { HostConnection } from './connection.js';
import { deployer, executePlan, gatherFacts, layoutForRef, lockFor, recordHistory, withHosts, type HostResult, type OperationContext } from './operation.js';
import { resolveSource } from './source.js';
import { runLocal } from './deployer.js';
import { commitsCheck } from '../ops/release.js';
import type { Source } from '../plan/deploy.js';
import { readRepoFiles } from './repo-files.js';
import { resolveProfile } from '../recipes/index.js';
import type { AppProfile, RepoFiles } from '../recipes/types.js';
import { venvKey } from '../plan/venv.js';
import { stepInputHashes, type StepInputs } from '../plan/incremental.js';
import { appEnv } from '../plan/env-file.js';
import { Redactor } from './redact.js';
import { siteFiles, sitePackages, webTierFor } from '../plan/web.js';
import { UserError } from '../errors.js';
import { configureDatabaseServer } from './data-servers.js';
import { resolveTargets } from './targets.js';
import { deployPlacement, topologyOf, type Endpoints } from '../plan/data-servers.js';
import type { Target } from '../plan/target.js';
import { balancerRollbackPlan, balancingNotes, balancingOf, batchGuards, isBalancer, NO_BALANCER_STATE, parseBalancerState, servingNow, withBalancersLast, type Balancing, type BalancerState } from '../plan/balancer.js';
import { balancerStateProbe } from '../ops/balancer.js';
import { balancerTierPaths } from '../render/balancer.js';
import { sitePaths } from '../ops/web.js';
import type { Layout } from '../plan/layout.js';
import type { Config } from '../config/types.js';
import { serverLabel, singletonMoves, singletonPlacement, switchBatches, topologyNotes } from '../plan/topology.js';
import { singletonRecord } from '../plan/handover.js';
import { stopMovedSingletons } from './singletons.js';
import { unitName } from '../render/systemd.js';
import { processesOn } from '../plan/processes.js';
import { nodeDeployFor } from './node-deploy.js';
import { hostOutcomes, notify } from './notify.js';
import { notifyNotes, outcomeNotifications, startNotification } from '../plan/notify.js';

export interface OperationReport {
  plan: Plan;
  results: HostResult[];
  durationMs: number;
}

/** Packages whose state every deploy asks about: the config's, and what recipes and databases may need. */
function packagesToProbe(config: OperationContext['loaded']['config']): string[] {
  return [...new Set([...config.dependencies.system, 'python3-venv', ...(config.database.engine === 'postgresql' ? ['postgresql'] : []), ...managerPackages(config.process_manager)])];
}

function requirementsText(files: RepoFiles, profile: AppProfile, sha: string): string[] {
  return profile.requirementsFiles.map((path) => {
    const text = files.read(path);
    if (text === undefined) throw new UserError(`requirements file ${path} is not in the repository at ${sha.slice(0, 7)}`, 'fix dependencies.requirements_files, or commit the file');
    return text;
  });
}

/** Options of a deploy: `full` runs every check, whatever earlier releases recorded. */
export interface DeployOptions {
  full?: boolean;
  /** A promotion: the environment and release the commit comes from, recorded in history. */
  promotedFrom?: string;
}

/**
 * The input hashes of the incremental checks. No secret value reaches a hash kept in a manifest: each is
 * replaced first (a rotated secret changes no check; the database's password does not make it another database).
 */
function checkInputs(ctx: OperationContext, files: RepoFiles, profile: AppProfile, key: string | undefined, endpoints: Endpoints | undefined): StepInputs {
  const { config } = ctx.loaded;
  const redactor = new Redactor(ctx.loaded.secrets);
  const environment = Object.fromEntries(Object.entries(appEnv(config, endpoints)).map(([name, value]) => [name, redactor.redact(value)]));
  const { engine, name, user, host, port, url } = config.database;
  const database = { engine, name, user, host, port, url: url === undefined ? null : redactor.redact(url), endpoint: endpoints?.database ?? null };
  return stepInputHashes({ files, profile, config, venvKey: key, environment, database });
}

/** `everyServer`: every configured server, resolved once by the caller (the database step needs them too). */
async function planDeploy(ctx: OperationContext, ref: string | undefined, connections: HostConnection[], options: DeployOptions, everyServer: Target[]): Promise<Plan> {
  const { config } = ctx.loaded;
  const wanted = ref ?? config.project.branch;
  const resolved = await resolveSource(config, ctx.loaded.dir, wanted);
  const layout = layoutForRef(ctx.loaded, wanted);
  const files = await readRepoFiles(resolved.source, resolved.sha, connections[0]!, layout, config.dependencies.requirements_files ?? []);
  // Process names and ports do not depend on the host, so the web tier is known before the facts are.
  const early = resolveProfile({ config, files, cores: 1 });
  const tier = webTierFor(config, early.processes, layout);
  const wants = {
    pythonVersion: config.project.python_version,
    // The public site's files and packages: a superset of what a web server behind load balancers needs.
    packages: [...packagesToProbe(config), ...(tier ? sitePackages(config.http, { kind: 'public' }) : [])],
    files: tier ? siteFiles(config.http, layout, { kind: 'public' }) : [],
    slotProcess: tier?.process, // restart too: slots left by blue/green must stop (strategyChange)
    node: early.node !== undefined,
  };
  const facts = await Promise.all(connections.map((c) => gatherFacts(c, layout, resolved.sha, wants)));
  const source = await withKnownCommits(resolved.source, facts.flatMap((f) => f.commits ?? []));
  const cores = Math.min(...facts.map((f) => f.cores));
  const profile = resolveProfile({ config, files, cores });
  const node = profile.node ? await nodeDeployFor(config, profile.node, files, resolved.source, resolved.sha) : undefined;
  const key = profile.python ? venvKey({ pythonVersion: config.project.python_version, requirements: requirementsText(files, profile, resolved.sha), config }) : undefined;
  const now = ctx.now?.() ?? new Date();
  // One release id on every host, so `releases` and `rollback <id>` mean the same thing everywhere.
  const id = releaseId(now, resolved.sha, facts.flatMap((f) => f.releases.map((r) => r.id)));
  const who = deployer(ctx);
  // The database lives on the server with role db; with none, on every server (each has its own localhost).
  const data = deployPlacement(config, topologyOf(config, everyServer), connections.map((c) => c.target));
  // Placement from every configured server, so a deploy to some of them (--host) never moves a singleton.
  const placement = singletonPlacement(profile.processes, config.servers);
  const balancing = balancingOf(config, profile.processes, everyServer, placement);
  const states = await balancerStates(connections, layout, balancing);
  const topology = { placement, record: singletonRecord(placement, config.servers) };
  const reached = connections.map((c) => c.target.label);
  const moves = singletonMoves({ placement, recorded: facts.map((f) => f.singletons), reached, configured: config.servers.map(serverLabel), unit: (p) => unitName(layout, p) });
  const rolling = rollingSwitch(config, connections, layout, balancing, states);
  // A Node app's checks run with its node_modules: the lockfile (and the Node asked for) stand for them.
  const runsWith = key ?? (profile.node ? `node ${config.project.node_version ?? ''} ${files.blobs?.get(profile.node.lockfile) ?? ''}` : undefined);
  const stepInputs = checkInputs(ctx, files, profile, runsWith, data.endpoints);
  // Which hosts run processes; with none anywhere in the environment, every host is the app's.
  const appServers = connections.map((c) => processesOn(profile.processes, c.target, placement).length > 0);
  const anywhere = everyServer.some((t) => processesOn(profile.processes, t, placement).length > 0);
  return {
    action: 'deploy',
    env: config.environment,
    ref: resolved.ref,
    sha: resolved.sha,
    ...rolling,
    notes: [...topologyNotes(placement, moves, rolling.batches, reached), ...rolling.notes, ...balancingNotes(balancing, states), ...notifyNotes(config.notify, 'deploy')],
    moves,
    hosts: connections.map((connection, i) =>
      planDeployHost({
        config,
        configHash: ctx.loaded.hash,
        profile,
        ...(node ? { node } : {}),
        venvKey: key,
        stepInputs,
        full: options.full === true,
        layout,
        target: connection.target,
        facts: facts[i]!,
        source,
        sha: resolved.sha,
        ref: resolved.ref,
        releaseId: id,
        deployedBy: `${who.user}@${who.machine}`,
        now,
        hostsDatabase: data.hostsDatabase[i]!,
        runsMigrations: data.migrates[i]!,
        endpoints: data.endpoints,
        topology,
        balancing,
        balancerState: states[i]!,
        runsApp: !anywhere || appServers[i]! || i === data.migrator,
      }),
    ),
  };
}

/** A pushed commit: which of the hosts' commits the deployer's repository has too (a pack can leave those out). */
async function withKnownCommits(source: Source, held: readonly string[]): Promise<Source> {
  const asked = [...new Set(held)];
  if (source.mode !== 'push' || asked.length === 0) return source;
  const result = await runLocal(commitsCheck(source.gitDir, asked));
  // Without an answer the pack carries the whole commit: larger, never wrong.
  const known = result.code === 0 ? result.stdout.split('\n').flatMap((line) => (line.endsWith(' commit') ? [line.split(' ')[0]!] : [])) : [];
  return { ...source, known };
}

async function planRollback(ctx: OperationContext, requested: string | undefined, branch: string | undefined, connections: HostConnection[]): Promise<Plan> {
  const layout = layoutForRef(ctx.loaded, branch);
  const facts = await Promise.all(connections.map((c) => gatherFacts(c, layout, undefined, { slotProcess: ctx.loaded.config.health.process })));
  const { config } = ctx.loaded;
  // The web process as the config names it (a rollback reads no repository for the recipe's): where it runs.
  const web = { [config.health.process]: config.processes[config.health.process] ?? { command: '', roles: ['web'], stop_timeout: 35, singleton: false } };
  const balancing = balancingOf(config, web, await resolveTargets(config), {});
  const states = await balancerStates(connections, layout, balancing);
  const rolling = rollingSwitch(config, connections, layout, balancing, states);
  const hosts = connections.map((connection, i) =>
    balancing && isBalancer(connection.target)
      ? balancerRollbackPlan(connection.target, layout, facts[i]!.current)
      : planRollbackHost({ config: ctx.loaded.config, layout, target: connection.target, facts: facts[i]!, requested }),
  );
  const release = hosts.find((h) => !(balancing && isBalancer(h.target)))?.to;
  const notes = [...(rolling.notes ?? []), ...notifyNotes(config.notify, 'rollback')];
  return { action: 'rollback', env: config.environment, ref: null, sha: null, ...rolling, ...(notes.length > 0 ? { notes } : {}), hosts, ...(release ? { release } : {}) };
}

/** Each host's load balancer state now (nothing for a host that is none). */
async function balancerStates(connections: readonly HostConnection[], layout: Layout, balancing: Balancing | undefined): Promise<BalancerState[]> {
  return Promise.all(
    connections.map(async (c) => {
      if (!balancing || !isBalancer(c.target)) return NO_BALANCER_STATE;
      const result = await c.session.run(balancerStateProbe(balancerTierPaths(layout.unitPrefix), sitePaths(layout).upstream).shell);
      return parseBalancerState(result.lines, layout.unitPrefix);
    }),
  );
}

/**
 * Switch batches (deploy.batch_size, load balancers last) and, for a restart behind load balancers, the steps
 * that take each batch out of rotation and back.
 */
function rollingSwitch(config: Config, connections: readonly HostConnection[], layout: Layout, balancing: Balancing | undefined, states: readonly BalancerState[]) {
  const balancerHosts = connections.flatMap((c, i) => (balancing && isBalancer(c.target) ? [i] : []));
  const others = connections.map((_, i) => i).filter((i) => !balancerHosts.includes(i));
  const batches = withBalancersLast(switchBatches(others.length, config.deploy.batch_size, config.http.strategy).map((b) => b.map((k) => others[k]!)), balancerHosts);
  if (!balancing || config.http.strategy !== 'restart') return { batches, notes: [] };
  const serving = servingNow(states);
  const { guards, notes } = batchGuards({ layout, http: config.http, balancing, labels: connections.map((c) => c.target.label), batches, balancerHosts, serving, states });
  return { batches, guards, notes };
}

async function execute(ctx: OperationContext, connections: HostConnection[], plan: Plan, started: number, promotedFrom?: string): Promise<OperationReport> {
  const who = deployer(ctx);
  const entry = { at: new Date(started).toISOString(), action: plan.action, env: plan.env, user: who.user, machine: who.machine, sha: plan.sha, ref: plan.ref, ...(promotedFrom ? { promoted_from: promotedFrom } : {}) };
  for (const host of plan.hosts) for (const warning of host.warnings) ctx.observer.onWarning?.(host.target.label, warning);
  const hooks = ctx.loaded.config.notify;
  const warn = (hook: string, text: string) => ctx.observer.onWarning?.(hook, text);
  const told = hooks.length > 0 ? { config: ctx.loaded.config, plan, user: who.user, machine: who.machine, at: new Date(started) } : undefined;
  // The start goes out while the hosts work: a slow webhook never delays the deploy.
  const starting = told ? notify(hooks, startNotification(told), warn) : Promise.resolve();
  const results = await executePlan(connections, plan, ctx.loaded.config.ssh.concurrency, ctx.observer, { entry, startedMs: started });
  const durationMs = Date.now() - started;
  await recordHistory(connections, results, { ...entry, duration_ms: durationMs });
  await starting;
  if (told) for (const event of outcomeNotifications(told, hostOutcomes(results, new Redactor(ctx.loaded.secrets)), durationMs)) await notify(hooks, event, warn);
  return { plan, results, durationMs };
}

export async function deploy(ctx: OperationContext, ref: string | undefined, options: DeployOptions = {}): Promise<OperationReport> {
  const started = Date.now();
  const layout = layoutForRef(ctx.loaded, ref);
  return withHosts(ctx, lockFor(ctx, layout), async (connections, redactor) => {
    const everyServer = await resolveTargets(ctx.loaded.config);
    const plan = await planDeploy(ctx, ref, connections, options, everyServer);
    await stopMovedSingletons(ctx, plan.moves ?? [], redactor);
    await configureDatabaseServer(ctx, connections, topologyOf(ctx.loaded.config, everyServer));
    return execute(ctx, connections, plan, started, options.promotedFrom);
  });
}

export async function rollback(ctx: OperationContext, requested: string | undefined, branch: string | undefined): Promise<OperationReport> {
  const started = Date.now();
  const layout = layoutForRef(ctx.loaded, branch);
  return withHosts(ctx, lockFor(ctx, layout), async (connections) => execute(ctx, connections, await planRollback(ctx, requested, branch, connections), started));
}

/** The plan a deploy (or rollback) would run now, without the lock and without changing anything. */
export async function preview(ctx: OperationContext, action: 'deploy' | 'rollback', ref: string | undefined, requested?: string, options: DeployOptions = {}): Promise<Plan> {
  return withHosts(ctx, undefined, async (connections) => (action === 'deploy' ? planDeploy(ctx, ref, connections, options, await resolveTargets(ctx.loaded.config)) : planRollback(ctx, requested, ref, connections)));
}
