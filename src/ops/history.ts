// The append-only deploy log on each host (.slipway/history.jsonl).
import type { Command } from './command.js';
import type { Layout } from '../plan/layout.js';

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
  result: 'ok' | 'failed' | 'rolled-back';
  duration_ms: number;
  error?: string;
  keys?: string[];
}

export function appendHistory(layout: Layout, entry: HistoryEntry): Command {
  return { argv: ['tee', '-a', layout.history], stdin: { text: `${JSON.stringify(entry)}\n` }, stdoutTo: '/dev/null' };
}

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
