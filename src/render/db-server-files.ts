// PostgreSQL's configuration on a database server (role db), as pure text: what it listens on, TLS, and who may
// connect from where. The app servers are the only remote clients, by address, over TLS, with SCRAM.

const HEADER = '# Written by slipway: changes here are replaced on the next `slipway setup` or `slipway deploy`.';

/** A drop-in read through the distribution's `include_dir = 'conf.d'`: it wins over postgresql.conf. */
export const PG_DROP_IN_NAME = '50-slipway.conf';

/** Where slipway keeps the certificate it creates when database.tls_cert is not set. */
export const PG_TLS_DIR = '/etc/postgresql/slipway';
export const PG_TLS_CERT = `${PG_TLS_DIR}/server.crt`;
export const PG_TLS_KEY = `${PG_TLS_DIR}/server.key`;

export interface PostgresServerSettings {
  /** The server's private address: PostgreSQL listens there and on localhost. */
  address: string;
  certFile: string;
  keyFile: string;
}

const pgString = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The listen_addresses value PostgreSQL reports back (SHOW) for these settings. */
export const listenAddresses = (address: string) => `localhost,${address}`;

export function renderPostgresConf({ address, certFile, keyFile }: PostgresServerSettings): string {
  return [
    HEADER,
    '# The app servers reach PostgreSQL on the private address; nothing else listens beyond localhost.',
    `listen_addresses = ${pgString(listenAddresses(address))}`,
    // Verifiers stored as SCRAM: an md5 one would let a client authenticate without TLS-grade hashing.
    "password_encryption = 'scram-sha-256'",
    'ssl = on',
    `ssl_cert_file = ${pgString(certFile)}`,
    `ssl_key_file = ${pgString(keyFile)}`,
    "ssl_min_protocol_version = 'TLSv1.2'",
    '',
  ].join('\n');
}

/** One address as a pg_hba CIDR: the single host. */
export const hostCidr = (address: string) => (address.includes(':') ? `${address}/128` : `${address}/32`);

export interface HbaSettings {
  database: string;
  user: string;
  /** The app servers' private addresses, in the order of the config. */
  clients: readonly string[];
}

/**
 * The whole pg_hba.conf (PostgreSQL 15 has no include for it): the distribution's local lines, then one
 * `hostssl` line per app server. Rules match first to last and an unmatched connection is refused, so a
 * connection from any other address, or without TLS, finds no line.
 */
export function renderPgHba({ database, user, clients }: HbaSettings): string {
  const row = (...cells: string[]) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd([8, 16, 16, 20][i] ?? 8) : c)).join('').trimEnd();
  return [
    HEADER,
    '# Local connections (the postgres superuser by peer, slipway\'s own tools); then the app servers, TLS only.',
    row('# TYPE', 'DATABASE', 'USER', 'ADDRESS', 'METHOD'),
    row('local', 'all', 'postgres', '', 'peer'),
    row('local', 'all', 'all', '', 'peer'),
    row('host', 'all', 'all', '127.0.0.1/32', 'scram-sha-256'),
    row('host', 'all', 'all', '::1/128', 'scram-sha-256'),
    ...[...new Set(clients)].map((address) => row('hostssl', database, user, hostCidr(address), 'scram-sha-256')),
    '',
  ].join('\n');
}
