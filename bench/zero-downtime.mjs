// Requests lost while slipway deploys and rolls back, under a steady load through nginx (`make bench-zero-downtime`,
// as root): examples/django-app (gunicorn, 4 workers, behind nginx) on a sandbox server, 5 deploys and 2 rollbacks
// with `http.strategy: blue-green`, then the same with `strategy: restart`, in one run.
//   sudo node bench/zero-downtime.mjs [--server NAME] [--concurrency 8] [--path /version/]
// The load: `concurrency` keep-alive HTTP/1.1 clients, each sending GET `path` to the server's address (port 80,
// nginx) as soon as its previous answer arrived, from just before the first deploy until the last operation has
// ended, never longer than 10 minutes. Failed = a non-2xx answer or a connection error. A request nginx's
// keep-alive connection was closed under (no byte of answer: old nginx workers retire their idle connections
// at each reload) is sent again once on a new connection, as browsers and curl do (RFC 9112 9.3.1); those are
// counted as `retried`, and as failed if the retry fails too. Failed answers come back much faster than good ones
// (nginx's 502 while nothing listens), so `failing_s`, the time in 100 ms windows with at least one failure, says
// more about an outage than the percentage does.
// The default path, /version/, runs the whole Django stack (middleware, URL routing, a view reading the release's
// VERSION file) without the database: the home page (`--path /`) writes a row per request and answers about
// 30 times slower on a 2-core machine, too slow to reach 10,000 requests during the deploys.
// Without --server, boots the sandbox server bench-zd and takes it down at the end. Prints figures only.
// Needs `npm run build` and the sandbox image (`make sandbox-image`).
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, cli, prepareDjangoExample, serverAddress, writeDjangoSandboxConfig, commit, exec, must, option, stats } from './lib.mjs';

const MAX_LOAD_MS = 10 * 60_000;

const givenServer = option('--server', undefined);
const SERVER = givenServer ?? 'bench-zd';
const concurrency = Number(option('--concurrency', '8'));
const path = option('--path', '/version/');



const slipway = cli();

/** One GET through nginx; rejects with `reusedSocket` set when it failed on a kept-alive connection. */
function get(address, agent) {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port: 80, path, agent, headers: { host: address }, timeout: 10_000 }, (res) => {
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

function startLoad(address) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const result = { total: 0, failed: 0, retried: 0, reasons: {}, started: performance.now(), ms: 0 };
  const deadline = Date.now() + MAX_LOAD_MS;
  let stopped = false;
  const failingTenths = new Set(); // 100 ms windows with a failure: the time users saw errors
  result.failingTenths = failingTenths;
  const fail = (reason) => {
    result.failed++;
    result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
    failingTenths.add(Math.floor((performance.now() - result.started) / 100));
  };
  const client = async () => {
    while (!stopped && Date.now() < deadline) {
      result.total++;
      try {
        const answer = await get(address, agent).catch((error) => {
          if (!closedKeepAlive(error)) throw error;
          result.retried++;
          return get(address, false); // on a new connection
        });
        if (answer.status < 200 || answer.status > 299) fail(`HTTP ${answer.status}`);
      } catch (error) {
        fail(error.code ?? error.message);
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


const configure = (repo, strategy) => writeDjangoSandboxConfig(repo, SERVER, [`strategy: ${strategy}`]);

async function timed(argv) {
  const started = performance.now();
  await slipway('-c', ...argv);
  return (performance.now() - started) / 1000;
}


/** 5 deploys and 2 rollbacks under load: deploy, deploy, rollback, deploy, deploy, rollback, deploy. */
async function round(repo, address, strategy, versions) {
  await configure(repo, strategy);
  await commit(repo, `${strategy}-${versions.next()}`);
  await timed([repo, 'deploy', 'sandbox']); // the strategy's first deploy is not measured
  const durations = { deploy: [], rollback: [] };
  const load = startLoad(address);
  for (const operation of ['deploy', 'deploy', 'rollback', 'deploy', 'deploy', 'rollback', 'deploy']) {
    if (operation === 'deploy') {
      await commit(repo, `${strategy}-${versions.next()}`);
      durations.deploy.push(await timed([repo, 'deploy', 'sandbox']));
    } else {
      durations.rollback.push(await timed([repo, 'rollback', 'sandbox']));
    }
  }
  const served = await load.stop();
  const percent = ((100 * served.failed) / Math.max(served.total, 1)).toFixed(served.failed > 0 ? 1 : 0);
  const reasons = Object.entries(served.reasons).map(([reason, n]) => `${reason}:${n}`).join(' ');
  console.log(`${strategy} total=${served.total} failed=${served.failed} (${percent}%) retried=${served.retried} rps=${(served.total / (served.ms / 1000)).toFixed(0)} failing_s=${(served.failingTenths.size / 10).toFixed(1)} load_s=${(served.ms / 1000).toFixed(1)}${reasons ? ` reasons=${reasons}` : ''}`);
  console.log(`${strategy} deploy_s ${stats(durations.deploy)}`);
  console.log(`${strategy} rollback_s ${stats(durations.rollback)}`);
}

const repo = await mkdtemp(join(tmpdir(), 'slipway-bench-zd-'));
try {
  const address = await serverAddress(SERVER, givenServer);

  await prepareDjangoExample(repo);
  await must('git', ['-C', repo, 'init', '--quiet', '--initial-branch=main']);
  let n = 0;
  const versions = { next: () => `v${++n}` };

  console.log(`load: ${concurrency} keep-alive clients, GET ${path} through nginx at ${address}; app: Django, gunicorn --workers 4`);
  await round(repo, address, 'blue-green', versions);
  await round(repo, address, 'restart', versions);
} finally {
  if (!givenServer) await exec(process.execPath, [CLI, 'sandbox', 'down', SERVER]);
  await rm(repo, { recursive: true, force: true });
}
