// How long a rollback takes to put the previous version back in front of users (`make bench-rollback`, as root):
// from the start of `slipway rollback` to the previous version answering through nginx (polled in parallel every
// few milliseconds), for examples/django-app (gunicorn, 4 workers) in blue/green slots on a sandbox server. Two cases:
//   instant      right after a deploy, within the drain period: the old slot still runs, nginx just moves back;
//   after-drain  once the old slot has stopped: it starts again on the previous release, is checked, then routed.
//   sudo node bench/rollback.mjs [--server NAME] [--rounds 5]
// Without --server, boots the sandbox server bench-rb and takes it down at the end. Prints figures only.
// Needs `npm run build` and the sandbox image (`make sandbox-image`).
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, cli, prepareDjangoExample, serverAddress, writeDjangoSandboxConfig, commit, exec, must, option, sandboxSsh, stats } from './lib.mjs';

const DRAIN_SECONDS = 8;

const givenServer = option('--server', undefined);
const SERVER = givenServer ?? 'bench-rb';
const rounds = Number(option('--rounds', '5'));



const slipway = cli();

const onServer = (address, command) => must('ssh', [...sandboxSsh(address), command]);

/** The version /version/ answers through nginx (a new connection each time), or undefined. */
function versionAt(address) {
  return new Promise((resolve) => {
    const req = request({ host: address, port: 80, path: '/version/', agent: false, headers: { host: address }, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/** Seconds from the rollback's start to `version` answering, and to the command's exit. */
async function timeRollback(repo, address, version) {
  const started = performance.now();
  let failed;
  const command = slipway('-c', repo, 'rollback', 'sandbox').catch((error) => (failed = error));
  let servedAt;
  while (servedAt === undefined && failed === undefined && performance.now() < started + 60_000) {
    if ((await versionAt(address)) === version) servedAt = performance.now();
    else await new Promise((r) => setTimeout(r, 2));
  }
  await command;
  if (failed) throw failed;
  if (servedAt === undefined) throw new Error(`version ${version} never answered at ${address}`);
  return { servedS: (servedAt - started) / 1000, commandS: (performance.now() - started) / 1000 };
}



const repo = await mkdtemp(join(tmpdir(), 'slipway-bench-rb-'));
try {
  const address = await serverAddress(SERVER, givenServer);

  await prepareDjangoExample(repo);
  await writeDjangoSandboxConfig(repo, SERVER, [`drain_seconds: ${DRAIN_SECONDS}`]);
  await must('git', ['-C', repo, 'init', '--quiet', '--initial-branch=main']);
  await commit(repo, 'v1');
  await slipway('-c', repo, 'deploy', 'sandbox');

  // Every rolled-back release is marked bad, so v1 stays the previous good release: each rollback returns to it.
  const cases = { instant: { served: [], command: [] }, 'after-drain': { served: [], command: [] } };
  let n = 1;
  for (let i = 0; i < rounds; i++) {
    await commit(repo, `v${++n}`);
    await slipway('-c', repo, 'deploy', 'sandbox');
    const instant = await timeRollback(repo, address, 'v1');
    cases.instant.served.push(instant.servedS);
    cases.instant.command.push(instant.commandS);

    await commit(repo, `v${++n}`);
    await slipway('-c', repo, 'deploy', 'sandbox');
    await new Promise((r) => setTimeout(r, (DRAIN_SECONDS + 2) * 1000));
    const running = (await onServer(address, "systemctl list-units --state=active --plain --no-legend 'shop-web@*' | wc -l")).stdout.trim();
    if (running !== '1') throw new Error(`after the drain period ${running} slots still run, expected 1`);
    const drained = await timeRollback(repo, address, 'v1');
    cases['after-drain'].served.push(drained.servedS);
    cases['after-drain'].command.push(drained.commandS);
  }
  for (const [name, figures] of Object.entries(cases)) {
    console.log(`rollback_${name}_to_previous_answering_s ${stats(figures.served)}`);
    console.log(`rollback_${name}_command_s ${stats(figures.command)}`);
  }
} finally {
  if (!givenServer) await exec(process.execPath, [CLI, 'sandbox', 'down', SERVER]);
  await rm(repo, { recursive: true, force: true });
}
