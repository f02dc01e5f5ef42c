// Builders for a database server (role db) and for reaching it from an app server: PostgreSQL's drop-in and
// pg_hba.conf checked by PostgreSQL itself before they count, its TLS certificate, the reload or restart that
// applies them and the check that it did; a pg_dump over the network; ufw rules for the app servers.
import { cmd, unless, type Cmd, type Command } from './command.js';
import { installConfigFile, type ConfigFile } from './config-file.js';
import { quote } from './shell.js';

const psql = (sql: string): Command => ({ argv: ['psql', '-AtXq', '-v', 'ON_ERROR_STOP=1', '-d', 'postgres', '-c', sql], user: 'postgres', cwd: '/' });

/** Succeeds when `sql` (one value) prints exactly `expected`. */
function psqlSays(sql: string, expected: string): Cmd {
  return { shell: `[ "$(cd / && sudo -n -H -u postgres -- psql -AtXq -d postgres -c ${quote(sql)})" = ${quote(expected)} ]` };
}

/**
 * pg_file_settings and pg_hba_file_rules read the files as they are now: errors show before a reload applies
 * them. A setting that needs a restart (listen_addresses) shows as "could not be applied" until then: not an error.
 */
const confIsValid = psqlSays("SELECT count(*) FROM pg_file_settings WHERE error IS NOT NULL AND error <> 'setting could not be applied'", '0');
const hbaIsValid = psqlSays('SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL', '0');

export interface PostgresConfFiles {
  dropIn: ConfigFile;
  /** postgresql.conf, which must read conf.d (Debian's does: `include_dir = 'conf.d'`). */
  mainConf: string;
}

export function postgresConf({ dropIn, mainConf }: PostgresConfFiles): Cmd[] {
  return installConfigFile(dropIn, {
    prepare: [unless({ argv: ['grep', '-qE', "^[[:space:]]*include_dir[[:space:]]*=[[:space:]]*'conf\\.d'", mainConf] }, { argv: ['tee', '-a', mainConf], stdin: { text: "include_dir = 'conf.d'\n" }, stdoutTo: '/dev/null' })],
    check: confIsValid,
    message: 'PostgreSQL refused the new settings (see pg_file_settings)',
  });
}

export function pgHba(file: ConfigFile): Cmd[] {
  return installConfigFile(file, { check: hbaIsValid, message: 'PostgreSQL refused the new pg_hba.conf (see pg_hba_file_rules)' });
}

/** An earlier local-only setup set listen_addresses with ALTER SYSTEM, which would win over the drop-in. */
export const resetListenAddresses = (): Command => psql('ALTER SYSTEM RESET listen_addresses');

/** A self-signed certificate for the server's address, made once: clients use sslmode=require (encryption). */
export function serverCertificate({ cert, key, address }: { cert: string; key: string; address: string }): Cmd {
  const dir = cert.slice(0, cert.lastIndexOf('/'));
  const san = `subjectAltName=IP:${address}`;
  return {
    if: { shell: `[ -s ${quote(cert)} ] && [ -s ${quote(key)} ]` },
    then: [],
    else: [
      cmd('install', '-d', '-m', '755', dir),
      { argv: ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', `/CN=${address}`, '-addext', san, '-keyout', key, '-out', cert], quiet: true },
      cmd('chown', 'postgres:postgres', key, cert),
      cmd('chmod', '600', key),
    ],
  };
}

/**
 * listen_addresses takes effect only at a restart; ssl, its files and pg_hba.conf at a reload. Either way the
 * result is read back: a server that kept its old address would let the deploy go on against nothing.
 */
export function applyPostgres({ restart, listen }: { restart: boolean; listen: string }): Cmd[] {
  return [
    restart ? cmd('systemctl', 'restart', 'postgresql') : cmd('systemctl', 'reload', 'postgresql'),
    // A restart returns before the cluster accepts connections.
    { shell: 'for i in $(seq 1 50); do pg_isready -q && break; sleep 0.2; done' },
    { if: psqlSays("SELECT current_setting('listen_addresses') || ' ' || current_setting('ssl')", `${listen} on`), then: [], else: [cmd('echo', `PostgreSQL does not listen on ${listen} with ssl on after the change`), cmd('false')] },
  ];
}

export interface RemoteDatabase {
  host: string;
  port: number;
  name: string;
  user: string;
  password: string;
  /** libpq's sslmode: require for a db server, as the URL says for an external one. */
  sslmode?: string;
}

/** pg_dump -Fc over the network; the password comes on stdin into PGPASSWORD, never onto a command line. */
export function remoteDump(db: RemoteDatabase, file: string): Command {
  return {
    argv: ['bash', '-c', 'IFS= read -r PGPASSWORD; export PGPASSWORD; exec pg_dump "$@"', 'pg_dump', '-Fc', '-h', db.host.replace(/^\[|\]$/g, ''), '-p', String(db.port), '-U', db.user, '-d', db.name],
    ...(db.sslmode ? { env: { PGSSLMODE: db.sslmode } } : {}),
    stdin: { text: `${db.password}\n`, secret: true },
    stdoutTo: file,
  };
}

/** ufw: `port` open to these addresses only (ufw's default denies the rest). */
export const allowFrom = (port: number, addresses: readonly string[]): Cmd[] => addresses.map((a) => cmd('ufw', 'allow', 'from', a, 'to', 'any', 'port', String(port), 'proto', 'tcp'));
