// The process manager a layout names (`process_manager` in the config).
import type { Layout } from '../plan/layout.js';
import type { OwnerTest, ProcessManager, ProcessManagerKind } from './process-manager.js';
import { supervisorManager, supervisorOwns } from './supervisor-manager.js';
import { systemdManager, systemdOwns } from './systemd-manager.js';

export function managerOf(layout: Layout): ProcessManager {
  return layout.processManager === 'supervisor' ? supervisorManager(layout) : systemdManager(layout);
}

/** Who owns a listener, for a health check recorded in a manifest (which names its manager, or none: systemd). */
export const ownerTest = (kind: ProcessManagerKind | undefined): OwnerTest => (kind === 'supervisor' ? supervisorOwns : systemdOwns);
