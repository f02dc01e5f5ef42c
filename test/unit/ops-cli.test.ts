// env, status, logs and handoff in-process: bad arguments are refused with exit 2 before any connection.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/io.js';
import { run } from '../../src/cli/main.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A config whose only server cannot be reached: any connection attempt would fail with another message. */
async function configDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-ops-cli-'));
  dirs.push(dir);
  await writeFile(join(dir, 'deploy-prod.yml'), 'project: {name: shop}\nservers: [{host: unreachable.invalid}]\nssh: {connect_timeout: 1}\n');
  return dir;
}

async function slipway(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), env: {}, cwd: '/nonexistent' };
  const code = await run(argv, io);
  return { code, out: out.join(''), err: err.join('\n') };
}

describe('argument checks', () => {
  it.each([
    [['env', 'set', 'prod', 'NOVALUE'], 'error: expected KEY=VALUE, got "NOVALUE"'],
    [['env', 'set', 'prod', '1BAD=x'], 'error: "1BAD" is not a variable name'],
    [['env', 'set', 'prod', 'A=x', 'B', '--stdin'], 'error: with --stdin, give exactly one KEY (no =VALUE)'],
    [['env', 'set', 'prod', 'A=x', '--lock-wait', 'soon'], 'error: --lock-wait expects a number of seconds, got soon'],
    [['env', 'unset', 'prod', 'A-B'], 'error: "A-B" is not a variable name'],
    [['logs', 'prod', '-n', 'many'], 'error: --lines expects a number, got many'],
    [['handoff', 'prod', '--to', '--bad'], 'error: --to "--bad" is not a valid branch, tag or SHA'],
  ])('%j', async (argv, message) => {
    const dir = await configDir();
    if (argv[0] === 'handoff') {
      // handoff reads commits from the config directory: make it a repository first.
      const { execFileSync } = await import('node:child_process');
      execFileSync('git', ['init', '-q', dir]);
    }
    const result = await slipway(['-c', dir, ...argv]);
    expect(result.err.split('\n')[0]).toBe(message);
    expect(result.code).toBe(2);
  });

  it('handoff outside a repository says where it looked', async () => {
    const dir = await configDir();
    const result = await slipway(['-c', dir, 'handoff', 'prod']);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`error: handoff reads the commits from a local clone, and ${dir} is not one`);
  });
});
