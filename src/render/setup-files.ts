// The configuration files `slipway setup` writes on a server, as pure text. Each one is a drop-in of slipway's
// own (never an edit of the distribution's file), so removing it undoes the change and upgrades never conflict.

const HEADER = '# Written by slipway setup: changes here are replaced on the next `slipway setup`.';

/**
 * Key-only SSH. sshd keeps the first value it reads for a keyword and reads sshd_config.d/*.conf in name order
 * from the top of sshd_config, so the file's name must sort before others (cloud images ship
 * 50-cloud-init.conf with `PasswordAuthentication yes`).
 */
export const SSHD_DROP_IN = '/etc/ssh/sshd_config.d/01-slipway.conf';

export function renderSshdHardening(): string {
  return [
    HEADER,
    '# Key-only logins: no passwords, root by key only. Remove this file and reload ssh to undo.',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    '',
  ].join('\n');
}

export interface RedisSettings {
  password: string;
  maxmemory: string;
  appendonly: boolean;
  /** A Redis server's private address, where the app servers reach it (besides loopback). */
  address?: string;
}

/** Commands that empty or reconfigure the whole server, or block it: an app never needs them. */
export const DISABLED_REDIS_COMMANDS = ['FLUSHALL', 'FLUSHDB', 'CONFIG', 'KEYS', 'DEBUG'];

export const REDIS_DROP_IN = '/etc/redis/slipway.conf';
export const REDIS_INCLUDE = `include ${REDIS_DROP_IN}`;

/** Redis reads double-quoted strings with C-like escapes: any password survives, even with quotes or spaces. */
export function redisString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (byte >= 0x20 && byte < 0x7f) out += c;
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

/** Included at the end of redis.conf, so these lines win over the distribution's. Holds the password: 0640 redis. */
export function renderRedisConfig({ password, maxmemory, appendonly, address }: RedisSettings): string {
  return [
    HEADER,
    '# Included from the end of /etc/redis/redis.conf: the values here win.',
    // `-::1`: listen on IPv6 loopback when the host has it, without failing when it does not.
    `bind 127.0.0.1 -::1${address ? ` ${address}` : ''}`,
    // With a password set, protected mode still refuses nothing; it stays on as the fallback should one be lost.
    'protected-mode yes',
    `requirepass ${redisString(password)}`,
    `maxmemory ${maxmemory.toLowerCase()}`,
    'maxmemory-policy allkeys-lru',
    `appendonly ${appendonly ? 'yes' : 'no'}`,
    ...DISABLED_REDIS_COMMANDS.map((name) => `rename-command ${name} ""`),
    '',
  ].join('\n');
}

export const JOURNALD_DROP_IN = '/etc/systemd/journald.conf.d/50-slipway.conf';

/** Read by Debian's and Ubuntu's prometheus-node-exporter.service (EnvironmentFile), whose ExecStart passes $ARGS. */
export const NODE_EXPORTER_DEFAULTS = '/etc/default/prometheus-node-exporter';
export const NODE_EXPORTER_PORT = 9100;

export function renderNodeExporterDefaults(address: string): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return [HEADER, `ARGS="--web.listen-address=${host}:${NODE_EXPORTER_PORT}"`, ''].join('\n');
}

export function renderJournaldLimits(maxUse: string): string {
  return [HEADER, '[Journal]', `SystemMaxUse=${maxUse}`, ''].join('\n');
}

export interface LogrotateSpec {
  logDir: string;
  appUser: string;
  keep: number;
}

/**
 * copytruncate: the app keeps its file open and never learns about the rotation. `su`: the directory belongs to
 * the app user, and logrotate refuses to rotate in a directory others can write unless it acts as them.
 */
export function renderLogrotate({ logDir, appUser, keep }: LogrotateSpec): string {
  return [
    HEADER,
    `${logDir}/*.log {`,
    '    daily',
    `    rotate ${keep}`,
    '    compress',
    '    delaycompress',
    '    missingok',
    '    notifempty',
    '    copytruncate',
    `    su ${appUser} ${appUser}`,
    '}',
    '',
  ].join('\n');
}

/** Base settings for every site; the site itself (server blocks, TLS) is the deploy's. */
export const NGINX_BASE = '/etc/nginx/conf.d/slipway-base.conf';

export function renderNginxBase(): string {
  return [HEADER, '# Do not announce the nginx version in error pages and the Server header.', 'server_tokens off;', ''].join('\n');
}

export const AUTO_UPGRADES = '/etc/apt/apt.conf.d/20auto-upgrades';

/** What `dpkg-reconfigure unattended-upgrades` writes: refresh the lists and apply security updates daily. */
export function renderAutoUpgrades(): string {
  return ['// Written by slipway setup: install security updates every day (see 50unattended-upgrades).', 'APT::Periodic::Update-Package-Lists "1";', 'APT::Periodic::Unattended-Upgrade "1";', ''].join('\n');
}
