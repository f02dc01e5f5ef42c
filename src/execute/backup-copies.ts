// Off-server copies of the dumps (backups.copy_to): the copy servers reached with slipway's own login there,
// their setup (after the database server's), their listings, and a copy fetched back by the database server.
import type { ServerConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { copyClientProbe, copyServerProbe, listCopies } from '../ops/backup-copies.js';
import {
  bucketCredentials,
  bucketOf,
  copyClientFiles,
  isBucket,
  copyClientItem,
  copyKeyItem,
  copyName,
  copyServerFiles,
  copyServerItems,
  destinationOf,
  parseCopies,
  parseCopyClientFacts,
  parseCopyServerFacts,
  type CopyEntry,
  type CopyListing,
} from '../plan/backup-copies.js';
import type { Layout } from '../plan/layout.js';
import { copyScriptPath, expireTimer, type AnyDestination, type CopyDestination } from '../render/backup-copies.js';
import { quote } from '../ops/shell.js';
import { ConnectionPool, type HostConnection } from './connection.js';
import type { OperationContext } from './operation.js';
import { loginOf, readAsRoot, runAsRoot, type Login } from './privileged.js';
import { Redactor } from './redact.js';
import { runItems, type ItemResult, type SetupHostReport } from './setup-items.js';
import { resolveTarget } from './targets.js';
import { setupPitr } from './pitr.js';

export interface CopyServer {
  name: string;
  destination: CopyDestination;
  connection: HostConnection;
  login: Login;
}

/** A copy entry as a server to connect to (role `backup`: no process of the app runs there). */
function serverOf(entry: CopyEntry): ServerConfig {
  const { name: _name, address: _address, path: _path, retention_days: _days, ...reach } = entry;
  return { ...reach, roles: ['backup'] };
}

/** Opens every copy server (or the one named `only`), for the body; closed on the way out. */
export async function withCopyServers<T>(ctx: Pick<OperationContext, 'loaded'>, layout: Layout, body: (servers: CopyServer[]) => Promise<T>, only?: string): Promise<T> {
  const entries = ctx.loaded.config.backups.copy_to.filter((e) => !isBucket(e) && (only === undefined || copyName(e) === only));
  const pool = new ConnectionPool(new Redactor(ctx.loaded.secrets));
  try {
    const servers = await Promise.all(
      entries.map(async (entry) => {
        const target = { ...(await resolveTarget(serverOf(entry), ctx.loaded.config)), label: copyName(entry) };
        const connection = await pool.connect(target);
        return { name: copyName(entry), destination: destinationOf(entry, target, layout), connection, login: await loginOf(connection) };
      }),
    );
    return await body(servers);
  } finally {
    await pool.closeAll();
  }
}

export interface CopiesSetup {
  /** Items run on the database server (the key, then the copy script), for its report. */
  dbItems: ItemResult[];
  servers: SetupHostReport[];
  error?: SetupHostReport['error'];
}

/**
 * After the database server's own setup: its key (made there), the account on each copy server that key may
 * use, then the copy script with the copy servers' host keys, read over slipway's own connection to them (no
 * trust on first use). Installing the script runs it, so the dumps already there are copied and the path is
 * proven.
 */
export async function setupCopies(ctx: OperationContext, layout: Layout, db: HostConnection): Promise<CopiesSetup> {
  const prefix = layout.unitPrefix;
  const login = await loginOf(db);
  const entries = ctx.loaded.config.backups.copy_to;
  const buckets = entries.filter(isBucket);
  const credentials = buckets.map((b) => bucketCredentials(b, layout));
  const clientPaths = [...copyClientFiles({ layout, destinations: [] }, {}).map((f) => f.path), ...credentials.map((c) => c.path)];
  const clientFacts = async () => parseCopyClientFacts(await readAsRoot(db, login, copyClientProbe(prefix, clientPaths).shell, 'Read the backup copies state'));
  let facts = await clientFacts();
  // A key only for copy servers: a bucket takes the credentials of the config instead.
  const servesCopies = entries.some((e) => !isBucket(e));
  const key = servesCopies ? await runItems(ctx, db, login, [copyKeyItem(prefix, db.target.label, facts)]) : { results: [] };
  if ('error' in key && key.error) return { dbItems: key.results, servers: [], error: key.error };
  if (servesCopies && !facts.publicKey) facts = await clientFacts();
  const publicKey = facts.publicKey ?? '';
  if (servesCopies && !publicKey) throw new UserError(`${db.target.label}: the key for the backup copies was not made`);

  return withCopyServers(ctx, layout, async (servers) => {
    const reports: SetupHostReport[] = [];
    const hostKeys: Record<string, string[]> = {};
    for (const server of servers) {
      const d = server.destination;
      const files = copyServerFiles(prefix, d, publicKey);
      const probe = copyServerProbe(prefix, d.dir, [files.receiver.path, files.keys.path, ...files.retention.map((f) => f.path)], expireTimer(prefix));
      const serverFacts = parseCopyServerFacts(await readAsRoot(server.connection, server.login, probe.shell, 'Read the copy server state'));
      hostKeys[server.name] = serverFacts.hostKeys;
      const run = await runItems(ctx, server.connection, server.login, copyServerItems(prefix, d, publicKey, serverFacts));
      reports.push({ host: server.name, items: run.results, ...(run.error ? { error: run.error } : {}) });
    }
    const failed = reports.find((r) => r.error);
    if (failed) return { dbItems: key.results, servers: reports, error: failed.error };
    // In the config's order: the first is the one the restore drill reads.
    const destinations = entries.map((e) => (isBucket(e) ? bucketOf(e, layout) : servers.find((s) => s.name === copyName(e))!.destination));
    const client = await runItems(ctx, db, login, [copyClientItem({ layout, destinations, credentials }, hostKeys, facts)]);
    if (client.error || !ctx.loaded.config.backups.pitr) return { dbItems: [...key.results, ...client.results], servers: reports, ...(client.error ? { error: client.error } : {}) };
    // Point-in-time recovery: its repository on the first copy server.
    const pitr = await setupPitr(ctx, layout, db, servers[0]!);
    reports[0] = { ...reports[0]!, items: [...reports[0]!.items, ...pitr.repoItems] };
    return { dbItems: [...key.results, ...client.results, ...pitr.dbItems], servers: reports, ...(pitr.error ? { error: pitr.error as NonNullable<CopiesSetup['error']> } : {}) };
  });
}

export interface CopiesOn {
  name: string;
  destination: AnyDestination;
  listing: CopyListing;
  /** A bucket this run could not list (its credentials are on the database server, which it did not reach). */
  unlisted?: string;
}

/** The database server, where buckets are listed and read (their credentials are there). */
export interface DbServer {
  connection: HostConnection;
  login: Login;
}

/**
 * What each copy holds: a copy server's as root there, a bucket's through the database server's copy script;
 * `check`: every copy's checksum recomputed (a bucket's copies read back and hashed). Without `db`, buckets are
 * listed as not reached.
 */
export async function listCopiesOn(ctx: Pick<OperationContext, 'loaded'>, layout: Layout, check: boolean, only?: string, db?: DbServer): Promise<CopiesOn[]> {
  const entries = ctx.loaded.config.backups.copy_to;
  if (only !== undefined && !entries.some((e) => copyName(e) === only)) throw new UserError(`no copy ${only} in backups.copy_to (copies: ${entries.map(copyName).join(', ') || 'none'})`);
  const onServers = withCopyServers(
    ctx,
    layout,
    (servers) => Promise.all(servers.map(async (s): Promise<CopiesOn> => ({ name: s.name, destination: s.destination, listing: parseCopies(await readAsRoot(s.connection, s.login, listCopies(s.destination.dir, check).shell, `List the copies on ${s.name}`)) }))),
    only,
  );
  const inBuckets = Promise.all(
    entries
      .filter((e) => isBucket(e) && (only === undefined || copyName(e) === only))
      .map(async (e): Promise<CopiesOn> => {
        const destination = bucketOf(e, layout);
        if (!db) return { name: destination.name, destination, listing: { files: [] }, unlisted: 'a bucket is listed through the database server, which this command does not reach' };
        const lines = await readAsRoot(db.connection, db.login, `${quote(copyScriptPath(layout.unitPrefix))} ${check ? 'check' : 'list'} ${quote(destination.name)}`, `List the copies in ${destination.name}`);
        return { name: destination.name, destination, listing: parseCopies(lines) };
      }),
  );
  const listed = [...(await onServers), ...(await inBuckets)];
  // In the config's order.
  return entries.map(copyName).flatMap((name) => listed.filter((c) => c.name === name));
}

/** Where a copy lives, for listings. */
export const whereOf = (d: AnyDestination) => (d.kind === 'bucket' ? `${d.base}/${d.prefix}` : `${d.address}:${d.dir}`);

/** The database server fetches a copy itself (with its key, or a bucket's credentials) and keeps it only if its checksum is the recorded one. */
export async function fetchCopy(ctx: OperationContext, db: HostConnection, prefix: string, from: CopiesOn, name: string, into: string): Promise<void> {
  const file = from.listing.files.find((f) => f.name === name);
  if (!file) throw new UserError(`no copy ${name} on ${from.name}`, `see \`slipway backups ${ctx.loaded.config.environment}\``);
  if (file.sum === '-') throw new UserError(`the copy of ${name} on ${from.name} has no recorded checksum`, 'it cannot be told from a damaged one');
  const login = await loginOf(db);
  // The copy script's own fetch, for a copy server (with the key) and a bucket (with its credentials) alike.
  const fetch = `${quote(copyScriptPath(prefix))} get ${quote(from.destination.name)} ${quote(name)} ${quote(into)}`;
  const run = await runAsRoot(db, login, [{ id: 'fetch', title: `Fetch ${name} from ${from.name}`, commands: [{ shell: fetch }] }], ctx.observer);
  if (run.error) throw run.error;
}
