// Writing a configuration file on a host: complete or not at all (a temp file renamed over the old one).
import { cmd, type Cmd } from './command.js';

export interface FileSpec {
  path: string;
  text: string;
  /** octal mode, e.g. '644' (the default) or '600'. */
  mode?: string;
  secret?: boolean;
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
