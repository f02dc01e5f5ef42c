// Builders for backups on a host: make one (through the same script the timer runs), list them, check one by
// restoring it into a scratch database, restore one into the live database. Run as root.
import { cmd, type Cmd, type Snippet } from './command.js';
import { installConfigFile } from './config-file.js';
import { quote } from './shell.js';
import { AS_POSTGRES } from './postgres.js';
import { backupScriptPath, renderBackupScript, type BackupSpec } from '../render/backup.js';

/** Writes the script the timer runs (so a config change reaches the timer too) and runs it. */
export function runBackup(spec: BackupSpec, kind: 'manual' | 'pre-restore'): Cmd[] {
  const path = backupScriptPath(spec.prefix);
  return [...installConfigFile({ path, text: renderBackupScript(spec), mode: '755' }), cmd(path, kind)];
}

/** `backup SIZE MTIME PATH` for each dump and plain SQL file. */
export function listBackups(dir: string): Snippet {
  return { shell: `for f in ${quote(dir)}/*.dump ${quote(dir)}/*.sql.gz; do if [ -f "$f" ]; then stat -c 'backup %s %Y %n' "$f"; fi; done` };
}


/**
 * Table counts inside a dump: pg_restore turns its data into SQL, where each table's rows are the lines of one
 * COPY block (COPY's text format escapes newlines in values). A damaged dump fails here, or in the restore.
 */
function dumpCounts(file: string): string {
  return `${AS_POSTGRES} pg_restore --data-only -f - < ${quote(file)} | awk '/^COPY / { t = substr($0, 6); sub(/ (\\(.*\\) )?FROM stdin;$/, "", t); n = 0; copying = 1; next } copying && /^\\\\\\.$/ { print "dump " t " " n; copying = 0; next } copying { n++ }'`;
}

/** Rows of every table of a database (ONLY: a parent's count must not include its children's rows). */
function restoredCounts(database: string): string {
  const sql =
    "SELECT format('SELECT %L, count(*) FROM ONLY %s', q, q) FROM (SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS q " +
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%') t \\gexec";
  return `printf '%s\\n' ${quote(sql)} | ${AS_POSTGRES} psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 -d ${quote(database)} | sed 's/^/restored /'`;
}

/**
 * Restores a dump into a new scratch database and prints the row count of every table, from the dump and from
 * the restored database, for the caller to compare. The scratch database is dropped whatever happens.
 */
export function verifyBackup(file: string, scratch: string): Cmd[] {
  const script = [
    `test -f ${quote(file)} || { echo ${quote(`no such backup: ${file}`)}; exit 1; }`,
    '(',
    '  cd /',
    `  trap '${AS_POSTGRES} dropdb --if-exists ${scratch} >/dev/null 2>&1 || true' EXIT`,
    `  ${AS_POSTGRES} createdb ${quote(scratch)}`,
    `  ${dumpCounts(file)}`,
    // --no-owner: the dump may come from a server where the app's role has another name, or none.
    `  ${AS_POSTGRES} pg_restore --no-owner --no-privileges --exit-on-error -d ${quote(scratch)} < ${quote(file)}`,
    `  ${restoredCounts(scratch)}`,
    ')',
  ];
  return [{ shell: script.join('\n') }];
}


/**
 * Replaces the live database's contents with a dump's, in one transaction: if anything fails, the database is
 * left as it was. Objects the dump does not have (tables created since) stay.
 */
export function restoreLive(file: string, database: string): Cmd[] {
  return [
    cmd('test', '-f', file),
    { shell: `(cd / && ${AS_POSTGRES} pg_restore --clean --if-exists --single-transaction --exit-on-error -d ${quote(database)} < ${quote(file)})` },
  ];
}
