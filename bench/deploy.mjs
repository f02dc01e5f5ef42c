// Deploy timings on sandbox servers, through the built CLI as a user runs it (`make bench-deploy`, as root):
//   cold first deploy; code-only redeploy, from the command's start to the new code answering over the
//   server's address; rollback, from the command's start to the previous code answering; and the floor: one
//   new ssh connection that runs `true`. Three scenarios in the same run: `blue-green` (through nginx on port 80,
//   the default once http is on) and `restart` (the app's own port, restarted in place) with the hello app, and
//   `django-blue-green` (examples/django-app behind nginx, its PostgreSQL on the same server), and
//   `node-blue-green` (examples/node-app: built on this machine, node_modules uploaded once and reused, its
//   PostgreSQL and Redis on the server). The Django scenario also times, after its redeploy/rollback loop: a
//   deploy with one more requirement (a new venv), rollbacks after the drain period (the old slot stopped, so
//   started again and checked), and, for reference, a bare restart script on the same server
//   (one ssh, no checks), with slipway's redeploy against it. The Node one: a deploy with one more dependency
//   (npm ci here and a new node_modules uploaded; needs the npm registry).
//   Then the CLI's own cost: `slipway --version`, and `slipway plan` against the floor's server.
//   sudo node bench/deploy.mjs [--runs 5] [--only NAME[,NAME]]   (--only: those scenarios, without the floor and CLI figures)
// Prints figures only. Needs `npm run build` and the sandbox image (`make sandbox-image`).
import { appendFile, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, bareRestartScript, cli, commit, exec, median, must, mustPipe, option, prepareDjangoExample, prepareNodeExample, sandboxSsh, stats, writeDjangoSandboxConfig } from './lib.mjs';

/** The blue/green scenarios' http.drain_seconds: short, so that each redeploy finds the idle slot stopped. */
const DRAIN_SECONDS = 2;

const SCENARIOS = [
  {
    name: 'blue-green',
    server: 'bench-deploy-bg',
    // Through the socket link, as the Django example: the app listens on $SLIPWAY_SOCKET too.
    config: `http:\n  enabled: true\n  default_server: true\n  drain_seconds: ${DRAIN_SECONDS}\nprocesses:\n  web:\n    command: python3 app.py --socket $SLIPWAY_SOCKET\n`,
    drains: true,
    url: (address) => `http://${address}/`,
  },
  { name: 'restart', server: 'bench-deploy', config: 'env_vars:\n  BIND: 0.0.0.0\n', url: (address) => `http://${address}:8000/` },
  {
    name: 'django-blue-green',
    drains: true,
    server: 'bench-deploy-django',
    // Its /version/ page answers the release's VERSION file, through nginx and gunicorn.
    prepare: async (repo, server) => {
      await prepareDjangoExample(repo);
      await writeDjangoSandboxConfig(repo, server, [`drain_seconds: ${DRAIN_SECONDS}`]);
    },
    url: (address) => `http://${address}/version/`,
    after: django,
  },
  {
    name: 'node-blue-green',
    drains: true,
    server: 'bench-deploy-node',
    prepare: (repo, server) => prepareNodeExample(repo, server, [`drain_seconds: ${DRAIN_SECONDS}`]),
    url: (address) => `http://${address}/version`,
    after: nodeDependencyChange,
  },
];

// The Node scenario's node_modules and builds start from an empty cache: its cold deploy really installs.
const cacheDir = await mkdtemp(join(tmpdir(), 'slipway-bench-cache-'));
process.env.XDG_CACHE_HOME = cacheDir;
process.on('exit', () => rmSync(cacheDir, { recursive: true, force: true }));

const runs = Number(option('--runs', '5')) || 5;
const only = option('--only', undefined)?.split(',');

const slipway = cli({ HELLO_SECRET: 'bench-secret-value' });

/** The version a page names: the hello app's `<p>version v3</p>`, or the Django example's /version/ text. */
async function versionAt(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    const text = await response.text();
    if (!response.ok) return undefined;
    return /<p>version ([^<]*)<\/p>/.exec(text)?.[1] ?? (/\/version\/?$/.test(url) ? text.trim() : undefined);
  } catch {
    return undefined;
  }
}

/** Runs a slipway command while polling the page; returns seconds from the command's start to `version` answering, and to the command's exit. */
function timeUntilServed(url, version, argv) {
  return timeUntil(url, version, () => slipway(...argv));
}

