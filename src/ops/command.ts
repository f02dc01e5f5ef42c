// Commands are data: builders return these and never run anything. Only src/execute turns them into processes,
// and only src/ops/shell.ts turns them into shell text, so `plan`, the runbook and the deploy print and run
// exactly the same thing.

/** Text fed to a command's standard input. Secret text is redacted wherever the command is shown. */
export interface StdinText {
  text: string;
  secret?: boolean;
}

export interface Command {
  argv: string[];
  /** Run in this directory (a subshell `cd`, so the rest of the script is not affected). */
  cwd?: string;
  env?: Record<string, string>;
  /** Run as this user through sudo (non-interactive). */
  user?: string;
  stdin?: StdinText;
  /** Send standard output to this file instead of the log. */
  stdoutTo?: string;
  /** Read standard input from this file (on the machine the command runs on). */
  stdinFrom?: string;
  /** Discard output: for probes whose exit code is the answer. */
  quiet?: boolean;
}

/** `a | b`; fails when any part fails (scripts run with pipefail). */
export interface Pipeline {
  pipe: Command[];
}

/** `a || b`: run b only when a fails (for "only if missing" steps). */
export interface Fallback {
  either: Cmd;
  orElse: Cmd;
}

/**
 * A fixed snippet of shell (a retry loop, a comparison) for what argv cannot say. Built only by builders in
 * src/ops, which pass every interpolated value through `quote`.
 */
export interface Snippet {
  shell: string;
}

/** `if probe; then …; else …; fi`: for "only when needed" steps whose branches are more than one command. */
export interface Conditional {
  if: Cmd;
  then: Cmd[];
  else: Cmd[];
}

export type Cmd = Command | Pipeline | Fallback | Snippet | Conditional;

export function cmd(...argv: string[]): Command {
  return { argv };
}

export function pipe(...commands: Command[]): Pipeline {
  return { pipe: commands };
}

export function unless(probe: Cmd, action: Cmd): Fallback {
  return { either: probe, orElse: action };
}

/** One named unit of work in a plan, shown as one item of progress and one section of the runbook. */
export interface Step {
  id: string;
  title: string;
  commands: Cmd[];
  /** Steps that run on the deployer's machine (an upload) rather than on the host. */
  runsOn?: 'host' | 'deployer';
  /** Data this host step reads, made on the deployer and sent with the step's script. */
  carries?: Carried;
  /** Show this step's output to the user after the deploy (checks whose warnings matter). */
  report?: boolean;
}

/**
 * What a host step carries from the deployer (a pack of the commit's objects): `make` runs on the deployer and its
 * output travels with the script that holds the step, in the same round trip, to `into` on the host, where the
 * agent writes it before the script starts (ops/agent.ts). One host script carries at most one.
 */
export interface Carried {
  make: Command;
  into: string;
}
