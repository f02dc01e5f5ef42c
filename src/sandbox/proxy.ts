// The forward proxy on the host side of the sandbox network: plain-HTTP requests in absolute form (apt's
// mirrors) and CONNECT tunnels (HTTPS: npm, pip, apt over https). The host resolves the names and opens the
// connections, so a server reaches what its host reaches, with no route, NAT or DNS of its own. Runs as its
// own detached process (proxy-process.ts starts and stops it); each request is one line in its log.
import { createWriteStream, readFileSync, statSync, type WriteStream } from 'node:fs';
import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { parseConnectTarget, parseRequestTarget, refusedTarget, usableAddresses, type Target } from './proxy-policy.js';

export interface ProxyServeOptions {
  address: string;
  /** Tried first; when taken, any free port. */
  port: number;
  /** The addresses allowed to use the proxy, one per line: servers that are not offline (rewritten by sync). */
  clientsFile: string;
  logFile: string;
  /** Told the port once listening. */
  onListening: (port: number) => void;
}

/** Headers that describe one hop, not the request: never passed on (RFC 9110 7.6.1). */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade', 'transfer-encoding']);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const listed = new Set(String(headers.connection ?? '').toLowerCase().split(',').map((h) => h.trim()));
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !HOP_HEADERS.has(k) && !listed.has(k)));
}

function ownAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.toLowerCase().replace(/%.*$/, ''))));
}

/**
 * Name lookups, kept for a minute and shared by concurrent requests. An install asks for one mirror hundreds
 * of times, and a resolver that drops one query in a few hundred stalls that request for its 5 s timeout:
 * seen here as an npm install from apt taking 90 s instead of 15.
 */
function cachedLookup(ttlMs = 60_000): { lookup: (host: string) => Promise<LookupAddress[]>; forget: (host: string) => void } {
  const cache = new Map<string, { at: number; answer: Promise<LookupAddress[]> }>();
  return {
    lookup(host) {
      const hit = cache.get(host);
      if (hit && Date.now() - hit.at < ttlMs) return hit.answer;
      const answer = lookup(host, { all: true });
      cache.set(host, { at: Date.now(), answer });
      answer.catch(() => cache.delete(host));
      return answer;
    },
    forget: (host) => void cache.delete(host),
  };
}

/** The allowed clients, read again only when the file changes. */
function clientList(file: string): () => Set<string> {
  let seen = -1;
  let clients = new Set<string>();
  return () => {
    const mtime = statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (mtime !== seen) {
      seen = mtime;
      const text = mtime === 0 ? '' : readFileSync(file, 'utf8');
      clients = new Set(text.split('\n').map((l) => l.trim()).filter(Boolean));
    }
    return clients;
  };
}

export function serveProxy(opts: ProxyServeOptions): http.Server {
  const log: WriteStream = createWriteStream(opts.logFile, { flags: 'a' });
  const note = (client: string, what: string, outcome: string): void => {
    log.write(`${new Date().toISOString()} ${client} ${what} ${outcome}\n`);
  };
  const clients = clientList(opts.clientsFile);
  // The host's addresses, as of start: one that appears later is refused by the next proxy, after a restart.
  const own = ownAddresses();
  const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const names = cachedLookup();

  /** The address to connect to for `target`, or why not: checked after the lookup, so a name cannot point inward. */
  async function resolve(client: string, target: Target): Promise<{ address: string } | { refused: string; status: number }> {
    if (!clients().has(client)) return { refused: 'this server is offline or not a sandbox server', status: 403 };
    const early = refusedTarget(target, own);
    if (early) return { refused: early, status: 403 };
    const found = await names.lookup(target.host).catch((err: NodeJS.ErrnoException) => err);
    if (found instanceof Error) return { refused: `the host cannot resolve ${target.host} (${found.code ?? found.message})`, status: 502 };
    const [address] = usableAddresses(found, own);
    if (!address) return { refused: `${target.host} resolves to this host or the sandbox network`, status: 403 };
    return { address };
  }

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const client = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '?';
    const target = parseRequestTarget(req.url ?? '');
    const what = `${req.method} ${req.url}`;
    if (!target) {
      note(client, what, 'refused: not a proxy request');
      res.writeHead(400, { 'content-type': 'text/plain' }).end('slipway sandbox proxy: send absolute-form http requests, or CONNECT for https\n');
      return;
    }
    void resolve(client, target).then((where) => {
      if ('refused' in where) {
        note(client, what, `refused: ${where.refused}`);
        res.writeHead(where.status, { 'content-type': 'text/plain' }).end(`slipway sandbox proxy: ${where.refused}\n`);
        return;
      }
      const started = Date.now();
      const upstream = http.request({
        host: where.address,
        port: target.port,
        method: req.method,
        path: target.path,
        headers: { ...endToEnd(req.headers), host: target.port === 80 ? target.host : `${target.host}:${target.port}` },
        agent: upstreamAgent,
        setHost: false,
      });
      upstream.on('response', (answer) => {
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(res);
        answer.on('end', () => note(client, what, `${answer.statusCode} ${Date.now() - started} ms`));
      });
      upstream.on('error', (err) => {
        names.forget(target.host);
        note(client, what, `failed: ${err.message}`);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`slipway sandbox proxy: ${err.message}\n`);
        else res.destroy();
      });
      // A client that goes away mid-download frees its upstream connection too.
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      req.pipe(upstream);
    });
  });

  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const client = socket.remoteAddress?.replace(/^::ffff:/, '') ?? '?';
    const what = `CONNECT ${req.url}`;
    socket.on('error', () => undefined);
    const target = parseConnectTarget(req.url ?? '');
    if (!target) {
      note(client, what, 'refused: not host:port');
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    void resolve(client, target).then((where) => {
      if ('refused' in where) {
        note(client, what, `refused: ${where.refused}`);
        socket.end(`HTTP/1.1 ${where.status} ${where.status === 403 ? 'Forbidden' : 'Bad Gateway'}\r\ncontent-type: text/plain\r\n\r\nslipway sandbox proxy: ${where.refused}\n`);
        return;
      }
      const started = Date.now();
      const upstream = net.connect(target.port, where.address);
      let sent = 0;
      let established = false;
      upstream.on('connect', () => {
        established = true;
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('data', (chunk: Buffer) => (sent += chunk.length));
      upstream.on('error', (err) => {
        names.forget(target.host);
        note(client, what, `failed: ${err.message}`);
        if (!established) socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
        else socket.destroy();
      });
      // A clean close has piped its last bytes into the client's socket, which may not have sent them yet:
      // end it (after they are sent), never destroy it (that drops them: npm saw the body cut short).
      upstream.on('close', (hadError) => {
        if (hadError) socket.destroy();
        else socket.end();
        note(client, what, `closed ${sent} bytes ${Date.now() - started} ms`);
      });
      socket.on('close', () => upstream.destroy());
    });
  });

  server.on('clientError', (_err, socket) => socket.destroy());
  let tried = opts.port;
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE' && tried !== 0) {
      tried = 0;
      server.listen(0, opts.address);
      return;
    }
    throw err;
  });
  server.on('listening', () => {
    const bound = server.address();
    if (bound && typeof bound === 'object') opts.onListening(bound.port);
  });
  server.listen(opts.port, opts.address);
  return server;
}
