// The one place where data becomes shell text. Everything that reaches a shell passes through `quote`.
import type { Cmd, Command, Step } from './command.js';

const SAFE_WORD = /^[A-Za-z0-9_\-+=.,/:@%]+$/;

/** Quote one word for POSIX sh and bash: safe words stay readable, everything else is single-quoted. */
export function quote(word: string): string {
  if (word !== '' && SAFE_WORD.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function quoteArgv(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

/** A heredoc delimiter that cannot occur in the text, so the text needs no escaping at all. */
function heredocDelimiter(text: string): string {
  let n = 0;
  while (text.includes(`SLIPWAY_EOF_${n}`)) n += 1;
  return `SLIPWAY_EOF_${n}`;
}

export interface RenderOptions {
  /** Replace secret stdin text with a marker (for anything shown to a person or written to a log). */
  redact?: boolean;
}

/** Heredoc bodies go after the whole line: text after a `<<` on the same line (`|| b; }`, `| tr`) is still code. */
function renderSimple(command: Command, options: RenderOptions, heredocs: string[]): string {
  let words = quoteArgv(command.argv);
  if (command.env && Object.keys(command.env).length > 0) {
    const assignments = Object.entries(command.env).map(([k, v]) => `${k}=${quote(v)}`);
    words = `env ${assignments.join(' ')} ${words}`;
  }
  if (command.user) words = `sudo -n -H -u ${quote(command.user)} -- ${words}`;
  if (command.stdoutTo) words += ` > ${quote(command.stdoutTo)}`;
  if (command.quiet) words += ' >/dev/null 2>&1';
  if (command.cwd) words = `(cd ${quote(command.cwd)} && ${words})`;
  if (command.stdin) {
    const shown = options.redact && command.stdin.secret ? '<redacted: secret values>\n' : command.stdin.text;
    const body = shown.endsWith('\n') ? shown : `${shown}\n`;
    const delimiter = heredocDelimiter(body);
    words += ` <<'${delimiter}'`;
    heredocs.push(`${body}${delimiter}`);
  }
  return words;
}

function renderLine(command: Cmd, options: RenderOptions, heredocs: string[]): string {
  if ('pipe' in command) return command.pipe.map((c) => renderSimple(c, options, heredocs)).join(' | ');
  if ('shell' in command) return command.shell;
  if ('either' in command) {
    return `{ ${renderLine(command.either, options, heredocs)} || ${renderLine(command.orElse, options, heredocs)}; }`;
  }
  return renderSimple(command, options, heredocs);
}

export function renderCmd(command: Cmd, options: RenderOptions = {}): string {
  const heredocs: string[] = [];
  const line = renderLine(command, options, heredocs);
  return [line, ...heredocs].join('\n');
}

/** The marker line a script prints before each step, so the executor knows which step is running or failed. */
export const STEP_MARKER = '##slipway-step ';

/**
 * A script for one host: strict mode, a step marker before each step, and on error the failing command
 * printed for the error report. This text is both what `plan` shows and what the executor sends.
 */
export function renderScript(steps: readonly Step[], options: RenderOptions = {}): string {
  const lines = ['set -euo pipefail', `trap 'echo "##slipway-failed-command $BASH_COMMAND"' ERR`];
  for (const step of steps) {
    lines.push(`echo ${quote(`${STEP_MARKER}${step.id}`)}`);
    for (const command of step.commands) lines.push(renderCmd(command, options));
  }
  return `${lines.join('\n')}\n`;
}
