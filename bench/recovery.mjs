// How long a lost server takes to come back (`make bench-recovery`, as root): the recovery time objective,
// measured. examples/django-app is set up and deployed on a sandbox server whose dumps are copied to a second one
// (backups.copy_to); rows are written through nginx and backed up; the first server is then powered off for good
// and `slipway recover --sandbox` rebuilds it on a fresh third server. Printed: the seconds from the command's start
// to the same version answering through nginx on the new server (the RTO), to the command's exit, each phase the
// command reports, and whether every row came back.
//   sudo node bench/recovery.mjs
// Boots bench-rec1, bench-vault and bench-rec2 and takes them down at the end. Prints figures only.
// Needs `npm run build` and the sandbox image (`make sandbox-image`).
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, cli, commit, exec, must, prepareDjangoExample, sandboxSsh, serverAddress, writeDjangoSandboxConfig } from './lib.mjs';

const LOST = 'bench-rec1';
const VAULT = 'bench-vault';
const FRESH = 'bench-rec2';
const TARGET_S = 300;
const slipway = cli();
const onServer = (address, command) => must('ssh', [...sandboxSsh(address), command]);
const rows = async (address) => Number((await onServer(address, "cd / && runuser -u postgres -- psql -AtX -d shop -c 'SELECT count(*) FROM visits_visit'")).stdout.trim());

/** GET through nginx on a new connection: status and body, or undefined when nothing answers. */
function get(address, path) {
  return new Promise((resolve) => {
    const req = request({ host: address, port: 80, path, agent: false, headers: { host: address }, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function main() {
  const repo = await mkdtemp(join(tmpdir(), 'slipway-bench-recovery-'));
  try {
    await prepareDjangoExample(repo);
    const [lost] = await Promise.all([serverAddress(LOST), serverAddress(VAULT)]);
    await writeDjangoSandboxConfig(repo, LOST, [], ['backups:', '  copy_to:', `    - sandbox: ${VAULT}`, 'setup:', '  ufw: false', '  unattended_upgrades: false']);
    await must('git', ['-C', repo, 'init', '--quiet', '--initial-branch=main']);
    await commit(repo, 'v1');
    await slipway('-c', repo, 'setup', 'sandbox');
    await slipway('-c', repo, 'deploy', 'sandbox');
    for (let i = 0; i < 20; i++) if ((await get(lost, '/'))?.status !== 200) throw new Error('the home page did not answer 200');
    await slipway('-c', repo, 'backup', 'sandbox');
    const before = await rows(lost);

    // Powered off for good: its disk goes too.
    await must(process.execPath, [CLI, 'sandbox', 'down', LOST, '--purge']);
    const fresh = await serverAddress(FRESH);

    const started = performance.now();
    let failed;
    let output = '';
    const command = slipway('-c', repo, 'recover', 'sandbox', '--sandbox', FRESH).then((r) => (output = r.stdout), (error) => (failed = error));
    let servedAt;
    while (servedAt === undefined && failed === undefined && performance.now() < started + TARGET_S * 2 * 1000) {
      const answer = await get(fresh, '/version/');
      if (answer?.status === 200 && answer.body.trim() === 'v1') servedAt = performance.now();
      else await new Promise((r) => setTimeout(r, 20));
    }
    await command;
    if (failed) throw failed;
    if (servedAt === undefined) throw new Error(`v1 never answered on ${FRESH}`);
    const commandS = (performance.now() - started) / 1000;
    const after = await rows(fresh);

    const phases = output.split('\n').filter((l) => /^ +\d+\.\d s {2}/.test(l));
    console.log(`recovery (examples/django-app; a fresh sandbox server; copies on ${VAULT})`);
    console.log(`  RTO, command start to v1 answering through nginx: ${((servedAt - started) / 1000).toFixed(1)} s (target < ${TARGET_S} s; the standard asks for 4 h)`);
    console.log(`  command start to exit: ${commandS.toFixed(1)} s, of which:`);
    for (const line of phases) console.log(`    ${line.trim()}`);
    console.log(`  rows: ${before} before the loss, ${after} after the recovery${before === after ? ' (all back)' : ' (MISSING ROWS)'}`);
    if (before !== after) process.exitCode = 1;
  } finally {
    await Promise.all([LOST, VAULT, FRESH].map((name) => exec(process.execPath, [CLI, 'sandbox', 'down', name, '--purge'])));
    await rm(repo, { recursive: true, force: true });
  }
}

await main();
