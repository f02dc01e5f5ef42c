// Cross-field rules for the database and Redis servers (roles db and redis) and an external database: a
// topology slipway cannot build is refused before anything runs, naming the key to change.
import { isIP } from 'node:net';
import type { Located } from './located.js';
import type { Diagnostic } from './validate.js';
import type { Config } from './types.js';
import { hasPlaceholder } from './secrets.js';
import { locate } from './rules.js';

/** Roles whose processes use the database and Redis, besides any role a configured process names. */
export const APP_ROLES = ['web', 'worker', 'scheduler'];

type Rule = (config: Config, root: Located, out: Diagnostic[]) => void;

const error = (out: Diagnostic[], loc: Diagnostic['loc'], path: string, message: string) => out.push({ loc, path, message, severity: 'error' });
const written = (root: Located, path: string[]) => {
  let node: Located | undefined = root;
  for (const key of path) node = node?.kind === 'map' ? node.entries.get(key)?.node : undefined;
  return node !== undefined;
};
const serversWith = (config: Config, role: string) => config.servers.flatMap((s, i) => (s.roles.includes(role) ? [i] : []));

/** One database server and one Redis server: slipway sets up no replication between two. */
const oneServerPerRole: Rule = (config, root, out) => {
  for (const role of ['db', 'redis']) {
    const [first, ...others] = serversWith(config, role);
    for (const i of others) {
      error(out, locate(root, ['servers', i, 'roles']), `servers[${i}].roles`, `a second server with role ${role} (servers[${first}] has it): slipway sets up no replication, give role ${role} to one server`);
    }
  }
};

const externalDatabase: Rule = (config, root, out) => {
  const db = config.database;
  if (!db.url) return;
  const at = locate(root, ['database', 'url']);
  if (db.engine !== 'postgresql') error(out, at, 'database.url', 'an external database needs database.engine: postgresql');
  const dbServer = serversWith(config, 'db')[0];
  if (dbServer !== undefined) error(out, at, 'database.url', `an external database and a database server (servers[${dbServer}] has role db) exclude each other: remove one`);
  for (const key of ['name', 'user', 'password', 'host'] as const) {
    if (written(root, ['database', key])) error(out, locate(root, ['database', key]), `database.${key}`, 'the external database\'s URL (database.url) says this already: remove the key');
  }
  if (!hasPlaceholder(db.url)) out.push({ loc: at, path: 'database.url', message: 'the URL holds the password: write it as ${DATABASE_URL} and keep it in the secrets file', severity: 'warning' });
};

const databaseServerSettings: Rule = (config, root, out) => {
  const db = config.database;
  if (serversWith(config, 'db').length > 0 && written(root, ['database', 'host'])) {
    error(out, locate(root, ['database', 'host']), 'database.host', 'with a server of role db, the app servers reach it at its private address: remove database.host');
  }
  if (!!db.tls_cert !== !!db.tls_key) {
    const missing = db.tls_cert ? 'tls_key' : 'tls_cert';
    error(out, locate(root, ['database']), `database.${missing}`, 'give both database.tls_cert and database.tls_key (or neither: slipway creates a certificate)');
  }
  for (const i of serversWith(config, 'redis')) {
    if (!config.setup.redis.enabled) error(out, locate(root, ['servers', i, 'roles']), `servers[${i}].roles`, 'role redis needs setup.redis.enabled: true (and setup.redis.password)');
  }
};

/** A database or Redis server lets the app servers in by address, and listens on its own: both must be known. */
const addressesKnown: Rule = (config, root, out) => {
  const dbServer = config.database.engine === 'postgresql' && !config.database.url && serversWith(config, 'db').length > 0;
  const redisServer = config.setup.redis.enabled && (serversWith(config, 'redis').length > 0 || serversWith(config, 'db').length > 0);
  if (!dbServer && !redisServer) return;
  const apps = new Set([...APP_ROLES, ...Object.values(config.processes).flatMap((p) => p.roles), 'db', 'redis']);
  config.servers.forEach((server, i) => {
    if (server.sandbox || server.private_address || !server.roles.some((r) => apps.has(r))) return;
    if (server.host && server.host !== 'local' && isIP(server.host)) return;
    const what = server.host === 'local' ? '`local` has no address the other servers reach' : `${JSON.stringify(server.host)} is a name`;
    error(out, locate(root, ['servers', i, 'host']), `servers[${i}].private_address`, `${what}: give private_address, the IP address the database or Redis server and the app servers use for each other`);
  });
};

