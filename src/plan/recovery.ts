// Rebuilding a lost server (pure): which server of the config the new machine replaces, the config with it in
// its place, and the point to recover to from the copies.
import type { Config, ServerConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { serverLabel } from './topology.js';
import type { CopyListing } from './backup-copies.js';

export interface Replacement {
  /** Index in `servers` of the server that was lost. */
  index: number;
  lost: string;
  /** The new machine's label (its host, or its sandbox name). */
  label: string;
  config: Config;
  /** The change to make in deploy-<env>.yml so that the next commands reach the new server. */
  edit: string;
}

/**
 * The lost server is the one named, or else the one holding the database (role db, or the only server): the
 * copies restore a database, so that is the server they rebuild.
 */
export function replaceServer(config: Config, by: { host?: string; sandbox?: string }, named?: string): Replacement {
  if (!by.host === !by.sandbox) throw new UserError('give the new server: --host <address> or --sandbox <name>');
  const labels = config.servers.map(serverLabel);
  let index: number;
  if (named !== undefined) {
    index = labels.indexOf(named);
    if (index < 0) throw new UserError(`no server ${named} in this environment (servers: ${labels.join(', ')})`);
  } else {
    const db = config.servers.findIndex((s) => s.roles.includes('db'));
    index = db >= 0 ? db : config.servers.length === 1 ? 0 : -1;
    if (index < 0) throw new UserError(`which server is lost? (servers: ${labels.join(', ')})`, 'name it: --server <name>');
  }
  const old = config.servers[index]!;
  const { host: _host, sandbox: _sandbox, ...rest } = old;
  const server: ServerConfig = { ...rest, ...(by.host ? { host: by.host } : { sandbox: by.sandbox! }) };
  const servers = config.servers.map((s, i) => (i === index ? server : s));
  const label = serverLabel(server);
  const key = by.host ? `host: ${by.host}` : `sandbox: ${by.sandbox}`;
  return { index, lost: labels[index]!, label, config: { ...config, servers }, edit: `servers[${index}] (${labels[index]}): ${key}` };
}

export interface RecoveryPoint {
  /** The copy server the dump comes from. */
  from: string;
  backup: string;
  /** The commit to deploy: --ref, else the live release the copies recorded. */
  ref: string;
  /** Where the ref came from, for the report. */
  refSource: string;
}

/** The newest copy (or the one asked for) across the copy servers, and the commit that was live. */
export function recoveryPoint(copies: readonly { name: string; listing: CopyListing }[], options: { backup?: string; ref?: string; resolve: (requested: string, on: { name: string; listing: CopyListing }) => string }): RecoveryPoint {
  const held = copies.filter((c) => c.listing.files.length > 0);
  if (held.length === 0) throw new UserError(`no copies on ${copies.map((c) => c.name).join(', ') || 'any copy server'}: there is nothing to recover from`, 'backups.copy_to must have received a backup before the server was lost');
  const newest = [...held].sort((a, b) => b.listing.files[0]!.at.getTime() - a.listing.files[0]!.at.getTime())[0]!;
  const on = options.backup ? (held.find((c) => c.listing.files.some((f) => f.name.startsWith(options.backup!.replace(/\.dump$/, '')))) ?? newest) : newest;
  const backup = options.backup ? options.resolve(options.backup, on) : on.listing.files[0]!.name;
  return { from: on.name, backup, ...liveCommit(copies, options.ref) };
}

/** The commit to deploy: --ref, else the release the copies recorded live last. */
export function liveCommit(copies: readonly { listing: CopyListing }[], ref?: string): Pick<RecoveryPoint, 'ref' | 'refSource'> {
  if (ref) return { ref, refSource: '--ref' };
  const live = copies.map((c) => c.listing.live).filter((l) => l !== undefined).sort((a, b) => b.at.localeCompare(a.at))[0];
  if (!live) throw new UserError('the copies hold no record of the live release (the database server runs no release of the app)', 'give the commit to deploy: --ref <sha>');
  return { ref: live.sha, refSource: `release ${live.release}, live at ${live.at}` };
}
