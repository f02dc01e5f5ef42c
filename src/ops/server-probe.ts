// Lines about the server itself that `doctor` and `status` both read: memory, and the file system a path is on.
import { quote } from './shell.js';

/** `memory TOTAL_KB AVAILABLE_KB` from /proc/meminfo; nothing where there is none. */
export const MEMORY_PROBE = "if [ -r /proc/meminfo ]; then awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { if (t) print \"memory\", t, a }' /proc/meminfo; fi";

/**
 * `<kind> TOTAL_KB AVAILABLE_KB MOUNT` for the file system holding `path`. The path may not exist yet (a first
 * deploy's base_path): the nearest existing parent is on the disk it will use.
 */
export function filesystemProbe(path: string, kind: string): string {
  return `p=${quote(path)}; while [ ! -d "$p" ]; do p=$(dirname "$p"); done; df -Pk "$p" | awk 'NR == 2 { print "${kind}", $2, $4, $6 }'`;
}
