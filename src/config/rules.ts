// Cross-field rules: small functions that each add diagnostics about how keys fit together.
import type { Located, Loc } from './located.js';
import type { Diagnostic } from './validate.js';
import type { Config } from './types.js';
import { SECRET_KEY, hasPlaceholder } from './secrets.js';
import { topologyRules } from './topology-rules.js';

/** Where the value at a key path was written, falling back to the nearest parent that exists. */
export function locate(root: Located, path: (string | number)[]): Loc {
  let node: Located = root;
  for (const key of path) {
    if (node.kind === 'map' && typeof key === 'string') {
      const entry = node.entries.get(key);
      if (!entry) return node.loc;
      node = entry.node;
    } else if (node.kind === 'seq' && typeof key === 'number' && node.items[key]) {
      node = node.items[key];
    } else {
      return node.loc;
    }
  }
  return node.loc;
}

/** `env` is the <env> of deploy-<env>.yml, which names the secrets file even when `environment:` differs. */
type Rule = (config: Config, root: Located, out: Diagnostic[], env: string) => void;

const error = (out: Diagnostic[], loc: Loc, path: string, message: string) => out.push({ loc, path, message, severity: 'error' });

const serversNameATarget: Rule = (config, root, out) => {
  if (config.servers.length === 0) error(out, locate(root, ['servers']), 'servers', 'at least one server is needed');
  config.servers.forEach((server, i) => {
    const loc = locate(root, ['servers', i]);
    if (!server.host && !server.sandbox) error(out, loc, `servers[${i}]`, 'give `host` (or `local`) or `sandbox`');
    if (server.host && server.sandbox) error(out, loc, `servers[${i}]`, 'give either `host` or `sandbox`, not both');
  });
};

const portsAreDistinct: Rule = (config, root, out) => {
  const seen = new Map<number, string>();
  for (const [name, process] of Object.entries(config.processes)) {
    if (process.port === undefined) continue;
    const other = seen.get(process.port);
    if (other) error(out, locate(root, ['processes', name, 'port']), `processes.${name}.port`, `port ${process.port} is already used by process ${other}`);
    seen.set(process.port, name);
  }
};

const healthProcessExists: Rule = (config, root, out) => {
  const process = config.processes[config.health.process];
  const explicit = root.kind === 'map' && root.entries.has('health');
  if (!process && explicit && Object.keys(config.processes).length > 0) {
    error(out, locate(root, ['health', 'process']), 'health.process', `no process named ${config.health.process}`);
  }
  if (process && process.port === undefined && explicit) {
    error(out, locate(root, ['processes', config.health.process]), `processes.${config.health.process}.port`, 'the health check needs the port this process listens on');
  }
};

const secretsAreNotCommitted: Rule = (config, root, out, env) => {
  for (const [key, value] of Object.entries(config.env_vars)) {
    if (SECRET_KEY.test(key) && value !== '' && !hasPlaceholder(value)) {
      out.push({ loc: locate(root, ['env_vars', key]), path: `env_vars.${key}`, message: `looks like a secret written in the file; write \${${key}} and keep the value in .slipway/secrets-${env}.env`, severity: 'warning' });
    }
  }
  const superuserPassword = config.django.superuser.password;
  if (superuserPassword && !hasPlaceholder(superuserPassword)) {
    out.push({ loc: locate(root, ['django', 'superuser', 'password']), path: 'django.superuser.password', message: 'a literal password in the config; write ${ADMIN_PASSWORD} instead', severity: 'warning' });
  }
  for (const [i, hook] of config.notify.entries()) {
    if (!hasPlaceholder(hook.url)) out.push({ loc: locate(root, ['notify', i]), path: `notify[${i}].url`, message: 'a literal webhook URL in the config (its path is its password); write ${WEBHOOK_URL} instead', severity: 'warning' });
  }
  const token = config.node.npm_token;
  if (token && !hasPlaceholder(token)) {
    out.push({ loc: locate(root, ['node', 'npm_token']), path: 'node.npm_token', message: 'a literal token in the config; write ${NPM_TOKEN} instead', severity: 'warning' });
  }
  const password = config.database.password;
  if (password && !hasPlaceholder(password)) {
    out.push({ loc: locate(root, ['database', 'password']), path: 'database.password', message: 'a literal password in the config; write ${DB_PASSWORD} instead', severity: 'warning' });
  }
};

