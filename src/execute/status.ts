// `slipway status`: one read-only round trip per host (facts, units, one health request, disk, history, lock).
import { balancerTierPaths } from '../render/balancer.js';
import { balancerProbe, currentHealthProbe, servicesProbe, statusProbe } from '../ops/status.js';
import { sitePaths } from '../ops/web.js';
import type { Layout } from '../plan/layout.js';
import { parseStatus, type HostStatus } from '../plan/status.js';
import { probeHost } from './host-probe.js';
import { gatherFacts, withHosts, type OperationContext } from './operation.js';
import { parseHistory, type HistoryEntry } from '../ops/history.js';
import { quote } from '../ops/shell.js';
import type { ReleaseFact } from '../plan/facts.js';

export async function hostStatuses(ctx: Pick<OperationContext, 'loaded' | 'only'>, layout: Layout, now: () => Date = () => new Date()): Promise<HostStatus[]> {
  const timeout = ctx.loaded.config.health.timeout;
  return withHosts(ctx, undefined, (connections) =>
    Promise.all(
      connections.map(async (c) => {
        const { lines } = await probeHost(c, layout, [servicesProbe(layout), currentHealthProbe(layout, timeout), statusProbe(layout), balancerProbe(balancerTierPaths(layout.unitPrefix).upstream, sitePaths(layout).upstream)]);
        return parseStatus({ host: c.target.label, layout, lines, now: now() });
      }),
    ),
  );
}

/** `slipway releases`: every release directory on each host, oldest first, and which one is current. */
export async function hostReleases(ctx: Pick<OperationContext, 'loaded' | 'only'>, layout: Layout): Promise<{ host: string; current: string | null; releases: ReleaseFact[] }[]> {
  return withHosts(ctx, undefined, (connections) =>
    Promise.all(
      connections.map(async (c) => {
        const facts = await gatherFacts(c, layout, undefined);
        return { host: c.target.label, current: facts.current ?? null, releases: facts.releases };
      }),
    ),
  );
}

/** `slipway history`: the last `lines` entries of each host's deploy log. */
export async function hostHistory(ctx: Pick<OperationContext, 'loaded' | 'only'>, layout: Layout, lines: number): Promise<{ host: string; entries: HistoryEntry[] }[]> {
  return withHosts(ctx, undefined, (connections) =>
    Promise.all(
      connections.map(async (c) => {
        const result = await c.session.run(`tail -n ${Math.floor(lines)} ${quote(layout.history)} 2>/dev/null || true`);
        return { host: c.target.label, entries: parseHistory(result.lines.join('\n')) };
      }),
    ),
  );
}
