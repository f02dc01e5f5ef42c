// PostgreSQL: role and database created idempotently, as the postgres superuser, the password on stdin only.
import type { Cmd, Command } from './command.js';

export interface DatabaseSpec {
  name: string;
  user: string;
  password: string;
}

/**
 * A command run as postgres from / (from a directory postgres may not enter, root's home, psql and pg_restore
 * print "could not change directory"): the prefix, as shell text.
 */
export const AS_POSTGRES = 'env -C / runuser -u postgres --';

const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** A dollar quote that does not occur in the body: a password containing `$$` would otherwise end the DO block. */
function dollarQuote(body: string): string {
  let tag = '$$';
  for (let n = 0; body.includes(tag); n += 1) tag = `$slipway${n}$`;
  return tag;
}

/** SQL run by `psql -v ON_ERROR_STOP=1`; identifiers are validated by the config schema (lowercase, digits, _). */
export function databaseSql({ name, user, password }: DatabaseSpec): string {
  const body = [
    `  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(user)}) THEN`,
    `    CREATE ROLE ${user} LOGIN PASSWORD ${literal(password)};`,
    '  ELSE',
    `    ALTER ROLE ${user} WITH LOGIN PASSWORD ${literal(password)};`,
    '  END IF;',
  ];
  const tag = dollarQuote(body.join('\n'));
  return [
    `DO ${tag} BEGIN`,
    ...body,
    `END ${tag};`,
    `SELECT 'CREATE DATABASE ${name} OWNER ${user}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = ${literal(name)})\\gexec`,
    '',
  ].join('\n');
}

export function ensureDatabase(spec: DatabaseSpec): Command {
  return {
    argv: ['psql', '-v', 'ON_ERROR_STOP=1', '--quiet', '--no-psqlrc'],
    user: 'postgres',
    cwd: '/',
    stdin: { text: databaseSql(spec), secret: true },
  };
}

/** pg_dump in PostgreSQL's custom format (restorable with pg_restore), written by the deploy user. */
export function backupDatabase(name: string, file: string): Cmd[] {
  return [{ argv: ['pg_dump', '-Fc', name], user: 'postgres', cwd: '/', stdoutTo: file }];
}

export function databaseUrl(spec: DatabaseSpec & { host: string; port: number }): string {
  return `postgresql://${encodeURIComponent(spec.user)}:${encodeURIComponent(spec.password)}@${spec.host}:${spec.port}/${spec.name}`;
}
