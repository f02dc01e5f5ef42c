// The notes web process: `node server.js [--socket PATH]`.
//
// POST /notes      text=... (a form) or {"text": ...}: stores the note in PostgreSQL and queues its id on the Redis
//                  list notes:queue; answers 201 {"id": ...}
// GET  /notes/:id  the note, with `processed` set once the worker (worker.js) has handled it
// GET  /notes      {"total": ..., "processed": ...}
// GET  /health     200 when PostgreSQL answers SELECT 1 and Redis answers PING, else 503 with what failed;
//                  also 503 while a file named BROKEN is in the release (to try a failed deploy)
// GET  /           a page showing this release's version;  GET /version: the version alone
//
// Listens on 127.0.0.1:$PORT (the health check) and, when given one, on the Unix socket slipway names
// ($SLIPWAY_SOCKET): nginx proxies to that socket, so a blue/green switch needs no nginx reload.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const express = require('express');
const redis = require('redis');
const { HERE, QUEUE, TIMEOUT_MS, releaseVersion, query, closeDb, connectRedis, closeRedis, describe } = require('./store');

const VERSION = releaseVersion(); // read once: a release's files never change, the next release is a new process
const RELEASE = process.env.SLIPWAY_RELEASE || null;
const PORT = Number(process.env.PORT || 3000);
const SOCKET = socketPath();
const queue = connectRedis('web');

// `--socket $SLIPWAY_SOCKET` in deploy.yml's command is how slipway sees that the web process listens on its
// socket; an unset variable leaves `--socket` without a value, so fall back to the environment.
function socketPath() {
  const at = process.argv.indexOf('--socket');
  const given = at === -1 ? undefined : process.argv[at + 1];
  return given || process.env.SLIPWAY_SOCKET || undefined;
}

// Express 4 does not catch a rejected promise: hand it to the error handler below.
const wrap = (handler) => (req, res, next) => handler(req, res).catch(next);

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '16kb' }));
app.use(express.urlencoded({ extended: false, limit: '16kb' }));
// nginx serves /static/ from public/ (http.static_dir); this is for running the app without it.
app.use('/static', express.static(path.join(HERE, 'public'), { maxAge: '1h' }));

