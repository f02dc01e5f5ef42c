// The one place where data becomes shell text. Everything that reaches a shell passes through `quote`.
import type { Cmd, Command, Snippet, Step } from './command.js';

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
  if (command.stdinFrom) words += ` < ${quote(command.stdinFrom)}`;
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
  if ('if' in command) {
    const branch = (cmds: Cmd[]) => (cmds.length === 0 ? ':' : cmds.map((c) => renderCmd(c, options)).join('\n'));
    // The condition's heredocs follow its `; then` line, like any other line's.
    const conditionDocs: string[] = [];
    const condition = renderLine(command.if, options, conditionDocs);
    return [`if ${condition}; then`, ...conditionDocs, branch(command.then), 'else', branch(command.else), 'fi'].join('\n');
  }
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

export const RECOVER_MARKER = '##slipway-recover ';
export const FAILED_COMMAND_MARKER = '##slipway-failed-command ';

/**
 * What a script does itself when it fails, so the host ends in a safe state even if slipway or the
 * connection is gone by then: before the switch, mark the release failed; from the switch on, switch back;
 * from the commit on (the new release passed every check and serves), keep it and only record that.
 */
export interface Recovery {
  /** Index (in this script's steps) of the step that switches traffic; -1 when the script has none. */
  switchAt: number;
  beforeSwitch: readonly Step[];
  afterSwitch: readonly Step[];
  /**
   * Index of the first step after which the change stands (bookkeeping: mark good, remove old releases); -1 or
   * absent when the script has none. Switching back a healthy, serving release for a failed cleanup would
   * only undo a good deploy, and would race the drain of the old slot.
   */
  commitAt?: number;
  afterCommit?: readonly Step[];
  /** Appends the operation's history line from the host (see recordFromHost), then says so (RECORDED_MARKER). */
  record?: Snippet;
  /** Run first: leaves the line the agent finishes if slipway vanishes after this script (see pendingFromHost). */
  pending?: Snippet;
  /** Run at the commit point: the pending line says the release was kept. */
  pendingKept?: Snippet;
  /** Armed at the switch, disarmed at the commit: the switch-back a boot runs if the server stops between (ops/boot.ts). */
  boot?: { arm: readonly Cmd[]; disarm: Cmd };
}

export const RECORDED_MARKER = '##slipway-recorded';

/** True while systemd says the system is up (not starting, not stopping, not unreachable). */
export const systemUp = '{ case "$(systemctl is-system-running 2>/dev/null)" in running|degraded) true ;; *) false ;; esac; }';

const hasCommit = (recovery: Recovery) => recovery.commitAt !== undefined && recovery.commitAt >= 0;

function recoveryFunction(recovery: Recovery, options: RenderOptions): string[] {
  const block = (steps: readonly Step[]) => steps.flatMap((step) => [`    echo ${quote(`${RECOVER_MARKER}${step.id}`)}`, ...step.commands.map((c) => `    ${renderCmd(c, options)}`)]);
  // With a record, each branch says what it did, for the host's own history line.
  const said = (outcome: string, result: string) => (recovery.record ? [`    slipway_outcome=${outcome} slipway_result=${result}`] : []);
  const disarm = recovery.boot ? renderCmd(recovery.boot.disarm, options) : undefined;
  const before = [...said('release-failed', 'failed'), ...block(recovery.beforeSwitch)];
  // A switch-back cut short by a shutdown (systemd starts nothing then, and may not even answer) is left armed
  // for the boot to finish: only a system known to be up disarms it.
  const after = [...said('switched-back', 'rolled-back'), ...block(recovery.afterSwitch), ...(disarm ? [`    ${systemUp} && ${disarm}`] : [])];
  const committed = [...said('kept', 'ok'), ...block(recovery.afterCommit ?? []), ...(disarm ? [`    ${disarm}`] : [])];
  const record = recovery.record
    ? [
        '  if [ "$slipway_rc" = 143 ]; then slipway_result=interrupted slipway_error="interrupted during $slipway_step"; else slipway_error="$slipway_step failed (exit $slipway_rc)"; fi',
        `  ${recovery.record.shell}`,
        `  echo ${quote(RECORDED_MARKER)}`,
      ]
    : [];
  return [
    'slipway_switched=0 slipway_step=',
    'slipway_recover() {',
    '  slipway_rc=$?',
    '  trap - EXIT',
    // A second signal (a second Ctrl-C, the agent's watchdog) must not cut the repair short.
    "  trap '' TERM INT HUP",
    '  [ "$slipway_rc" = 0 ] && exit 0',
    // Recovery is best effort: every command runs even if one fails.
    '  set +e',
    ...(hasCommit(recovery) ? ['  if [ "$slipway_switched" = 2 ]; then', ...(committed.length > 0 ? committed : ['    :']), '  elif [ "$slipway_switched" = 1 ]; then'] : ['  if [ "$slipway_switched" = 1 ]; then']),
    ...(after.length > 0 ? after : ['    :']),
    '  else',
    ...(before.length > 0 ? before : ['    :']),
    '  fi',
    ...record,
    '  exit "$slipway_rc"',
    '}',
    'trap slipway_recover EXIT',
    // SIGTERM comes from the agent when slipway is gone: stop after the current command, and recover.
    "trap 'exit 143' TERM",
  ];
}

/**
 * A script for one host: strict mode, a step marker before each step, on error the failing command
 * printed for the error report, and the recovery to run on failure. This text is both what `plan` shows
 * and what the executor sends.
 */
export function renderScript(steps: readonly Step[], options: RenderOptions = {}, recovery?: Recovery): string {
  const lines = ['set -euo pipefail', `trap 'echo "${FAILED_COMMAND_MARKER}$BASH_COMMAND"' ERR`];
  // With nobody reading the output any more, a write must fail (and trigger recovery), not kill the script.
  if (recovery) lines.push("trap '' PIPE", ...recoveryFunction(recovery, options));
  if (recovery?.pending) lines.push(recovery.pending.shell);
  if (recovery) {
    // The script's own bookkeeping at the switch and the commit, as one call each: the steps stay exactly the
    // commands `plan` prints.
    const atSwitch = ['slipway_switched=1', ...(recovery.boot?.arm ?? []).map((c) => renderCmd(c, options))];
    const atCommit = ['slipway_switched=2', ...(recovery.pendingKept ? [recovery.pendingKept.shell] : []), ...(recovery.boot ? [renderCmd(recovery.boot.disarm, options)] : [])];
    lines.push('slipway_at_switch() {', ...atSwitch, '}', 'slipway_at_commit() {', ...atCommit, '}');
  }
  steps.forEach((step, i) => {
    lines.push(`echo ${quote(`${STEP_MARKER}${step.id}`)}`);
    if (recovery?.record) lines.push(`slipway_step=${quote(JSON.stringify(step.title).slice(1, -1))}`);
    if (recovery && i === recovery.switchAt) lines.push('slipway_at_switch');
    if (recovery && i === recovery.commitAt) lines.push('slipway_at_commit');
    for (const command of step.commands) lines.push(renderCmd(command, options));
  });
  return `${lines.join('\n')}\n`;
}
