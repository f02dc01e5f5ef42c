// Where the app's database and Redis live, and which servers use them (pure). Decided once from every server
// of the environment, never from the hosts of one run: `--host web2` must not make web2 think it holds the data.
import type { Config } from '../config/types.js';
import { UserError } from '../errors.js';
import type { Target } from './target.js';
import { APP_ROLES } from '../config/data-server-rules.js';

export interface Peer {
  label: string;
  address: string;
}

/**
 * `local`: on every server, each reached on its own localhost (no db role). `server`: on one server, reached
 * over the private network. `external`: database.url, nothing set up. `none`: not used.
 */
export type Placement = { kind: 'none' } | { kind: 'local' } | { kind: 'server'; server: Peer } | { kind: 'external' };

export interface Topology {
  database: Placement;
  redis: Placement;
  /** Servers whose processes use the database and Redis: the only ones let in on a database or Redis server. */
  appServers: Peer[];
}

export type TopologyConfig = Pick<Config, 'database' | 'setup' | 'processes'>;

function addressOf(target: Target, why: string): string {
  if (target.privateAddress) return target.privateAddress;
  throw new UserError(`${target.label}: ${why}, but its private address is not known`, 'give the server `private_address` (the address the other servers reach it by)');
}

/** The roles that make a server an app server: the usual ones and those the config's processes name. */
export function appRoles(config: Pick<Config, 'processes'>): Set<string> {
  return new Set([...APP_ROLES, ...Object.values(config.processes).flatMap((p) => p.roles)]);
}

export const isAppServer = (config: Pick<Config, 'processes'>, target: Pick<Target, 'roles'>) => target.roles.some((r) => appRoles(config).has(r));

/** Where the database is from the config and the servers' roles alone (no address needed): see Placement. */
export function databaseKind(config: Pick<Config, 'database'>, servers: readonly Pick<Target, 'roles'>[]): Placement['kind'] {
  if (config.database.url) return 'external';
  if (config.database.engine !== 'postgresql' || !config.database.name) return 'none';
  return servers.some((s) => s.roles.includes('db')) ? 'server' : 'local';
}

/** Whether the server with `roles` runs the app's PostgreSQL, among `servers` (every one of the environment). */
export function holdsDatabaseByRoles(config: Pick<Config, 'database'>, servers: readonly Pick<Target, 'roles'>[], roles: readonly string[]): boolean {
  const kind = databaseKind(config, servers);
  return kind === 'local' || (kind === 'server' && roles.includes('db'));
}

export function topologyOf(config: TopologyConfig, targets: readonly Target[]): Topology {
  const apps = targets.filter((t) => isAppServer(config, t));
  const withRole = (role: string) => targets.find((t) => t.roles.includes(role));
  const dbServer = withRole('db');
  const redisServer = withRole('redis') ?? dbServer;
  const peer = (t: Target, what: string): Peer => ({ label: t.label, address: addressOf(t, what) });

  const kind = databaseKind(config, targets);
  const database: Placement = kind === 'server' ? { kind, server: peer(dbServer!, 'it is the database server') } : { kind };

  let redis: Placement = { kind: 'none' };
  if (config.setup.redis.enabled) redis = redisServer ? { kind: 'server', server: peer(redisServer, 'it is the Redis server') } : { kind: 'local' };

  // Addresses matter only where a server lets the app servers in.
  const remote = database.kind === 'server' || redis.kind === 'server';
  const appServers = apps.map((t) => (remote ? peer(t, 'it is an app server that reaches the database or Redis server') : { label: t.label, address: t.privateAddress ?? '' }));
  return { database, redis, appServers };
}

const holds = (placement: Placement, label: string) => placement.kind === 'local' || (placement.kind === 'server' && placement.server.label === label);

/** This host runs PostgreSQL for the app (creates its role and database, backs it up). */
export const holdsDatabase = (topology: Topology, label: string) => holds(topology.database, label);
/** This host runs Redis for the app. */
export const holdsRedis = (topology: Topology, label: string) => holds(topology.redis, label);

/** A host in URL form: IPv6 literals in brackets. */
export const urlHost = (address: string) => (address.includes(':') ? `[${address}]` : address);

/** Where the app on any server reaches its services; without a database server, each server's own localhost. */
export interface Endpoints {
  database?: { host: string; tls: boolean };
  redis?: { host: string; password: string };
}

export function endpointsOf(topology: Topology, config: Pick<Config, 'setup'>): Endpoints {
  const { database, redis } = topology;
  const password = config.setup.redis.password;
  return {
    ...(database.kind === 'server' ? { database: { host: urlHost(database.server.address), tls: true } } : {}),
    ...(redis.kind !== 'none' && password ? { redis: { host: redis.kind === 'server' ? urlHost(redis.server.address) : '127.0.0.1', password } } : {}),
  };
}

export interface DeployPlacement {
  /** Per host: the deploy itself creates the database there (no database server: each host has its own). */
  hostsDatabase: boolean[];
  /** The host that runs migrations (and creates the superuser), or -1 when no host of this run may. */
  migrator: number;
  /** Per host: it runs the migrations. A shared database: the migrator alone; one on every host: each its own. */
  migrates: boolean[];
  endpoints: Endpoints;
}

/**
 * Migrations run once per database, before any host switches, on a host that has the release and reaches it:
 * with a database server or an external one, the first app server of this run (never a db-only server, which
 * runs no app); with a database on every host (no db role, database.host localhost), every host migrates its
 * own (only the first did before, and the others' databases never got their tables).
 */
export function deployPlacement(config: Pick<Config, 'processes' | 'setup' | 'database'>, topology: Topology, targets: readonly Pick<Target, 'roles'>[]): DeployPlacement {
  const kind = topology.database.kind;
  const elsewhere = kind === 'server' || kind === 'external';
  const migrator = targets.findIndex((t) => isAppServer(config, t));
  const ownDatabases = kind === 'local' && ['localhost', '127.0.0.1', '::1'].includes(config.database.host);
  return {
    hostsDatabase: targets.map(() => kind === 'local'),
    migrator: elsewhere ? migrator : 0,
    // Each host's own database (at localhost) is migrated there; one database.host names for all of them, or none
    // slipway knows of (a migrate command against one the app finds itself), once, on the first host.
    migrates: targets.map((_, i) => (elsewhere ? i === migrator : ownDatabases || i === 0)),
    endpoints: endpointsOf(topology, config),
  };
}