/** timeUntilServed for any command: `run` starts it and returns a promise of its end. */
async function timeUntil(url, version, run) {
  const started = performance.now();
  const command = run();
  let servedAt;
  let failed;
  command.catch((error) => (failed = error));
  const deadline = started + 60_000;
  while (servedAt === undefined && failed === undefined && performance.now() < deadline) {
    if ((await versionAt(url)) === version) servedAt = performance.now();
    else await new Promise((r) => setTimeout(r, 5));
  }
  await command;
  if (servedAt === undefined) throw new Error(`version ${version} never answered at ${url}`);
  return { servedS: (servedAt - started) / 1000, commandS: (performance.now() - started) / 1000 };
}


/**
 * What the Django scenario adds once slipway's loop is done, on the same server: a deploy that changes one
 * requirement, then the bare restart script (whose releases slipway knows nothing of, so it runs last).
 */
async function django({ name, repo, address, url, redeploy, next }) {
  // One more requirement, satisfied offline by Debian 12's python3-sqlparse (a dependency of python3-django): the
  // venv key hashes the requirements files' text, so this deploy builds a new venv.
  await appendFile(join(repo, 'requirements.txt'), 'sqlparse>=0.4\n');
  await commit(repo, `v${next}`);
  const changed = await timeUntilServed(url, `v${next}`, ['-c', repo, 'deploy', 'sandbox']);
  console.log(`${name} one_requirement_changed_deploy_s ${changed.commandS.toFixed(2)} (new code answering at ${changed.servedS.toFixed(2)})`);

  // A rollback once the drain period is over: the previous slot has stopped, so it starts again and is checked.
  const afterDrain = [];
  for (let i = 1; i <= runs; i++) {
    await new Promise((r) => setTimeout(r, (DRAIN_SECONDS + 0.5) * 1000));
    await commit(repo, `drained${i}`);
    await timeUntilServed(url, `drained${i}`, ['-c', repo, 'deploy', 'sandbox']);
    await new Promise((r) => setTimeout(r, (DRAIN_SECONDS + 0.5) * 1000));
    afterDrain.push((await timeUntilServed(url, `v${next}`, ['-c', repo, 'rollback', 'sandbox'])).servedS);
  }
  console.log(`${name} rollback_after_drain_to_previous_code_s ${stats(afterDrain)}`);

  const bare = [];
  for (let i = 1; i <= runs; i++) {
    // Paced like slipway's redeploys, which also keeps systemd's start limit (5 starts in 10 s) out of the way.
    await new Promise((r) => setTimeout(r, (DRAIN_SECONDS + 0.5) * 1000));
    await commit(repo, `bare${i}`);
    const sha = (await must('git', ['-C', repo, 'rev-parse', 'HEAD'])).stdout.trim();
    bare.push((await timeUntil(url, `bare${i}`, () => bareRestart(address, repo, sha, i))).servedS);
  }
  console.log(`${name} bare_script_to_new_code_s ${stats(bare)}`);
  console.log(`${name} redeploy_vs_bare_ratio ${(median(redeploy.served) / median(bare)).toFixed(2)}`);
}

/** bench/lib.mjs's bare restart script for the Django example (its venv and .env linked into the new release). */
function bareRestart(address, repo, sha, n) {
  const script = bareRestartScript({ app: 'shop', n, links: ['.venv', '.env'] });
  return mustPipe(['git', ['-C', repo, 'archive', '--format=tar', sha]], ['ssh', [...sandboxSsh(address, true), script]]);
}

/** One more dependency (resolved from the npm registry, as a developer's `npm install ms`): a new node_modules. */
async function nodeDependencyChange({ name, repo, url, next }) {
  await must('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund', 'ms@2.1.3'], { cwd: repo });
  await commit(repo, `v${next}`);
  const changed = await timeUntilServed(url, `v${next}`, ['-c', repo, 'deploy', 'sandbox']);
  console.log(`${name} one_dependency_changed_deploy_s ${changed.commandS.toFixed(2)} (new code answering at ${changed.servedS.toFixed(2)})`);
}

async function sshTrue(address) {
  const started = performance.now();
  await must('ssh', [...sandboxSsh(address, true), 'true']);
  return (performance.now() - started) / 1000;
}

