// One read-only round trip for the day-2 commands: a command's own probe lines, then the facts probe.
import { CommandFailedError } from '../errors.js';
import type { Snippet } from '../ops/command.js';
import { factsProbe, type ProbeWants } from '../ops/probe.js';
import { parseFacts, type HostFacts } from '../plan/facts.js';
import type { Layout } from '../plan/layout.js';
import type { HostConnection } from './connection.js';

export interface Probed {
  facts: HostFacts;
  /** Every output line: the command's own records sit beside the facts records, with kinds of their own. */
  lines: string[];
}

/** `extra` runs in a subshell first: the facts probe ends early (exit 0) on a host that never saw the app. */
export async function probeHost(connection: HostConnection, layout: Layout, extra: Snippet[], wants: ProbeWants = {}): Promise<Probed> {
  const script = [...extra.map((s) => `(\n${s.shell}\n)`), factsProbe(layout, undefined, wants).shell].join('\n');
  const result = await connection.session.run(script);
  if (result.code !== 0) throw new CommandFailedError(connection.target.label, 'Read the host state', 'read-only probe', result.code, result.lines.slice(-10));
  return { facts: parseFacts(result.lines.join('\n')), lines: result.lines };
}

/** `envfile missing` → undefined; else the key names of the app's .env (see envKeysProbe). */
export function envKeysFrom(lines: readonly string[]): string[] | undefined {
  if (lines.includes('envfile missing') || !lines.includes('envfile present')) return undefined;
  return [...new Set(lines.filter((l) => l.startsWith('envkey ')).map((l) => l.slice('envkey '.length)))].sort();
}
