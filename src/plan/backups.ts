// Backups as slipway sees them (pure): the listing parsed, a name given by the user resolved, the scratch
// database of a check named, and a check's counts compared.
import { UserError } from '../errors.js';
import { BACKUP_KINDS, type BackupKind } from '../render/backup.js';

export interface BackupFile {
  /** File name in shared/backups. */
  name: string;
  path: string;
  size: number;
  /** Modification time. */
  at: Date;
  kind: BackupKind;
  format: 'dump' | 'sql.gz';
}

export function backupKind(name: string): BackupKind {
  const base = name.replace(/\.(dump|sql\.gz)$/, '');
  return BACKUP_KINDS.find((kind) => base.endsWith(`-${kind}`)) ?? 'other';
}

/** Parses `backup SIZE MTIME PATH` lines; newest first. */
export function parseBackups(output: string): BackupFile[] {
  const files: BackupFile[] = [];
  for (const line of output.split('\n')) {
    const match = /^backup (\d+) (\d+) (.+)$/.exec(line.trim());
    if (!match) continue;
    const path = match[3]!;
    const name = path.slice(path.lastIndexOf('/') + 1);
    files.push({ name, path, size: Number(match[1]), at: new Date(Number(match[2]) * 1000), kind: backupKind(name), format: name.endsWith('.dump') ? 'dump' : 'sql.gz' });
  }
  return files.sort((a, b) => b.at.getTime() - a.at.getTime() || b.name.localeCompare(a.name));
}

const DUMP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.dump$/;

/** A dump named by its file name, or a unique prefix of it (`20261122T0315`), or `latest`. */
export function resolveBackup(requested: string, files: readonly BackupFile[]): BackupFile {
  const dumps = files.filter((f) => f.format === 'dump');
  if (requested === 'latest') {
    if (!dumps[0]) throw new UserError('there are no backups yet', 'make one: slipway backup <env>');
    return dumps[0];
  }
  const name = requested.slice(requested.lastIndexOf('/') + 1);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UserError(`${requested} is not a backup name`, 'see `slipway backups <env>`');
  const exact = dumps.find((f) => f.name === name || f.name === `${name}.dump`);
  if (exact) return exact;
  const matches = dumps.filter((f) => f.name.startsWith(name));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new UserError(`no backup ${requested}`, 'see `slipway backups <env>`');
  throw new UserError(`${requested} matches ${matches.length} backups: ${matches.map((m) => m.name).join(', ')}`, 'give more of the name');
}

export const isDumpName = (name: string) => DUMP_NAME.test(name);

/** `<db>_verify_<UTC stamp>`, within PostgreSQL's 63-byte identifiers. */
export function scratchDatabase(database: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15).toLowerCase();
  return `${database.slice(0, 63 - '_verify_'.length - stamp.length)}_verify_${stamp}`;
}

export interface TableCheck {
  table: string;
  /** Rows in the dump (undefined: the table is not in it). */
  dump?: number;
  /** Rows after the restore (undefined: the table was not restored). */
  restored?: number;
}

export interface VerifyResult {
  ok: boolean;
  tables: TableCheck[];
  problems: string[];
}

/** Compares `dump TABLE N` and `restored TABLE N` lines: every table of the dump restored, with as many rows. */
export function compareCounts(lines: readonly string[]): VerifyResult {
  const byTable = new Map<string, TableCheck>();
  const entry = (table: string) => byTable.get(table) ?? byTable.set(table, { table }).get(table)!;
  for (const line of lines) {
    const match = /^(dump|restored) (.+) (\d+)$/.exec(line.trim());
    if (!match) continue;
    const check = entry(match[2]!);
    if (match[1] === 'dump') check.dump = Number(match[3]);
    else check.restored = Number(match[3]);
  }
  const tables = [...byTable.values()].sort((a, b) => a.table.localeCompare(b.table));
  const problems: string[] = [];
  for (const t of tables) {
    if (t.dump === undefined) problems.push(`${t.table}: restored, but the dump has no data for it`);
    else if (t.restored === undefined) problems.push(`${t.table}: in the dump, but not restored`);
    else if (t.dump !== t.restored) problems.push(`${t.table}: ${t.dump} rows in the dump, ${t.restored} restored`);
  }
  return { ok: problems.length === 0, tables, problems };
}
