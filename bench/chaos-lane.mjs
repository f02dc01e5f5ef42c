// One strategy's run of the chaos bench on its own sandbox server: the hello example behind nginx, a fault at a
// time under a steady load, and after each one the same row of figures (see chaos.mjs).
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, ROOT, exec, must } from './lib.mjs';
import { historyOf, inspect, lockFree, sandboxEntry, servedVersion } from './chaos-server.mjs';
import { cliUntil, normalizeTitle, run, sleep, startLoad } from './chaos-tools.mjs';

export const DRAIN = 3;
const ENV = { ...process.env, HELLO_SECRET: 'chaos-bench-secret' };

const historyText = (entries) =>
  entries.length ? entries.map((e) => `${e.action} ${e.result}${e.outcome !== undefined ? `(${e.outcome || 'outcome ""'})` : ''}`).join(', ') : 'none';
const lastLine = (text) => text.trim().split('\n').filter((l) => /error|refused|lock|dropped|interrupted/i.test(l))[0] ?? text.trim().split('\n').pop() ?? '';

export class Lane {
  rows = [];
  versions = new Map(); // sha7 -> version label
  n = 0;
  lastDeploy = 0;

  constructor(strategy, server) {
    this.strategy = strategy;
    this.server = server;
    this.env = ENV;
  }

  async setup() {
    await exec(process.execPath, [CLI, 'sandbox', 'down', this.server, '--purge']);
    await must(process.execPath, [CLI, 'sandbox', 'up', this.server, '--persist']);
    this.address = (await sandboxEntry(this.server, ENV)).address;
    this.repo = await mkdtemp(join(tmpdir(), `slipway-chaos-${this.strategy}-`));
    await cp(join(ROOT, 'examples', 'hello-app'), this.repo, { recursive: true });
    await must('git', ['-C', this.repo, 'init', '--quiet', '--initial-branch=main']);
    await this.configure();
    for (let i = 0; i < 2; i++) this.live = (await this.deployNew()).label;
    // Files every normal deploy leaves (nginx's previous upstream and site): reported once, not as orphans.
    await sleep((DRAIN + 1) * 1000);
    this.steadyFiles = (await inspect({ repo: this.repo, env: ENV, address: this.address, strategy: this.strategy, versions: this.versions })).files;
  }

  async teardown() {
    if (this.repo) await rm(this.repo, { recursive: true, force: true });
    if (this.repo2) await rm(this.repo2, { recursive: true, force: true });
    await exec(process.execPath, [CLI, 'sandbox', 'down', this.server, '--purge']);
  }

  /** deploy-sandbox.yml: nginx in front (through the socket link), a short drain, and the given hooks. */
  async configure(hooks, repo = this.repo) {
    const lines = [
      'servers:', `  - sandbox: ${this.server}`, 'env_vars:', '  BIND: 127.0.0.1', 'keep_releases: 3',
      'http:', '  enabled: true', '  default_server: true', `  drain_seconds: ${DRAIN}`, `  strategy: ${this.strategy}`,
      // The app on the socket slipway names it too: nginx proxies to the socket link, a switch never reloads it.
      'processes:', '  web:', '    command: python3 app.py --socket $SLIPWAY_SOCKET',
      ...(hooks ? ['hooks:', ...Object.entries(hooks).flatMap(([k, cmds]) => [`  ${k}:`, ...cmds.map((c) => `    - ${JSON.stringify(c)}`)])] : []),
      '',
    ];
    await writeFile(join(repo, 'deploy-sandbox.yml'), lines.join('\n'));
  }

  /** Commits a new version in `repo`; returns its label. */
  async commit(repo = this.repo) {
    const label = `${this.strategy === 'blue-green' ? 'bg' : 'rs'}${++this.n}`;
    await writeFile(join(repo, 'VERSION'), `${label}\n`);
    await must('git', ['-C', repo, 'add', '-A']);
    await must('git', ['-C', repo, '-c', 'user.name=chaos', '-c', 'user.email=chaos@localhost', 'commit', '--quiet', '-m', label]);
    const sha = (await must('git', ['-C', repo, 'rev-parse', 'HEAD'])).stdout.trim();
    this.versions.set(sha.slice(0, 7), label);
    return label;
  }

