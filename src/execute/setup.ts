// `slipway setup`: per host, probe (read-only), plan, run only the items that need it, report each item.
import type { CommandFailedError } from '../errors.js';
import type { Step } from '../ops/command.js';
import { setupProbe } from '../ops/setup-probe.js';
import type { Layout } from '../plan/layout.js';
import { packagesItem, planSetupItems, setupWants, type SetupItem } from '../plan/setup.js';
import { holdsDatabase, holdsRedis, type Topology } from '../plan/data-servers.js';
import { environmentTopology } from './data-servers.js';
import { parseSetupFacts, type SetupFacts } from '../plan/setup-facts.js';
import type { HostConnection } from './connection.js';
import { layoutForRef, lockFor, withHosts, type OperationContext } from './operation.js';
import { mapLimit } from './parallel.js';
import { loginOf, readAsRoot, runAsRoot, type Login } from './privileged.js';

export type ItemStatus = 'ok' | 'changed' | 'skipped' | 'refused' | 'failed' | 'not run';

export interface ItemResult {
  id: string;
  title: string;
  status: ItemStatus;
  /** Warnings, and the reason of a skipped or refused item. */
  notes: string[];
}

export interface SetupHostReport {
  host: string;
  items: ItemResult[];
  error?: CommandFailedError;
}

async function probe(connection: HostConnection, login: Login, wants: ReturnType<typeof setupWants>): Promise<SetupFacts> {
  const lines = await readAsRoot(connection, login, setupProbe(wants).shell, 'Read the server state');
  return parseSetupFacts(lines.join('\n'));
}

/** Runs the items that have commands, in one script; the others are reported from the plan alone. */
async function runItems(ctx: OperationContext, connection: HostConnection, login: Login, items: SetupItem[]): Promise<{ results: ItemResult[]; error?: CommandFailedError }> {
  const steps: Step[] = items.filter((i) => i.commands.length > 0).map((i) => ({ id: i.id, title: i.title, commands: i.commands }));
  const run = steps.length > 0 ? await runAsRoot(connection, login, steps, ctx.observer) : undefined;
  const failedAt = run?.error ? items.findIndex((i) => i.id === run.result.lastStep) : -1;
  const results = items.map((i, index): ItemResult => {
    const output = run?.result.byStep.get(i.id) ?? [];
    const notes = [...(i.skip ? [i.skip.reason] : []), ...i.warnings, ...output.filter((l) => l.startsWith('warning: ')).map((l) => l.slice('warning: '.length))];
    if (i.commands.length === 0) return { id: i.id, title: i.title, status: i.skip ? (i.skip.refused ? 'refused' : 'skipped') : 'ok', notes };
    const status: ItemStatus = failedAt < 0 || index < failedAt ? 'changed' : index === failedAt ? 'failed' : 'not run';
    return { id: i.id, title: i.title, status, notes };
  });
  return { results, ...(run?.error ? { error: run.error } : {}) };
}

async function setupHost(ctx: OperationContext, connection: HostConnection, layout: Layout, topology: Topology): Promise<SetupHostReport> {
  const host = connection.target.label;
  const login = await loginOf(connection);
  const base = { config: ctx.loaded.config, layout, loginUser: login.user, hostsDatabase: holdsDatabase(topology, host), hostsRedis: holdsRedis(topology, host), topology };
  const wants = setupWants(base);
  let facts = await probe(connection, login, wants);

  // Packages first: what they install (ufw, PostgreSQL, Redis) is what the other items configure.
  const packages = await runItems(ctx, connection, login, [packagesItem({ ...base, facts })]);
  if (packages.error) return { host, items: packages.results, error: packages.error };
  if (packages.results[0]?.status === 'changed') facts = await probe(connection, login, wants);

  const rest = await runItems(ctx, connection, login, planSetupItems({ ...base, target: connection.target, facts }));
  return { host, items: [...packages.results, ...rest.results], ...(rest.error ? { error: rest.error } : {}) };
}

/** Prepares every host of the environment; under the deploy lock, so no deploy runs meanwhile. */
export async function setup(ctx: OperationContext): Promise<SetupHostReport[]> {
  const layout = layoutForRef(ctx.loaded, undefined);
  // Where the database and Redis live is decided from every server, also when `--host` picks one.
  const topology = await environmentTopology(ctx.loaded);
  return withHosts(ctx, lockFor(ctx, layout), async (connections) => mapLimit(connections, ctx.loaded.config.ssh.concurrency, (c) => setupHost(ctx, c, layout, topology)));
}
