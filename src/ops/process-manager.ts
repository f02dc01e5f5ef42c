// What keeps the app's processes running on a host: systemd (ops/systemd-manager.ts) or supervisor
// (ops/supervisor-manager.ts), per `process_manager`. Plans name the app's services the way systemd does
// (`<prefix>-worker.service`, blue/green slot instances `<prefix>-web@blue.service`): those names are what
// release manifests record and the facts probe reports under either manager, and each manager turns them into
// its own files and commands. Nothing outside these files says `systemctl` or `supervisorctl` for the app.
import type { Cmd, Snippet } from './command.js';
import type { Layout } from '../plan/layout.js';
import type { ProcessConfig } from '../config/types.js';
import type { Runtime } from '../recipes/types.js';
import type { UnitFile } from './services.js';

export type ProcessManagerKind = 'systemd' | 'supervisor';

export interface ProcessFilesInput {
  project: string;
  processes: Record<string, ProcessConfig>;
  names: readonly string[];
  runtime: Runtime;
  /** The process run in blue/green slots, if any. */
  slotted?: string | undefined;
}

export interface ProcessManager {
  kind: ProcessManagerKind;
  /** How its files are called in step titles: "systemd units". */
  filesLabel: string;
  /** The files of the given processes (a slotted one: its slots'), keyed by service name. */
  processFiles(input: ProcessFilesInput): UnitFile[];
  /** The boot-time file that finishes a switch-back a power loss cut short (ops/boot.ts). */
  bootFile(project: string): UnitFile;
  /** Writes the files whose text differs from what is installed (`installed`: service name → sha256). */
  install(files: readonly UnitFile[], installed: Record<string, string>): Cmd[];
  /** Restarts: a stopped service starts, on its newest file. */
  restart(services: readonly string[]): Cmd[];
  stop(services: readonly string[]): Cmd[];
  /** Starts at boot from now on; `now`: and starts it (if it does not run). */
  enable(services: readonly string[], now: boolean): Cmd[];
  /** No longer starts at boot; `now`: and stops it. */
  disable(services: readonly string[], now: boolean): Cmd[];
  /** Boot starts the slot `on`, not `off` (which may never have existed): what runs is left alone. */
  bootSlot(on: string, off: string): Cmd[];
  /** Where a service's file is installed. */
  installedPath(service: string): string;
  /**
   * Files beyond the services' own that the app has under this manager (a slot template, the app target; slot
   * programs), by the names removeFiles takes; not `draining`'s, a slot whose drain removes it (stopLater).
   */
  leftoverFiles(slotProcess: string | undefined, draining: string | undefined): string[];
  /** Removes the files of services that were stopped and disabled. */
  removeFiles(services: readonly string[]): Cmd[];
  /** Shell that starts a service unless it runs, succeeding once it does (a switch back to a drained slot). */
  startShell(service: string): string;
  /** (Re)starts a blue/green slot, which may never have run, or have crash-looped before. */
  restartSlot(service: string): Cmd[];
  /**
   * Stops `service` once, `seconds` from now, in the background, unless cancelled by `name` first; `forget`:
   * and removes its file then (a slot of the manager an app has left).
   */
  stopLater(name: string, seconds: number, service: string, forget?: boolean): Cmd[];
  cancelLater(name: string): Cmd[];
  /** Shell that prints the state of the service named in `$unit` in systemd's words (`active`, `failed`...). */
  stateShell: string;
  /** Probe lines: `flag <kind>` when the manager runs on the host. */
  presenceProbe: string;
  /**
   * The app's installed files, hashed by the facts probe as `unit <service> <sha256>`: glob patterns, and a
   * shell statement that sets `$n` (the service name) from the file's path `$p` (unset: the file's name).
   */
  installedFiles: { globs: string[]; key?: string };
  /**
   * A shell condition: this manager may run slots of the process, as the other manager (the probe asks for their
   * states only then; a deploy stops one that holds the slot it starts).
   */
  slotsMayRun(process: string): string;
  /** Probe: `slipway_states` holds two lines, blue's then green's state (`active` when it runs). */
  slotStatesProbe(process: string): string;
  /** `service <name> ActiveState=… SubState=… MainPID=…` for the app's services and running slots. */
  statusProbe: Snippet;
  /** `unit <service>` for each of the app's services running now (a restore stops and restarts them). */
  runningProbe: Snippet;
}

export const isSlotService = (service: string) => service.includes('@');

/** Shell condition: the process `$pid` belongs to one of the services (a listener's owner, ops/ports.ts). */
export type OwnerTest = (services: readonly string[]) => string;

/** What the service names stand for under each manager: the processes' files and commands. */
export type ManagerFactory = (layout: Layout) => ProcessManager;
