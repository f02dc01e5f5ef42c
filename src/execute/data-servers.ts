// The database and Redis servers of an environment: the topology from every configured server, and the
// database server brought to its wanted state before a deploy prepares any app server (so migrations never
// meet a PostgreSQL that still listens on localhost, or a role that does not exist yet).
import type { LoadedConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { installPackages } from '../ops/apt.js';
import type { Step } from '../ops/command.js';
import { databaseProbe } from '../ops/setup-probe.js';
import { topologyOf, type Topology } from '../plan/data-servers.js';
import { dbServerItem, dbServerProbe } from '../plan/db-server.js';
import { roleItem } from '../plan/setup.js';
import { parseSetupFacts, type SetupFacts } from '../plan/setup-facts.js';
import type { HostConnection } from './connection.js';
import type { OperationContext } from './operation.js';
import { loginOf, readAsRoot, runAsRoot, type Login } from './privileged.js';
import { resolveTargets } from './targets.js';

/** From every server of the config, not only those one run reaches (`--host`). */
export async function environmentTopology(loaded: Pick<LoadedConfig, 'config'>): Promise<Topology> {
  return topologyOf(loaded.config, await resolveTargets(loaded.config));
}

/**
 * Runs before the deploy's own steps on the database server, when this run reaches it: PostgreSQL's listen
 * address, TLS and pg_hba (only what differs), then the app's role and database. A failure stops the deploy
 * before any app server changed.
 */
export async function configureDatabaseServer(ctx: OperationContext, connections: readonly HostConnection[], topology: Topology): Promise<void> {
  const placement = topology.database;
  const db = ctx.loaded.config.database;
  if (placement.kind !== 'server' || !db.name || !db.user) return;
  const connection = connections.find((c) => c.target.label === placement.server.label);
  if (!connection) return;
  const login = await loginOf(connection);
  const wants = { name: db.name, user: db.user, server: dbServerProbe };
  const probe = async (): Promise<SetupFacts> => parseSetupFacts((await readAsRoot(connection, login, databaseProbe(wants).shell, 'Read the database server state')).join('\n'));

  let facts = await probe();
  if (!facts.postgres) {
    await run(ctx, connection, login, [{ id: 'postgres-install', title: 'Install PostgreSQL on the database server', commands: [installPackages(['postgresql'])] }]);
    facts = await probe();
  }
  const server = dbServerItem({ config: ctx.loaded.config, topology, label: connection.target.label, facts });
  if (server.skip) throw new UserError(`${connection.target.label}: ${server.skip.reason}`, 'run `slipway setup` for this environment, then deploy again');
  const role = roleItem({ config: ctx.loaded.config, facts });
  await run(ctx, connection, login, [server, role].filter((item) => item.commands.length > 0));
}

async function run(ctx: OperationContext, connection: HostConnection, login: Login, steps: Step[]): Promise<void> {
  if (steps.length === 0) return;
  const result = await runAsRoot(connection, login, steps, ctx.observer);
  if (result.error) throw result.error;
}
