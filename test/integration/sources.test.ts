// Code arriving by server-side fetch (source: fetch) and branches deployed side by side (env `branch`).
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, makeProject, type Project } from './helpers/project.js';

describe('source: fetch', () => {
  let project: Project;
  beforeAll(() => {
    project = makeProject();
    project.commit({ VERSION: 'fetched-1\n', '.gitignore': '.slipway/\n' });
    project.writeConfig(
      'deploy-dev.yml',
      ['project:', '  name: shop', `  repo: file://${project.dir}`, '  source: fetch', 'servers:', '  - host: local', `base_path: ${project.basePath}`, ''].join('\n'),
    );
  });
  afterAll(() => project.cleanup());

  it('has the server fetch the branch into its cached repo and deploys it', async () => {
    const plan = await cli(project.dir, ['plan', 'dev']);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toContain(`git --git-dir=${project.basePath}/shop/.slipway/repo.git fetch --quiet --force --prune --tags -- file://${project.dir} '+refs/heads/*:refs/heads/*'`);
    expect(plan.out).not.toContain('push');
    const result = await cli(project.dir, ['deploy', 'dev']);
    expect(result.code, result.err).toBe(0);
    expect(readFileSync(join(project.basePath, 'shop/current/VERSION'), 'utf8')).toBe('fetched-1\n');
  });

  it('deploys a tag, and a full SHA', async () => {
    const sha = project.commit({ VERSION: 'fetched-2\n' });
    execFileSync('git', ['tag', 'v2'], { cwd: project.dir });
    project.commit({ VERSION: 'fetched-3\n' });
    expect((await cli(project.dir, ['deploy', 'dev', '--ref', 'v2'])).code).toBe(0);
    expect(readFileSync(join(project.basePath, 'shop/current/VERSION'), 'utf8')).toBe('fetched-2\n');
    expect((await cli(project.dir, ['deploy', 'dev', '--ref', sha])).code).toBe(0);
    expect(readlinkSync(join(project.basePath, 'shop/current'))).toContain(sha.slice(0, 7));
  });

  it('refuses an unknown branch and a short SHA it cannot resolve, before changing anything', async () => {
    const before = readlinkSync(join(project.basePath, 'shop/current'));
    const unknown = await cli(project.dir, ['deploy', 'dev', '--ref', 'no-such-branch']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('no branch or tag no-such-branch');
    const hostile = await cli(project.dir, ['deploy', 'dev', '--ref', 'main; rm -rf /']);
    expect(hostile.code).toBe(2);
    expect(hostile.err).toContain('is not a valid branch, tag or SHA');
    expect(readlinkSync(join(project.basePath, 'shop/current'))).toBe(before);
  });
});

describe('the classic three-argument form: ./deploy <repo_url> <branch|sha> <env>', () => {
  let project: Project;
  beforeAll(() => {
    project = makeProject();
    project.commit({ VERSION: 'classic\n', '.gitignore': '.slipway/\n' });
    execFileSync('git', ['checkout', '-q', '-b', 'release'], { cwd: project.dir });
    project.commit({ VERSION: 'classic-release\n' });
    execFileSync('git', ['checkout', '-q', 'main'], { cwd: project.dir });
    project.writeConfig('deploy-dev.yml', ['project:', '  name: shop', 'servers:', '  - host: local', `base_path: ${project.basePath}`, ''].join('\n'));
  });
  afterAll(() => project.cleanup());

  it('deploys the given repository URL and branch with the environment file of the current directory', () => {
    const script = join(import.meta.dirname, '../../deploy');
    const out = execFileSync(script, [`file://${project.dir}`, 'release', 'dev'], { cwd: project.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/deployed dev: \S+ is live on 1 host/);
    expect(readFileSync(join(project.basePath, 'shop/current/VERSION'), 'utf8')).toBe('classic-release\n');
  });

  it('prints its usage and exits 2 with the wrong number of arguments', () => {
    const script = join(import.meta.dirname, '../../deploy');
    let status = 0;
    let stderr = '';
    try {
      execFileSync(script, ['only-one'], { cwd: project.dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      status = (error as { status: number }).status;
      stderr = (error as { stderr: string }).stderr;
    }
    expect(status).toBe(2);
    expect(stderr).toContain('usage: ./deploy <repo_url> <branch|sha> <env>');
  });
});

describe('per-branch deploys (env branch)', () => {
  let project: Project;
  beforeAll(() => {
    project = makeProject();
    project.commit({ VERSION: 'main\n', '.gitignore': '.slipway/\n' });
    execFileSync('git', ['checkout', '-q', '-b', 'feature/Login_x'], { cwd: project.dir });
    project.commit({ VERSION: 'feature\n' });
    execFileSync('git', ['checkout', '-q', 'main'], { cwd: project.dir });
    project.writeConfig('deploy-branch.yml', ['project:', '  name: shop', 'servers:', '  - host: local', `base_path: ${project.basePath}`, ''].join('\n'));
  });
  afterAll(() => project.cleanup());

  it('deploys each branch into its own directory, side by side', async () => {
    expect((await cli(project.dir, ['deploy', 'branch', '--ref', 'main'])).code).toBe(0);
    expect((await cli(project.dir, ['deploy', 'branch', '--ref', 'feature/Login_x'])).code).toBe(0);
    expect(readFileSync(join(project.basePath, 'shop/branch/main/current/VERSION'), 'utf8')).toBe('main\n');
    expect(readFileSync(join(project.basePath, 'shop/branch/feature-login-x-847dbe/current/VERSION'), 'utf8')).toBe('feature\n');
    const releases = await cli(project.dir, ['releases', 'branch', '--branch', 'feature/Login_x']);
    expect(releases.out).toMatch(/\*\s+\S+\s+ok\s+feature\/Login_x/);
  });
});
