// What the web process, the worker and the migration share: connections, the queue's name, the version.
//
// DATABASE_URL  postgresql://user:password@host:port/name (slipway writes it to the app's .env)
// REDIS_URL     redis://host:port/db (default redis://127.0.0.1:6379/0)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Pool } = require('pg');
const { createClient } = require('redis');

const HERE = __dirname;
const QUEUE = 'notes:queue';
// Unreachable dependencies must fail fast: a health check that hangs is a health check that times out.
const TIMEOUT_MS = 3000;

function releaseVersion() {
  try {
    return fs.readFileSync(path.join(HERE, 'VERSION'), 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

let pool;

// Created on first use, so the app starts (and /version answers) even before the database is configured.
function db() {
  if (!pool) {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set (postgresql://user:password@host:port/name)');
    pool = new Pool({ connectionString: url, max: 5, connectionTimeoutMillis: TIMEOUT_MS });
    // An idle connection dropped by a PostgreSQL restart is an event, not a crash: the pool opens a new one.
    pool.on('error', (error) => console.warn(`postgresql: idle connection lost: ${describe(error)}`));
  }
  return pool;
}

const query = (text, params) => db().query(text, params);

async function closeDb() {
  if (pool) await pool.end();
}

// node-redis reconnects by itself; without an offline queue a command fails at once while Redis is away
// (a 503, a worker retry) instead of waiting for it to come back.
function connectRedis(name) {
  const client = createClient({
    url: process.env.REDIS_URL || 'redis://127.0.0.1:6379/0',
    disableOfflineQueue: true,
    socket: { connectTimeout: TIMEOUT_MS, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 1000) },
  });
  // Without an error listener a lost connection would crash the process; one line per outage, not per retry.
  let down = false;
  client.on('error', (error) => {
    if (!down) console.warn(`${name}: redis: ${describe(error)}; reconnecting`);
    down = true;
  });
  client.on('ready', () => {
    if (down) console.log(`${name}: redis: connected again`);
    down = false;
  });
  client.connect().catch((error) => console.warn(`${name}: redis: ${describe(error)}`));
  return client;
}

// QUIT lets the replies in flight arrive first; without a connection it would wait for one: just stop reconnecting.
async function closeRedis(client) {
  if (client.isReady) await client.quit();
  else if (client.isOpen) await client.disconnect();
}

// Node 20 reports a refused connection to `localhost` (::1 and 127.0.0.1) as an AggregateError without a message.
function describe(error) {
  const first = error.errors?.[0] ?? error;
  return (first.message || first.code || String(first)).split(/\s+/).join(' ');
}

module.exports = { HERE, QUEUE, TIMEOUT_MS, releaseVersion, db, query, closeDb, connectRedis, closeRedis, describe };
