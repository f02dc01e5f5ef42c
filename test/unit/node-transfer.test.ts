// The deployer-side Node commands run for real with bash, git and tar against a local "host" (`host: local`
// receives through `sh -c`, as the SSH form does through the connection): a build archives exactly what it
// wrote, and uploads land complete under their final names.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deployerBuild, deployerBuildArchive, deployerDepsArchive, deployerInstall, deployerDepsDir, uploadBuild, uploadDeps, uploadNode } from '../../src/ops/node.js';
import { renderCmd } from '../../src/ops/shell.js';
import { layoutFor } from '../../src/plan/layout.js';
import { testConfig } from './fixtures/config.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-node-transfer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bash = (text: string) => execFileSync('bash', ['-c', text], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { encoding: 'utf8' }).trim();
const layout = layoutFor(testConfig({ project: { name: 'notes' }, base_path: join(work, 'opt') }), 'main');
const cache = join(work, 'cache');

describe('on the deployer', () => {
  const repo = join(work, 'repo');
  mkdirSync(join(repo, 'assets'), { recursive: true });
  writeFileSync(join(repo, 'assets', 'app.js'), 'console.log(1);\n');
  writeFileSync(join(repo, 'kept.txt'), 'from git\n');
  writeFileSync(join(repo, 'rewritten.txt'), 'from git\n');
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'one');
  const sha = git(repo, 'rev-parse', 'HEAD');
  // The build's dependencies, as deployerInstall leaves them (the directory and its archive).
  mkdirSync(join(deployerDepsDir(cache, 'aaaaaaaaaaaa'), 'node_modules', '.bin'), { recursive: true });
  writeFileSync(join(deployerDepsDir(cache, 'aaaaaaaaaaaa'), 'node_modules', '.bin', 'bundle'), '#!/bin/sh\nmkdir -p public && cat assets/*.js > public/app.js\n');
  chmodSync(join(deployerDepsDir(cache, 'aaaaaaaaaaaa'), 'node_modules', '.bin', 'bundle'), 0o755);
  bash(`tar -C ${deployerDepsDir(cache, 'aaaaaaaaaaaa')} -cf - node_modules | gzip -1 > ${deployerDepsArchive(cache, 'aaaaaaaaaaaa')}`);

  it('a build archives exactly the files it wrote, with node_modules/.bin on its PATH, and is made once', () => {
    const build = deployerBuild({ cache, key: 'bbbbbbbbbbbb', depsKey: 'aaaaaaaaaaaa', git: { gitDir: join(repo, '.git') }, sha, command: 'bundle && echo again > rewritten.txt' });
    bash(renderCmd(build));
    const archive = deployerBuildArchive(cache, 'bbbbbbbbbbbb');
    expect(bash(`tar -tzf ${archive} | sort`).trim().split('\n')).toEqual(['./public/app.js', './rewritten.txt']);
    expect(readdirSync(join(cache, 'builds')).sort()).toEqual(['bbbbbbbbbbbb.lock', 'bbbbbbbbbbbb.tar.gz']);
    expect(bash(renderCmd(build)).trim()).toBe('build bbbbbbbbbbbb is already made on this machine');
  });

  it('an install of a package without dependencies still leaves a node_modules (empty) and its archive', () => {
    const lonely = join(work, 'lonely');
    mkdirSync(lonely);
    writeFileSync(join(lonely, 'package.json'), '{"name": "lonely", "version": "1.0.0"}\n');
    writeFileSync(join(lonely, 'package-lock.json'), JSON.stringify({ name: 'lonely', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'lonely', version: '1.0.0' } } }));
    git(lonely, 'init', '-q', '-b', 'main');
    git(lonely, 'add', '-A');
    git(lonely, 'commit', '-qm', 'one');
    const install = deployerInstall({ cache, key: 'dddddddddddd', git: { gitDir: join(lonely, '.git') }, sha: git(lonely, 'rev-parse', 'HEAD'), files: ['package.json', 'package-lock.json'], settings: { packageManager: 'npm', yarnBerry: false, production: true }, env: {} });
    bash(renderCmd(install));
    expect(readdirSync(deployerDepsDir(cache, 'dddddddddddd')).sort()).toEqual(['.slipway-complete', 'node_modules', 'package-lock.json', 'package.json']);
    expect(bash(`tar -tzf ${deployerDepsArchive(cache, 'dddddddddddd')}`).trim()).toBe('node_modules/');
    expect(bash(renderCmd(install)).trim()).toBe('node_modules dddddddddddd is already built on this machine');
  });

  it('the cache keeps the 20 builds used last, and node_modules for the 5 lockfiles used last', () => {
    const builds = join(cache, 'builds');
    for (let i = 0; i < 25; i++) {
      const file = join(builds, `old${String(i).padStart(2, '0')}.tar.gz`);
      writeFileSync(file, '');
      bash(`touch -d '@${1_000_000 + i}' ${file}`); // old00 is the oldest
    }
    bash(renderCmd(deployerBuild({ cache, key: 'eeeeeeeeeeee', depsKey: 'aaaaaaaaaaaa', git: { gitDir: join(repo, '.git') }, sha, command: 'true' })));
    const kept = readdirSync(builds).filter((f) => f.endsWith('.tar.gz')).sort();
    expect(kept).toHaveLength(20);
    expect(kept).toContain('eeeeeeeeeeee.tar.gz');
    expect(kept).toContain('bbbbbbbbbbbb.tar.gz');
    expect(kept.filter((f) => f.startsWith('old'))).toEqual(Array.from({ length: 18 }, (_, i) => `old${String(i + 7).padStart(2, '0')}.tar.gz`));
  });

  it('a failing build leaves no archive, so the next deploy builds again', () => {
    const build = deployerBuild({ cache, key: 'cccccccccccc', depsKey: 'aaaaaaaaaaaa', git: { gitDir: join(repo, '.git') }, sha, command: 'echo half > half.txt; exit 3' });
    expect(() => bash(renderCmd(build))).toThrow();
    expect(existsSync(deployerBuildArchive(cache, 'cccccccccccc'))).toBe(false);
  });
});

