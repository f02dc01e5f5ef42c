// Writing a system configuration file: complete or not at all, with its owner and mode set before the content
// arrives, and, when the program that reads it can check it (sshd -t, nginx -t), checked before it counts: a
// file the check refuses is replaced by the previous one, so a bad file never stays in place.
import { cmd, type Cmd } from './command.js';
import { keepPrevious, previousOf, restorePrevious } from './files.js';

export interface ConfigFile {
  path: string;
  text: string;
  /** Octal mode, default 644. */
  mode?: string;
  owner?: string;
  group?: string;
  /** The text holds a secret: redacted wherever the command is shown. */
  secret?: boolean;
}

export interface FileCheck {
  /** Run once the new file is in place, before the check (e.g. include it from the main file). */
  prepare?: Cmd[];
  /** Succeeds when the new file is good (and applied, e.g. a restart that must succeed). */
  check: Cmd;
  /** Why the change was undone, printed when the check fails. */
  message: string;
  /** Run after the previous file is back (restart the service on its old configuration). */
  afterRestore?: Cmd[];
}

const parentOf = (path: string) => path.slice(0, path.lastIndexOf('/')) || '/';

export function installConfigFile(file: ConfigFile, check?: FileCheck): Cmd[] {
  const next = `${file.path}.slipway-new`;
  const ownership = [...(file.owner ? ['-o', file.owner] : []), ...(file.group ? ['-g', file.group] : [])];
  const write: Cmd[] = [
    cmd('mkdir', '-p', parentOf(file.path)),
    cmd('install', '-m', file.mode ?? '644', ...ownership, '/dev/null', next),
    { argv: ['tee', next], stdin: { text: file.text, ...(file.secret ? { secret: true } : {}) }, stdoutTo: '/dev/null' },
  ];
  if (!check) return [...write, cmd('mv', '-f', next, file.path)];
  return [
    ...write,
    keepPrevious(file.path),
    cmd('mv', '-f', next, file.path),
    ...(check.prepare ?? []),
    {
      if: check.check,
      then: [cmd('rm', '-f', previousOf(file.path))],
      else: [restorePrevious(file.path), ...(check.afterRestore ?? []), cmd('echo', `${check.message}: the previous ${file.path} was put back`), cmd('false')],
    },
  ];
}
