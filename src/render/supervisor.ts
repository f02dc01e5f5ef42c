// supervisor programs for the app's processes, as pure text: a program file in /etc/supervisor/conf.d and the
// launcher it runs. The launcher exists because supervisor's parser cuts a value at ` ;` or ` #` (an inline
// comment) and expands `%(...)s`: an app's command is never safe to write into the program file itself.
import type { Layout } from '../plan/layout.js';
import type { ProcessConfig } from '../config/types.js';
import { runtimeEnvironment } from '../ops/app-command.js';
import type { Runtime } from '../recipes/types.js';
import { listensOnSocket, socketLink } from '../ops/web.js';
import { RELEASE_ENV_FILE } from '../ops/release.js';
import { quote } from '../ops/shell.js';
import { slotEnvFile } from './systemd.js';
import { sha256 } from '../ops/services.js';

/** `shop-web.service` → program `shop-web`; a slot `shop-web@blue.service` → `shop-web@blue`. */
export const programName = (service: string) => service.replace(/\.service$/, '');
export const programFile = (service: string) => `/etc/supervisor/conf.d/${programName(service)}.conf`;
export const LAUNCHERS = '/etc/slipway/supervisor';
export const launcherFile = (service: string) => `${LAUNCHERS}/${programName(service)}.sh`;
/** supervisor writes each program's output here, and rotates it (apart from setup's logrotate of logs/*.log). */
export const programLog = (layout: Pick<Layout, 'shared'>, service: string) => `${layout.shared}/logs/supervisor/${programName(service)}.log`;
/** Marks of the programs that start when supervisord does (what `systemctl enable` is to a unit). */
export const enabledDir = (layout: Pick<Layout, 'meta'>) => `${layout.meta}/supervisor-enabled`;

export interface Program {
  service: string;
  /** The program file, and the launcher it runs. */
  text: string;
  launcher: string;
}

/** A program file: its header (naming the launcher's hash: a change of either changes this file), then `settings`. */
function programText(service: string, launcher: string, settings: readonly string[]): string {
  return [
    '; Written by slipway: changes here are replaced on the next deploy.',
    `; Runs ${launcherFile(service)} (sha256 ${sha256(launcher).slice(0, 16)}).`,
    `[program:${programName(service)}]`,
    `command=/bin/sh ${launcherFile(service)}`,
    ...settings,
    '',
  ].join('\n');
}

export interface ProgramInput {
  layout: Layout;
  /** The process's name in the config. */
  name: string;
  process: ProcessConfig;
  project: string;
  runtime: Runtime;
  /** A blue/green slot: the program runs in the release the slot links to. */
  slot?: 'blue' | 'green';
}

function launcherText({ layout, name, process, project, runtime, slot }: ProgramInput, service: string): string {
  const dir = slot ? `${layout.slots}/${slot}` : layout.current;
  const own: Record<string, string> = { HOME: layout.root, USER: layout.appUser, LOGNAME: layout.appUser, ...runtimeEnvironment(runtime, dir) };
  if (!slot && process.port !== undefined) own.PORT = String(process.port);
  if (!slot && listensOnSocket(process.command)) own.SLIPWAY_SOCKET = socketLink(layout, name);
  const source = (file: string) => `if [ -f ${quote(file)} ]; then . ${quote(file)}; fi`;
  return [
    '#!/bin/sh',
    `# Written by slipway: runs ${project} ${name}${slot ? ` (slot ${slot})` : ''} as the supervisor program ${programName(service)}.`,
    '# Values come from the files it reads when it starts, never from here or from the command line.',
    // cd resolves the slot's link now: the process stays on that release while the link moves on.
    `cd ${quote(dir)} || exit 1`,
    ...Object.entries(own).map(([key, value]) => `export ${key}=${quote(value)}`),
    // As systemd's EnvironmentFile= lines: the app's .env, the release's identity, then the slot's port.
    'set -a',
    source(layout.envFile),
    source(`./${RELEASE_ENV_FILE}`),
    ...(slot ? [source(slotEnvFile(layout, slot))] : []),
    'set +a',
    // The command as systemd's units run it (`sh -c "exec <command>"`): the app becomes the program's process.
    `exec ${process.command}`,
    '',
  ].join('\n');
}

/** One program: runs as the app user, restarts with a back-off, stops gracefully as a whole process group. */
export function renderProgram(input: ProgramInput, service: string): Program {
  const { layout, process } = input;
  const launcher = launcherText(input, service);
  const text = programText(service, launcher, [
    `user=${layout.appUser}`,
    // slipway starts what should run (and the boot program what is enabled): a slot must not start by itself.
    'autostart=false',
    'autorestart=true',
    // Up 1 s counts as started; a start that fails sooner is tried again after 1, 2, 3... s (supervisor's back-off).
    'startsecs=1',
    'startretries=10',
    'stopsignal=TERM',
    `stopwaitsecs=${process.stop_timeout ?? 35}`,
    'stopasgroup=true',
    'killasgroup=true',
    'redirect_stderr=true',
    `stdout_logfile=${programLog(layout, service)}`,
    'stdout_logfile_maxbytes=10MB',
    'stdout_logfile_backups=5',
  ]);
  return { service, text, launcher };
}

/**
 * Started by supervisord itself (at boot, or when it restarts): finishes a switch-back a power loss cut short,
 * then starts the programs marked enabled. It runs as root once and exits.
 */
export function renderBootProgram(layout: Layout, project: string, service: string, recoveryFile: string): Program {
  const launcher = [
    '#!/bin/sh',
    `# Written by slipway: at supervisord's start, ${project}'s interrupted switch-back, then its enabled programs.`,
    `if [ -f ${quote(recoveryFile)} ]; then /bin/bash ${quote(recoveryFile)}; fi`,
    `for f in ${quote(enabledDir(layout))}/*; do [ -f "$f" ] || continue; supervisorctl start "\${f##*/}"; done`,
    '',
  ].join('\n');
  const text = programText(service, launcher, [
    'user=root',
    'autostart=true',
    'autorestart=false',
    'startsecs=0',
    'redirect_stderr=true',
    `stdout_logfile=${programLog(layout, service)}`,
    'stdout_logfile_maxbytes=1MB',
    'stdout_logfile_backups=1',
  ]);
  return { service, text, launcher };
}
