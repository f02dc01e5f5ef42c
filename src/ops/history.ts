// The append-only deploy log on each host (.slipway/history.jsonl).
import type { Command, Snippet } from './command.js';
import type { Layout } from '../plan/layout.js';
import { quote } from './shell.js';

export interface HistoryEntry {
  at: string;
  /** `env`: an `env set`/`unset` (the key names are in `keys`; values are never recorded). */
  action: 'deploy' | 'rollback' | 'env';
  env: string;
  user: string;
  machine: string;
  from: string | null;
  to: string | null;
  sha: string | null;
  ref: string | null;
  /** `interrupted`: slipway or its connection went away mid-operation; `outcome` says what the host did then. */
  result: 'ok' | 'failed' | 'rolled-back' | 'interrupted';
  /** Written by the host itself when it repaired after a failure or an interruption. */
  outcome?: 'release-failed' | 'switched-back' | 'kept';
  duration_ms: number;
  error?: string;
  keys?: string[];
  /** A deploy by `promote`: the environment and release whose commit it shipped. */
  promoted_from?: string;
}

export function appendHistory(layout: Layout, entry: HistoryEntry): Command {
  return { argv: ['tee', '-a', layout.history], stdin: { text: `${JSON.stringify(entry)}\n` }, stdoutTo: '/dev/null' };
}

/** What the client knows of an operation before it runs: the line a host completes if it has to end it alone. */
export type PendingEntry = Omit<HistoryEntry, 'result' | 'duration_ms' | 'error' | 'outcome'>;

/**
 * For a host script's recovery: append the operation's line from the host itself, so it exists even when the
 * client is gone. The script's recovery sets $slipway_result, $slipway_outcome and $slipway_error (JSON-safe).
 * The duration counts from the client's start by the host's clock (never below 0 when the clocks disagree).
 */
export function recordFromHost(layout: Layout, entry: PendingEntry, host: string, startedMs: number): Snippet {
  const head = JSON.stringify(entry).slice(0, -1);
  const tail = `,"result":"%s","outcome":"%s","error":"%s: %s","duration_ms":%s}\\n`;
  return {
    shell: [
      `printf ${quote(`%s${tail}`)} ${quote(head)} "$slipway_result" "$slipway_outcome" ${quote(jsonText(host))} "$slipway_error" "${hostElapsed(startedMs)}" >> ${quote(layout.history)}`,
      `rm -f ${quote(layout.pendingHistory)}`,
    ].join('\n'),
  };
}

/**
 * Written at the start of each script of an operation: what the agent appends to history if slipway goes
 * away while no script runs (between two scripts, during a push), when no recovery is there to write it.
 */
export function pendingFromHost(layout: Layout, entry: PendingEntry, host: string, startedMs: number, kept = false): Snippet {
  const what = kept ? { outcome: 'kept', error: `${host}: slipway went away after the release passed its checks` } : { error: `${host}: slipway went away between two steps` };
  const line = `${JSON.stringify({ ...entry, result: 'interrupted', ...what, duration_ms: 0 }).slice(0, -2)}`;
  return { shell: `printf '%s\\n%s\\n' ${quote(line)} ${startedMs} > ${quote(layout.pendingHistory)}` };
}

/**
 * The agent's half, on an unclean end of its input: the pending line, with the duration by the host's clock.
 * `leftover`: a line an earlier agent could not finish (it was killed, the server lost power), found by the next
 * operation under the lock; its duration ends when the line was last written, not now.
 */
export function finishPending(layout: Pick<Layout, 'history' | 'pendingHistory'>, leftover = false): string {
  const pending = quote(layout.pendingHistory);
  const end = leftover ? `$(( $(stat -c %Y ${pending}) * 1000 ))` : undefined;
  return `if [ -s ${pending} ]; then { IFS= read -r head; IFS= read -r started; } < ${pending}; printf '%s%s}\\n' "$head" "${hostElapsed('$started', end)}" >> ${quote(layout.history)}; fi; rm -f ${pending}`;
}

/** Clearing the pending line once the client has written the operation's own. */
export const clearPending = (layout: Layout): Snippet => ({ shell: `rm -f ${quote(layout.pendingHistory)}` });

const jsonText = (text: string) => JSON.stringify(text).slice(1, -1);
const hostElapsed = (started: number | string, end = '$(date +%s%3N)') => `$(( slipway_ms = ${end} - ${started}, slipway_ms < 0 ? 0 : slipway_ms ))`;

export function parseHistory(text: string): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      entries.push(JSON.parse(line) as HistoryEntry);
    } catch {
      // A torn last line (a host that lost power mid-write) must not hide the rest of the log.
    }
  }
  return entries;
}
