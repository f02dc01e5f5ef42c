// The deploy lock across real processes: a second deploy is refused with the holder's details, a deploy
// killed with SIGKILL leaves no stale lock, and secrets never show in the process list.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, makeProject, type Project } from './helpers/project.js';
import { sshdServerLines, startSshd, type LocalSshd } from './helpers/sshd.js';

const BIN = resolve(import.meta.dirname, '../../bin/slipway.js');
const SECRET = 'lock-test-secret-9f8e7d';

let sshd: LocalSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

function spawnDeploy(dir: string, ...args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, 'deploy', 'dev', ...args], { cwd: dir, env: { ...process.env, APP_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

describe.each(['local', 'ssh'] as const)('the deploy lock through the %s executor', (kind) => {
  let project: Project;
  const root = () => join(project.basePath, 'shop');
  const lockStatus = async () => (await cli(project.dir, ['lock', 'status', 'dev'], { APP_SECRET: SECRET })).out;

  beforeAll(() => {
    project = makeProject();
    const server =
      kind === 'local'
        ? '  - host: local'
        : sshdServerLines(sshd).join('\n');
    project.writeConfig(
      'deploy-dev.yml',
      ['project:', '  name: shop', 'servers:', server, `base_path: ${project.basePath}`, 'env_vars:', '  APP_SECRET: ${APP_SECRET}', 'hooks:', '  build: ["if [ -f SLOW ]; then sleep 6; fi"]', ''].join('\n'),
    );
    project.commit({ VERSION: 'v1\n', '.gitignore': '.slipway/\n' });
  });
  afterAll(() => project.cleanup());

  it('refuses a second deploy with the holder details, and never shows a secret in the process list', async () => {
    project.commit({ SLOW: 'yes\n' });
    const first = spawnDeploy(project.dir);
    let firstErr = '';
    first.stderr?.on('data', (d: Buffer) => (firstErr += d.toString()));
    const seen: string[] = [];
    const watcher = setInterval(() => seen.push(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })), 50);
    try {
      await until(async () => (await lockStatus()).includes('held'), 'the first deploy to take the lock');
      expect(await lockStatus()).toMatch(/held by \{"agent_pid":\d+,"user":"root","machine":"[^"]+","pid":\d+,"command":"slipway deploy dev"/);
      const second = await cli(project.dir, ['deploy', 'dev'], { APP_SECRET: SECRET });
      expect(second.code).toBe(2);
      expect(second.err).toMatch(/another deploy holds the lock: root@\S+ \(pid \d+\), running `slipway deploy dev` since \d{4}-/);
      expect(await exited(first), firstErr).toBe(0);
    } finally {
      clearInterval(watcher);
    }
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.join('\n')).not.toContain(SECRET);
    expect(readFileSync(join(root(), 'shared/.env'), 'utf8')).toContain(SECRET);
    expect(await lockStatus()).toContain('free');
  });

  it('waits for a running deploy with --lock-wait', async () => {
    const first = spawnDeploy(project.dir);
    let firstErr = '';
    first.stderr?.on('data', (d: Buffer) => (firstErr += d.toString()));
    // A first deploy that ended before the lock was seen held says why.
    await until(async () => (await lockStatus()).includes('held') || (first.exitCode !== null && Promise.reject(new Error(`the first deploy exited ${first.exitCode}: ${firstErr}`))), 'the first deploy to take the lock');
    const second = await cli(project.dir, ['deploy', 'dev', '--lock-wait', '30'], { APP_SECRET: SECRET });
    expect(second.code, second.err).toBe(0);
    expect(await exited(first)).toBe(0);
  });

  it('stops on Ctrl-C after the current command: the release is marked failed, the lock freed, exit 130', async () => {
    const before = readlinkSync(join(root(), 'current'));
    project.commit({ VERSION: 'v-interrupted\n' });
    const interrupted = spawnDeploy(project.dir);
    let stderr = '';
    interrupted.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    // A deploy that ended before it held the lock says why, instead of a wait that times out.
    await until(async () => {
      if (interrupted.exitCode !== null) throw new Error(`the deploy ended (exit ${interrupted.exitCode}) before it held the lock: ${stderr}`);
      return (await lockStatus()).includes('held');
    }, 'the deploy to take the lock', 40_000);
    await new Promise((r) => setTimeout(r, 500));
    interrupted.kill('SIGINT');
    expect(await exited(interrupted), stderr).toBe(130);
    expect(stderr).toContain('interrupted: stopping after the current command');
    expect(readlinkSync(join(root(), 'current'))).toBe(before);
    const stopped = readdirSync(join(root(), 'releases')).sort().at(-1)!;
    expect(readFileSync(join(root(), '.slipway/releases', stopped, 'status'), 'utf8').trim()).toBe('failed');
    expect(await lockStatus()).toContain('free');
  });

  it('frees the lock when a deploy is killed with SIGKILL, and the killed release is never switched to', async () => {
    const before = readlinkSync(join(root(), 'current'));
    project.commit({ VERSION: 'v-killed\n' });
    const doomed = spawnDeploy(project.dir);
    await until(async () => (await lockStatus()).includes('held'), 'the doomed deploy to take the lock');
    await new Promise((r) => setTimeout(r, 500));
    doomed.kill('SIGKILL');
    await exited(doomed);
    // The kernel frees the lock once the agent's session is gone (after the running hook ends).
    await until(async () => (await lockStatus()).includes('free'), 'the lock to be freed', 30_000);
    expect(readlinkSync(join(root(), 'current'))).toBe(before);
    // The host script noticed slipway was gone, stopped after the running command and marked its release failed.
    const doomedId = readdirSync(join(root(), 'releases')).sort().at(-1)!;
    expect(readFileSync(join(root(), '.slipway/releases', doomedId, 'status'), 'utf8').trim()).toBe('failed');
    project.commit({ VERSION: 'v-after\n' }, 'after the kill');
    execFileSync('git', ['rm', '-q', 'SLOW'], { cwd: project.dir });
    project.commit({}, 'fast again');
    const next = await cli(project.dir, ['deploy', 'dev'], { APP_SECRET: SECRET });
    expect(next.code, next.err).toBe(0);
    expect(readFileSync(join(root(), 'current/VERSION'), 'utf8')).toBe('v-after\n');
  });
});
