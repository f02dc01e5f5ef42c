// The database backup as it runs on a server: one script (used by the timer and by `slipway backup` alike, so
// both make the same dumps and apply the same retention) and the systemd service and timer that run it.
import type { Layout } from '../plan/layout.js';
import { quote } from '../ops/shell.js';
import { copyScriptPath } from './backup-copies.js';

export interface BackupSpec {
  /** The app's database. */
  database: string;
  /** shared/backups of the app. */
  dir: string;
  retentionDays: number;
  /** Also write a gzip'd plain SQL dump next to each custom-format dump. */
  plainSql: boolean;
  /** Unit and script names: `<prefix>-backup`. */
  prefix: string;
  /** backups.copy_to: the script that copies the dumps off the server, run after each backup. */
  copyScript?: string;
}

/** Kinds of dumps, from the end of their names: the deploy writes `<release>-pre-migrate.dump`, a point-in-time restore `-pitr.dump`. */
export const BACKUP_KINDS = ['manual', 'timer', 'pre-restore', 'pre-migrate', 'pitr'] as const;
export type BackupKind = (typeof BACKUP_KINDS)[number] | 'other';

export const backupScriptPath = (prefix: string) => `/usr/local/lib/slipway/${prefix}-backup.sh`;
export const backupUnit = (prefix: string) => `${prefix}-backup.service`;
export const backupTimer = (prefix: string) => `${prefix}-backup.timer`;

export function backupSpec(layout: Layout, database: string, backups: { retention_days: number; plain_sql_gzip: boolean; copy_to: readonly unknown[] }): BackupSpec {
  const copies = backups.copy_to.length > 0 ? { copyScript: copyScriptPath(layout.unitPrefix) } : {};
  return { database, dir: `${layout.shared}/backups`, retentionDays: backups.retention_days, plainSql: backups.plain_sql_gzip, prefix: layout.unitPrefix, ...copies };
}

export function renderBackupScript(spec: BackupSpec): string {
  const plain = spec.plainSql
    ? ['runuser -u postgres -- pg_dump --no-password "$db" | gzip -c > "$sql.partial"', 'mv "$sql.partial" "$sql"']
    : [];
  return [
    '#!/bin/bash',
    `# Written by slipway: backs up the PostgreSQL database ${spec.database} into ${spec.dir}, then deletes dumps`,
    `# older than ${spec.retentionDays} days (never the newest). Run by ${backupTimer(spec.prefix)}, and by \`slipway backup\`.`,
    '# Usage: $0 [timer|manual|pre-restore]   (the kind ends the dump\'s name)',
    'set -euo pipefail',
    'kind=${1:-timer}',
    'case "$kind" in timer | manual | pre-restore) ;; *) echo "usage: $0 [timer|manual|pre-restore]" >&2; exit 2 ;; esac',
    `dir=${quote(spec.dir)}`,
    `db=${quote(spec.database)}`,
    `keep_days=${spec.retentionDays}`,
    // pg_dump runs as postgres, which may not enter the caller's directory.
    'cd /',
    // A dump holds every row of the app: readable by root only, like .env.
    'umask 077',
    'install -d -m 700 "$dir"',
    'file="$dir/$(date -u +%Y%m%dT%H%M%S.%3NZ)-$kind.dump"',
    'sql="${file%.dump}.sql.gz"',
    'trap \'rm -f "$file.partial" "$sql.partial"\' EXIT',
    // Two backups within a millisecond must not write the same file.
    'set -o noclobber',
    'runuser -u postgres -- pg_dump --no-password -Fc "$db" > "$file.partial"',
    ...plain,
    // Renamed only once complete: a dump under its final name is always whole.
    'mv "$file.partial" "$file"',
    'echo "backup $file $(stat -c %s "$file")"',
    '# Retention: every file older than keep_days goes, except the newest dump (and its .sql.gz) whatever its age.',
    'newest=$(ls -1t "$dir"/*.dump | sed -n 1p)',
    'find "$dir" -maxdepth 1 -type f \\( -name \'*.dump\' -o -name \'*.sql.gz\' \\) -mmin +$((keep_days * 1440)) | sort | while IFS= read -r old; do',
    '  case "$old" in "$newest" | "${newest%.dump}.sql.gz") continue ;; esac',
    '  rm -f -- "$old"',
    '  echo "expired $old"',
    'done',
    ...copyLines(spec),
    '',
  ].join('\n');
}

/** The dump is made whatever happens to its copies; a copy that failed makes the run fail (exit 3), for the timer's unit to show. */
function copyLines(spec: BackupSpec): string[] {
  if (!spec.copyScript) return [];
  const script = quote(spec.copyScript);
  return [`[ -x ${script} ] || { echo "copy-failed backups.copy_to: ${spec.copyScript} is missing: run slipway setup"; exit 3; }`, `exec ${script}`];
}

export function renderBackupService(spec: BackupSpec): string {
  return [
    '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
    '[Unit]',
    `Description=Back up the ${spec.database} database (slipway)`,
    'After=postgresql.service',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${backupScriptPath(spec.prefix)} timer`,
    // A backup must not slow the app down: it yields CPU and disk to everything else.
    'Nice=10',
    'IOSchedulingClass=idle',
    '',
  ].join('\n');
}

export function renderBackupTimer(spec: BackupSpec, schedule: string): string {
  return [
    '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
    '[Unit]',
    `Description=Back up the ${spec.database} database on schedule (slipway)`,
    '',
    '[Timer]',
    `OnCalendar=${schedule}`,
    // A server that was off at the scheduled time backs up when it comes back.
    'Persistent=true',
    'RandomizedDelaySec=10min',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}
