// A client of the site as the world sees it: requests to a sandbox server's nginx (ports 80 and 443) with a
// chosen Host/SNI name, a bounded steady load, and a WebSocket handshake with one echoed frame.
import { randomBytes, createHash } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';

export interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
  /** The server's certificate (HTTPS only). */
  certificate?: PeerCertificate;
}

export interface Target {
  /** 10.77.N.2 */
  address: string;
  /** Host header, and the TLS server name for HTTPS. */
  host: string;
}

/** One request to nginx on the server; HTTPS verifies the certificate against `ca` unless `ca` is omitted. */
export function get(target: Target, path: string, options: { https?: boolean; ca?: string; agent?: Agent; timeoutMs?: number } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const common = { host: target.address, path, headers: { host: target.host }, timeout: options.timeoutMs ?? 5000 };
    const done = (res: IncomingMessage) => {
      // Read now: once the answer ended, a kept-alive socket has gone back to its agent (res.socket is null).
      const certificate = options.https ? (res.socket as TLSSocket | null)?.getPeerCertificate?.() : undefined;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(certificate ? { certificate } : {}) });
      });
      res.on('error', reject);
    };
    const req = options.https
      ? httpsRequest({ ...common, port: 443, servername: target.host, ...(options.ca ? { ca: options.ca } : { rejectUnauthorized: false }), agent: options.agent ?? false }, done)
      : httpRequest({ ...common, port: 80, agent: options.agent ?? false }, done);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${common.timeout} ms`)));
    req.on('error', (error: Error & { reusedSocket?: boolean }) => {
      error.reusedSocket = req.reusedSocket;
      reject(error);
    });
    req.end();
  });
}

/**
 * A connection closed before any byte of an answer. nginx closes its idle keep-alive connections when a reload
 * retires its old workers, so a request sent on one at that instant gets a reset (RFC 9112 9.3.1 lets a client
 * send it again); a retiring worker also closes a connection it had just accepted, before reading a request.
 * Either way the request was never handled.
 */
export const closedUnanswered = (error: Error & { code?: string }) => error.code === 'ECONNRESET' || error.message === 'socket hang up';

/** The version the hello example's page shows, or undefined. */
export const pageVersion = (body: string) => /<p>version ([^<]*)<\/p>/.exec(body)?.[1];

export interface LoadResult {
  total: number;
  /** Non-2xx answers and connection errors (after the one retry below), each with what happened. */
  failed: number;
  /** Requests sent again on a new connection (at most twice) because nginx closed theirs unanswered at a reload. */
  retried: number;
  failures: string[];
  /** How many answers showed each version of the page. */
  versions: Record<string, number>;
}

/**
 * A steady load through nginx: `concurrency` keep-alive clients, each sending GET `path` as soon as the previous
 * answer arrived, until `stop()` or a bound (`maxRequests`, `maxMs`) is reached; over HTTPS with `https`.
 */
export function startLoad(target: Target, options: { path?: string; concurrency?: number; maxRequests?: number; maxMs?: number; https?: boolean; retry?: boolean } = {}): { stop: () => Promise<LoadResult> } {
  const { path = '/', concurrency = 8, maxRequests = 200_000, maxMs = 120_000, https = false, retry = true } = options;
  // HTTPS: the certificate is not checked (a sandbox's is self-signed); keep-alive either way.
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: concurrency, rejectUnauthorized: false }) : new Agent({ keepAlive: true, maxSockets: concurrency });
  const result: LoadResult = { total: 0, failed: 0, retried: 0, failures: [], versions: {} };
  const deadline = Date.now() + maxMs;
  let stopped = false;
  const fail = (what: string) => {
    result.failed++;
    if (result.failures.length < 20) result.failures.push(what);
  };
  const client = async () => {
    while (!stopped && result.total < maxRequests && Date.now() < deadline) {
      result.total++;
      try {
        // Sent again on a new connection when nginx closed the connection unanswered at a reload (below), at
        // most twice: the request was never handled, and browsers resend it too.
        // `retry: false`: a client that never sends a request again; a closed connection is a failure.
        const again = (error: Error) => {
          if (!retry || !closedUnanswered(error)) throw error;
          result.retried++;
          return get(target, path, { https });
        };
        const answer = await get(target, path, { agent, https }).catch(again).catch(again);
        if (answer.status < 200 || answer.status > 299) fail(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
        const version = pageVersion(answer.body) ?? '(none)';
        result.versions[version] = (result.versions[version] ?? 0) + 1;
      } catch (error) {
        fail(`${(error as Error).message}`);
      }
    }
  };
  const clients = Promise.all(Array.from({ length: concurrency }, client));
  return {
    stop: async () => {
      stopped = true;
      await clients;
      agent.destroy();
      return result;
    },
  };
}

export interface WebSocketEcho {
  status: number;
  /** Sec-WebSocket-Accept was the hash of our key (the app, not nginx, answered the handshake). */
  acceptValid: boolean;
  /** The text of the first frame the server sent back. */
  reply: string;
}

/** Opens a WebSocket through nginx on port 80, sends one masked text frame and reads one frame back. */
export function webSocketEcho(target: Target, path: string, text: string): Promise<WebSocketEcho> {
  const key = randomBytes(16).toString('base64');
  const expectedAccept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: target.address,
      port: 80,
      path,
      timeout: 5000,
      headers: { host: target.host, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': key, 'sec-websocket-version': '13' },
    });
    req.on('timeout', () => req.destroy(new Error('no WebSocket answer within 5 s')));
    req.on('error', reject);
    req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      let received = head;
      const acceptValid = res.headers['sec-websocket-accept'] === expectedAccept;
      const frame = () => {
        // A short unmasked server frame: FIN+opcode, length (< 126), payload.
        if (received.length < 2 || received.length < 2 + (received[1]! & 0x7f)) return;
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, acceptValid, reply: received.subarray(2, 2 + (received[1]! & 0x7f)).toString() });
      };
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        frame();
      });
      socket.on('error', reject);
      socket.setTimeout(5000, () => socket.destroy(new Error('no WebSocket frame within 5 s')));
      const payload = Buffer.from(text);
      const mask = randomBytes(4);
      socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4]!)]));
      frame();
    });
    req.end();
  });
}