/** Copies of the dumps of one database, from the one server that makes them, to servers named once each. */
const backupCopies: Rule = (config, root, out) => {
  const copies = config.backups.copy_to;
  if (config.backups.pitr && copies.length === 0) error(out, locate(root, ['backups', 'pitr']), 'backups.pitr', 'point-in-time recovery keeps its repository on the first server of backups.copy_to: give one');
  if (copies.length === 0) return;
  const at = locate(root, ['backups', 'copy_to']);
  if (config.database.engine !== 'postgresql' || config.database.url) error(out, at, 'backups.copy_to', 'copies are of the dumps slipway makes of its own PostgreSQL database: it needs database.engine: postgresql (and no database.url)');
  else if (config.servers.length > 1 && serversWith(config, 'db').length === 0) error(out, at, 'backups.copy_to', 'with several servers and none of role db, each server has a database of its own: give one server role db, so that one database is backed up and copied');
  const names = new Map<string, number>();
  copies.forEach((copy, i) => {
    const loc = locate(root, ['backups', 'copy_to', i]);
    const s3 = copy.s3;
    if (s3.endpoint !== undefined || s3.bucket !== undefined || s3.access_key_id !== undefined || s3.secret_access_key !== undefined) {
      for (const key of ['endpoint', 'bucket', 'access_key_id', 'secret_access_key'] as const) {
        if (s3[key] === undefined) error(out, locate(root, ['backups', 'copy_to', i, 's3']), `backups.copy_to[${i}].s3.${key}`, 'a bucket needs endpoint, bucket, access_key_id and secret_access_key');
      }
      if (copy.host || copy.sandbox) error(out, loc, `backups.copy_to[${i}]`, 'a copy goes to a bucket (`s3`) or to a server (`host` or `sandbox`), not both');
      if (s3.secret_access_key !== undefined && !hasPlaceholder(s3.secret_access_key)) out.push({ loc: locate(root, ['backups', 'copy_to', i, 's3', 'secret_access_key']), path: `backups.copy_to[${i}].s3.secret_access_key`, message: 'a literal secret in the config; write ${S3_SECRET} instead', severity: 'warning' });
      if (i === 0 && config.backups.pitr) error(out, locate(root, ['backups', 'pitr']), 'backups.pitr', 'the pgBackRest repository goes to the first copy of backups.copy_to, which must be a server (`host` or `sandbox`), not a bucket');
    } else {
      if (!copy.host && !copy.sandbox) error(out, loc, `backups.copy_to[${i}]`, 'give `host` or `sandbox` (the server the copies go to), or `s3` (a bucket)');
      if (copy.host && copy.sandbox) error(out, loc, `backups.copy_to[${i}]`, 'give either `host` or `sandbox`, not both');
    }
    if (copy.host === 'local') error(out, locate(root, ['backups', 'copy_to', i, 'host']), `backups.copy_to[${i}].host`, 'a copy goes to another server: `local` is the machine slipway runs on');
    const name = copy.name ?? copy.sandbox ?? copy.host ?? copy.s3.bucket ?? '';
    const first = names.get(name);
    if (first !== undefined) error(out, loc, `backups.copy_to[${i}].name`, `backups.copy_to[${first}] is named ${name} too: give each copy its own name`);
    names.set(name, i);
  });
};

export const dataServerRules: Rule[] = [oneServerPerRole, externalDatabase, databaseServerSettings, addressesKnown, backupCopies];
