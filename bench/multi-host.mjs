// How a code-only redeploy scales with the number of servers (`make bench-multi-host`, as root): examples/hello-app
// in blue/green slots behind nginx (`http.enabled`, `default_server`, through the socket link: the app listens on
// $SLIPWAY_SOCKET too) on 1, 2, 4 and 8 sandbox servers
// (bench-mh1..bench-mh8, booted once and reused: the environment lists the first N), in one run. Per size, a
// first deploy (cold on the servers new to this size, not counted), then `--runs` rounds of a redeploy of a new
// commit to each size in turn, each timed from the command's start to its exit, and to the new version answering
// through nginx on every server (each server's page polled every 20 ms, from the moment the command prints that
// server's switch step, until it shows the new version: until that step the old version answers by construction,
// and polling from the start cost the 8-server deploys 0.3 s of the shared cores, 8 pollers against nginx and the
// app, where one server's paid almost nothing; a poll that starts late can only make the figure larger). Prints
// one table per measure: median, min and max seconds, and the median's ratio to one server's. The project's
// target: 8 servers in at most 1.5 × one server's time. Every server runs on this machine's cores, so a last table
// says how busy they were during the redeploys (anything else running on the machine included): a size that keeps
// them all busy is bound by the machine's CPU, which a fleet of real servers does not share. So a table splits
// each redeploy's CPU time between the servers' processes (per server) and the rest of the machine (slipway on the
// deployer, its ssh, the bench), and a second pass runs the same rounds with every server held to the same share
// of the cores (a cgroup CPU quota: the cores ÷ (the largest size + 2), so that all servers at their quota still
// leave the deployer its own), so that no server borrows the CPU another one needs, as on a fleet where each
// server has its own: slow servers, the same for every size, whose ratio shows what the deployer and the
// coordination add per server. `--quota-pass no` skips that pass.
//   sudo node bench/multi-host.mjs [--runs 3] [--sizes 1,2,4,8] [--quota-pass no]
// Takes its servers down at the end, on an error, on Ctrl-C, and after 15 minutes at most. Prints figures only.
// Needs `npm run build` and the sandbox image (`make sandbox-image`).
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { CLI, ROOT, bareRestartScript, cli, commit, exec, median, must, option, sandboxSsh } from './lib.mjs';

const MAX_RUN_MS = 15 * 60_000;
const SERVED_TIMEOUT_MS = 60_000;
const POLL_MS = 20;
const BARE_PAUSE_MS = 2500;

const runs = Number(option('--runs', '3')) || 3;
const quotaPass = option('--quota-pass', 'yes') !== 'no';
const sizes = option('--sizes', '1,2,4,8').split(',').map(Number);
const servers = Array.from({ length: Math.max(...sizes) }, (_, i) => `bench-mh${i + 1}`);

const SECRETS = { HELLO_SECRET: 'bench-secret-value' };
const slipway = cli(SECRETS);
// A progress line of the switch step: `  0.4s  bench-mh3  Send traffic to the green slot ...`.
const SWITCH_LINE = /^\s*[\d.]+s\s+(\S+)\s+Send traffic to the /;

const repo = await mkdtemp(join(tmpdir(), 'slipway-bench-mh-'));
const downAll = () => Promise.all(servers.map((name) => exec(process.execPath, [CLI, 'sandbox', 'down', name])));
let cleaned;
/** Every bench server down and the example's copy removed, once, whichever way the run ends. */
const cleanUp = () => (cleaned ??= Promise.all([downAll().then(releaseServers), rm(repo, { recursive: true, force: true })]));
const stop = async (why) => {
  console.error(`bench: ${why}: taking the servers down`);
  await cleanUp();
  process.exit(1);
};
process.on('SIGINT', () => stop('interrupted'));
process.on('SIGTERM', () => stop('terminated'));
setTimeout(() => stop(`still running after ${MAX_RUN_MS / 60_000} minutes`), MAX_RUN_MS).unref();

async function versionAt(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return /<p>version ([^<]*)<\/p>/.exec(await response.text())?.[1];
  } catch {
    return undefined;
  }
}

