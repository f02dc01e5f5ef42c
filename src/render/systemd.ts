// systemd unit files for the app's processes, as pure text.
import type { Layout } from '../plan/layout.js';
import type { ProcessConfig } from '../config/types.js';
import { runtimeEnvironment } from '../ops/app-command.js';
import type { Runtime } from '../recipes/types.js';
import { listensOnSocket, socketLink } from '../ops/web.js';
import { RELEASE_ENV_FILE } from '../ops/release.js';

/**
 * systemd parses ExecStart itself: `$` and `%` would be expanded by systemd, quotes delimit words, and a raw
 * newline would end the line (the rest would be read as new directives), so it is written as the C escape.
 */
function systemdShellArgument(command: string): string {
  const escaped = command
    .replaceAll('\\', '\\\\')
    .replaceAll('"', '\\"')
    .replaceAll('$', () => '$$') // a function: in a replacement string `$$` means a single `$`
    .replaceAll('%', '%%')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');
  return `"exec ${escaped}"`;
}

export const unitName = (layout: Layout, process: string) => `${layout.unitPrefix}-${process}.service`;
export const targetName = (layout: Layout) => `${layout.unitPrefix}.target`;

/** Blue/green: `<prefix>-web@blue` and `@green` run side by side, each in the release its slot links to. */
export const slotTemplateName = (layout: Layout, process: string) => `${layout.unitPrefix}-${process}@.service`;
export const slotEnvFile = (layout: Layout, slot: string) => `${layout.meta}/slot-${slot}.env`;

export function renderProcessUnit(layout: Layout, name: string, process: ProcessConfig, project: string, runtime: Runtime = undefined, slotted = false): string {
  // A slotted process runs in the release its slot links to (resolved at start: the slot stays pinned to it);
  // others run in `current`, so a restart (or rollback) also switches code, venv, Node and node_modules.
  const dir = slotted ? `${layout.slots}/%i` : layout.current;
  // A slot's port and socket come from its file; a process in place that listens on a socket does so on the
  // link's own path (where nginx proxies to with http.switch socket).
  const socket = listensOnSocket(process.command) ? [`Environment=SLIPWAY_SOCKET=${socketLink(layout, name)}`] : [];
  const port = slotted ? [`EnvironmentFile=${slotEnvFile(layout, '%i')}`] : [...(process.port !== undefined ? [`Environment=PORT=${process.port}`] : []), ...socket];
  const lines = [
    '# Written by slipway: changes here are replaced on the next deploy.',
    '[Unit]',
    `Description=${project} ${name}${slotted ? ' (slot %i)' : ''} (slipway)`,
    'After=network-online.target',
    'Wants=network-online.target',
    `PartOf=${targetName(layout)}`,
    '',
    '[Service]',
    'Type=simple',
    `User=${layout.appUser}`,
    `Group=${layout.appUser}`,
    `WorkingDirectory=${dir}`,
    `EnvironmentFile=-${layout.envFile}`,
    // Which release this is (SLIPWAY_RELEASE, _SHA, _REF): the release's own file, read at each start.
    `EnvironmentFile=-${dir}/${RELEASE_ENV_FILE}`,
    ...port,
    ...Object.entries(runtimeEnvironment(runtime, dir)).map(([k, v]) => `Environment=${k}=${v}`),
    `ExecStart=/bin/sh -c ${systemdShellArgument(process.command)}`,
    'Restart=always',
    'RestartSec=2',
    // Graceful stop: SIGTERM to the main process, 35 s for in-flight work, then SIGKILL to the whole group.
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    `TimeoutStopSec=${process.stop_timeout ?? 35}`,
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'ProtectSystem=full',
    '',
    '[Install]',
    `WantedBy=${targetName(layout)}`,
    '',
  ];
  return lines.join('\n');
}

export const bootRecoveryUnitName = (layout: Layout) => `${layout.unitPrefix}-boot-recovery.service`;

/**
 * Runs the switch-back a power loss or reboot cut short (ops/boot.ts), once the app's units and nginx have
 * started: the old slot can then start and be checked, and nginx reloaded, as in any recovery.
 */
export function renderBootRecoveryUnit(layout: Layout, project: string, file: string): string {
  return [
    '# Written by slipway: finishes a switch-back that a power loss or a reboot cut short.',
    '[Unit]',
    `Description=${project}: finish an interrupted switch-back (slipway)`,
    `ConditionPathExists=${file}`,
    `After=network-online.target nginx.service ${targetName(layout)}`,
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=/bin/bash ${file}`,
    'TimeoutStartSec=300',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function renderAppTarget(layout: Layout, project: string): string {
  return [
    '# Written by slipway: starting or stopping this target starts or stops every process of the app.',
    '[Unit]',
    `Description=${project} (slipway)`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
