// The app's processes as supervisor programs (render/supervisor.ts): one program per process, one per
// blue/green slot, and a boot program. supervisorctl's exit codes do not say whether a program ended up
// running (4.2 answers 0 to some errors and 1 to "already started"), so each command here checks the state it
// wants from `supervisorctl status` afterwards.
import { cmd, type Cmd, type Snippet } from './command.js';
import { writeFile } from './files.js';
import { quote } from './shell.js';
import { isSlotService, type ManagerFactory, type OwnerTest, type ProcessFilesInput, type ProcessManager } from './process-manager.js';
import { sha256, type UnitFile } from './services.js';
import { bootRecoveryFile } from './boot.js';
import type { Layout } from '../plan/layout.js';
import { enabledDir, LAUNCHERS, launcherFile, programFile, programName, renderBootProgram, renderProgram, type Program } from '../render/supervisor.js';
import { bootRecoveryUnitName, unitName } from '../render/systemd.js';

const slotService = (layout: Layout, process: string, slot: 'blue' | 'green') => `${layout.unitPrefix}-${process}@${slot}.service`;
const names = (services: readonly string[]) => services.map((s) => quote(programName(s))).join(' ');

/**
 * Shell: the state supervisor reports for a program (RUNNING, STOPPED, ...). `status` exits non-zero for any
 * program that does not run, which under pipefail would fail the script; one supervisord does not know
 * (`name: ERROR (no such process)`) has no state: the empty one.
 */
const stateOf = (program: string) => `$({ supervisorctl status ${program} 2>/dev/null || true; } | awk 'NR == 1 && $2 != "ERROR" { print $2 }')`;

/** Shell printing a program's state in `systemctl is-active`'s words (`active`, `activating`, `failed`...). */
const activeWord = (program: string) =>
  `case "${stateOf(program)}" in RUNNING) echo active ;; STARTING|BACKOFF) echo activating ;; STOPPING) echo deactivating ;; FATAL) echo failed ;; *) echo inactive ;; esac`;

/**
 * Fails, naming the program and its state, unless each program is in one of `states`: one supervisorctl for
 * all of them (each costs a Python start, 0.2 s on a small server).
 */
function expectState(services: readonly string[], states: readonly string[], what: string): Snippet {
  return {
    shell: [
      `slipway_states=$({ supervisorctl status ${names(services)} 2>/dev/null || true; } | awk '$2 != "ERROR" { print $1, $2 }')`,
      `for p in ${names(services)}; do st=$(printf '%s\n' "$slipway_states" | awk -v p="$p" '$1 == p { print $2 }'); case "$st" in ${states.join('|')}) ;; *)`,
      `  echo "supervisor program $p ${what} (it is \${st:-unknown to supervisord})"; supervisorctl tail "$p" 2>/dev/null | tail -n 5 || true; false ;; esac; done`,
    ].join('\n'),
  };
}

// The empty state: supervisord has no such program (never added, or removed), which is stopped too.
const STOPPED = ['STOPPED', 'EXITED', 'FATAL', '""'];

function stop(services: readonly string[]): Cmd[] {
  if (services.length === 0) return [];
  return [{ shell: `supervisorctl stop ${names(services)} >/dev/null 2>&1 || true` }, expectState(services, STOPPED, 'did not stop')];
}

/**
 * (Re)starts on the newest program file: `update` applies a changed one (supervisor stops and re-adds the
 * program, which then does not run: autostart is off) and is nothing otherwise; `restart` stops what still runs
 * and starts it (it waits out `startsecs`). Three Python starts where stop, check, update, start, check took five.
 */
function start(services: readonly string[]): Cmd[] {
  if (services.length === 0) return [];
  return [cmd('supervisorctl', 'update', ...services.map(programName)), { shell: `supervisorctl restart ${names(services)} >/dev/null 2>&1 || true` }, expectState(services, ['RUNNING'], 'did not start')];
}

/** The marks (enabledDir) that make supervisord's start start these services too. */
const marks = (layout: Layout, services: readonly string[]) => services.map((s) => `${enabledDir(layout)}/${programName(s)}`);

function fileOf(program: Program): UnitFile {
  return { name: program.service, text: program.text, beside: [{ path: launcherFile(program.service), text: program.launcher }] };
}

