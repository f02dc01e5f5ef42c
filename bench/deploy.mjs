// Deploy timings on a sandbox server, through the built CLI as a user runs it (`make bench-deploy`, as root):
//   cold first deploy; code-only redeploy, from the command's start to the new code answering over the
//   server's address; rollback, from the command's start to the previous code answering; and the floor: one
//   new ssh connection that runs `true`.
//   sudo node bench/deploy.mjs [--runs 5]
// Prints figures only. Needs `npm run build` and the sandbox image (`make sandbox-image`).
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER = 'bench-deploy';
// The sandbox's login key and known_hosts (docs/sandbox.md, "Where state lives").
const SANDBOX_STATE = '/var/lib/slipway/sandbox';

const args = process.argv.slice(2);
const at = args.indexOf('--runs');
const runs = at >= 0 ? Number(args[at + 1]) || 5 : 5;

function exec(program, argv, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(program, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function must(program, argv, options) {
  const result = await exec(program, argv, options);
  if (result.code !== 0) throw new Error(`${program} ${argv.join(' ')} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`);
  return result;
}

const slipway = (...argv) => must(process.execPath, [join(ROOT, 'bin', 'slipway.js'), ...argv], { env: { ...process.env, HELLO_SECRET: 'bench-secret-value' } });

async function versionAt(address) {
  try {
    const response = await fetch(`http://${address}:8000/`, { signal: AbortSignal.timeout(1000) });
    return /<p>version ([^<]*)<\/p>/.exec(await response.text())?.[1];
  } catch {
    return undefined;
  }
}

/** Runs a slipway command while polling the page; returns seconds from the command's start to `version` answering, and to the command's exit. */
async function timeUntilServed(address, version, argv) {
  const started = performance.now();
  const command = slipway(...argv);
  let servedAt;
  let failed;
  command.catch((error) => (failed = error));
  const deadline = started + 60_000;
  while (servedAt === undefined && failed === undefined && performance.now() < deadline) {
    if ((await versionAt(address)) === version) servedAt = performance.now();
    else await new Promise((r) => setTimeout(r, 5));
  }
  await command;
  if (servedAt === undefined) throw new Error(`version ${version} never answered at ${address}`);
  return { servedS: (servedAt - started) / 1000, commandS: (performance.now() - started) / 1000 };
}

const stats = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  return `median=${median.toFixed(2)} min=${sorted[0].toFixed(2)} max=${sorted.at(-1).toFixed(2)} n=${xs.length}`;
};

async function commit(repo, version) {
  await writeFile(join(repo, 'VERSION'), `${version}\n`);
  await must('git', ['-C', repo, 'add', '-A']);
  await must('git', ['-C', repo, '-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'commit', '--quiet', '-m', version]);
}

async function sshTrue(address) {
  const started = performance.now();
  await must('ssh', [
    '-i', join(SANDBOX_STATE, 'id_ed25519'), '-l', 'root',
    '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${join(SANDBOX_STATE, 'known_hosts')}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'ControlMaster=no', '-o', 'ControlPath=none', // always a new connection
    address, 'true',
  ]);
  return (performance.now() - started) / 1000;
}

const repo = await mkdtemp(join(tmpdir(), 'slipway-bench-'));
try {
  await exec(process.execPath, [join(ROOT, 'bin', 'slipway.js'), 'sandbox', 'down', SERVER]);
  await slipway('sandbox', 'up', SERVER);
  const listed = JSON.parse((await slipway('sandbox', 'list', '--json')).stdout);
  const address = listed.find((s) => s.name === SERVER).address;

  await cp(join(ROOT, 'examples', 'hello-app'), repo, { recursive: true });
  await writeFile(join(repo, 'deploy-sandbox.yml'), `servers:\n  - sandbox: ${SERVER}\nenv_vars:\n  BIND: 0.0.0.0\n`);
  await must('git', ['-C', repo, 'init', '--quiet', '--initial-branch=main']);
  await commit(repo, 'v1');

  const cold = await timeUntilServed(address, 'v1', ['-c', repo, 'deploy', 'sandbox']);
  console.log(`cold_first_deploy_s ${cold.commandS.toFixed(2)} (new code answering at ${cold.servedS.toFixed(2)})`);

  const redeploy = { served: [], command: [] };
  const rollback = { served: [], command: [] };
  for (let i = 2; i < runs + 2; i++) {
    await commit(repo, `v${i}`);
    const deployed = await timeUntilServed(address, `v${i}`, ['-c', repo, 'deploy', 'sandbox']);
    redeploy.served.push(deployed.servedS);
    redeploy.command.push(deployed.commandS);
    // Back to v1 each time: every rolled-back release is marked bad, so v1 stays the previous good one.
    const rolled = await timeUntilServed(address, 'v1', ['-c', repo, 'rollback', 'sandbox']);
    rollback.served.push(rolled.servedS);
    rollback.command.push(rolled.commandS);
  }
  console.log(`redeploy_to_new_code_s ${stats(redeploy.served)}`);
  console.log(`redeploy_command_s ${stats(redeploy.command)}`);
  console.log(`rollback_to_previous_code_s ${stats(rollback.served)}`);
  console.log(`rollback_command_s ${stats(rollback.command)}`);

  const floor = [];
  for (let i = 0; i < runs; i++) floor.push(await sshTrue(address));
  console.log(`ssh_new_connection_true_s ${stats(floor)}`);

  const startup = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await slipway('--version');
    startup.push((performance.now() - started) / 1000);
  }
  console.log(`cli_startup_version_s ${stats(startup)}`);
} finally {
  await exec(process.execPath, [join(ROOT, 'bin', 'slipway.js'), 'sandbox', 'down', SERVER]);
  await rm(repo, { recursive: true, force: true });
}
