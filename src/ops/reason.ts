// A step that knows why it failed says so on one line of its own, marked so the error shown to the user leads
// with it (errors.ts reads it back) rather than with the command that happened to fail.
import type { Command } from './command.js';

export const REASON_PREFIX = 'slipway: ';

/**
 * Fails (exit 100, apt's own) after printing `reason` as the step's reason. A command, not an `exit` in the
 * script: the script's own error handling (the failed-command report, the recovery) runs as for any failure.
 */
export function failWith(reason: string, code = 100): Command {
  return { argv: ['sh', '-c', 'echo "$1" >&2; exit "$2"', 'slipway', `${REASON_PREFIX}${reason}`, String(code)] };
}

/** The reason a failed step gave, from its output's last lines. */
export function reasonIn(lines: readonly string[]): string | undefined {
  const line = [...lines].reverse().find((l) => l.startsWith(REASON_PREFIX));
  return line?.slice(REASON_PREFIX.length);
}