function processFiles(layout: Layout, { project, processes, names: selected, runtime, slotted }: ProcessFilesInput): UnitFile[] {
  return selected.flatMap((name) => {
    const input = { layout, name, process: processes[name]!, project, runtime };
    if (name !== slotted) return [fileOf(renderProgram(input, unitName(layout, name)))];
    return (['blue', 'green'] as const).map((slot) => fileOf(renderProgram({ ...input, slot }, slotService(layout, name, slot))));
  });
}

/**
 * Writes the changed files (the launcher before the program naming it) and adds new programs. A changed
 * program that runs keeps running as it was (supervisor would restart it on `update`, a live slot too): the
 * change applies at its next start, as a changed systemd unit does.
 */
function install(layout: Layout, files: readonly UnitFile[], installed: Record<string, string>): Cmd[] {
  const changed = files.filter((file) => installed[file.name] !== sha256(file.text));
  if (changed.length === 0) return [];
  const added = changed.filter((file) => installed[file.name] === undefined).map((f) => f.name);
  return [
    cmd('install', '-d', '-m', '755', LAUNCHERS, enabledDir(layout), `${layout.shared}/logs/supervisor`),
    ...changed.flatMap((file) => [...(file.beside ?? []).flatMap((b) => writeFile(b)), ...writeFile({ path: programFile(file.name), text: file.text })]),
    // reread parses every program file: one supervisord cannot read is named here, before anything starts.
    { shell: `slipway_out=$(supervisorctl reread 2>&1) || true; printf '%s\\n' "$slipway_out"; case "$slipway_out" in *ERROR*) false ;; esac` },
    ...(added.length > 0 ? [cmd('supervisorctl', 'update', ...added.map(programName))] : []),
  ];
}

/** supervisor names each program's processes in their environment; children (gunicorn's workers) inherit it. */
export const supervisorOwns: OwnerTest = (services) =>
  `{ if [ "$EUID" = 0 ]; then cat "/proc/$pid/environ"; else sudo -n cat "/proc/$pid/environ"; fi; } 2>/dev/null | tr '\\0' '\\n' | grep -qxF ${services.flatMap((s) => ['-e', quote(`SUPERVISOR_PROCESS_NAME=${programName(s)}`)]).join(' ')}`;

export const supervisorManager: ManagerFactory = (layout): ProcessManager => ({
  kind: 'supervisor',
  filesLabel: 'supervisor programs',
  processFiles: (input) => processFiles(layout, input),
  bootFile: (project) => fileOf(renderBootProgram(layout, project, bootRecoveryUnitName(layout), bootRecoveryFile(layout))),
  install: (files, installed) => install(layout, files, installed),
  // What a deploy restarts starts with supervisord from then on (systemd's install enables its units). Not
  // earlier: the boot program, which supervisor starts as soon as a deploy adds it, would start a marked
  // process before the release it runs exists, or beside the other manager's while an app moves here.
  restart: (services) => {
    const processes = services.filter((s) => !isSlotService(s));
    const enable = processes.length > 0 ? [cmd('install', '-d', '-m', '755', enabledDir(layout)), cmd('touch', ...marks(layout, processes))] : [];
    return services.length === 0 ? [] : [...enable, ...start(services)];
  },
  stop,
  enable: (services, now) => (services.length === 0 ? [] : [cmd('install', '-d', '-m', '755', enabledDir(layout)), cmd('touch', ...marks(layout, services)), ...(now ? services.map((s) => ({ shell: startUnlessRunning(s) })) : [])]),
  disable: (services, now) => (services.length === 0 ? [] : [cmd('rm', '-f', ...marks(layout, services)), ...(now ? stop(services) : [])]),
  bootSlot: (on, off) => [cmd('install', '-d', '-m', '755', enabledDir(layout)), cmd('touch', ...marks(layout, [on])), cmd('rm', '-f', ...marks(layout, [off]))],
  installedPath: programFile,
  leftoverFiles: (slotProcess, draining) => (slotProcess ? (['blue', 'green'] as const).map((slot) => slotService(layout, slotProcess, slot)).filter((s) => s !== draining) : []),
  removeFiles: (services) =>
    services.length === 0 ? [] : [cmd('rm', '-f', ...services.flatMap((s) => [programFile(s), launcherFile(s)])), cmd('supervisorctl', 'update', ...services.map(programName))],
  startShell: startUnlessRunning,
  restartSlot: (service) => start([service]),
  stopLater: (name, seconds, service, forget) => {
    const program = quote(programName(service));
    const stopIt = `supervisorctl stop ${program}`;
    // `update` of a program whose file is gone removes it from supervisord (stopped already: nothing cut short).
    return [laterJob(layout, name, seconds, forget ? `${stopIt}; rm -f ${quote(programFile(service))} ${quote(launcherFile(service))}; exec supervisorctl update ${program}` : `exec ${stopIt}`)];
  },
  cancelLater: (name) => [cancelJob(layout, name)],
  stateShell: activeWord('"${unit%.service}"'),
  presenceProbe: 'if command -v supervisorctl >/dev/null 2>&1 && supervisorctl pid >/dev/null 2>&1; then echo "flag supervisor"; fi',
  installedFiles: { globs: [`/etc/supervisor/conf.d/${quote(layout.unitPrefix)}-*.conf`], key: 'n=${p##*/}; n=${n%.conf}.service' },
  // Its draining slot keeps its program file until the drain ends (which removes it); supervisorctl is slow to ask.
  slotsMayRun: (process) => `compgen -G ${quote(`/etc/supervisor/conf.d/${layout.unitPrefix}-${process}@*.conf`)} >/dev/null`,
  slotStatesProbe: (process) => {
    const state = (slot: 'blue' | 'green') => activeWord(quote(programName(slotService(layout, process, slot))));
    return `slipway_states=$(${state('blue')}; ${state('green')})`;
  },
  statusProbe: statusProbe(layout),
  runningProbe: {
    shell: `{ supervisorctl status 2>/dev/null || true; } | awk -v p=${quote(`${layout.unitPrefix}-`)} 'index($1, p) == 1 && $2 == "RUNNING" && $1 != p "boot-recovery" && $1 != p "backup" { print "unit " $1 ".service" }' || true`,
  },
});

