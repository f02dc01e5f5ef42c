// Which of the app's processes run on a host, and their unit files.
import type { Config, ProcessConfig } from '../config/types.js';
import { bootRecoveryUnitName, renderAppTarget, renderBootRecoveryUnit, renderProcessUnit, slotTemplateName, targetName, unitName } from '../render/systemd.js';
import { bootRecoveryFile } from '../ops/boot.js';
import type { UnitFile } from '../ops/services.js';
import type { HealthCheck } from '../ops/health.js';
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

/** Unit files of the processes on a host; a `slotted` process (blue/green web) gets a template unit. */
export function unitFiles(project: string, processes: Processes, layout: Layout, names: readonly string[], runtime: Runtime, slotted?: string): UnitFile[] {
  if (names.length === 0) return [];
  return [
    { name: targetName(layout), text: renderAppTarget(layout, project) },
    ...names.map((name) => ({
      name: name === slotted ? slotTemplateName(layout, name) : unitName(layout, name),
      text: renderProcessUnit(layout, name, processes[name]!, project, runtime, name === slotted),
    })),
  ];
}

/** The boot-time switch-back (ops/boot.ts): installed with the app's units, never restarted or listed with them. */
export const bootRecoveryUnit = (layout: Layout, project: string): UnitFile => ({
  name: bootRecoveryUnitName(layout),
  text: renderBootRecoveryUnit(layout, project, bootRecoveryFile(layout)),
});

/** Services restarted by name after a switch (templates are started per slot instead). */
export const serviceNames = (units: readonly UnitFile[]) => units.filter((u) => u.name.endsWith('.service') && !u.name.includes('@.')).map((u) => u.name);

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
    ...(via?.socket ? { socket: via.socket } : {}),
  };
}

/**
 * Before anything switches: the port the new web process is to listen on is free, or held by one of this app's
 * own web units (which the switch restarts or stops). Anything else there would take the new process's place.
 */
export function portStep(layout: Layout, process: string, port: number): Step {
  const units = [unitName(layout, process), slotUnit(layout, process, 'blue'), slotUnit(layout, process, 'green')];
  return { id: 'port', title: `Check that port ${port} is free for the ${process} process`, commands: [listenerCheck({ port, units, mustListen: false })] };
}
