// Shared pieces of the CLI commands: global options, loading the config, building an operation context.
import { resolve } from 'node:path';
import type { LoadedConfig } from '../config/types.js';
import type { OperationContext } from '../execute/operation.js';
import type { Io } from './io.js';
import { deployLogFile, progressObserver } from './output.js';

export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

export async function load(io: Io, env: string, options: GlobalOptions, repoOverride?: string): Promise<LoadedConfig> {
  const dir = resolve(io.cwd, options.config ?? '.');
  // Loaded here, not at start-up: `sandbox` and `init` never read a config (and YAML is a third of the start).
  const { loadConfig } = await import('../config/load.js');
  const loaded = await loadConfig({ dir, env, processEnv: io.env });
  if (repoOverride) loaded.config.project.repo = repoOverride;
  for (const warning of loaded.warnings) io.err(`warning: ${warning}`);
  return loaded;
}

export function operationContext(io: Io, loaded: LoadedConfig, options: GlobalOptions & { lockWait?: string; host?: string }, action: string, argv: readonly string[]): OperationContext {
  const logFile = action === 'plan' ? undefined : deployLogFile(loaded.dir, loaded.config.environment, action);
  return {
    loaded,
    observer: progressObserver({ io, verbose: options.verbose ?? false, ...(logFile ? { logFile } : {}) }),
    command: commandLine(argv),
    lockWaitSeconds: Number(options.lockWait ?? 0),
    ...(options.host ? { only: options.host } : {}),
  };
}

/**
 * The command line as recorded on the servers (the lock holder): `env set KEY=VALUE` names the key only, since
 * the holder file is readable by anyone on the server and outlives the command.
 */
export function commandLine(argv: readonly string[]): string {
  const setting = argv.indexOf('env') >= 0 && argv[argv.indexOf('env') + 1] === 'set';
  const words = setting ? argv.map((word) => word.replace(/^([A-Za-z_][A-Za-z0-9_]*)=.*$/s, '$1=***')) : argv;
  return ['slipway', ...words].join(' ');
}
