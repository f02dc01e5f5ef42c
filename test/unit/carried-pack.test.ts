// A commit carried with a host script, by a real bash agent and real git: the deployer packs what the host lacks,
// the agent writes it before the script runs, and the step indexes it into the host's cached repo. The agent's
// input stays in step for the scripts after it, and data it cannot write ends the session instead.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentSession } from '../../src/execute/agent-session.js';
import type { HostConnection } from '../../src/execute/connection.js';
import { Redactor } from '../../src/execute/redact.js';
import { CarriedData, runSteps, type StepObserver } from '../../src/execute/run-steps.js';
import { cmd, type Step } from '../../src/ops/command.js';
import { incomingPack, packSource, receivePack } from '../../src/ops/release.js';
import { layoutFor } from '../../src/plan/layout.js';
import { localTarget, testConfig } from './fixtures/config.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-carried-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const git = (...args: string[]) =>
  execFileSync('git', args, { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).trim();

const silent: StepObserver = { onStep: () => undefined };

async function localConnection(): Promise<HostConnection> {
  const session = await AgentSession.start('local', new Redactor([]), undefined, (bootstrap) => spawn('bash', ['-c', bootstrap], { stdio: 'pipe' }));
  return { target: localTarget, session, deployerEnv: {}, close: () => session.close() };
}

describe('a commit carried with the script', () => {
  const layout = layoutFor(testConfig({ base_path: join(scratch, 'base') }), 'main');
  const deployer = join(scratch, 'app');
  git('init', '-q', '-b', 'main', deployer);
  // A large file the host already has: a thin pack of the next commit refers to it instead of sending it again.
  writeFileSync(join(deployer, 'big.txt'), `${randomBytes(60_000).toString('hex')}\n`);
  git('-C', deployer, 'add', '-A');
  git('-C', deployer, 'commit', '-q', '-m', 'one');
  const first = git('-C', deployer, 'rev-parse', 'HEAD');
  writeFileSync(join(deployer, 'VERSION'), 'two\n');
  git('-C', deployer, 'add', '-A');
  git('-C', deployer, 'commit', '-q', '-m', 'two');
  const second = git('-C', deployer, 'rev-parse', 'HEAD');
  const gitDir = join(deployer, '.git');
  git('init', '-q', '--bare', layout.repo);
  git('-C', deployer, 'push', '-q', layout.repo, `${first}:refs/slipway/R1`);

  it('arrives whole, as a thin pack of what the host lacks, and the next script runs as usual', async () => {
    const connection = await localConnection();
    const carried = new CarriedData();
    const send: Step = { id: 'push', title: 'Send', carries: { make: packSource(gitDir, second, [first]), into: incomingPack(layout) }, commands: receivePack(layout, second, 'R2') };
    const after: Step = { id: 'after', title: 'Read it', commands: [cmd('git', `--git-dir=${layout.repo}`, 'show', `${second}:VERSION`)] };
    // A deployer step between them makes two host scripts: the second must find the input where it belongs.
    const between: Step = { id: 'between', title: 'On the deployer', runsOn: 'deployer', commands: [cmd('true')] };
    const lines: string[] = [];
    const outcome = await runSteps(connection, [send, between, after], { ...silent, onLine: (_, line) => lines.push(line) }, undefined, carried);
    await connection.close();
    expect(outcome.ok).toBe(true);
    expect(lines).toContain('two');
    expect(git(`--git-dir=${layout.repo}`, 'rev-parse', 'refs/slipway/R2')).toBe(second);
    expect(git(`--git-dir=${layout.repo}`, 'show', `${second}:big.txt`).length).toBe(120_000);
    expect(existsSync(incomingPack(layout))).toBe(false);
    const thin = (await carried.make(packSource(gitDir, second, [first]))).stdout.length;
    const whole = (await new CarriedData().make(packSource(gitDir, second, []))).stdout.length;
    expect(thin).toBeLessThan(2_000);
    expect(whole).toBeGreaterThan(60_000);
  });

  it('is made once for every host that lacks the same commits', async () => {
    const counter = join(scratch, 'made');
    const make = cmd('bash', '-c', `echo once >> ${counter}; printf 'data\\n'`);
    const carried = new CarriedData();
    const made = await Promise.all([carried.make(make), carried.make(make)]);
    expect(made.map((m) => m.stdout.toString())).toEqual(['data\n', 'data\n']);
    expect(execFileSync('wc', ['-l', counter], { encoding: 'utf8' }).trim().split(' ')[0]).toBe('1');
  });

  it('ends the session, the step failed with the reason, when the agent cannot write it', async () => {
    const connection = await localConnection();
    const into = '/proc/self/slipway-no-such-dir/incoming.pack';
    const send: Step = { id: 'push', title: 'Send', carries: { make: packSource(gitDir, second, [first]), into }, commands: [cmd('echo', 'ran')] };
    const lines: string[] = [];
    const outcome = await runSteps(connection, [send], { ...silent, onLine: (_, line) => lines.push(line) });
    await connection.close();
    expect(outcome.ok).toBe(false);
    expect(lines).not.toContain('ran');
    expect(outcome.error?.outputTail.join('\n')).toMatch(/mkdir: cannot create directory/);
    expect(outcome.error?.outputTail).toContain('connection to the host was lost');
  });

  it('fails on the deployer, before anything reaches the host, when the pack cannot be made', async () => {
    const connection = await localConnection();
    const send: Step = { id: 'push', title: 'Send', carries: { make: packSource(gitDir, 'f'.repeat(40), []), into: incomingPack(layout) }, commands: [cmd('echo', 'ran')] };
    const outcome = await runSteps(connection, [send], silent);
    await connection.close();
    expect(outcome).toMatchObject({ ok: false, failedIndex: 0 });
    expect(outcome.error?.host).toBe('local (from the deployer)');
    expect(outcome.error?.command).toContain('pack-objects');
    expect(outcome.error?.outputTail.join('\n')).toMatch(/bad revision|bad object/);
  });
});
