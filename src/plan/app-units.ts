// The app's systemd services on a host, as `env set`, `status` and `logs` act on them: what the current
// release's manifest recorded (exactly this app's units), else the installed `<prefix>-*.service` files.
import type { HostFacts, ReleaseManifest } from './facts.js';
import type { Layout } from './layout.js';

export function currentManifest(facts: HostFacts): ReleaseManifest | undefined {
  return facts.releases.find((r) => r.id === facts.current)?.manifest;
}

export function appServices(facts: HostFacts, layout: Pick<Layout, 'unitPrefix'>): string[] {
  const recorded = currentManifest(facts)?.units;
  if (recorded) return recorded;
  return Object.keys(facts.units)
    .filter((name) => name.startsWith(`${layout.unitPrefix}-`) && name.endsWith('.service'))
    .sort();
}

/** `shop-web.service` → `web`. */
export function processOf(layout: Pick<Layout, 'unitPrefix'>, unit: string): string {
  const prefix = `${layout.unitPrefix}-`;
  const base = unit.endsWith('.service') ? unit.slice(0, -'.service'.length) : unit;
  return base.startsWith(prefix) ? base.slice(prefix.length) : base;
}
