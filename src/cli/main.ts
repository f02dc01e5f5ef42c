// The CLI: parse argv, call the layers, print. One error handler for the whole program.
import { Command, CommanderError } from 'commander';
import { registerDeployCommands } from './deploy-commands.js';
import { registerInitCommand } from './init-command.js';
import { registerInspectCommands } from './inspect-commands.js';
import { registerOpsCommands } from './ops-commands.js';
import { registerSandbox } from './sandbox.js';
import { registerSetupCommands } from './setup-commands.js';
import { registerRehearseCommand } from './rehearse-command.js';
import { registerBackupCommands } from './backup-commands.js';
import { processIo, type Io } from './io.js';
import { report } from './report.js';
import { registerDashboardCommand } from './dashboard-command.js';
import { version } from './version.js';

export { version };

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const program = new Command('slipway');
  program
    .description('Deploy web apps onto plain Linux servers: releases, health-gated switch, rollback.')
    .version(version(), '-V, --version')
    .option('-c, --config <dir>', 'directory holding deploy.yml and deploy-<env>.yml', '.')
    .option('-v, --verbose', 'show remote output as it happens, and stack traces of bugs')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError();
  registerDeployCommands(program, io, argv);
  registerInitCommand(program, io);
  registerInspectCommands(program, io);
  registerOpsCommands(program, io, argv);
  registerSandbox(program, io);
  registerSetupCommands(program, io, argv);
  registerRehearseCommand(program, io, argv);
  registerBackupCommands(program, io, argv);
  registerDashboardCommand(program, io);
  // Commands that pass on another program's exit code (sandbox ssh) set process.exitCode; read it per run.
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const code = report(io, error, program.opts<{ verbose?: boolean }>().verbose ?? argv.includes('--verbose'));
    // Interrupted (Ctrl-C): the failure reported is the stop the user asked for.
    return process.exitCode === 130 ? 130 : code;
  } finally {
    process.exitCode = before;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  return run(argv, processIo());
}