/** Resolves with the time `version` first answered at `url`, or undefined once `done()` or the deadline. */
async function servedAt(url, version, deadline, done) {
  while (!done() && performance.now() < deadline) {
    if ((await versionAt(url)) === version) return performance.now();
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return undefined;
}

/** `slipway deploy sandbox`, calling `onSwitch(server)` as each server's switch step starts; rejects on a failure. */
function deployCommand(onSwitch) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '-c', repo, 'deploy', 'sandbox'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...SECRETS } });
    let output = '';
    // Progress goes to stderr, the summary to stdout.
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        output += `${line}\n`;
        const server = SWITCH_LINE.exec(line)?.[1];
        if (server) onSwitch(server);
      });
    }
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`slipway deploy sandbox failed (exit ${code}):\n${output}`))));
  });
}

/** Every process of a sandbox server: its nspawn and everything in its network namespace. */
async function serverPids({ server, pid }) {
  const listed = (await exec('ip', ['netns', 'pids', `slw-${server}`])).stdout.split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...listed];
}

const CLOCK_TICK_MS = 10;
/**
 * CPU milliseconds a server has used since it booted: its live processes' own time and that of the children
 * they reaped (an ended process's time goes to the one that waited for it, up to the server's init).
 */
async function serverCpuMs(target) {
  let sum = 0;
  for (const pid of await serverPids(target)) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14 to 17 of proc(5), 11 to 14 after the command.
    if (fields.length > 14) sum += fields.slice(11, 15).reduce((a, f) => a + Number(f), 0) * CLOCK_TICK_MS;
  }
  return sum;
}

const CPU_CGROUP = '/sys/fs/cgroup/cpu';
const QUOTA_PERIOD_US = 100_000;
const heldGroups = [];
/**
 * Holds each server to `cores` of CPU with a cgroup (v1) quota of its own, its processes moved in (twice: one
 * forked during the first move stays behind); what they start later is born in it. Returns why not, if it cannot.
 */
async function holdServers(targets, cores) {
  if (!(await readFile(`${CPU_CGROUP}/cpu.cfs_quota_us`, 'utf8').catch(() => undefined))) return `no cgroup v1 cpu controller at ${CPU_CGROUP}`;
  for (const target of targets) {
    const dir = join(CPU_CGROUP, `slipway-bench-${target.server}`);
    await mkdir(dir, { recursive: true });
    heldGroups.push(dir);
    await writeFile(join(dir, 'cpu.cfs_period_us'), String(QUOTA_PERIOD_US));
    await writeFile(join(dir, 'cpu.cfs_quota_us'), String(Math.round(cores * QUOTA_PERIOD_US)));
    for (let pass = 0; pass < 2; pass++) {
      // A process that ended meanwhile cannot move: nothing to hold.
      for (const pid of await serverPids(target)) await writeFile(join(dir, 'cgroup.procs'), String(pid)).catch(() => {});
    }
  }
  return undefined;
}

/** The quota groups gone: what is left in them (nothing, once the servers are down) back in the root group. */
async function releaseServers() {
  for (const dir of heldGroups.splice(0)) {
    const pids = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
    for (const pid of pids) await writeFile(join(CPU_CGROUP, 'cgroup.procs'), pid).catch(() => {});
    await rmdir(dir).catch((error) => console.error(`bench: could not remove ${dir}: ${error.message}`));
  }
}

/** Milliseconds the machine's cores have been busy, all of them together. */
const busyMs = () => cpus().reduce((sum, { times }) => sum + times.user + times.nice + times.sys + times.irq, 0);

const BARE_SWITCH = '##bare-switch';

/**
 * The reference: bench/lib.mjs's bare restart script (bench/deploy.mjs's, for hello-app: its .env linked) to every
 * server at once, each over one new ssh connection. It prints a line just before the restart, where slipway
 * prints its switch step, so both are observed alike.
 */
