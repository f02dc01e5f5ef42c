// The app's .env: one KEY="value" per line, readable by both systemd (EnvironmentFile=) and sh (`. ./.env`).
import type { Config } from '../config/types.js';
import { databaseUrl } from '../ops/postgres.js';
import type { Endpoints } from './data-servers.js';

/** Inside double quotes both sh and systemd take \\ " $ ` literally when escaped with a backslash. */
export function envFileValue(value: string): string {
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

export function envFileText(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([key, value]) => `${key}=${envFileValue(value)}`)
    .join('\n');
}

/**
 * The configured variables plus DATABASE_URL (an external database's URL, the database server's with TLS
 * required, or localhost) and REDIS_URL when slipway sets up Redis; a variable the config sets itself wins.
 */
export function appEnv(config: Pick<Config, 'env_vars' | 'database'>, endpoints: Endpoints = {}): Record<string, string> {
  const db = config.database;
  const vars = { ...config.env_vars };
  if (db.engine === 'postgresql' && vars.DATABASE_URL === undefined) {
    if (db.url) vars.DATABASE_URL = db.url;
    else if (db.name && db.user && db.password) {
      const host = endpoints.database?.host ?? db.host;
      const url = databaseUrl({ name: db.name, user: db.user, password: db.password, host, port: db.port });
      vars.DATABASE_URL = endpoints.database?.tls ? `${url}?sslmode=require` : url;
    }
  }
  const redis = endpoints.redis;
  if (redis && vars.REDIS_URL === undefined) vars.REDIS_URL = `redis://:${encodeURIComponent(redis.password)}@${redis.host}:6379/0`;
  return vars;
}
