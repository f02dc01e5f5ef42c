// Which of the app's processes run on a host, and their service files.
import type { Config, ProcessConfig } from '../config/types.js';
import { unitName } from '../render/systemd.js';
import { managerOf, ownerTest } from '../ops/managers.js';
import { isSlotService, type OwnerTest, type ProcessManagerKind } from '../ops/process-manager.js';
import type { UnitFile } from '../ops/services.js';
import { keptBy, type HealthCheck } from '../ops/health.js';
import type { Step } from '../ops/command.js';
import { listenerCheck } from '../ops/ports.js';
import { slotUnit } from '../ops/web.js';
import type { Layout } from './layout.js';
import type { Target } from './target.js';
import type { Placement } from './topology.js';
import type { Runtime } from '../recipes/types.js';

export type Processes = Record<string, ProcessConfig>;

/** Processes for this host's roles; a singleton only on the server its placement names (plan/topology.ts). */
export function processesOn(processes: Processes, target: Target, placement: Placement): string[] {
  return Object.entries(processes)
    .filter(([name, process]) => (process.singleton ? placement[name] === target.label : process.roles.some((role) => target.roles.includes(role))))
    .map(([name]) => name);
}

/** Service files of the processes on a host; a `slotted` process (blue/green web) gets its slots'. */
export function unitFiles(project: string, processes: Processes, layout: Layout, names: readonly string[], runtime: Runtime, slotted?: string): UnitFile[] {
  return managerOf(layout).processFiles({ project, processes, names, runtime, slotted });
}

/** The boot-time switch-back (ops/boot.ts): installed with the app's services, never restarted or listed with them. */
export const bootRecoveryUnit = (layout: Layout, project: string): UnitFile => managerOf(layout).bootFile(project);

/** Services restarted by name after a switch (slots are started one by one instead). */
export const serviceNames = (units: readonly UnitFile[]) => units.filter((u) => u.name.endsWith('.service') && !isSlotService(u.name)).map((u) => u.name);

/**
 * The web process's health check, against the process itself: the new slot's port (or socket) in blue/green,
 * the in-place process's port otherwise (through its socket with http.switch socket).
 */
export function healthCheckFor(config: Pick<Config, 'health'>, processes: Processes, path: string, names: readonly string[], layout: Layout, via?: { port?: number; unit?: string; socket?: string }): HealthCheck | undefined {
  const process = processes[config.health.process];
  if (!process || process.port === undefined || !names.includes(config.health.process)) return undefined;
  return {
    url: `http://127.0.0.1:${via?.port ?? process.port}${path}`,
    expectedStatus: config.health.expected_status,
    timeoutSeconds: config.health.timeout,
    retries: config.health.retries,
    unit: via?.unit ?? unitName(layout, config.health.process),
    ...keptBy(layout.processManager),
    ...(via?.socket ? { socket: via.socket } : {}),
  };
}

/**
 * Before anything switches: the port the new web process is to listen on is free, or held by one of this app's
 * own web units (which the switch restarts or stops). Anything else there would take the new process's place.
 */
export function portStep(layout: Layout, process: string, port: number, previous?: ProcessManagerKind): Step {
  const units = [unitName(layout, process), slotUnit(layout, process, 'blue'), slotUnit(layout, process, 'green')];
  // While the app moves between managers (and while the old one drains its slot after), its web process is the
  // app's own too.
  const owns: OwnerTest = previous ? (names) => `{ ${ownerTest(layout.processManager)(names)} || ${ownerTest(previous)(names)}; }` : ownerTest(layout.processManager);
  return { id: 'port', title: `Check that port ${port} is free for the ${process} process`, commands: [listenerCheck({ port, units, owns, mustListen: false })] };
}
