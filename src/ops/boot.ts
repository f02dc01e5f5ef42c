// A switch-back that survives a power loss or a reboot: from the switch until the commit point, the host keeps
// the recovery it would run on a failure in a file that a boot-time unit runs (render/systemd.ts). A server that
// stops in that window (nothing runs its recovery then, or systemd refuses to start the old slot while it shuts
// down) comes back on the previous release instead of serving a release that never passed its checks.
import type { Cmd, Snippet, Step } from './command.js';
import { writeFile } from './files.js';
import { quote, renderCmd } from './shell.js';
import { cmd } from './command.js';
import type { Layout } from '../plan/layout.js';

export const bootRecoveryFile = (layout: Pick<Layout, 'meta'>) => `${layout.meta}/boot-recovery.sh`;

export interface BootRecovery {
  /** Written at the switch. */
  arm: Cmd[];
  /** Removed at the commit, and once a recovery completed while the system keeps running. */
  disarm: Cmd;
}

/** `steps`: the after-switch recovery; `record`: the history line, told that the switch-back happened at boot. */
export function bootRecovery(layout: Pick<Layout, 'meta' | 'lockFile'>, steps: readonly Step[], record: Snippet | undefined): BootRecovery {
  const file = bootRecoveryFile(layout);
  const text = [
    '#!/bin/bash',
    '# Written by slipway at a switch; run at boot if the server stopped before the release was committed.',
    // Best effort, like every recovery: each command runs even if one fails.
    'set +u',
    // Under the deploy lock: a deploy started meanwhile waits (or is refused) until the switch-back is done.
    `exec 9>>${quote(layout.lockFile)}`,
    'flock -w 300 9',
    // Run while an operation held the lock (supervisord restarted mid-deploy, not a boot), the file may since
    // have been disarmed by that operation's commit: then there is nothing to switch back.
    `[ -f ${quote(file)} ] || exit 0`,
    ...steps.flatMap((step) => step.commands.map((c) => renderCmd(c))),
    ...(record
      ? ["slipway_result=interrupted slipway_outcome=switched-back slipway_error='the server stopped mid-operation; switched back at boot'", record.shell]
      : []),
    `rm -f ${file}`,
    '',
  ].join('\n');
  // The disarm takes writeFile's temporary name too: an interruption while arming must not leave it behind.
  return { arm: writeFile({ path: file, text, mode: '700' }), disarm: cmd('rm', '-f', file, `${file}.slipway-new`) };
}