function bareDeploy(targets, sha, n, onSwitch) {
  const script = bareRestartScript({ app: 'hello', n, links: ['.env'], marker: BARE_SWITCH });
  const one = ({ server, address }) =>
    new Promise((resolve, reject) => {
      const archive = spawn('git', ['-C', repo, 'archive', '--format=tar', sha], { stdio: ['ignore', 'pipe', 'ignore'] });
      const ssh = spawn('ssh', [...sandboxSsh(address, true), script], { stdio: ['pipe', 'pipe', 'pipe'] });
      archive.stdout.pipe(ssh.stdin);
      ssh.stdin.on('error', () => {});
      let output = '';
      createInterface({ input: ssh.stdout }).on('line', (line) => (line === BARE_SWITCH ? onSwitch(server) : (output += `${line}\n`)));
      ssh.stderr.on('data', (d) => (output += d));
      ssh.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`the bare script on ${server} failed (exit ${code}):\n${output}`))));
    });
  return Promise.all(targets.map(one));
}

/**
 * Seconds from a deploy's start to its exit, and to `version` answering on each of `targets` (`{ server, url }`),
 * each polled from its switch on; the cores' busy share. `run(onSwitch)` deploys (slipway by default), calling
 * `onSwitch(server)` as each server's switch starts.
 */
async function timeDeploy(targets, version, run = deployCommand) {
  const serversBefore = await Promise.all(targets.map(serverCpuMs));
  const busyBefore = busyMs();
  const started = performance.now();
  const deadline = started + SERVED_TIMEOUT_MS;
  let failed;
  const polls = new Map();
  const command = run((server) => {
    const url = targets.find((t) => t.server === server)?.url;
    if (url && !polls.has(server)) polls.set(server, servedAt(url, version, deadline, () => failed !== undefined));
  }).catch((error) => (failed = error));
  await command;
  const exitedAt = performance.now();
  if (failed) throw failed;
  const unswitched = targets.filter((t) => !polls.has(t.server)).map((t) => t.server);
  if (unswitched.length > 0) throw new Error(`no switch in the output for ${unswitched.join(', ')}`);
  const served = await Promise.all(targets.map((t) => polls.get(t.server)));
  if (served.includes(undefined)) throw new Error(`version ${version} never answered at ${targets.filter((_, i) => served[i] === undefined).map((t) => t.url).join(', ')}`);
  const busyDelta = busyMs() - busyBefore;
  const busy = busyDelta / ((exitedAt - started) * cpus().length);
  const serversMs = (await Promise.all(targets.map(serverCpuMs))).reduce((sum, ms, i) => sum + ms - serversBefore[i], 0);
  return { commandS: (exitedAt - started) / 1000, servedS: (Math.max(...served) - started) / 1000, busy, perServerCpuS: serversMs / targets.length / 1000, restCpuS: Math.max(0, busyDelta - serversMs) / 1000 };
}

async function writeConfig(count) {
  const listed = servers.slice(0, count).map((name) => `  - sandbox: ${name}`);
  // The app on the socket slipway names it too: nginx proxies to the socket link (a switch reloads nothing).
  const web = ['processes:', '  web:', '    command: python3 app.py --socket $SLIPWAY_SOCKET'];
  await writeFile(join(repo, 'deploy-sandbox.yml'), ['servers:', ...listed, 'http:', '  enabled: true', '  default_server: true', ...web, ''].join('\n'));
}

/** One measure per size; with `reference` (the bare script's rows of the same measure), slipway's ratio to it. */
function printTable(title, rows, reference) {
  const base = median(rows.find((r) => r.count === 1)?.times ?? rows[0].times);
  console.log(`\n${title} (seconds, ${runs} redeploys per size)`);
  console.log(`| servers | median s | min | max | ratio to 1 server |${reference ? ' bare script median s | slipway ÷ bare |' : ''}`);
  console.log(`| ---: | ---: | ---: | ---: | ---: |${reference ? ' ---: | ---: |' : ''}`);
  for (const { count, times } of rows) {
    const m = median(times);
    const bare = reference && median(reference.find((r) => r.count === count).times);
    console.log(`| ${count} | ${m.toFixed(2)} | ${Math.min(...times).toFixed(2)} | ${Math.max(...times).toFixed(2)} | ${(m / base).toFixed(2)} |${reference ? ` ${bare.toFixed(2)} | ${(m / bare).toFixed(2)} |` : ''}`);
  }
}

