// Requests lost while slipway deploys and rolls back, under a steady load through nginx (`make bench-zero-downtime`,
// as root), in one run:
//   single  examples/django-app (gunicorn, 4 workers, behind nginx) on a sandbox server, 5 deploys and 2 rollbacks
//           with `http.strategy: blue-green` (through the socket link), the same with `http.switch: port` (nginx
//           reloaded at each switch), then with `strategy: restart`;
//   supervisor  the same Django example on the sandbox server bench-zd-sv with `process_manager: supervisor`:
//           the same 5 deploys and 2 rollbacks, blue-green through the socket link (a server of its own: slipway
//           does not move a running app between process managers);
//   node    examples/node-app (Express behind nginx, through the socket link; its worker, PostgreSQL and Redis
//           on the server) on the sandbox server bench-zd-node: the same 5 deploys and 2 rollbacks, blue-green,
//           GET /version (Express reading the release's VERSION at start);
//   lb      the same app on two web servers behind a load balancer (role lb), the load sent to the load balancer,
//           the same 5 deploys and 2 rollbacks with blue-green, then with restart (deploy.batch_size 1: the load
//           balancer takes each web server out of rotation while it restarts). The public site: shop.test over
//           HTTPS with a self-signed certificate, as docs/scaling.md rehearses it (`--lb-site http`: any host name
//           on port 80 with `default_server`, as the single case; see lbSiteOf).
//   sudo node bench/zero-downtime.mjs [--only single|supervisor|node|lb] [--lb-site https|http] [--server NAME] [--concurrency 8]
//                                     [--path /version/] [--logs DIR]
// The load (bench/load.mjs): `concurrency` keep-alive HTTP/1.1 clients, each sending GET `path` to nginx (the
// server's address, port 80; the load balancer's) as soon as its previous answer arrived, from just before the
// first deploy until the last operation has ended, never longer than 10 minutes. Failed = a non-2xx answer or a
// connection error. The client never sends a request again: one nginx closed a kept-alive connection under (no
// byte of answer: old nginx workers retire their idle connections at each reload) is failed, and counted as
// `closed` too (reason `... on a kept-alive connection`). Failed answers come back much faster than good ones (nginx's 502 while nothing listens), so
// `failing_s`, the time in 100 ms windows with at least one failure, says more about an outage than the
// percentage does.
// The default path, /version/, runs the whole Django stack (middleware, URL routing, a view reading the release's
// VERSION file) without the database: the home page (`--path /`) writes a row per request and answers about
// 30 times slower on a 2-core machine, too slow to reach 10,000 requests during the deploys.
// Without --server, boots the sandbox server bench-zd and takes it down at the end; the lb case always boots
// bench-zd-lb1, bench-zd-web1 and bench-zd-web2, and takes them down at the end, on an error, on Ctrl-C, and
// after 10 minutes at most (then exits 1). `--logs DIR`: when each operation ran, the time and reason of each
// failed request, and each lb-case server's nginx error log and journal before it goes down, into DIR.
// Prints figures only. Needs `npm run build` and the sandbox image (`make sandbox-image`).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, cli, prepareDjangoExample, prepareNodeExample, serverAddress, writeDjangoSandboxConfig, writeNodeSandboxConfig, commit, exec, must, option, sandboxSsh, stats } from './lib.mjs';
import { get, startLoad } from './load.mjs';

const MAX_LOAD_MS = 10 * 60_000;
const MAX_LB_CASE_MS = 10 * 60_000;

const givenServer = option('--server', undefined);
const SERVER = givenServer ?? 'bench-zd';
const concurrency = Number(option('--concurrency', '8'));
const defaultPath = option('--path', '/version/');
const only = option('--only', undefined);
const lbSite = option('--lb-site', 'https');
const logsDir = option('--logs', undefined);
if ((only !== undefined && !['single', 'supervisor', 'node', 'lb'].includes(only)) || (lbSite !== 'https' && lbSite !== 'http')) {
  console.error('bench: --only takes single, supervisor, node or lb, --lb-site https or http');
  process.exit(2);
}

const BALANCER = 'bench-zd-lb1';
const LB_DOMAIN = 'shop.test';
const WEB_SERVERS = ['bench-zd-web1', 'bench-zd-web2'];
const balancedServers = [{ sandbox: BALANCER, roles: ['lb'] }, ...WEB_SERVERS.map((sandbox) => ({ sandbox }))];

const slipway = cli();

async function timed(argv) {
  const started = performance.now();
  await slipway('-c', ...argv);
  return (performance.now() - started) / 1000;
}

/**
 * 5 deploys and 2 rollbacks under load: deploy, deploy, rollback, deploy, deploy, rollback, deploy. `servers`
 * and `http` (settings): the environment (writeDjangoSandboxConfig, or `configure` for another app); `label`
 * prefixes the printed lines; `path`: what the load asks for.
 */
