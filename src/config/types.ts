// The validated configuration, as the rest of slipway sees it (defaults applied, secrets resolved). The
// config's shape comes from src/config/schema.ts through the builders' types, so it is written once; only
// what loading adds on top of validation is spelled out here.
import type { Flat, Infer } from './schema-dsl.js';
import type { configSchema } from './schema.js';

/** Exactly what validation yields: keys with a default (and objects) present, the others optional. */
export type ValidatedConfig = Infer<typeof configSchema>;

type ValidatedProcess = ValidatedConfig['processes'][string];

export type ServerConfig = ValidatedConfig['servers'][number];

/**
 * A process as the planner and the unit renderer take it: the config's (validated, with `stop_timeout`) or a
 * recipe's default process, which leaves `stop_timeout` to the renderer's fallback (and is never a singleton).
 */
export type ProcessConfig = Flat<Omit<ValidatedProcess, 'stop_timeout' | 'singleton'> & { stop_timeout?: ValidatedProcess['stop_timeout']; singleton?: ValidatedProcess['singleton'] }>;

/**
 * `environment` is always set: loadConfig fills it from deploy-<env>.yml when the file leaves it out. The
 * processes keep `stop_timeout` optional, as before the type was inferred: configs built in code (the
 * planner tests' overrides) give processes without it, and the unit renderer falls back to the default.
 */
export type Config = Flat<
  Omit<ValidatedConfig, 'environment' | 'processes'> & {
    environment: string;
    processes: Record<string, ProcessConfig>;
  }
>;

/** A loaded configuration plus what was learned while loading it. */
export interface LoadedConfig {
  config: Config;
  /** Directory holding the config files: relative repo paths resolve from here. */
  dir: string;
  files: string[];
  /** Resolved secret values: redacted from everything slipway prints or logs. */
  secrets: string[];
  warnings: string[];
  /** Hash of the merged config, recorded in each release's manifest. */
  hash: string;
}
