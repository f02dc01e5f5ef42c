// `slipway logs`: journald output of the app's units (or, under supervisor, its programs' log files), each
// line prefixed with its process on the host.
import { quote, quoteArgv } from './shell.js';
import type { Snippet } from './command.js';

export interface LogSource {
  process: string;
  /** journalctl -u patterns: the process's service, and its slot instances (`<prefix>-web@*.service`). */
  units: string[];
  /** Under supervisor: the log files its programs write instead (render/supervisor.ts). */
  files?: string[];
}

/** What to read of each process's journal. */
export interface JournalQuery {
  lines: number;
  follow: boolean;
  /** journalctl's own form, already checked (plan/logs.ts journalSince): `-10min`, `2026-12-03 08:00:00`. */
  since?: string;
  /** journalctl --grep: a PCRE2 pattern, case-insensitive unless it has a capital letter. */
  grep?: string;
  /** One journal entry per line as journalctl's JSON, turned into slipway's own by the client (plan/logs.ts). */
  json?: boolean;
}

export function journalArgv(source: LogSource, query: JournalQuery): string[] {
  return [
    'journalctl',
    ...source.units.flatMap((u) => ['-u', u]),
    '-o', query.json ? 'json' : 'short-iso',
    '--no-pager',
    ...(query.since ? ['--since', query.since] : ['-n', String(query.lines)]),
    ...(query.grep !== undefined ? ['--grep', query.grep] : []),
    ...(query.follow ? ['-f'] : []),
  ];
}

/** Reads lines and writes them as `process | line`: printf, so no character of a log line is interpreted. */
const prefixLoop = (process: string) => `while IFS= read -r line || [ -n "$line" ]; do printf '%s | %s\\n' ${quote(process)} "$line"; done`;

/**
 * A supervisor program's log, as journalctl would give it: the last lines (of those matching --grep), then,
 * following, what is written from then on (tail -F: across supervisor's rotations).
 */
export function programLogCommand(files: readonly string[], query: Pick<JournalQuery, 'lines' | 'follow' | 'grep'>): string {
  const existing = `set --; for f in ${files.map(quote).join(' ')}; do [ -f "$f" ] && set -- "$@" "$f"; done; [ "$#" -gt 0 ] || exit 0`;
  // grep finding nothing is no failure of the command; like journalctl's, the pattern ignores case unless it has a capital.
  const grep = query.grep === undefined ? '' : `grep -a${query.follow ? ' --line-buffered' : ''}${/[A-Z]/.test(query.grep) ? '' : ' -i'} -P -- ${quote(query.grep)}`;
  const read = query.follow ? `tail -q -n ${query.lines} -F "$@"` : query.grep === undefined ? `tail -q -n ${query.lines} "$@"` : 'cat "$@"';
  const lines = grep === '' ? read : query.follow ? `${read} | { ${grep} || [ "$?" = 1 ]; }` : `{ ${read} | ${grep} || [ "$?" = 1 ]; } | tail -n ${query.lines}`;
  return `( ${existing}; ${lines} )`;
}

const prefixed = (source: LogSource, query: JournalQuery) =>
  `${source.files ? programLogCommand(source.files, query) : quoteArgv(journalArgv(source, query))} 2>&1 | ${prefixLoop(source.process)}`;

/**
 * Without follow: each process's last lines in turn. With follow: one journalctl per process in the
 * background, each in a process group of its own (setsid), so that when the script is told to stop (the
 * connection closed, or Ctrl-C) it ends each whole pipeline: no journalctl outlives the command on the host.
 */
export function journalScript(sources: readonly LogSource[], query: JournalQuery): Snippet {
  if (!query.follow) return { shell: sources.map((s) => prefixed(s, query)).join('\n') };
  return {
    shell: [
      'groups=',
      `trap 'for g in $groups; do kill -TERM -- "-$g" 2>/dev/null; done; exit 0' TERM INT HUP`,
      ...sources.map((s) => `setsid bash -c ${quote(prefixed(s, query))} & groups="$groups $!"`),
      'wait',
    ].join('\n'),
  };
}
