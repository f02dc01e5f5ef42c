// What the next command says about an operation the host had to finish alone (slipway killed, the connection
// lost): the client that started it may have reported something else, or nothing at all.
import type { HostFacts } from './facts.js';

const OUTCOMES: Record<string, string> = {
  kept: 'the host kept the new release (it had passed its checks)',
  'switched-back': 'the host switched back to the previous release',
  'release-failed': 'the host marked the release failed; nothing had switched',
};

/** Host text in a message: printable characters only, cut to a length. */
const shown = (value: unknown) => String(value ?? '?').replace(/[^\x20-\x7e]/g, '?').slice(0, 200);

/** A warning when the host's last operation ended without its client, else nothing. */
export function lastOperationNotes(facts: Pick<HostFacts, 'lastOperation'>): string[] {
  const last = facts.lastOperation;
  if (last?.result !== 'interrupted') return [];
  const outcome = (last.outcome && OUTCOMES[last.outcome]) ?? 'slipway went away between two steps';
  return [`the last ${shown(last.action)} (by ${shown(last.user)}@${shown(last.machine)} at ${shown(last.at)}) was interrupted: ${outcome}${last.to ? `; ${shown(last.to)}` : ''}`];
}
