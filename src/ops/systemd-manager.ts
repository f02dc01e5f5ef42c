// The app's processes as systemd units: one unit per process, a template for the blue/green slots, a target
// that starts them all, and a boot-time switch-back (render/systemd.ts).
import { cmd, unless, type Cmd } from './command.js';
import { writeFile } from './files.js';
import { quote } from './shell.js';
import type { ManagerFactory, OwnerTest, ProcessFilesInput, ProcessManager } from './process-manager.js';
import { sha256, type UnitFile } from './services.js';
import { bootRecoveryFile } from './boot.js';
import type { Layout } from '../plan/layout.js';
import { bootRecoveryUnitName, renderAppTarget, renderBootRecoveryUnit, renderProcessUnit, slotTemplateName, targetName, unitName } from '../render/systemd.js';

/** Units are written here first and verified by systemd before they move into /etc/systemd/system. */
export const VERIFY_DIR = '/run/slipway/verify';

/** A command whose failure means only that there was nothing to do (a unit never loaded). */
const tolerant = (argv: string[]): Cmd => unless({ argv, quiet: true }, cmd('true'));

function processFiles(layout: Layout, { project, processes, names, runtime, slotted }: ProcessFilesInput): UnitFile[] {
  if (names.length === 0) return [];
  return [
    { name: targetName(layout), text: renderAppTarget(layout, project) },
    ...names.map((name) => ({
      name: name === slotted ? slotTemplateName(layout, name) : unitName(layout, name),
      text: renderProcessUnit(layout, name, processes[name]!, project, runtime, name === slotted),
    })),
  ];
}

/** Writes only the units whose text differs from what is installed, and reloads systemd only then. */
function install(units: readonly UnitFile[], installed: Record<string, string>): Cmd[] {
  const changed = units.filter((unit) => installed[unit.name] !== sha256(unit.text));
  if (changed.length === 0) return [];
  const commands: Cmd[] = [cmd('mkdir', '-p', VERIFY_DIR)];
  // Checked by systemd before they are installed: a unit systemd would reject never replaces a working one.
  for (const unit of changed) commands.push(...writeFile({ path: `${VERIFY_DIR}/${unit.name}`, text: unit.text }));
  commands.push(cmd('systemd-analyze', 'verify', ...changed.map((u) => `${VERIFY_DIR}/${u.name}`)));
  for (const unit of changed) {
    const path = `/etc/systemd/system/${unit.name}`;
    commands.push(cmd('cp', `${VERIFY_DIR}/${unit.name}`, `${path}.slipway-new`), cmd('mv', '-f', `${path}.slipway-new`, path));
  }
  // Template units (blue/green slots) are enabled per instance when a slot goes live.
  const enable = units.filter((u) => !u.name.includes('@.')).map((u) => u.name);
  commands.push(cmd('systemctl', 'daemon-reload'), cmd('systemctl', 'enable', '--quiet', ...enable));
  return commands;
}

/** A process belongs to the unit whose cgroup holds it (its cgroup file read by the shell: no process each). */
export const systemdOwns: OwnerTest = (units) =>
  `{ slipway_cgroup=; IFS= read -r -d '' slipway_cgroup < "/proc/$pid/cgroup"; [[ ${units.map((u) => `$slipway_cgroup == *${quote(`/${u}`)}*`).join(' || ')} ]]; } 2>/dev/null`;

