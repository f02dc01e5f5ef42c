// Units a host stops running with a change (a process removed, moved away by roles, a singleton placed
// elsewhere), and singletons it starts only once every host has committed: so one never runs on two servers.
import { cmd, type Cmd, type Step } from '../ops/command.js';
import { writeFile } from '../ops/files.js';
import type { ServerConfig } from '../config/types.js';
import type { HostFacts } from './facts.js';
import type { Layout } from './layout.js';
import type { ProcessManager } from '../ops/process-manager.js';
import { serverLabel, type Placement } from './topology.js';

/**
 * This app's services installed on the host: unit files that one of its releases ran (as its manifest lists).
 * Installed files alone would also match another app's units sharing the prefix (`shop-staging-x-web` under
 * `shop-*`); blue/green slot templates and the app target are never stopped by name.
 */
export function ownedServices(facts: HostFacts): string[] {
  const recorded = new Set(facts.releases.flatMap((r) => r.manifest?.units ?? []));
  return Object.keys(facts.units)
    .filter((unit) => recorded.has(unit) && unit.endsWith('.service') && !unit.includes('@'))
    .sort();
}

export interface Retired {
  unit: string;
  /** Why it stops here, for the step title: "the scheduler process runs on web1 now". */
  why: string;
}

/** Before the switch: stopped and disabled, so no copy of a singleton runs while another host starts it. */
export function retireSteps(manager: ProcessManager, retired: readonly Retired[]): Step[] {
  if (retired.length === 0) return [];
  const title = `Stop ${retired.map((r) => `${r.unit} (${r.why})`).join('; ')}`;
  return [{ id: 'retire', title, commands: manager.disable(retired.map((r) => r.unit), true) }];
}

/** Recovery before and after the switch: what was retired runs again. */
export function unretireSteps(manager: ProcessManager, retired: readonly Retired[]): Step[] {
  if (retired.length === 0) return [];
  const units = retired.map((r) => r.unit);
  return [{ id: 'unretire', title: `Start ${units.join(' ')} again`, commands: manager.enable(units, true) }];
}

/**
 * A singleton new on this host starts only at commit, once every host passed its checks and those that ran
 * it have stopped it; until then a failure anywhere leaves it where it ran (its unit, enabled by the install,
 * is disabled again by the recovery).
 */
export function startSingletons(manager: ProcessManager, units: readonly string[], label: string, names: readonly string[]): Step[] {
  if (units.length === 0) return [];
  return [{ id: 'singleton', title: `Start ${units.join(' ')}: the ${names.join(', ')} process (singleton) runs on ${label}`, commands: manager.enable(units, true) }];
}

export const disableSingletons = (manager: ProcessManager, units: readonly string[]): Step[] =>
  units.length === 0 ? [] : [{ id: 'singleton-off', title: `Disable ${units.join(' ')}: it did not run here`, commands: manager.disable(units, false) }];

/** What the next deploy needs to find a singleton's server, even once that server left the config. */
export interface RecordedServer {
  server: string;
  host?: string;
  sandbox?: string;
  user?: string;
  port?: number;
}

export const singletonsFile = (layout: Pick<Layout, 'meta'>) => `${layout.meta}/singletons`;

/** One line per singleton: `<process> <server as JSON>` (the facts probe prefixes each with `singleton`). */
export function singletonRecord(placement: Placement, servers: readonly ServerConfig[]): string {
  const lines = Object.entries(placement).map(([process, label]) => {
    const s = servers.find((server) => serverLabel(server) === label);
    const server: RecordedServer = { server: label, ...(s?.host ? { host: s.host } : {}), ...(s?.sandbox ? { sandbox: s.sandbox } : {}), ...(s?.user ? { user: s.user } : {}), ...(s?.port ? { port: s.port } : {}) };
    return `${process} ${JSON.stringify(server)}\n`;
  });
  return lines.join('');
}

/** The commit's record of where singletons run, on every host (or its removal once there are none). */
export function recordSingletons(layout: Pick<Layout, 'meta'>, record: string, recorded: boolean): Cmd[] {
  if (record === '') return recorded ? [cmd('rm', '-f', singletonsFile(layout))] : [];
  return writeFile({ path: singletonsFile(layout), text: record });
}