const databaseIsComplete: Rule = (config, root, out) => {
  const db = config.database;
  // An external database (database.url) is complete as its URL.
  if (db.engine !== 'postgresql' || db.url) return;
  for (const key of ['name', 'user', 'password'] as const) {
    if (!db[key]) error(out, locate(root, ['database']), `database.${key}`, `required for engine postgresql`);
  }
};

const superuserIsComplete: Rule = (config, root, out) => {
  const user = config.django.superuser;
  const given = [user.username, user.password].filter(Boolean).length;
  if (given === 1) error(out, locate(root, ['django', 'superuser']), 'django.superuser', 'give both username and password (write the password as ${NAME})');
};

const redisIsComplete: Rule = (config, root, out) => {
  const redis = config.setup.redis;
  if (redis.enabled && !redis.password) error(out, locate(root, ['setup', 'redis']), 'setup.redis.password', 'required when redis is enabled (write it as ${REDIS_PASSWORD})');
  if (redis.password && !hasPlaceholder(redis.password)) {
    out.push({ loc: locate(root, ['setup', 'redis', 'password']), path: 'setup.redis.password', message: 'a literal password in the config; write ${REDIS_PASSWORD} instead', severity: 'warning' });
  }
};

/** The backup timer's units are `<project>-backup.service/.timer`: a process of that name would be replaced by them. */
const backupUnitIsFree: Rule = (config, root, out) => {
  if (config.database.engine === 'postgresql' && config.processes.backup) {
    error(out, locate(root, ['processes', 'backup']), 'processes.backup', 'the name `backup` is taken by the database backup timer\'s units; rename this process');
  }
};

/**
 * Each shared path becomes a link into shared/: one inside another (`media` and `media/thumbs`) would be linked
 * through the first link, inside shared/media, and a path listed twice is linked twice.
 */
const sharedPathsAreApart: Rule = (config, root, out) => {
  const seen = new Map<string, string>();
  const listed = [...config.shared.dirs.map((path, i) => ({ path, key: ['shared', 'dirs', i] as const })), ...config.shared.files.map((path, i) => ({ path, key: ['shared', 'files', i] as const }))];
  for (const { path, key } of listed) {
    const name = `${key[0]}.${key[1]}[${key[2]}]`;
    const twice = seen.get(path);
    if (twice) error(out, locate(root, [...key]), name, `${JSON.stringify(path)} is listed twice (also ${twice}): keep one`);
    seen.set(path, twice ?? name);
  }
  // Each path against its own parents only: the cost grows with the text of the paths, not with their count squared.
  for (const { path, key } of listed) {
    const parts = path.split('/');
    let parent = '';
    for (let n = 0; n < parts.length - 1; n += 1) {
      parent = n === 0 ? (parts[0] ?? '') : `${parent}/${parts[n] ?? ''}`;
      const other = seen.get(parent);
      if (other) error(out, locate(root, [...key]), `${key[0]}.${key[1]}[${key[2]}]`, `${JSON.stringify(path)} is inside ${other} (${JSON.stringify(parent)}), which is shared already: list only ${JSON.stringify(parent)}`);
    }
  }
};

export const rules: Rule[] = [databaseIsComplete, superuserIsComplete, serversNameATarget, portsAreDistinct, healthProcessExists, secretsAreNotCommitted, redisIsComplete, backupUnitIsFree, sharedPathsAreApart, ...topologyRules];
