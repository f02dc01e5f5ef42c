// The steps that move traffic to a release and prove it, shared by deploy and rollback, and the steps that
// undo them when the proof fails.
import type { Cmd, Step } from '../ops/command.js';
import { healthProbe, healthTarget, type HealthCheck } from '../ops/health.js';
import { switchCurrent, setStatus } from '../ops/release.js';
import { managerOf } from '../ops/managers.js';
import { cmd } from '../ops/command.js';
import type { Layout } from './layout.js';

export interface SwitchInput {
  layout: Layout;
  to: string;
  units: string[];
  /** after_switch hooks, already built for the release they run in. */
  afterSwitch: Cmd[];
  health: HealthCheck | undefined;
}

export function switchSteps({ layout, to, units, afterSwitch, health }: SwitchInput): Step[] {
  const steps: Step[] = [{ id: 'switch', title: `Point current at ${to}`, commands: switchCurrent(layout, to) }];
  if (units.length > 0) steps.push({ id: 'restart', title: 'Restart the app processes', commands: managerOf(layout).restart(units) });
  if (afterSwitch.length > 0) steps.push({ id: 'after-switch', title: 'Run after_switch hooks', commands: afterSwitch });
  if (health) steps.push({ id: 'health', title: `Check health: ${healthTarget(health)}`, commands: [healthProbe(health)] });
  return steps;
}

/**
 * Undo a switch: back to `from`, and wait until it answers again (or, on a first deploy, stop the app and
 * remove `current`).
 */
export function switchBackSteps(layout: Layout, from: string | undefined, failed: string, units: string[], markBad: boolean, health?: HealthCheck): Step[] {
  const mark = markBad ? [setStatus(layout, failed, 'bad')] : [];
  if (!from) {
    return [{ id: 'switch-back', title: 'Stop the failed first release', commands: [...managerOf(layout).stop(units), cmd('rm', '-f', layout.current), ...mark] }];
  }
  const wait = health && units.length > 0 ? [healthProbe(health)] : [];
  return [{ id: 'switch-back', title: `Switch back to ${from}`, commands: [...switchCurrent(layout, from), ...managerOf(layout).restart(units), ...mark, ...wait] }];
}
