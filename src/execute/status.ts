// `slipway status`: one read-only round trip per host (facts, units, one health request, disk, history, lock).
import { balancerTierPaths } from '../render/balancer.js';
import { balancerProbe, currentHealthProbe, servicesProbe, statusProbe } from '../ops/status.js';
import { sitePaths } from '../ops/web.js';
import type { Layout } from '../plan/layout.js';
import { parseStatus, type HostStatus } from '../plan/status.js';
import { probeHost } from './host-probe.js';
import { withHosts, type OperationContext } from './operation.js';

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