async function round({ repo, target, servers, http = [], label, strategy, versions, configure = writeDjangoSandboxConfig, path = defaultPath }) {
  await configure(repo, servers, [...http, `strategy: ${strategy}`]);
  const first = `${strategy}-${versions.next()}`;
  await commit(repo, first);
  await timed([repo, 'deploy', 'sandbox']); // the strategy's first deploy is not measured
  // A site that does not serve the release at all would make every request of the round a failure.
  const answer = await get(target, path, false);
  if (answer.status !== 200 || answer.body.trim() !== first) {
    throw new Error(`${label}: after a deploy of ${first}, ${path} at ${target.address}:${target.port} answers ${answer.status} ${JSON.stringify(answer.body.slice(0, 80))}`);
  }
  const durations = { deploy: [], rollback: [] };
  const operations = []; // when each ran, for --logs
  const load = startLoad(target, { path, concurrency, maxMs: MAX_LOAD_MS });
  for (const operation of ['deploy', 'deploy', 'rollback', 'deploy', 'deploy', 'rollback', 'deploy']) {
    const started = new Date().toISOString();
    if (operation === 'deploy') {
      await commit(repo, `${strategy}-${versions.next()}`);
      durations.deploy.push(await timed([repo, 'deploy', 'sandbox']));
    } else {
      durations.rollback.push(await timed([repo, 'rollback', 'sandbox']));
    }
    operations.push(`${started} ${new Date().toISOString()} ${operation}`);
  }
  const served = await load.stop();
  const percent = ((100 * served.failed) / Math.max(served.total, 1)).toFixed(served.failed > 0 ? 1 : 0);
  const reasons = Object.entries(served.reasons).map(([reason, n]) => `${reason}:${n}`).join(' ');
  console.log(`${label} total=${served.total} failed=${served.failed} (${percent}%) closed=${served.closed} rps=${(served.total / (served.ms / 1000)).toFixed(0)} failing_s=${(served.failingTenths.size / 10).toFixed(1)} load_s=${(served.ms / 1000).toFixed(1)}${reasons ? ` reasons=${reasons}` : ''}`);
  if (logsDir) {
    const name = label.replace(/ /g, '-');
    await mkdir(logsDir, { recursive: true });
    await writeFile(join(logsDir, `operations-${name}.log`), `${operations.join('\n')}\n`);
    if (served.failed > 0) await writeFile(join(logsDir, `failures-${name}.log`), `${served.failures.join('\n')}\n`);
  }
  console.log(`${label} deploy_s ${stats(durations.deploy)}`);
  console.log(`${label} rollback_s ${stats(durations.rollback)}`);
}

/** A fresh copy of the Django example in its own git repository, and a counter for the versions committed. */
async function exampleRepo(repo) {
  await prepareDjangoExample(repo);
  await must('git', ['-C', repo, 'init', '--quiet', '--initial-branch=main']);
  let n = 0;
  return { next: () => `v${++n}` };
}

const loadLine = (target, through) =>
  `load: ${concurrency} keep-alive clients, GET ${target.tls ? 'https' : 'http'}://${target.host}${defaultPath} through ${through} at ${target.address}:${target.port}; app: Django, gunicorn --workers 4 --preload; machine load average ${loadavg()[0].toFixed(2)}`;

/** A sandbox server of the case's own, booted fresh, and a temp dir for its repository; both gone at the end. */
async function onOwnServer(server, body) {
  const repo = await mkdtemp(join(tmpdir(), `slipway-${server}-`));
  try {
    await exec(process.execPath, [CLI, 'sandbox', 'down', server]);
    await slipway('sandbox', 'up', server);
    const address = JSON.parse((await slipway('sandbox', 'list', '--json')).stdout).find((s) => s.name === server).address;
    await body(repo, { address, port: 80, host: address, tls: false });
  } finally {
    await exec(process.execPath, [CLI, 'sandbox', 'down', server]);
    await rm(repo, { recursive: true, force: true });
  }
}

const SUPERVISOR_SERVER = 'bench-zd-sv';

/** The Django example with its processes under supervisor, on a server of its own. */
const supervisorCase = () =>
  onOwnServer(SUPERVISOR_SERVER, async (repo, target) => {
    const versions = await exampleRepo(repo);
    console.log(loadLine(target, 'nginx, processes under supervisor'));
    const configure = (dir, servers, http) => writeDjangoSandboxConfig(dir, servers, http, ['process_manager: supervisor']);
    await round({ repo, target, servers: SUPERVISOR_SERVER, label: 'blue-green supervisor', strategy: 'blue-green', versions, configure });
  });

const NODE_SERVER = 'bench-zd-node';

/** The Node example on a server of its own, blue/green through the socket link. */
const nodeCase = () =>
  onOwnServer(NODE_SERVER, async (repo, target) => {
    await prepareNodeExample(repo, NODE_SERVER);
    await must('git', ['-C', repo, 'init', '--quiet', '--initial-branch=main']);
    let n = 0;
    console.log(`load: ${concurrency} keep-alive clients, GET http://${target.address}/version through nginx; app: examples/node-app (Express on Node, its worker beside it); machine load average ${loadavg()[0].toFixed(2)}`);
    await round({ repo, target, servers: NODE_SERVER, label: 'node blue-green', strategy: 'blue-green', versions: { next: () => `v${++n}` }, configure: writeNodeSandboxConfig, path: '/version' });
  });

