// The process manager a layout names (`process_manager` in the config), or another one asked for by kind.
import type { Layout } from '../plan/layout.js';
import type { OwnerTest, ProcessManager, ProcessManagerKind } from './process-manager.js';
import { supervisorManager, supervisorOwns } from './supervisor-manager.js';
import { systemdManager, systemdOwns } from './systemd-manager.js';

export function managerOf(layout: Layout, kind: ProcessManagerKind = layout.processManager): ProcessManager {
  return kind === 'supervisor' ? supervisorManager(layout) : systemdManager(layout);
}

export const otherManager = (kind: ProcessManagerKind): ProcessManagerKind => (kind === 'systemd' ? 'supervisor' : 'systemd');

/** The packages a manager needs where processes run (systemd is the system's own; Debian's supervisor starts itself). */
export const managerPackages = (kind: ProcessManagerKind): string[] => (kind === 'supervisor' ? ['supervisor'] : []);

/** Who owns a listener, for a health check recorded in a manifest (which names its manager, or none: systemd). */
export const ownerTest = (kind: ProcessManagerKind | undefined): OwnerTest => (kind === 'supervisor' ? supervisorOwns : systemdOwns);