app.get('/', (req, res) => {
  const v = escapeHtml(VERSION);
  res.type('html').send(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>notes ${v}</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<h1>notes ${v}</h1>
<p>notes version ${v}, served by ${escapeHtml(os.hostname())}</p>
<form method="post" action="/notes"><input name="text" required maxlength="1000"> <button>Add</button></form>
<p id="counts">loading...</p>
<script src="/static/app.js"></script>
</body>
</html>
`);
});

app.get('/version', (req, res) => {
  res.type('text').send(`${VERSION}\n`);
});

// Checks the real dependencies, so a deploy's health check fails when the release can't reach them.
app.get(
  '/health',
  wrap(async (req, res) => {
    const timeout = () => new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS).unref());
    const check = (promise) => Promise.race([promise, timeout()]).then(() => 'ok', describe);
    const [database, redis] = await Promise.all([check(Promise.resolve().then(() => query('SELECT 1'))), check(queue.ping())]);
    const checks = { database, redis };
    if (fs.existsSync(path.join(HERE, 'BROKEN'))) checks.release = 'a file named BROKEN is in the release';
    const failed = Object.entries(checks).filter(([, value]) => value !== 'ok');
    if (failed.length === 0) return res.json({ status: 'ok', release: RELEASE });
    const error = failed.map(([name, value]) => `${name}: ${value}`).join('; ');
    console.warn(`health check failed: ${error}`);
    res.status(503).json({ status: 'unavailable', release: RELEASE, error, checks });
  }),
);

app.post(
  '/notes',
  wrap(async (req, res) => {
    const text = typeof req.body?.text === 'string' ? req.body.text.trim() : '';
    if (!text || text.length > 1000) return res.status(400).json({ error: 'text: 1 to 1000 characters' });
    const { rows } = await query('INSERT INTO notes (text) VALUES ($1) RETURNING id', [text]);
    const { id } = rows[0];
    // Queued after the commit, so the worker never pops an id it can't see yet. If Redis is down the client gets a
    // 503 and the row stays unprocessed: a real app would queue from an outbox table.
    await queue.lPush(QUEUE, String(id));
    res.status(201).json({ id });
  }),
);

app.get(
  '/notes/:id',
  wrap(async (req, res) => {
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id < 1 || id > 2147483647) return res.status(404).json({ error: `no note ${req.params.id}` });
    const { rows } = await query('SELECT id, text, processed FROM notes WHERE id = $1', [id]);
    if (rows.length === 0) return res.status(404).json({ error: `no note ${id}` });
    res.json(rows[0]);
  }),
);

app.get(
  '/notes',
  wrap(async (req, res) => {
    const { rows } = await query('SELECT count(*)::int AS total, (count(*) FILTER (WHERE processed))::int AS processed FROM notes');
    res.json(rows[0]);
  }),
);

// A dependency that can't be reached is a 503 (try again later), not a 500: the same test for PostgreSQL and Redis.
const UNAVAILABLE_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|ENOENT|08|57P0|28)/;
const UNAVAILABLE_ERRORS = [redis.ClientOfflineError, redis.ClientClosedError, redis.ConnectionTimeoutError, redis.SocketClosedUnexpectedlyError];
const unavailable = (error) =>
  UNAVAILABLE_CODES.test(error.code || error.errors?.[0]?.code || '') ||
  UNAVAILABLE_ERRORS.some((type) => error instanceof type) ||
  /DATABASE_URL is not set|timeout exceeded when trying to connect|Connection terminated/.test(error.message);

// Express tells an error handler by its four parameters, the unused `_next` included.
app.use((error, req, res, _next) => {
  if (error.type === 'entity.parse.failed' || error.type === 'entity.too.large') return res.status(error.status).json({ error: error.message });
  const message = describe(error);
  console.warn(`${req.method} ${req.path}: ${message}`);
  if (unavailable(error)) return res.status(503).json({ error: `service unavailable: ${message}` });
  res.status(500).json({ error: 'internal error' });
});

const servers = [];

/**
 * Listen once Redis is connected and one PostgreSQL connection is open (each given at most 5 s): the first
 * health check then finds both ready instead of a 503 that would make the deploy wait for its next attempt,
 * and the first requests skip the connection set-up. A backing service that stays down still lets the app
 * listen, and /health says why.
 */
async function listen() {
  const ready = new Promise((resolve) => (queue.isReady ? resolve() : queue.once('ready', resolve)));
  const within = (promise) => Promise.race([promise, new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS).unref())]);
  await Promise.all([within(ready), within(query('SELECT 1').catch(() => undefined))]);
  servers.push(app.listen(PORT, '127.0.0.1'));
  if (SOCKET) {
    fs.rmSync(SOCKET, { force: true }); // a socket left by a process that was killed: listen() would fail on it
    // nginx connects as its own user: the socket must be writable by others (the run/ directory limits who).
    servers.push(app.listen({ path: SOCKET, readableAll: true, writableAll: true }));
  }
  for (const server of servers) {
    server.on('error', (error) => {
      console.error(`cannot listen: ${describe(error)}`);
      process.exit(1);
    });
  }
  await Promise.all(servers.map((server) => new Promise((resolve) => server.once('listening', resolve))));
  console.log(`notes ${VERSION} (release ${RELEASE ?? 'none'}) listening on 127.0.0.1:${PORT}${SOCKET ? ` and ${SOCKET}` : ''}`);
}
listen();

// Graceful stop (systemd's SIGTERM, a drained blue/green slot): accept no new connections, let the requests in
// flight finish, then close the connections to PostgreSQL and Redis. systemd's SIGKILL comes after 35 s.
let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal} received: finishing the requests in flight`);
  setTimeout(() => {
    console.error('requests still in flight after 25 s: exiting anyway');
    process.exit(1);
  }, 25_000).unref();
  // Node 18 leaves idle keep-alive connections open after close(): close them now and as in-flight ones finish.
  const idle = setInterval(() => servers.forEach((server) => server.closeIdleConnections?.()), 250);
  Promise.all(servers.map((server) => new Promise((resolve) => server.close(() => resolve()))))
    .then(() => {
      clearInterval(idle);
      return Promise.allSettled([closeDb(), closeRedis(queue)]);
    })
    .then(() => {
      console.log('stopped');
      process.exit(0);
    });
  servers.forEach((server) => server.closeIdleConnections?.());
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
