// Writing a configuration file on a host: complete or not at all (a temp file renamed over the old one).
import { cmd, unless, type Cmd } from './command.js';

export interface FileSpec {
  path: string;
  text: string;
  /** octal mode, e.g. '644' (the default) or '600'. */
  mode?: string;
  secret?: boolean;
}

/**
 * The mark a directory built in place gets once it is whole (a venv, node_modules, a Node): one without it is a
 * leftover of an interrupted build, never reused.
 */
export const COMPLETE_MARK = '.slipway-complete';

/** Removes what a deploy no longer needs (an old release, an unused venv); a failure is only a warning naming `what`. */
export function removeOrWarn(what: string, ...paths: string[]): Cmd {
  return unless(cmd('rm', '-rf', ...paths), cmd('echo', `warning: could not remove ${what}`));
}

/** Where a file replaced under a check waits until the check passed (keepPrevious, restorePrevious). */
export const previousOf = (path: string) => `${path}.slipway-prev`;

/** Keep the file as it is now beside it, or note that there was none (a stale copy would be put back). */
export function keepPrevious(path: string): Cmd {
  return { if: { argv: ['test', '-f', path] }, then: [cmd('cp', '-p', path, previousOf(path))], else: [cmd('rm', '-f', previousOf(path))] };
}

/** Put the kept file back; with none kept the file was new, so it goes (with `alsoRemove`, e.g. its link). */
export function restorePrevious(path: string, ...alsoRemove: string[]): Cmd {
  return { if: { argv: ['test', '-f', previousOf(path)] }, then: [cmd('mv', '-f', previousOf(path), path)], else: [cmd('rm', '-f', path, ...alsoRemove)] };
}

export function writeFile({ path, text, mode = '644', secret = false }: FileSpec): Cmd[] {
  const next = `${path}.slipway-new`;
  return [
    // The mode is set before the content arrives, so a secret is never readable by others, even briefly.
    cmd('install', '-m', mode, '/dev/null', next),
    { argv: ['tee', next], stdin: { text, ...(secret ? { secret: true } : {}) }, stdoutTo: '/dev/null' },
    cmd('mv', '-f', next, path),
  ];
}
