// The steady load the zero-downtime bench sends through nginx, and what it saw: `concurrency` keep-alive HTTP/1.1
// clients, each sending GET `path` to `target` as soon as its previous answer arrived. Failed = a non-2xx answer
// or a connection error. The client never sends a request again: one nginx closed a kept-alive connection under
// (no byte of answer: old nginx workers retire their idle connections at each reload) is a failure too, counted
// also as `closed` (RFC 9112 9.3.1 would let a browser send it again; the targets count it).
import { Agent, request } from 'node:http';
import { Agent as TlsAgent, request as tlsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';

/**
 * One GET through nginx at `target` (`{ address, port, host, tls }`: host is the name asked for, and with TLS the
 * name sent in SNI; the certificate is not checked); rejects with `reusedSocket` set when it failed on a
 * kept-alive connection.
 */
export function get(target, path, agent) {
  return new Promise((resolve, reject) => {
    const tls = target.tls ? { servername: target.host, rejectUnauthorized: false } : {};
    const options = { host: target.address, port: target.port, path, agent, headers: { host: target.host }, timeout: 10_000, ...tls };
    const req = (target.tls ? tlsRequest : request)(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', (error) => {
      error.reusedSocket = req.reusedSocket;
      reject(error);
    });
    req.end();
  });
}

const closedKeepAlive = (error) => error.reusedSocket === true && (error.code === 'ECONNRESET' || error.message === 'socket hang up');

/**
 * Starts the load; `stop()` ends it (it ends by itself after `maxMs`) and resolves with the counts, the 100 ms
 * windows with a failure (`failingTenths`), and the time and reason of the first 1,000 failures.
 */
export function startLoad(target, { path, concurrency, maxMs }) {
  const agent = new (target.tls ? TlsAgent : Agent)({ keepAlive: true, maxSockets: concurrency });
  const result = { total: 0, failed: 0, closed: 0, reasons: {}, started: performance.now(), ms: 0 };
  const deadline = Date.now() + maxMs;
  let stopped = false;
  const failingTenths = new Set(); // 100 ms windows with a failure: the time users saw errors
  result.failingTenths = failingTenths;
  result.failures = [];
  const fail = (reason) => {
    if (result.failures.length < 1000) result.failures.push(`${new Date().toISOString()} ${reason}`);
    result.failed++;
    result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
    failingTenths.add(Math.floor((performance.now() - result.started) / 100));
  };
  const client = async () => {
    while (!stopped && Date.now() < deadline) {
      result.total++;
      try {
        const answer = await get(target, path, agent);
        if (answer.status < 200 || answer.status > 299) fail(`HTTP ${answer.status}`);
      } catch (error) {
        if (closedKeepAlive(error)) result.closed++;
        fail(`${error.code ?? error.message}${closedKeepAlive(error) ? ' on a kept-alive connection' : ''}`);
      }
    }
  };
  const clients = Promise.all(Array.from({ length: concurrency }, client));
  return {
    stop: async () => {
      stopped = true;
      await clients;
      agent.destroy();
      result.ms = performance.now() - result.started;
      return result;
    },
  };
}
