// Builders for the app's .env on a host: list its key names (values never leave the host), and rewrite it
// with some keys set or removed, atomically, keeping the previous file until the change is proven.
import { cmd, type Cmd, type Snippet } from './command.js';
import { quote } from './shell.js';

/** What `env set`/`env unset` change. Keys are checked against ENV_VAR_NAME before they get here. */
export interface EnvEdit {
  /** Lines to add, already in .env syntax (`KEY="value"`): secret, sent on stdin only. */
  lines: string;
  /** Every key set or unset: their old lines are dropped. */
  keys: readonly string[];
}

export const nextEnvFile = (envFile: string) => `${envFile}.slipway-new`;
export const previousEnvFile = (envFile: string) => `${envFile}.slipway-old`;

/** Prints `envfile present|missing`, then `envkey NAME` for each variable of the file. */
export function envKeysProbe(envFile: string): Snippet {
  const file = quote(envFile);
  const keys = String.raw`s/^[[:space:]]*\(export[[:space:]]\{1,\}\)\{0,1\}\([A-Za-z_][A-Za-z0-9_]*\)=.*/envkey \2/p`;
  return { shell: `if [ -f ${file} ]; then echo "envfile present"; sed -n ${quote(keys)} ${file}; else echo "envfile missing"; fi` };
}

/** The lines of the current file that stay: everything but the edited keys (grep exits 1 when none stay). */
function keptLines(envFile: string, keys: readonly string[]): Snippet {
  const pattern = `^[[:space:]]*(export[[:space:]]+)?(${keys.join('|')})=`;
  return { shell: `{ grep -v -E ${quote(pattern)} ${quote(envFile)} || [ $? -eq 1 ]; } >> ${quote(nextEnvFile(envFile))}` };
}

/**
 * Writes the new file next to the old one: created 0600 (app-owned) before any value goes in, the kept lines,
 * then the new lines from stdin. The current file is copied aside for the way back.
 */
export function writeNextEnvFile(envFile: string, edit: EnvEdit, owner: string | undefined): Cmd[] {
  const next = nextEnvFile(envFile);
  const ownership = owner ? ['-o', owner, '-g', owner] : [];
  const commands: Cmd[] = [
    cmd('install', '-m', '600', ...ownership, '/dev/null', next),
    { if: cmd('test', '-f', envFile), then: [keptLines(envFile, edit.keys), cmd('cp', '-p', envFile, previousEnvFile(envFile))], else: [] },
  ];
  if (edit.lines) commands.push({ argv: ['tee', '-a', next], stdin: { text: edit.lines.endsWith('\n') ? edit.lines : `${edit.lines}\n`, secret: true }, stdoutTo: '/dev/null' });
  return commands;
}

/** The rename that makes the new file the app's: atomic, the file is never half-written. */
export function replaceEnvFile(envFile: string): Cmd {
  return cmd('mv', '-f', nextEnvFile(envFile), envFile);
}

/** Back to the file as it was before the change (none, if there was none). */
export function restoreEnvFile(envFile: string): Cmd {
  const previous = previousEnvFile(envFile);
  return { if: cmd('test', '-f', previous), then: [cmd('mv', '-f', previous, envFile)], else: [cmd('rm', '-f', envFile)] };
}

export function discardEnvFiles(envFile: string, which: 'next' | 'previous' | 'both'): Cmd {
  const files = which === 'both' ? [nextEnvFile(envFile), previousEnvFile(envFile)] : [which === 'next' ? nextEnvFile(envFile) : previousEnvFile(envFile)];
  return cmd('rm', '-f', ...files);
}
