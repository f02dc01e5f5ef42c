// `slipway logs`: journald output of the app's units, each line prefixed with its process on the host.
import { quote, quoteArgv } from './shell.js';
import type { Snippet } from './command.js';

export interface LogSource {
  process: string;
  /** journalctl -u patterns: the process's service, and its slot instances (`<prefix>-web@*.service`). */
  units: string[];
}

export function journalArgv(source: LogSource, lines: number, follow: boolean): string[] {
  return ['journalctl', ...source.units.flatMap((u) => ['-u', u]), '-o', 'short-iso', '--no-pager', '-n', String(lines), ...(follow ? ['-f'] : [])];
}

/** Reads lines and writes them as `process | line`: printf, so no character of a log line is interpreted. */
const prefixLoop = (process: string) => `while IFS= read -r line || [ -n "$line" ]; do printf '%s | %s\\n' ${quote(process)} "$line"; done`;

const prefixed = (source: LogSource, lines: number, follow: boolean) => `${quoteArgv(journalArgv(source, lines, follow))} 2>&1 | ${prefixLoop(source.process)}`;

/**
 * Without follow: each process's last lines in turn. With follow: one journalctl per process in the
 * background, each in a process group of its own (setsid), so that when the script is told to stop (the
 * connection closed, or Ctrl-C) it ends each whole pipeline: no journalctl outlives the command on the host.
 */
export function journalScript(sources: readonly LogSource[], lines: number, follow: boolean): Snippet {
  if (!follow) return { shell: sources.map((s) => prefixed(s, lines, false)).join('\n') };
  return {
    shell: [
      'groups=',
      `trap 'for g in $groups; do kill -TERM -- "-$g" 2>/dev/null; done; exit 0' TERM INT HUP`,
      ...sources.map((s) => `setsid bash -c ${quote(prefixed(s, lines, true))} & groups="$groups $!"`),
      'wait',
    ].join('\n'),
  };
}