async function scenario({ name, server, config, prepare, url: urlFor, after, drains = false }) {
  const repo = await mkdtemp(join(tmpdir(), 'slipway-bench-'));
  try {
    await exec(process.execPath, [join(ROOT, 'bin', 'slipway.js'), 'sandbox', 'down', server]);
    await slipway('sandbox', 'up', server);
    const listed = JSON.parse((await slipway('sandbox', 'list', '--json')).stdout);
    const address = listed.find((s) => s.name === server).address;
    const url = urlFor(address);

    if (prepare) await prepare(repo, server);
    else {
      await cp(join(ROOT, 'examples', 'hello-app'), repo, { recursive: true });
      await writeFile(join(repo, 'deploy-sandbox.yml'), `servers:\n  - sandbox: ${server}\n${config}`);
    }
    await must('git', ['-C', repo, 'init', '--quiet', '--initial-branch=main']);
    await commit(repo, 'v1');

    const cold = await timeUntilServed(url, 'v1', ['-c', repo, 'deploy', 'sandbox']);
    console.log(`${name} cold_first_deploy_s ${cold.commandS.toFixed(2)} (new code answering at ${cold.servedS.toFixed(2)})`);

    const redeploy = { served: [], command: [] };
    const rollback = { served: [], command: [] };
    for (let i = 2; i < runs + 2; i++) {
      // A redeploy as it usually comes: the slot the last rollback left has drained and stopped (a deploy within
      // the drain period would first have to stop it, 0.2-0.3 s more). The rollbacks come right after their
      // deploy, within the drain period: instant.
      if (drains) await new Promise((r) => setTimeout(r, (DRAIN_SECONDS + 0.5) * 1000));
      await commit(repo, `v${i}`);
      const deployed = await timeUntilServed(url, `v${i}`, ['-c', repo, 'deploy', 'sandbox']);
      redeploy.served.push(deployed.servedS);
      redeploy.command.push(deployed.commandS);
      // Back to v1 each time: every rolled-back release is marked bad, so v1 stays the previous good one.
      const rolled = await timeUntilServed(url, 'v1', ['-c', repo, 'rollback', 'sandbox']);
      rollback.served.push(rolled.servedS);
      rollback.command.push(rolled.commandS);
    }
    console.log(`${name} redeploy_to_new_code_s ${stats(redeploy.served)}`);
    console.log(`${name} redeploy_command_s ${stats(redeploy.command)}`);
    console.log(`${name} rollback_to_previous_code_s ${stats(rollback.served)}`);
    console.log(`${name} rollback_command_s ${stats(rollback.command)}`);
    if (after) await after({ name, repo, address, url, redeploy, next: runs + 2 });
    return address;
  } finally {
    await exec(process.execPath, [join(ROOT, 'bin', 'slipway.js'), 'sandbox', 'down', server]);
    await rm(repo, { recursive: true, force: true });
  }
}

for (const s of SCENARIOS.filter((s) => !only || only.includes(s.name))) await scenario(s);
if (only) process.exit(0);

// The floor, on a server of its own: one new ssh connection running `true`.
const FLOOR = 'bench-deploy-floor';
try {
  await slipway('sandbox', 'up', FLOOR);
  const address = JSON.parse((await slipway('sandbox', 'list', '--json')).stdout).find((s) => s.name === FLOOR).address;
  const floor = [];
  for (let i = 0; i < runs; i++) floor.push(await sshTrue(address));
  console.log(`ssh_new_connection_true_s ${stats(floor)}`);

  // The whole process of `slipway plan` for the hello app on the floor's server: it reads the server, deploys nothing.
  const repo = await mkdtemp(join(tmpdir(), 'slipway-bench-'));
  try {
    await cp(join(ROOT, 'examples', 'hello-app'), repo, { recursive: true });
    await writeFile(join(repo, 'deploy-sandbox.yml'), `servers:\n  - sandbox: ${FLOOR}\n${SCENARIOS[0].config}`);
    await must('git', ['-C', repo, 'init', '--quiet', '--initial-branch=main']);
    await commit(repo, 'v1');
    const plan = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await slipway('-c', repo, 'plan', 'sandbox');
      plan.push((performance.now() - started) / 1000);
    }
    console.log(`cli_startup_plan_s ${stats(plan)}`);
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
} finally {
  await exec(process.execPath, [join(ROOT, 'bin', 'slipway.js'), 'sandbox', 'down', FLOOR]);
}

const startup = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  await slipway('--version');
  startup.push((performance.now() - started) / 1000);
}
console.log(`cli_startup_version_s ${stats(startup)}`);