try {
  await downAll();
  await Promise.all(servers.map((name) => slipway('sandbox', 'up', name)));
  const listed = JSON.parse((await slipway('sandbox', 'list', '--json')).stdout);
  const targets = servers.map((server) => {
    const entry = listed.find((s) => s.name === server && s.status === 'running');
    if (!entry?.address) throw new Error(`sandbox server ${server} is not running`);
    return { server, address: entry.address, pid: entry.pid, url: `http://${entry.address}/` };
  });

  await cp(join(ROOT, 'examples', 'hello-app'), repo, { recursive: true });
  await must('git', ['-C', repo, 'init', '--quiet', '--initial-branch=main']);

  console.log(`machine: ${cpus().length} cores, load average ${loadavg()[0].toFixed(2)} at the start`);
  let n = 0;
  const deployTo = async (count) => {
    await writeConfig(count);
    await commit(repo, `v${++n}`);
    return timeDeploy(targets.slice(0, count), `v${n}`);
  };
  for (const count of sizes) {
    const first = await deployTo(count);
    console.log(`${count} server(s): first deploy ${first.commandS.toFixed(2)} s (new code answering everywhere at ${first.servedS.toFixed(2)} s)`);
  }

  /** `runs` rounds of slipway's redeploys, then of the bare script's, to every size. */
  const measure = async () => {
    // Round after round of every size, so a change in the machine's other load touches every size alike.
    const timings = sizes.map(() => []);
    for (let round = 0; round < runs; round++) for (const [i, count] of sizes.entries()) timings[i].push(await deployTo(count));
    // The bare script last (slipway knows nothing of its releases), paced: systemd refuses a sixth start of a
    // unit within 10 s, and the pause is not timed.
    const bare = sizes.map(() => []);
    for (let round = 0; round < runs; round++) {
      for (const [i, count] of sizes.entries()) {
        await commit(repo, `bare${++n}`);
        const sha = (await must('git', ['-C', repo, 'rev-parse', 'HEAD'])).stdout.trim();
        const chosen = targets.slice(0, count);
        bare[i].push(await timeDeploy(chosen, `bare${n}`, (onSwitch) => bareDeploy(chosen, sha, n, onSwitch)));
        await new Promise((r) => setTimeout(r, BARE_PAUSE_MS));
      }
    }
    // The bare script replaced the slot's release behind slipway's back: a slipway deploy sets it right again
    // (not timed) before another pass.
    await deployTo(Math.max(...sizes));
    return { timings, bare };
  };
  const column = (results, key) => sizes.map((count, i) => ({ count, times: results[i].map((t) => t[key]) }));
  const report = ({ timings, bare }, held) => {
    printTable(`code-only redeploy, command start → exit${held}`, column(timings, 'commandS'), column(bare, 'commandS'));
    printTable(`code-only redeploy, command start → new code answering on every server${held}`, column(timings, 'servedS'), column(bare, 'servedS'));
    printTable(`the bare restart script, start → new code answering on every server${held}`, column(bare, 'servedS'));
  };

  const shared = await measure();
  report(shared, '');
  console.log(`\nthis machine's ${cpus().length} cores during slipway's redeploys (medians; load average ${loadavg()[0].toFixed(2)} now)`);
  console.log('| servers | cores busy | CPU-s per server (its processes) | CPU-s of the rest (deployer, ssh, bench) | bare script: CPU-s per server |');
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const [i, count] of sizes.entries()) {
    const of = (results, key) => median(results[i].map((t) => t[key]));
    console.log(`| ${count} | ${(of(shared.timings, 'busy') * 100).toFixed(0)} % | ${of(shared.timings, 'perServerCpuS').toFixed(3)} | ${of(shared.timings, 'restCpuS').toFixed(2)} | ${of(shared.bare, 'perServerCpuS').toFixed(3)} |`);
  }

  if (quotaPass) {
    const share = cpus().length / (Math.max(...sizes) + 2);
    const why = await holdServers(targets, share);
    if (why) console.log(`\nno pass with each server held to its share of the cores: ${why}`);
    else report(await measure(), `, each server held to ${share.toFixed(2)} cores`);
  }
} finally {
  await cleanUp();
}
