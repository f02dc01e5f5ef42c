#!/usr/bin/env node
// Whole-process times of `slipway --version` and `slipway plan` (a local server, so no network in the figure),
// next to a bare `node -e ''` in the same run for scale. Prints figures only.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin/slipway.js');
const runs = Number(process.env.RUNS ?? 15);

function time(argv, cwd) {
  const samples = [];
  for (let i = 0; i < runs; i += 1) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, argv, { cwd, encoding: 'utf8' });
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr}`);
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  return `median=${at(0.5).toFixed(0)}ms min=${samples[0].toFixed(0)}ms p90=${at(0.9).toFixed(0)}ms runs=${runs}`;
}

const app = mkdtempSync(join(tmpdir(), 'slipway-bench-'));
try {
  cpSync(join(root, 'examples/hello-app'), app, { recursive: true });
  const git = (...args) => execFileSync('git', ['-c', 'user.email=bench@example.invalid', '-c', 'user.name=bench', ...args], { cwd: app });
  git('init', '-q', '-b', 'main');
  // The example's processes need systemd, which a plain build machine may not run: plan the code deploy only.
  rmSync(join(app, 'deploy.yml'));
  writeFileSync(join(app, 'deploy-bench.yml'), `project:\n  name: hello\nservers:\n  - host: local\nbase_path: ${join(app, 'srv')}\nenv_vars:\n  HELLO_SECRET: \${HELLO_SECRET}\n`);
  git('add', '-A');
  git('commit', '-q', '-m', 'bench');
  const env = { HELLO_SECRET: 'bench-secret' };
  Object.assign(process.env, env);
  console.log(`node_bare              ${time(['-e', ''], app)}`);
  console.log(`slipway_version        ${time([bin, '--version'], app)}`);
  console.log(`slipway_plan_local     ${time([bin, 'plan', 'bench'], app)}`);
} finally {
  rmSync(app, { recursive: true, force: true });
}
