// The app's .env: one KEY="value" per line, readable by both systemd (EnvironmentFile=) and sh (`. ./.env`).
import type { Config } from '../config/types.js';
import { databaseUrl } from '../ops/postgres.js';

/** Inside double quotes both sh and systemd take \\ " $ ` literally when escaped with a backslash. */
export function envFileValue(value: string): string {
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

export function envFileText(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([key, value]) => `${key}=${envFileValue(value)}`)
    .join('\n');
}

/** The configured variables plus DATABASE_URL for a PostgreSQL database (unless the config sets its own). */
export function appEnv(config: Pick<Config, 'env_vars' | 'database'>): Record<string, string> {
  const db = config.database;
  const vars = { ...config.env_vars };
  if (db.engine === 'postgresql' && db.name && db.user && db.password && vars.DATABASE_URL === undefined) {
    vars.DATABASE_URL = databaseUrl({ name: db.name, user: db.user, password: db.password, host: db.host, port: db.port });
  }
  return vars;
}
