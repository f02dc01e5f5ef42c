// Real deploys of a small git repository into a temp base_path, through both executors: `local` (this
// machine) and SSH (a real sshd on 127.0.0.1 started for the test).
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, makeProject, type Project } from './helpers/project.js';
import { sshdServerLines, startSshd, type LocalSshd } from './helpers/sshd.js';

const SECRET = 'pa55-w0rd-never-printed';

let sshd: LocalSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

function serverBlock(kind: 'local' | 'ssh'): string {
  if (kind === 'local') return 'servers:\n  - host: local\n';
  return ['servers:', ...sshdServerLines(sshd), ''].join('\n');
}

describe.each(['local', 'ssh'] as const)('deploy through the %s executor', (kind) => {
  let project: Project;
  const root = () => join(project.basePath, 'shop');
  const current = () => readlinkSync(join(root(), 'current')).split('/').pop()!;
  const status = (id: string) => readFileSync(join(root(), '.slipway/releases', id, 'status'), 'utf8').trim();
  const deploy = (...args: string[]) => cli(project.dir, ['deploy', 'dev', ...args], { DB_PASSWORD: SECRET });

  beforeAll(() => {
    project = makeProject();
    project.writeConfig(
      'deploy-dev.yml',
      [
        'project:',
        '  name: shop',
        serverBlock(kind),
        `base_path: ${project.basePath}`,
        'keep_releases: 3',
        'shared:',
        '  dirs: [media]',
        'env_vars:',
        '  DATABASE_PASSWORD: ${DB_PASSWORD}',
        'hooks:',
        '  build: ["cat VERSION > built.txt"]',
        '',
      ].join('\n'),
    );
    project.commit({ VERSION: 'v1\n', '.gitignore': '.slipway/\n' });
  });
  afterAll(() => project.cleanup());

  it('deploys a first release and keeps secrets out of the output', async () => {
    const result = await deploy('--verbose');
    expect(result.err + result.out).not.toContain(SECRET);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toMatch(/deployed dev: \d{8}T\d{6}\.\d{3}Z-[0-9a-f]{7} is live on 1 host/);
    const id = current();
    expect(readFileSync(join(root(), 'current/built.txt'), 'utf8')).toBe('v1\n');
    expect(readlinkSync(join(root(), 'current/media'))).toBe(join(root(), 'shared/media'));
    expect(status(id)).toBe('ok');
    const env = join(root(), 'shared/.env');
    expect(statSync(env).mode & 0o777).toBe(0o600);
    expect(readFileSync(env, 'utf8')).toContain(`DATABASE_PASSWORD="${SECRET}"`);
    const manifest = JSON.parse(readFileSync(join(root(), '.slipway/releases', id, 'manifest.json'), 'utf8')) as { sha: string; ref: string };
    expect(manifest.ref).toBe('main');
    expect(manifest.sha).toMatch(/^[0-9a-f]{40}$/);
    const logs = readdirSync(join(project.dir, '.slipway/logs'));
    expect(logs.length).toBeGreaterThan(0);
    for (const log of logs) expect(readFileSync(join(project.dir, '.slipway/logs', log), 'utf8')).not.toContain(SECRET);
  });

  it('deploys a second commit, then rolls back and marks the abandoned release bad', async () => {
    const first = current();
    project.commit({ VERSION: 'v2\n' });
    expect((await deploy()).code).toBe(0);
    const second = current();
    expect(second).not.toBe(first);
    expect(readFileSync(join(root(), 'current/built.txt'), 'utf8')).toBe('v2\n');

    const rolled = await cli(project.dir, ['rollback', 'dev'], { DB_PASSWORD: SECRET });
    expect(rolled.code, rolled.err).toBe(0);
    expect(current()).toBe(first);
    expect(status(second)).toBe('bad');

    const releases = await cli(project.dir, ['releases', 'dev'], { DB_PASSWORD: SECRET });
    expect(releases.code).toBe(0);
    expect(releases.out).toMatch(new RegExp(`\\*\\s+${first}\\s+ok`));
    expect(releases.out).toMatch(new RegExp(`${second}\\s+bad`));

    // Nothing older than the first release exists, and the bad one is never a rollback target.
    const again = await cli(project.dir, ['rollback', 'dev'], { DB_PASSWORD: SECRET });
    expect(again.code).toBe(2);
    expect(again.err).toContain('no earlier good release');
    expect(current()).toBe(first);

    const history = await cli(project.dir, ['history', 'dev', '--json'], { DB_PASSWORD: SECRET });
    const entries = (JSON.parse(history.out) as { entries: { action: string; result: string; to: string }[] }[])[0]!.entries;
    expect(entries.map((e) => `${e.action}:${e.result}`)).toEqual(['deploy:ok', 'deploy:ok', 'rollback:ok']);
    expect(entries[2]!.to).toBe(first);
  });

  it('leaves current untouched and marks the release failed when a build hook fails', async () => {
    const before = current();
    project.commit({ VERSION: 'v3\n', 'fail.sh': 'echo "compiling assets"\necho "boom: asset compiler crashed" >&2\nexit 3\n' });
    project.writeConfig('deploy-dev.yml', readFileSync(join(project.dir, 'deploy-dev.yml'), 'utf8').replace('cat VERSION > built.txt', 'sh fail.sh'));
    const result = await deploy();
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/error: Run build hooks failed on (local|127\.0\.0\.1) \(exit 3\)/);
    expect(result.err).toContain('boom: asset compiler crashed');
    expect(current()).toBe(before);
    const failed = readdirSync(join(root(), 'releases')).sort().at(-1)!;
    expect(status(failed)).toBe('failed');
    project.writeConfig('deploy-dev.yml', readFileSync(join(project.dir, 'deploy-dev.yml'), 'utf8').replace('sh fail.sh', 'cat VERSION > built.txt'));
  });

  it('removes old releases down to keep_releases, never current or previous', async () => {
    for (const version of ['v4', 'v5', 'v6']) {
      project.commit({ VERSION: `${version}\n` });
      expect((await deploy()).code).toBe(0);
    }
    const left = readdirSync(join(root(), 'releases')).sort();
    expect(left).toHaveLength(3);
    expect(left).toContain(current());
    expect(readFileSync(join(root(), 'current/built.txt'), 'utf8')).toBe('v6\n');
    for (const id of left) expect(existsSync(join(root(), '.slipway/releases', id))).toBe(true);
  });

  it('prints a plan whose commands are exactly what the deploy then runs', async () => {
    project.commit({ VERSION: 'v7\n' });
    const plan = await cli(project.dir, ['plan', 'dev', '--json'], { DB_PASSWORD: SECRET });
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).not.toContain(SECRET);
    const planned = JSON.parse(plan.out) as { hosts: { to: string; steps: { commands: string[] }[] }[] };
    const host = planned.hosts[0]!;
    const logsBefore = new Set(readdirSync(join(project.dir, '.slipway/logs')));
    expect((await deploy()).code).toBe(0);
    const log = readdirSync(join(project.dir, '.slipway/logs')).find((f) => !logsBefore.has(f) && f.includes('deploy'))!;
    const ran = readFileSync(join(project.dir, '.slipway/logs', log), 'utf8');
    const actualId = current();
    const normalize = (text: string) => text.replaceAll(host.to, 'RELEASE').replaceAll(actualId, 'RELEASE').replace(/"created_at": "[^"]+"/, '"created_at": "T"');
    const ranCommands = normalize(ran);
    for (const step of host.steps) {
      for (const command of step.commands) {
        // Deployer-side commands (git push) are logged as run, too.
        expect(ranCommands).toContain(normalize(command));
      }
    }
  });
});