describe('uploads to a host', () => {
  it('node_modules lands complete under node-deps/<key>, replacing a half-written leftover', () => {
    mkdirSync(join(layout.root, 'node-deps', 'aaaaaaaaaaaa.partial', 'junk'), { recursive: true });
    bash(renderCmd(uploadDeps(layout, cache, 'aaaaaaaaaaaa', undefined)));
    const dir = join(layout.root, 'node-deps', 'aaaaaaaaaaaa');
    expect(readdirSync(dir).sort()).toEqual(['.slipway-complete', 'node_modules']);
    expect(readFileSync(join(dir, 'node_modules', '.bin', 'bundle'), 'utf8')).toContain('cat assets/*.js');
    expect(existsSync(`${dir}.partial`)).toBe(false);
  });

  it('the build\'s output is unpacked into the release', () => {
    const release = join(layout.releases, 'r1');
    mkdirSync(release, { recursive: true });
    bash(renderCmd(uploadBuild(cache, 'bbbbbbbbbbbb', release, undefined)));
    expect(readFileSync(join(release, 'public', 'app.js'), 'utf8')).toBe('console.log(1);\n');
  });

  it('a copied Node must run on the host before it counts as installed', () => {
    const good = join(work, 'node-good');
    writeFileSync(good, '#!/bin/sh\necho v20.1.0\n');
    chmodSync(good, 0o755);
    bash(renderCmd(uploadNode(layout, '20.1.0', good, undefined)));
    expect(bash(`${join(layout.root, 'node', '20.1.0', 'bin', 'node')} --version`).trim()).toBe('v20.1.0');
    expect(existsSync(join(layout.root, 'node', '20.1.0', '.slipway-complete'))).toBe(true);

    const broken = join(work, 'node-broken');
    writeFileSync(broken, '#!/bin/sh\nexit 127\n');
    expect(() => bash(renderCmd(uploadNode(layout, '20.2.0', broken, undefined)))).toThrow();
    expect(existsSync(join(layout.root, 'node', '20.2.0'))).toBe(false);
  });
});
