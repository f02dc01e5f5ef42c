// The one error handler's text: what the CLI prints for a failure (and the dashboard shows for a run), and the
// exit code it means.
import { ConfigError } from '../config/diagnostics.js';
import { CommandFailedError, UserError } from '../errors.js';
import type { Io } from './io.js';

export function report(io: Io, error: unknown, verbose: boolean): number {
  if (error instanceof ConfigError) {
    for (const d of error.diagnostics) io.err(`error: ${d.loc.file}:${d.loc.line}:${d.loc.col}: ${d.path}: ${d.message}`);
    return 2;
  }
  if (error instanceof UserError) {
    io.err(`error: ${error.message}`);
    if (error.hint) io.err(`hint: ${error.hint}`);
    return 2;
  }
  if (error instanceof CommandFailedError) {
    const command = error.reason ?? error.command.split('\n')[0];
    io.err(`error: ${error.step} failed on ${error.host} (exit ${error.exitCode})${command ? `: ${command}` : ''}`);
    for (const line of error.outputTail) io.err(`  | ${line}`);
    if (error.hint) io.err(`hint: ${error.hint}`);
    return 1;
  }
  io.err(`bug: ${error instanceof Error ? error.message : String(error)} (please report it; --verbose shows where)`);
  if (verbose && error instanceof Error && error.stack) io.err(error.stack);
  return 70;
}