export const systemdManager: ManagerFactory = (layout): ProcessManager => ({
  kind: 'systemd',
  filesLabel: 'systemd units',
  processFiles: (input) => processFiles(layout, input),
  bootFile: (project) => ({ name: bootRecoveryUnitName(layout), text: renderBootRecoveryUnit(layout, project, bootRecoveryFile(layout)) }),
  install,
  // slipway's own restarts must not count toward systemd's crash-loop limit (StartLimitBurst, 5 starts in 10 s):
  // without the reset, the sixth deploy or rollback within 10 s fails to start the app, and so does the switch back.
  restart: (units) => (units.length === 0 ? [] : [cmd('systemctl', 'reset-failed', ...units), cmd('systemctl', 'restart', ...units)]),
  stop: (units) => (units.length === 0 ? [] : [cmd('systemctl', 'stop', ...units)]),
  enable: (units, now) => (units.length === 0 ? [] : [cmd('systemctl', 'enable', ...(now ? ['--now'] : []), '--quiet', ...units)]),
  disable: (units, now) => (units.length === 0 ? [] : [cmd('systemctl', 'disable', ...(now ? ['--now'] : []), '--quiet', ...units)]),
  // --no-reload: the links on disk are what a boot reads; a daemon-reload for each of the two (0.15 s on an idle
  // server, the most CPU a switch costs) would only refresh what `systemctl start <app>.target` starts before
  // the next reload, and nothing of slipway's starts that target.
  bootSlot: (on, off) => [cmd('systemctl', 'enable', '--no-reload', '--quiet', on), tolerant(['systemctl', 'disable', '--no-reload', '--quiet', off])],
  installedPath: (unit) => `/etc/systemd/system/${unit}`,
  // A running instance outlives its template's file: the drain still stops it.
  leftoverFiles: (slotProcess) => [...(slotProcess ? [slotTemplateName(layout, slotProcess)] : []), targetName(layout)],
  removeFiles: (units) => (units.length === 0 ? [] : [cmd('rm', '-f', ...units.map((u) => `/etc/systemd/system/${u}`)), cmd('systemctl', 'daemon-reload')]),
  // A slot that crash-looped before must not stay blocked by systemd's start limit; a never-started one is fine.
  startShell: (unit) => `systemctl reset-failed ${quote(unit)} >/dev/null 2>&1; systemctl start ${quote(unit)}`,
  restartSlot: (unit) => [tolerant(['systemctl', 'reset-failed', unit]), cmd('systemctl', 'restart', unit)],
  // A transient unit that failed keeps its name until reset: the reset comes right before the name is used again,
  // so a cancel (every slot start cancels its drain) is one systemctl.
  stopLater: (name, seconds, unit) => [
    tolerant(['systemctl', 'reset-failed', `${name}.timer`, `${name}.service`]),
    cmd('systemd-run', '--quiet', `--unit=${name}`, `--on-active=${seconds}s`, '--timer-property=AccuracySec=1s', 'systemctl', 'stop', unit),
  ],
  cancelLater: (name) => [tolerant(['systemctl', 'stop', `${name}.timer`, `${name}.service`])],
  stateShell: 'systemctl is-active "$unit" 2>/dev/null',
  presenceProbe: 'if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then echo "flag systemd"; fi',
  installedFiles: {
    globs: [`/etc/systemd/system/${quote(layout.unitPrefix)}-*.service`, `/etc/systemd/system/${quote(layout.unitPrefix)}-*.timer`, `/etc/systemd/system/${quote(layout.unitPrefix)}.target`],
  },
  // Asked whenever systemd runs: a slot runs on without its file (the draining slot of the deploy that moved the
  // app to supervisor, which removed the app's units).
  slotsMayRun: () => '[ -d /run/systemd/system ]',
  // One systemctl for both slots; the names come from parameter expansion, not basename.
  slotStatesProbe: (process) => `slipway_states=$(systemctl is-active ${quote(`${layout.unitPrefix}-${process}@`)}{blue,green}.service 2>/dev/null || true)`,
  statusProbe: {
    shell: [
      'command -v systemctl >/dev/null 2>&1 || exit 0',
      `names=$( (cd /etc/systemd/system 2>/dev/null && ls -1 ${quote(layout.unitPrefix)}-*.service 2>/dev/null | grep -v '@\\.service$'); ` +
        `systemctl list-units --plain --no-legend --full --type=service ${quote(layout.unitPrefix)}'-*@*.service' 2>/dev/null | cut -d' ' -f1 )`,
      `for n in $names; do echo "service $n $(systemctl show -p ActiveState -p SubState -p MainPID "$n" 2>/dev/null | tr '\\n' ' ')"; done`,
    ].join('\n'),
  },
  runningProbe: {
    shell: `systemctl list-units --plain --no-legend --type=service --state=active ${quote(`${layout.unitPrefix}-*`)} | awk '{ print $1 }' | grep -vxF ${quote(`${layout.unitPrefix}-backup.service`)} | sed 's/^/unit /' || true`,
  },
});
