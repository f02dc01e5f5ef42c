// Which journald units `slipway logs [process]` reads on a host (pure).
import { UserError } from '../errors.js';
import type { LogSource } from '../ops/logs.js';
import { appServices, processOf } from './app-units.js';
import type { HostFacts } from './facts.js';
import type { Layout } from './layout.js';

/** The app's processes on a host: its services, and running slot instances (`<prefix>-web@blue.service`) as `web`. */
function processesOf(input: { facts: HostFacts; layout: Pick<Layout, 'unitPrefix'>; instances: readonly string[] }) {
  const plain = appServices(input.facts, input.layout).map((unit) => processOf(input.layout, unit));
  const slotted = input.instances.map((unit) => processOf(input.layout, unit).replace(/@.*$/, ''));
  return { plain, slotted, all: [...new Set([...plain, ...slotted])].sort() };
}

export interface LogHost {
  facts: HostFacts;
  layout: Pick<Layout, 'unitPrefix'>;
  instances: readonly string[];
  label: string;
}

/**
 * Which units each host's journal is read for. Hosts without the process (or with none: a database server)
 * have nothing to read; only when no host has the process asked for is it an error.
 */
export function logSources(hosts: readonly LogHost[], process: string | undefined): LogSource[][] {
  const found = hosts.map(processesOf);
  if (process !== undefined && !found.some((f) => f.all.includes(process))) {
    const known = hosts.map((h, i) => `${h.label}: ${found[i]!.all.length > 0 ? found[i]!.all.join(', ') : 'no app units installed'}`).join('; ');
    throw new UserError(`no server runs a process ${process} (${known})`);
  }
  return found.map(({ plain, slotted, all }, i) =>
    all
      .filter((p) => process === undefined || p === process)
      .map((p) => ({
        process: p,
        units: [...(plain.includes(p) ? [`${hosts[i]!.layout.unitPrefix}-${p}.service`] : []), ...(slotted.includes(p) ? [`${hosts[i]!.layout.unitPrefix}-${p}@*.service`] : [])],
      })),
  );
}
