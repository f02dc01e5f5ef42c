// What the chaos bench (chaos.mjs) needs besides lib.mjs: programs run with a time limit, the CLI stopped at a
// step of its own progress, a load through nginx that never retries, and a sandbox server's link cut with every
// packet for the sandbox range kept on this machine. Plain JS: imports nothing from src/.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { CLI, exec, sandboxSsh } from './lib.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `program argv` with its output, killed (by its own pid) after `timeoutMs`; never throws. */
export function run(program, argv, { timeoutMs = 120_000, env, cwd, onStderr } = {}) {
  return new Promise((resolve) => {
    const child = spawn(program, argv, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      onStderr?.(child, stderr);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout, stderr });
    });
  });
}

/** A command on a sandbox server as root, on a fresh connection. */
export const onServer = (address, command, timeoutMs = 60_000) =>
  run('ssh', ['-o', 'ConnectTimeout=5', ...sandboxSsh(address, true), command], { timeoutMs });

// A progress line is `  1.0s  host  Title`; titles carry release ids, shas, slot colours and ports that change
// from one run to the next, so plan titles and progress lines are compared in this normalized form.
const PROGRESS = /^\s*\d+(?:\.\d+)?s\s+\S+\s+(.+)$/;
export const normalizeTitle = (title) =>
  title
    .replace(/\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{7}/g, '<release>')
    .replace(/\b[0-9a-f]{7}\b/g, '<sha>')
    .replace(/\b(blue|green)\b/g, '<slot>')
    .replace(/\b80\d\d\b/g, '<port>')
    .trim();
export const progressTitles = (stderr) => stderr.split('\n').flatMap((l) => (PROGRESS.exec(l) ? [normalizeTitle(PROGRESS.exec(l)[1])] : []));

/** Direct children of a process (/proc), to see afterwards whether any outlived it. */
function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
export const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * `slipway -c repo ...argv`; when a progress line's normalized title equals `at`, `onStep(child)` runs once (it
 * may kill the child, or start a fault). Resolves with the result, whether the step was reached, and the pids of
 * the CLI's children at that moment.
 */
export function cliUntil(repo, argv, { at, onStep, env, timeoutMs = 180_000 } = {}) {
  let reached = false;
  let children = [];
  let seen = 0;
  return run(process.execPath, [CLI, '-c', repo, ...argv], {
    env,
    timeoutMs,
    onStderr: (child, stderr) => {
      if (reached || at === undefined) return;
      const titles = progressTitles(stderr);
      for (; seen < titles.length; seen++) {
        if (titles[seen] !== at) continue;
        reached = true;
        children = childrenOf(child.pid);
        onStep?.(child);
        return;
      }
    },
  }).then((result) => ({ ...result, reached, children }));
}

const RESET = new Set(['ECONNRESET', 'EPIPE', 'socket hang up']);

/**
 * A steady load through nginx: `concurrency` keep-alive clients, each sending GET / as soon as its previous answer
 * arrived, never retrying. Failed = anything but a 2xx answer; resets (a connection reset or closed under a
 * request) are counted apart too. Failures of requests that overlap an outage the bench caused on purpose (the
 * link cut, the server down) are counted as `outage`, not `failed`. Bounded by `maxRequests` and `maxMs`.
 */
export function startLoad(address, { concurrency = 4, timeoutMs = 3000, maxRequests = 200_000, maxMs = 240_000 } = {}) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const result = { total: 0, failed: 0, resets: 0, outage: 0, reasons: {} };
  const outages = [];
  const deadline = Date.now() + maxMs;
  let target = address;
  let stopped = false;
  const inOutage = (t0, t1) => outages.some(([from, to]) => t1 >= from && t0 <= (to ?? Infinity) + 1000);
  const get = () =>
    new Promise((resolve, reject) => {
      const req = request({ host: target, port: 80, path: '/', agent, headers: { host: 'chaos.test' }, timeout: timeoutMs }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', reject);
      req.end();
    });
  const client = async () => {
    while (!stopped && result.total < maxRequests && Date.now() < deadline) {
      result.total++;
      const t0 = performance.now();
      const reason = await get().then(
        (status) => (status >= 200 && status < 300 ? undefined : `HTTP ${status}`),
        (error) => error.code ?? error.message,
      );
      if (reason === undefined) continue;
      if (inOutage(t0, performance.now())) result.outage++;
      else {
        result.failed++;
        if (RESET.has(reason)) result.resets++;
        result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
      }
      if (reason === 'TIMEOUT' || reason === 'EHOSTUNREACH' || reason === 'ECONNREFUSED') await sleep(100);
    }
  };
  const clients = Promise.all(Array.from({ length: concurrency }, client));
  return {
    /** The server moved (booted again at another address). */
    retarget: (next) => (target = next),
    /** Marks the start of an outage; the returned function marks its end. */
    outage: () => {
      const window = [performance.now(), undefined];
      outages.push(window);
      return () => (window[1] = performance.now());
    },
    stop: async () => {
      stopped = true;
      await clients;
      agent.destroy();
      return result;
    },
  };
}

// Taking a host-side veth down can leave the server's address to the default route, off this machine: a
// blackhole for the whole sandbox range, less specific than any sandbox route, keeps every packet here. Its own
// metric, so another test's blackhole (metric 9999) being added or removed meanwhile does not touch this one.
const BLACKHOLE = ['blackhole', '10.77.0.0/16', 'metric', '9997'];
let blackholed = false;
export async function addBlackhole() {
  await exec('ip', ['route', 'del', ...BLACKHOLE]); // one left by an earlier run that was killed
  const added = await exec('ip', ['route', 'add', ...BLACKHOLE]);
  if (added.code !== 0) throw new Error(`ip route add ${BLACKHOLE.join(' ')}: ${added.stderr}`);
  blackholed = true;
}
export async function removeBlackhole() {
  if (blackholed) await exec('ip', ['route', 'del', ...BLACKHOLE]);
  blackholed = false;
}

export const hostVeth = (address) => `slw${address.split('.')[2]}h`;

/** Takes the server's link down for `seconds`, then up again; refuses to cut while no blackhole is in place. */
export async function cutLink(address, seconds) {
  if (!blackholed) throw new Error('no blackhole route: refusing to take a sandbox link down');
  const veth = hostVeth(address);
  const down = await exec('ip', ['link', 'set', veth, 'down']);
  if (down.code !== 0) throw new Error(`ip link set ${veth} down: ${down.stderr}`);
  try {
    const route = await exec('ip', ['route', 'get', address]);
    if (!/blackhole|slwbr0|slw\d+h/.test(route.stdout)) throw new Error(`with ${veth} down, ${address} would leave this machine: ${route.stdout}`);
    await sleep(seconds * 1000);
  } finally {
    await exec('ip', ['link', 'set', veth, 'up']);
  }
}
