// Which journald units `slipway logs [process]` reads on a host (pure).
import { UserError } from '../errors.js';
import type { LogSource } from '../ops/logs.js';
import { appServices, processOf } from './app-units.js';
import type { HostFacts } from './facts.js';
import type { Layout } from './layout.js';

/** `instances`: running slot instances (`<prefix>-web@blue.service`), whose process is `web`. */
export function logSources(input: { facts: HostFacts; layout: Pick<Layout, 'unitPrefix'>; instances: readonly string[]; process: string | undefined; label: string }): LogSource[] {
  const { facts, layout } = input;
  const plain = appServices(facts, layout).map((unit) => processOf(layout, unit));
  const slotted = input.instances.map((unit) => processOf(layout, unit).replace(/@.*$/, ''));
  const processes = [...new Set([...plain, ...slotted])].sort();
  if (input.process !== undefined && !processes.includes(input.process)) {
    const known = processes.length > 0 ? `its processes: ${processes.join(', ')}` : 'no app units are installed there';
    throw new UserError(`${input.label}: no process ${input.process} (${known})`);
  }
  return processes
    .filter((p) => input.process === undefined || p === input.process)
    .map((p) => ({
      process: p,
      units: [...(plain.includes(p) ? [`${layout.unitPrefix}-${p}.service`] : []), ...(slotted.includes(p) ? [`${layout.unitPrefix}-${p}@*.service`] : [])],
    }));
}