async function singleServerCase() {
  const repo = await mkdtemp(join(tmpdir(), 'slipway-bench-zd-'));
  try {
    const address = await serverAddress(SERVER, givenServer);
    const target = { address, port: 80, host: address, tls: false };
    const versions = await exampleRepo(repo);
    console.log(loadLine(target, 'nginx'));
    // blue-green through the socket link (no reload), then the port switch (a reload per switch), then restart.
    const rounds = [
      { label: 'blue-green', strategy: 'blue-green' },
      { label: 'blue-green switch=port', strategy: 'blue-green', http: ['switch: port'] },
      { label: 'restart', strategy: 'restart' },
    ];
    for (const r of rounds) await round({ repo, target, servers: SERVER, versions, ...r });
  } finally {
    if (!givenServer) await exec(process.execPath, [CLI, 'sandbox', 'down', SERVER]);
    await rm(repo, { recursive: true, force: true });
  }
}

/**
 * The load balancer's public site. `https`: shop.test with a self-signed certificate, as docs/scaling.md
 * rehearses step 3. `http`: any host name on port 80 (`default_server`), as the single-server case.
 */
function lbSiteOf(address) {
  if (lbSite === 'http') return { target: { address, port: 80, host: address, tls: false }, http: [] };
  return { target: { address, port: 443, host: LB_DOMAIN, tls: true }, http: ['default_server: false', `domain: ${LB_DOMAIN}`, 'tls: self-signed'] };
}

const lbServerNames = [BALANCER, ...WEB_SERVERS];
const downLbServers = () => Promise.all(lbServerNames.map((name) => exec(process.execPath, [CLI, 'sandbox', 'down', name])));
let lbCleanUp; // while the lb case runs: its servers down and its repository removed, once

/** Each lb-case server's nginx error log, and its journal (when nginx reloaded), into `dir`: what failed, and when. */
async function copyNginxLogs(addresses, dir) {
  await mkdir(dir, { recursive: true });
  const logs = { error: 'cat /var/log/nginx/error.log', journal: 'journalctl -u nginx -o short-iso-precise --no-pager' };
  for (const [name, address] of Object.entries(addresses)) {
    for (const [kind, command] of Object.entries(logs)) {
      const log = await exec('ssh', [...sandboxSsh(address, true), command]);
      await writeFile(join(dir, `${name}-nginx-${kind}.log`), log.stdout);
    }
  }
}

async function balancerCase() {
  const repo = await mkdtemp(join(tmpdir(), 'slipway-bench-zd-lb-'));
  let cleaned;
  lbCleanUp = () => (cleaned ??= Promise.all([downLbServers(), rm(repo, { recursive: true, force: true })]));
  const watchdog = setTimeout(() => stop(`the lb case still runs after ${MAX_LB_CASE_MS / 60_000} minutes`), MAX_LB_CASE_MS);
  const addresses = {};
  try {
    await downLbServers();
    await Promise.all(lbServerNames.map((name) => slipway('sandbox', 'up', name)));
    const listed = JSON.parse((await slipway('sandbox', 'list', '--json')).stdout);
    for (const name of lbServerNames) {
      addresses[name] = listed.find((s) => s.name === name && s.status === 'running')?.address;
      if (!addresses[name]) throw new Error(`sandbox server ${name} is not running`);
    }
    const versions = await exampleRepo(repo);
    const { target, http } = lbSiteOf(addresses[BALANCER]);
    console.log(`${loadLine(target, `the load balancer ${BALANCER}`)}; web servers ${WEB_SERVERS.join(', ')}, batch_size 1`);
    for (const strategy of ['blue-green', 'restart']) {
      await round({ repo, target, servers: balancedServers, http, label: `lb ${strategy}`, strategy, versions });
    }
    console.log(`lb machine load average ${loadavg()[0].toFixed(2)} at the end`);
  } finally {
    clearTimeout(watchdog);
    if (logsDir && lbServerNames.every((name) => addresses[name])) await copyNginxLogs(addresses, logsDir).catch((error) => console.error(`bench: error logs not copied: ${error.message}`));
    await lbCleanUp();
    lbCleanUp = undefined;
  }
}

/** Ctrl-C, a kill, or the lb case's time limit: the servers this run booted down, then exit 1. */
async function stop(why) {
  console.error(`bench: ${why}: taking the servers down`);
  await Promise.all([lbCleanUp?.(), givenServer ? undefined : exec(process.execPath, [CLI, 'sandbox', 'down', SERVER]), exec(process.execPath, [CLI, 'sandbox', 'down', NODE_SERVER])]);
  process.exit(1);
}
process.on('SIGINT', () => stop('interrupted'));
process.on('SIGTERM', () => stop('terminated'));

if (only === undefined || only === 'single') await singleServerCase();
if (only === undefined || only === 'supervisor') await supervisorCase();
if (only === undefined || only === 'node') await nodeCase();
if (only === undefined || only === 'lb') await balancerCase();