/** Starts a program that does not run (on its newest file), and fails unless it runs then. */
function startUnlessRunning(service: string): string {
  const p = quote(programName(service));
  return `case "${stateOf(p)}" in RUNNING) ;; *) supervisorctl update ${p} >/dev/null 2>&1; supervisorctl start ${p} >/dev/null 2>&1; st=${stateOf(p)}; [ "$st" = RUNNING ] || { echo "supervisor program ${programName(service)} did not start (it is \${st:-unknown to supervisord})"; false; } ;; esac`;
}

const jobFile = (layout: Layout, name: string) => `${layout.meta}/later-${name}.pid`;

/**
 * A job for later without systemd: a sleeping shell in a session of its own (it outlives the deploy's
 * connection), its pid kept so the job can be cancelled, and its name in its command line so a reused pid is
 * never taken for it.
 */
function laterJob(layout: Layout, name: string, seconds: number, script: string): Snippet {
  const job = `sleep ${seconds}; rm -f ${quote(jobFile(layout, name))}; ${script}`;
  return { shell: `setsid sh -c ${quote(job)} ${quote(`slipway-later-${name}`)} </dev/null >/dev/null 2>&1 & echo $! > ${quote(jobFile(layout, name))}` };
}

function cancelJob(layout: Layout, name: string): Snippet {
  const file = quote(jobFile(layout, name));
  return {
    shell: `if [ -f ${file} ]; then p=$(cat ${file} 2>/dev/null); if [ -n "$p" ] && tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF ${quote(`slipway-later-${name}`)}; then kill -- "-$p" 2>/dev/null || true; fi; rm -f ${file}; fi`,
  };
}

/** supervisor's states as systemd's words, so `status` reads both alike. */
function statusProbe(layout: Layout): Snippet {
  const prefix = quote(`${layout.unitPrefix}-`);
  return {
    shell: [
      'command -v supervisorctl >/dev/null 2>&1 || exit 0',
      `{ supervisorctl status 2>/dev/null || true; } | awk -v p=${prefix} 'index($1, p) == 1 {`,
      '  st = $2; a = "inactive"; s = "dead"; pid = 0',
      '  if (st == "RUNNING") { a = "active"; s = "running"; pid = $4; sub(/,$/, "", pid) } else if (st == "STARTING") { a = "activating"; s = "start" }',
      '  else if (st == "BACKOFF") { a = "activating"; s = "auto-restart" } else if (st == "STOPPING") { a = "deactivating"; s = "stop" } else if (st == "FATAL") { a = "failed"; s = "failed" }',
      // A slot that does not run is not listed, as systemd lists only the template instances it runs.
      '  if (index($1, "@") > 0 && a == "inactive") next',
      '  print "service " $1 ".service ActiveState=" a " SubState=" s " MainPID=" pid }\' || true',
    ].join('\n'),
  };
}
