// A deploy that moves an app to the other process manager (process_manager changed: systemd ↔ supervisor).
// The new manager's web slot starts beside the one the old manager still runs, is checked, and takes the
// traffic; the old slot drains under the old manager. Workers never run twice: the old manager's stop before
// the new manager's start. A failure after the switch brings the old manager's processes back. At the commit the
// old manager forgets the app (its files go; the draining slot's when its drain ends).
import type { Cmd, Step } from '../ops/command.js';
import { UserError } from '../errors.js';
import { healthProbe, type HealthCheck } from '../ops/health.js';
import { setStatus, switchCurrent } from '../ops/release.js';
import { managerOf, otherManager } from '../ops/managers.js';
import type { ProcessManager } from '../ops/process-manager.js';
import { slotUnit, type Slot } from '../ops/web.js';
import { currentManifest } from './app-units.js';
import type { HostFacts } from './facts.js';
import type { Layout } from './layout.js';

export interface ManagerChange {
  /** The manager the live release ran under. */
  previous: ProcessManager;
  /** Its services (the live release's, by name: the same names as the new manager's). */
  services: string[];
  /** The slot it serves from, still running: the new manager starts the other one. */
  live: Slot | undefined;
}

/** The change a deploy makes, if the live release ran its processes under the other manager. */
export function managerChangeOf(layout: Layout, facts: HostFacts): ManagerChange | undefined {
  const ran = currentManifest(facts);
  if (!ran || ((ran.units?.length ?? 0) === 0 && ran.health === undefined)) return undefined;
  const kind = ran.manager ?? 'systemd';
  if (kind === layout.processManager) return undefined;
  const live = facts.liveSlot && facts.otherSlots?.[facts.liveSlot] ? facts.liveSlot : undefined;
  return { previous: managerOf(layout, kind), services: ran.units ?? [], live };
}

/**
 * The other manager whose processes are the app's own too: the one the app moves from, or the one still draining
 * a slot of it after that move (the deploy that needs the slot stops it: plan/web.ts).
 */
export function previousManagerKind(layout: Layout, facts: HostFacts, change: ManagerChange | undefined): ProcessManager['kind'] | undefined {
  if (change) return change.previous.kind;
  return facts.otherSlots?.blue || facts.otherSlots?.green ? otherManager(layout.processManager) : undefined;
}

/**
 * The facts a blue/green plan reads, as the old manager's slots make them: its live slot serves (the new
 * manager runs no slot yet), so the new release starts in the other one.
 */
export function slotsDuringChange(facts: HostFacts, change: ManagerChange): HostFacts {
  if (!change.live) return { ...facts, slots: {} };
  return { ...facts, slots: { [change.live]: { active: true, ...(facts.slots[change.live]?.release ? { release: facts.slots[change.live]!.release! } : {}) } } };
}

/** Before the new manager starts them: the old manager's workers stop (and no longer start at boot). */
export const stopPreviousWorkers = (change: ManagerChange, workers: readonly string[]): Cmd[] => change.previous.disable(workers.filter((w) => change.services.includes(w)), true);

/** A failure after the switch: the new manager's workers stop, the old manager's run again. */
export function workersBack(manager: ProcessManager, change: ManagerChange, workers: readonly string[]): Cmd[] {
  return [...manager.stop(workers), ...change.previous.enable(workers.filter((w) => change.services.includes(w)), true)];
}

/**
 * At the commit: the old manager forgets the app. Its services were stopped before the switch; its slot that
 * served is stopped by the drain the switch armed (which, under supervisor, removes that program too).
 */
export function forgetPrevious(layout: Layout, change: ManagerChange, slotProcess: string | undefined, project: string): Step[] {
  const { previous } = change;
  const slots = slotProcess ? (['blue', 'green'] as const).map((slot) => slotUnit(layout, slotProcess, slot)) : [];
  const draining = slotProcess && change.live ? slotUnit(layout, slotProcess, change.live) : undefined;
  const leftovers = [...previous.leftoverFiles(slotProcess, draining), previous.bootFile(project).name];
  // Its services stop now if anything still runs them (a process the config dropped meanwhile); its slots, boot
  // file and target only lose their start at boot (a template, `name@.service`, has none): the draining slot
  // runs until its drain ends.
  const atBoot = [...slots, ...leftovers.filter((name) => !name.includes('@.'))];
  const commands: Cmd[] = [...previous.disable(change.services, true), ...previous.disable([...new Set(atBoot)], false), ...previous.removeFiles([...new Set([...change.services, ...leftovers])])];
  return [{ id: 'forget-manager', title: `Remove the app's ${previous.filesLabel}: it runs under ${layout.processManager} now`, commands }];
}

/**
 * The process manager must run where processes do. supervisor is installed by the deploy's packages step when
 * missing (Debian starts it), so only one installed and stopped is refused. A move from the other manager is a
 * deploy, but not together with a change of strategy (each is a handover of the web process of its own).
 */
export function checkManager(kind: Layout['processManager'], facts: HostFacts, label: string, processes: readonly string[], strategy: 'blue-green' | 'restart', change: ManagerChange | undefined): void {
  const ranStrategy = currentManifest(facts)?.web?.strategy ?? 'restart';
  if (change && strategy !== ranStrategy) {
    throw new UserError(`${label}: process_manager (${change.previous.kind} → ${kind}) and http.strategy (${ranStrategy} → ${strategy}) both change`, 'change one per deploy: deploy with the old http.strategy first, then change it');
  }
  if (kind === 'systemd' && !facts.systemd) {
    throw new UserError(`${label}: processes are configured (${processes.join(', ')}) but systemd does not run there`, 'run the processes elsewhere, set process_manager: supervisor, or deploy to a host with systemd');
  }
  if (kind === 'supervisor' && facts.packages.includes('supervisor') && !facts.supervisor) {
    throw new UserError(`${label}: supervisor is installed but supervisord does not answer`, 'start it (systemctl start supervisor) and check /var/log/supervisor/supervisord.log');
  }
}

/** A move between managers in place that fails: the new manager's processes stop, the old one's run again. */
export function inPlaceBack(layout: Layout, change: ManagerChange, from: string | undefined, failed: string, units: string[], health: HealthCheck | undefined): Step[] {
  const manager = managerOf(layout);
  const back = [...manager.disable(units, true), ...change.previous.enable(change.services, true)];
  const wait = health ? [healthProbe(health)] : [];
  if (!from) return [{ id: 'switch-back', title: 'Stop the failed first release', commands: [...back, setStatus(layout, failed, 'bad')] }];
  return [{ id: 'switch-back', title: `Switch back to ${from} under ${change.previous.kind}`, commands: [...switchCurrent(layout, from), ...back, setStatus(layout, failed, 'bad'), ...wait] }];
}
