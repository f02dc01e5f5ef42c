// Where a configuration problem is (file:line:column and key path) and how it is printed, shared by the
// parser, the schema check and the cross-field rules so every config error reads the same.
import { UserError } from '../errors.js';

export interface Loc {
  file: string;
  line: number;
  col: number;
}

export interface Diagnostic {
  loc: Loc;
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export function formatLoc(loc: Loc): string {
  return `${loc.file}:${loc.line}:${loc.col}`;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${formatLoc(d.loc)}: ${d.path || '(top level)'}: ${d.message}`;
}

/** A value quoted for a one-line message: long ones are cut, so a megabyte string cannot flood the terminal. */
export function shown(value: string): string {
  return value.length > 80 ? `${JSON.stringify(value.slice(0, 60))}... (${value.length} characters)` : JSON.stringify(value);
}

/** Key paths as users read them: `servers[0].host` (an absurdly long key is shown cut). */
export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const name = key.length > 80 ? `${key.slice(0, 60)}...` : key;
  return path ? `${path}.${name}` : name;
}

/** One or more config problems, kept as data so the CLI can print each on its own line. */
export class ConfigError extends UserError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'ConfigError';
  }
}

/** A single error: the shape of every limit breach and refused value found while reading. */
export function configError(loc: Loc, path: string, message: string): ConfigError {
  return new ConfigError([{ loc, path: path || '(top level)', message, severity: 'error' }]);
}

/** The first problems and a count of the rest: ten thousand unknown keys need not print ten thousand lines. */
const SHOWN = 50;
export function configErrors(errors: Diagnostic[]): ConfigError {
  const last = errors[SHOWN - 1];
  if (errors.length <= SHOWN || !last) return new ConfigError(errors);
  return new ConfigError([...errors.slice(0, SHOWN), { ...last, message: `and ${errors.length - SHOWN} more problems like these` }]);
}
