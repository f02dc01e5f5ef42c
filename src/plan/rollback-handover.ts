// A rollback's handover on one host: the target release's manifest lists the units that ran here with it.
// Units running now that it does not list stop before the switch (so a singleton that moved since never runs
// twice), units it lists whose file a later deploy removed come back from the config, and a singleton that
// returns here starts only at commit, once every host passed.
import type { Runtime } from '../recipes/types.js';
import type { Cmd, Step } from '../ops/command.js';
import type { Config } from '../config/types.js';
import { managerOf } from '../ops/managers.js';
import { currentManifest, processOf } from './app-units.js';
import type { HostFacts } from './facts.js';
import { disableSingletons, ownedServices, retireSteps, startSingletons, unretireSteps } from './handover.js';
import type { Layout } from './layout.js';

export interface RollbackHandoverInput {
  config: Pick<Config, 'processes' | 'project'>;
  layout: Layout;
  label: string;
  facts: HostFacts;
  /** The target release and the services its manifest lists. */
  to: string;
  services: readonly string[];
  runtime: Runtime;
}

export interface RollbackHandover {
  restarted: string[];
  beforeSwitch: Step[];
  recovery: Step[];
  commit: Step[];
  interrupted: Cmd[];
}

export function rollbackHandover(input: RollbackHandoverInput): RollbackHandover {
  const { config, layout, facts, services } = input;
  const retired = ownedServices(facts)
    .filter((unit) => !services.includes(unit))
    .map((unit) => ({ unit, why: `${input.to} did not run it here` }));
  const ranBefore = currentManifest(facts)?.units ?? Object.keys(facts.units);
  const isSingleton = (unit: string) => config.processes[processOf(layout, unit)]?.singleton === true;
  const returning = services.filter((unit) => !ranBefore.includes(unit) && isSingleton(unit));
  // A later deploy removed the file of a unit that moved away: it comes back as the config renders it.
  const missing = services.filter((unit) => facts.units[unit] === undefined && config.processes[processOf(layout, unit)] !== undefined);
  const manager = managerOf(layout);
  const files = manager.processFiles({ project: config.project.name, processes: config.processes, names: missing.map((name) => processOf(layout, name)), runtime: input.runtime });
  const beforeSwitch = [...retireSteps(manager, retired)];
  const install = manager.install(files, facts.units);
  if (install.length > 0) beforeSwitch.push({ id: 'units', title: `Install ${missing.join(' ')} again: ${input.to} ran it here`, commands: install });
  const start = startSingletons(manager, returning, input.label, returning.map((u) => processOf(layout, u)));
  return {
    restarted: services.filter((unit) => !returning.includes(unit)),
    beforeSwitch,
    recovery: [...unretireSteps(manager, retired), ...disableSingletons(manager, [...new Set([...returning, ...missing])])],
    commit: start,
    interrupted: start.flatMap((s) => s.commands),
  };
}
