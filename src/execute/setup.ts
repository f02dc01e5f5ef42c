// `slipway setup`: per host, probe (read-only), plan, run only the items that need it, report each item.
import { setupProbe } from '../ops/setup-probe.js';
import type { Layout } from '../plan/layout.js';
import { packagesItem, planSetupItems, setupWants } from '../plan/setup.js';
import { holdsDatabase, holdsRedis, type Topology } from '../plan/data-servers.js';
import { environmentTopology } from './data-servers.js';
import { parseSetupFacts, type SetupFacts } from '../plan/setup-facts.js';
import type { HostConnection } from './connection.js';
import { layoutForRef, lockFor, withHosts, type OperationContext } from './operation.js';
import { mapLimit } from './parallel.js';
import { loginOf, readAsRoot, type Login } from './privileged.js';
import { runItems, type SetupHostReport } from './setup-items.js';
import { setupCopies } from './backup-copies.js';

export type { ItemResult, ItemStatus, SetupHostReport } from './setup-items.js';

async function probe(connection: HostConnection, login: Login, wants: ReturnType<typeof setupWants>): Promise<SetupFacts> {
  const lines = await readAsRoot(connection, login, setupProbe(wants).shell, 'Read the server state');
  return parseSetupFacts(lines.join('\n'));
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
  return withHosts(ctx, lockFor(ctx, layout), async (connections) => {
    const reports = await mapLimit(connections, ctx.loaded.config.ssh.concurrency, (c) => setupHost(ctx, c, layout, topology));
    // The copies, once the database server is ready (it makes the dumps; this run may not reach it: --host).
    const db = connections.findIndex((c) => holdsDatabase(topology, c.target.label));
    const dbReport = reports[db];
    if (ctx.loaded.config.backups.copy_to.length === 0 || !dbReport || dbReport.error) return reports;
    const copies = await setupCopies(ctx, layout, connections[db]!);
    reports[db] = { ...dbReport, items: [...dbReport.items, ...copies.dbItems], ...(copies.error && !copies.servers.some((s) => s.error) ? { error: copies.error } : {}) };
    return [...reports, ...copies.servers];
  });
}
