// `slipway promote <from> <to>`: which commit goes to <to>, decided from what <from>'s servers say now. Only a
// commit that is live, marked ok and answering its health check on every server of <from> is promoted: the
// point is to ship exactly what was verified, so anything less is refused with the reason.
import { UserError } from '../errors.js';
import type { HostStatus } from './status.js';

export interface PromotionSource {
  env: string;
  release: string;
  sha: string;
  ref: string | null;
}

/** How the history line names where a promoted deploy came from. */
export const promotedFrom = (source: PromotionSource): string => `${source.env} ${source.release}`;

export function promotionSource(env: string, hosts: readonly HostStatus[]): PromotionSource {
  const refuse = (why: string, hint?: string): never => {
    throw new UserError(`cannot promote from ${env}: ${why}`, hint);
  };
  if (hosts.length === 0) refuse('it has no servers');
  for (const h of hosts) {
    if (!h.current) refuse(`${h.host} has no live release`, `deploy ${env} first: slipway deploy ${env}`);
    if (h.current!.status !== 'ok') refuse(`${h.host}'s live release ${h.current!.id} is ${h.current!.status}, not ok`, `deploy ${env} again, or roll it back to a good release, then promote`);
    if (!h.current!.sha) refuse(`${h.host}'s live release ${h.current!.id} records no commit`);
    if (h.health && !h.health.ok) refuse(`${h.host} fails its health check now (${h.health.url} answered ${h.health.status ?? 'nothing'}, expected ${h.health.expected})`, `see slipway status ${env}`);
  }
  const [first] = hosts;
  const others = hosts.filter((h) => h.current!.sha !== first!.current!.sha);
  if (others.length > 0) {
    refuse(`its servers run different commits (${first!.host}: ${first!.current!.sha!.slice(0, 7)}, ${others.map((h) => `${h.host}: ${h.current!.sha!.slice(0, 7)}`).join(', ')})`, `finish ${env}'s deploy first: slipway deploy ${env}`);
  }
  return { env, release: first!.current!.id, sha: first!.current!.sha!, ref: first!.current!.ref };
}