  cli(argv, options = {}) {
    return run(process.execPath, [CLI, '-c', options.repo ?? this.repo, ...argv], { env: ENV, timeoutMs: 180_000 });
  }

  /** A normal deploy of a new commit; true when it succeeded and its version is what nginx serves. */
  async deployNew() {
    const label = await this.commit();
    const result = await this.cli(['deploy', 'sandbox']);
    this.lastDeploy = performance.now();
    if (result.code !== 0) return { ok: false, why: lastLine(result.stderr) };
    const served = await servedVersion(this.address);
    return served === label ? { ok: true, label } : { ok: false, why: `deployed ${label}, nginx serves ${served}` };
  }

  /** Until the last deploy's old slot has drained and stopped: each fault starts from a steady state. */
  drained() {
    return sleep(Math.max(0, this.lastDeploy + (DRAIN + 1) * 1000 - performance.now()));
  }

  /** The plan's step titles for the next deploy (of a new commit) or rollback. */
  async planTitles(rollback) {
    await this.drained();
    const result = await this.cli(['plan', 'sandbox', ...(rollback ? ['--rollback'] : []), '--json']);
    if (result.code !== 0) throw new Error(`plan failed: ${result.stderr}`);
    return JSON.parse(result.stdout).hosts[0].steps.map((s) => normalizeTitle(s.title));
  }

  /**
   * One row: under load, `body` causes the fault and returns what the interrupted command did; then the host is
   * left to repair (lock free) and to drain, the state is read, and a normal deploy must succeed with no manual step.
   */
  async fault(name, body) {
    const started = performance.now();
    const live = this.live;
    await this.drained();
    const before = (await historyOf(this.repo, ENV)).length;
    const load = startLoad(this.address);
    let note;
    let repaired;
    try {
      note = await body(load);
    } finally {
      repaired = await lockFree(this.address, 90_000);
      await sleep((DRAIN + 1) * 1000);
    }
    const served = await load.stop();
    const state = await inspect({ repo: this.repo, env: ENV, address: this.address, strategy: this.strategy, versions: this.versions, localPids: note.localPids, steadyFiles: this.steadyFiles });
    const history = (await historyOf(this.repo, ENV)).slice(note.historyFrom ?? before);
    await this.configure(note.restoreHooks);
    if (note.cleanup) await note.cleanup();
    const next = await this.deployNew();
    if (next.ok) this.live = next.label;
    const row = {
      case: name, strategy: this.strategy, target: note.target ?? '', before: note.before ?? live, total: served.total, failed: served.failed, resets: served.resets, outage: served.outage,
      reasons: served.reasons, serving: state.current, served: state.served, agree: state.agree, health: state.health,
      orphans: [...(repaired ? [] : ['lock still held after 90 s']), ...state.orphans], next, history: historyText(history),
      command: note.command, detail: state.detail, seconds: (performance.now() - started) / 1000,
    };
    this.rows.push(row);
    return row;
  }

  /** kill -9 of slipway when `title` (normalized) shows in its progress. */
  killAt(operation, title) {
    return this.fault(`kill -9 ${operation} @ ${title}`, async () => {
      const target = operation === 'deploy' ? await this.commit() : undefined;
      const r = await cliUntil(this.repo, [operation, 'sandbox'], { at: title, env: ENV, onStep: (child) => child.kill('SIGKILL') });
      return { target, localPids: r.children, command: r.reached ? 'killed' : `step not reached: exit ${r.code} ${lastLine(r.stderr)}` };
    });
  }

  /** A deploy with an after_switch hook of `sleep hookSeconds`; `fault(load)` starts 1 s into the hook. */
  faultInHook(name, fault, hookSeconds = 8) {
    return this.fault(name, async (load) => {
      await this.configure({ after_switch: [`sleep ${hookSeconds}`] });
      const target = await this.commit();
      let faulted = Promise.resolve();
      const r = await cliUntil(this.repo, ['deploy', 'sandbox'], {
        at: 'Run after_switch hooks', env: ENV,
        onStep: () => (faulted = sleep(1000).then(() => fault(load))),
      });
      const extra = await faulted;
      return { target, localPids: r.children, command: `${r.reached ? '' : 'hook not reached: '}exit ${r.code}${r.code ? `: ${lastLine(r.stderr)}` : ''}${extra ? `; ${extra}` : ''}` };
    });
  }
}
