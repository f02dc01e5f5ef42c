// A deploy's handover on one host: the units it stops running (retired before the switch, back on failure,
// their files removed at commit) and the singletons it takes over (started at commit, once every host passed).
import type { Cmd, Step } from '../ops/command.js';
import { managerOf } from '../ops/managers.js';
import { currentManifest, processOf } from './app-units.js';
import type { HostFacts } from './facts.js';
import { disableSingletons, ownedServices, recordSingletons, retireSteps, startSingletons, unretireSteps, type Retired } from './handover.js';
import type { Layout } from './layout.js';
import type { Processes } from './processes.js';
import type { Target } from './target.js';
import type { Placement } from './topology.js';

/** Where singletons run across the environment, and the record of it every host keeps. */
export interface HostTopology {
  placement: Placement;
  /** `.slipway/singletons` as the commit writes it (empty: no singletons). */
  record: string;
}

export interface HandoverInput {
  layout: Layout;
  target: Target;
  facts: HostFacts;
  processes: Processes;
  /** Services the new release runs on this host. */
  services: readonly string[];
  topology: HostTopology;
  /** Units another part of the plan stops itself (the in-place web service on a move to blue/green). */
  handledElsewhere: readonly string[];
}

export interface Handover {
  /** Services restarted by the switch: the new ones minus singletons that only start at commit. */
  restarted: string[];
  beforeSwitch: Step[];
  recovery: Step[];
  commit: Step[];
  /** The commit's effect, for a host that stops after the commit point: the singletons it takes over start. */
  interrupted: Cmd[];
}

export function deployHandover(input: HandoverInput): Handover {
  const { layout, target, facts, processes, services, topology } = input;
  const why = (unit: string) => {
    const process = processOf(layout, unit);
    const config = processes[process];
    if (!config) return 'no longer in the config';
    if (config.singleton) return `the ${process} process (singleton) moves to ${topology.placement[process] ?? 'no server'}`;
    return `not for this server's roles: ${target.roles.join(', ')}`;
  };
  const retired: Retired[] = ownedServices(facts)
    .filter((unit) => !services.includes(unit) && !input.handledElsewhere.includes(unit))
    .map((unit) => ({ unit, why: why(unit) }));
  const ranBefore = facts.current ? (currentManifest(facts)?.units ?? Object.keys(facts.units)) : [];
  const added = services.filter((unit) => !ranBefore.includes(unit));
  const isSingleton = (unit: string) => processes[processOf(layout, unit)]?.singleton === true;
  const takenOver = added.filter(isSingleton);
  // A unit disabled by an earlier rollback and unchanged since is not enabled again by the install.
  const reenable = added.filter((unit) => !isSingleton(unit) && facts.units[unit] !== undefined);
  const manager = managerOf(layout);
  const beforeSwitch = [...retireSteps(manager, retired)];
  if (reenable.length > 0) beforeSwitch.push({ id: 'enable', title: `Enable ${reenable.join(' ')}: it runs here again`, commands: manager.enable(reenable, false) });
  const start = startSingletons(manager, takenOver, target.label, takenOver.map((u) => processOf(layout, u)));
  const removed = retired.map((r) => r.unit);
  const record = recordSingletons(layout, topology.record, facts.singletons !== undefined);
  const commit: Step[] = [...start];
  if (removed.length > 0) commit.push({ id: 'remove-units', title: `Remove ${removed.join(' ')}: it no longer runs here`, commands: manager.removeFiles(removed) });
  if (record.length > 0) commit.push({ id: 'singletons', title: `Record where singletons run: ${Object.entries(topology.placement).map(([p, l]) => `${p} on ${l}`).join(', ') || 'none'}`, commands: record });
  return {
    restarted: services.filter((unit) => !takenOver.includes(unit)),
    beforeSwitch,
    recovery: [...unretireSteps(manager, retired), ...disableSingletons(manager, takenOver)],
    commit,
    interrupted: start.flatMap((s) => s.commands),
  };
}
