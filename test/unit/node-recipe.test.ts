// The Node recipe and its planning (pure): what package.json and the lockfile decide, the keys node_modules
// and builds are kept under, which Node a host gets, and the steps of a host's plan.
import { NO_BALANCER_STATE } from '../../src/plan/balancer.js';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { installArgv } from '../../src/ops/node.js';
import { chooseNodeRuntime, nodeBuildKey, nodeDepsKey, type DeployerNode } from '../../src/plan/node-deps.js';
import { nodeSteps, unusedNodeDirs, type NodeDeploy, type NodeHost } from '../../src/plan/node-steps.js';
import { layoutFor } from '../../src/plan/layout.js';
import { planDeployHost } from '../../src/plan/deploy.js';
import { chooseRecipe, resolveProfile } from '../../src/recipes/index.js';
import type { NodeProfile, RecipeContext, RepoFiles } from '../../src/recipes/types.js';
import { renderCmd } from '../../src/ops/shell.js';
import { fakeFacts, sshTarget, testConfig } from './fixtures/config.js';

const SHA = 'abc1234def5678abc1234def5678abc1234def56';
const LOCK = '{"lockfileVersion": 3, "packages": {}}';

function repo(files: Record<string, string>, blobs: Record<string, string> = {}): RepoFiles {
  return { paths: Object.keys(files), read: (p) => files[p], blobs: new Map(Object.entries({ ...Object.fromEntries(Object.keys(files).map((p) => [p, `blob-${p}`])), ...blobs })) };
}

/** The message of the UserError `run` throws. */
function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof UserError) return error.message;
    throw error;
  }
  throw new Error('no error thrown');
}

const pkg = (json: Record<string, unknown>) => JSON.stringify({ name: 'notes', version: '1.0.0', ...json });

function context(files: RepoFiles, config: Parameters<typeof testConfig>[0] = {}): RecipeContext {
  return { files, cores: 2, config: testConfig(config) };
}

const profileOf = (files: Record<string, string>, config: Parameters<typeof testConfig>[0] = {}) => resolveProfile(context(repo(files), config));

describe('the node recipe', () => {
  it('is chosen for a package.json; a Python app with a package.json (its frontend) stays Python', () => {
    expect(chooseRecipe('auto', repo({ 'package.json': pkg({}) })).name).toBe('node');
    expect(chooseRecipe('auto', repo({ 'package.json': pkg({}), 'manage.py': '' })).name).toBe('django');
    expect(chooseRecipe('auto', repo({ 'package.json': pkg({}), 'requirements.txt': 'requests\n' })).name).toBe('python');
    expect(chooseRecipe('node', repo({ 'package.json': pkg({}), 'requirements.txt': 'requests\n' })).name).toBe('node');
  });

  it('runs the start script as written (servers need no npm), on port 3000, health /health; the smoke test checks the entry\'s syntax', () => {
    const profile = profileOf({ 'package.json': pkg({ scripts: { start: 'node server.js', build: 'node build.js' } }), 'package-lock.json': LOCK });
    expect(profile.processes).toEqual({ web: { command: 'node server.js', port: 3000, roles: ['web'] } });
    expect(profile).toMatchObject({ recipe: 'node', python: false, healthPath: '/health', smoke: 'node --check server.js' });
    expect(profile.node).toEqual({ packageManager: 'npm', lockfile: 'package-lock.json', yarnBerry: false, installFiles: ['package.json'], build: 'node build.js', devDependencies: false, nativeAddons: false });
  });

  it('falls back to `main`; NestJS runs start:prod; Next.js is bound to 127.0.0.1', () => {
    expect(profileOf({ 'package.json': pkg({ main: 'app/index.js' }), 'package-lock.json': LOCK }).processes.web?.command).toBe('node app/index.js');
    const nest = pkg({ scripts: { start: 'nest start', 'start:prod': 'node dist/main' }, dependencies: { '@nestjs/core': '^10' } });
    expect(profileOf({ 'package.json': nest, 'package-lock.json': LOCK }).processes.web?.command).toBe('node dist/main');
    expect(profileOf({ 'package.json': pkg({ scripts: { start: 'next start' } }), 'package-lock.json': LOCK }).processes.web?.command).toBe('next start -H 127.0.0.1');
  });

  it('refuses a package.json with no start script and no main unless the config names the processes', () => {
    const files = { 'package.json': pkg({ scripts: { build: 'tsc' } }), 'package-lock.json': LOCK };
    expect(messageOf(() => profileOf(files))).toBe('package.json: no `start` script and no `main`, and the config has no `processes`');
    expect(profileOf(files, { processes: { web: { command: 'node dist/server.js', port: 8080, roles: ['web'] } } }).processes.web?.command).toBe('node dist/server.js');
  });

  it('picks the package manager by lockfile, and refuses an app without one', () => {
    expect(profileOf({ 'package.json': pkg({ scripts: { start: 'node s.js', prebuild: 'rm -rf dist', build: 'vite build' } }), 'pnpm-lock.yaml': 'lockfileVersion: 9\n  requiresBuild: true\n' }).node).toMatchObject({ packageManager: 'pnpm', build: 'rm -rf dist && vite build', nativeAddons: true });
    expect(profileOf({ 'package.json': pkg({ main: 's.js' }), 'yarn.lock': '', '.yarnrc.yml': '', '.npmrc': '' }).node).toMatchObject({ packageManager: 'yarn', yarnBerry: true, installFiles: ['package.json', '.npmrc'] });
    expect(() => profileOf({ 'package.json': pkg({ main: 's.js' }) })).toThrow(/package\.json: no lockfile in the repository \(package-lock\.json, pnpm-lock\.yaml or yarn\.lock\)/);
    expect(() => profileOf({ 'package.json': pkg({ main: 's.js' }), 'package-lock.json': LOCK }, { node: { package_manager: 'pnpm', production: true } })).toThrow(/no lockfile in the repository \(pnpm-lock\.yaml\)/);
  });

  it('marks lockfiles with native addons, and takes build.command over the build script', () => {
    const native = '{"packages": {"node_modules/bcrypt": {"version": "5.1.1", "hasInstallScript": true}}}';
    expect(profileOf({ 'package.json': pkg({ main: 's.js', scripts: { build: 'x' } }), 'package-lock.json': native }, { build: { on: 'deployer', command: 'make assets' } }).node).toMatchObject({ nativeAddons: true, build: 'make assets' });
  });
});

describe('install commands', () => {
  it('follow the lockfile exactly, without devDependencies for production', () => {
    expect(installArgv({ packageManager: 'npm', yarnBerry: false, production: true })).toEqual(['npm', 'ci', '--no-audit', '--no-fund', '--omit=dev']);
    expect(installArgv({ packageManager: 'npm', yarnBerry: false, production: false })).toEqual(['npm', 'ci', '--no-audit', '--no-fund', '--include=dev']);
    expect(installArgv({ packageManager: 'pnpm', yarnBerry: false, production: true })).toEqual(['corepack', 'pnpm', 'install', '--frozen-lockfile', '--prod']);
    expect(installArgv({ packageManager: 'yarn', yarnBerry: false, production: true })).toEqual(['corepack', 'yarn', 'install', '--frozen-lockfile', '--non-interactive', '--production']);
    expect(installArgv({ packageManager: 'yarn', yarnBerry: true, production: true })).toEqual(['corepack', 'yarn', 'workspaces', 'focus', '--all', '--production']);
  });
});

const NODE: NodeProfile = { packageManager: 'npm', lockfile: 'package-lock.json', yarnBerry: false, installFiles: ['package.json'], devDependencies: false, nativeAddons: false };
const SETTINGS = { packageManager: 'npm' as const, yarnBerry: false, production: true };

describe('node_modules keys', () => {
  const files = repo({ 'package.json': pkg({ dependencies: { express: '^4' }, scripts: { start: 'node s.js' } }), 'package-lock.json': LOCK });
  const key = nodeDepsKey({ node: NODE, files, settings: SETTINGS, major: '18' });

  it('do not change with package.json\'s scripts or version: a code-only deploy reuses node_modules', () => {
    const edited = repo({ 'package.json': pkg({ version: '2.0.0', dependencies: { express: '^4' }, scripts: { start: 'node other.js' } }), 'package-lock.json': LOCK });
    expect(nodeDepsKey({ node: NODE, files: edited, settings: SETTINGS, major: '18' })).toBe(key);
    expect(key).toMatch(/^[0-9a-f]{12}$/);
  });

  it('change with the lockfile, the dependencies, .npmrc, the install settings and Node\'s major', () => {
    const others = [
      nodeDepsKey({ node: NODE, files: repo({ 'package.json': pkg({ dependencies: { express: '^4' }, scripts: { start: 'node s.js' } }), 'package-lock.json': LOCK }, { 'package-lock.json': 'blob-2' }), settings: SETTINGS, major: '18' }),
      nodeDepsKey({ node: NODE, files: repo({ 'package.json': pkg({ dependencies: { express: '^5' } }), 'package-lock.json': LOCK }), settings: SETTINGS, major: '18' }),
      nodeDepsKey({ node: NODE, files: repo({ 'package.json': pkg({ dependencies: { express: '^4' }, scripts: { start: 'node s.js' } }), 'package-lock.json': LOCK, '.npmrc': 'x' }), settings: SETTINGS, major: '18' }),
      nodeDepsKey({ node: NODE, files, settings: { ...SETTINGS, production: false }, major: '18' }),
      nodeDepsKey({ node: NODE, files, settings: SETTINGS, major: '20' }),
    ];
    expect(new Set([key, ...others]).size).toBe(6);
    expect(nodeBuildKey('tree1', key, 'npm run build')).not.toBe(nodeBuildKey('tree2', key, 'npm run build'));
  });
});

const DEPLOYER: DeployerNode = { version: '20.20.2', binary: '/usr/bin/node', machine: 'x86_64', standalone: true };

describe('the Node a host runs', () => {
  it('is the server\'s own when its major matches, else one installed for the app, else a copy of this machine\'s', () => {
    expect(chooseNodeRuntime('web1', '18', { nodeSystem: '18.19.0', nodeRuntimes: [] }, DEPLOYER)).toEqual({ kind: 'system', version: '18.19.0' });
    expect(chooseNodeRuntime('web1', undefined, { nodeSystem: '18.19.0', nodeRuntimes: [] }, DEPLOYER)).toEqual({ kind: 'system', version: '18.19.0' });
    expect(chooseNodeRuntime('web1', '20', { nodeSystem: '18.19.0', nodeRuntimes: ['20.9.0', '20.11.1', '22.1.0'] }, DEPLOYER)).toEqual({ kind: 'installed', version: '20.11.1' });
    expect(chooseNodeRuntime('web1', '20', { nodeSystem: '18.19.0', nodeRuntimes: [], machine: 'x86_64' }, DEPLOYER)).toEqual({ kind: 'upload', version: '20.20.2', binary: '/usr/bin/node' });
    expect(chooseNodeRuntime('web1', undefined, { nodeRuntimes: [] }, DEPLOYER)).toEqual({ kind: 'upload', version: '20.20.2', binary: '/usr/bin/node' });
  });

  it('is a one-line error naming what is missing when neither has the major', () => {
    const facts = { nodeSystem: '18.19.0', nodeRuntimes: [], machine: 'x86_64' };
    expect(messageOf(() => chooseNodeRuntime('web1', '22', facts, DEPLOYER))).toBe('web1: project.node_version 22: the server has Node 18.19.0 and this machine runs Node 20.20.2');
    expect(() => chooseNodeRuntime('web1', '20', { nodeRuntimes: [] }, { ...DEPLOYER, standalone: false })).toThrow(/the server has no Node and this machine's Node 20\.20\.2 is built on a shared libnode and cannot be copied/);
    expect(() => chooseNodeRuntime('web1', '20', { ...facts, machine: 'aarch64' }, DEPLOYER)).toThrow(/this machine's Node 20\.20\.2 is for x86_64, the server is aarch64/);
  });
});

describe('a host\'s Node steps', () => {
  const config = testConfig({ project: { name: 'notes' } });
  const layout = layoutFor(config, 'main');
  const files = repo({ 'package.json': pkg({ scripts: { start: 'node s.js' } }), 'package-lock.json': LOCK });
  const deploy = (profile: Partial<NodeProfile> = {}, over: Partial<NodeDeploy> = {}): NodeDeploy => ({
    profile: { ...NODE, ...profile },
    files,
    tree: 'tree1',
    buildOn: 'deployer',
    production: true,
    wanted: '18',
    deployer: DEPLOYER,
    cache: '/home/me/.cache/slipway/node/notes',
    cached: [],
    git: { gitDir: '/home/me/notes/.git' },
    sha: SHA,
    env: {},
    ...over,
  });
  const host = (facts = fakeFacts()): NodeHost => ({ layout, facts: { ...facts, nodeSystem: '18.19.0' }, label: 'web1', sshHost: 'web1.example', dir: '/opt/notes/releases/r2', appUser: 'notes' });
  const titles = (d: NodeDeploy, h: NodeHost) => nodeSteps(d, h).steps.map((s) => `${s.runsOn === 'deployer' ? '[here] ' : ''}${s.title}`);
  const key = nodeDepsKey({ node: NODE, files, settings: SETTINGS, major: '18' });

  it('on a new host: install here, upload, link; recorded in the manifest', () => {
    expect(titles(deploy(), host())).toEqual([
      `[here] Install dependencies on this machine: npm ci --no-audit --no-fund --omit=dev (node_modules ${key})`,
      `[here] Upload node_modules ${key} to /opt/notes/node-deps/${key}`,
      `Link node_modules ${key} into the release`,
    ]);
    expect(nodeSteps(deploy(), host()).manifest).toEqual({ node_modules: key, node: '18.19.0' });
    const link = nodeSteps(deploy(), host()).steps[2]!;
    expect(link.commands.map((c) => renderCmd(c))).toEqual([`ln -sfn /opt/notes/node-deps/${key}/node_modules /opt/notes/releases/r2/node_modules`]);
  });

  it('with node_modules for the key already there: linked at once, nothing installed or uploaded', () => {
    const facts = { ...fakeFacts(), nodeDeps: [key] };
    expect(titles(deploy(), host(facts))).toEqual([`Reuse node_modules ${key} (package-lock.json unchanged)`]);
  });

  it('a build on this machine: with devDependencies, their own install; its output uploaded into the release', () => {
    const facts = { ...fakeFacts(), nodeDeps: [key] };
    const steps = titles(deploy({ build: 'npm run build', devDependencies: true }), host(facts));
    expect(steps[0]).toBe(`Reuse node_modules ${key} (package-lock.json unchanged)`);
    expect(steps[1]).toMatch(/^\[here\] Install the build's dependencies on this machine: npm ci --no-audit --no-fund --include=dev \(node_modules [0-9a-f]{12}\)$/);
    expect(steps[2]).toMatch(/^\[here\] Build on this machine: npm run build \(build [0-9a-f]{12}\)$/);
    expect(steps[3]).toBe('[here] Upload the build\'s output into the release');
    // Without devDependencies the release's own node_modules (cached here) builds it.
    expect(titles(deploy({ build: 'npm run build' }), host(facts))[1]).toBe(`[here] Install dependencies on this machine: npm ci --no-audit --no-fund --omit=dev (node_modules ${key})`);
    expect(titles(deploy({ build: 'npm run build' }, { cached: [key] }), host(facts))[1]).toBe(`[here] Use node_modules ${key} built on this machine by an earlier deploy (npm ci --no-audit --no-fund --omit=dev)`);
  });

  it('build.on server: the server installs (devDependencies kept for its build) and builds as the app user', () => {
    const steps = nodeSteps(deploy({ build: 'npm run build', devDependencies: true }, { buildOn: 'server' }), host()).steps;
    expect(steps.map((s) => s.runsOn ?? 'host')).toEqual(['host', 'host']);
    expect(steps[0]!.title).toMatch(/^Install dependencies: npm ci --no-audit --no-fund --include=dev \(node_modules [0-9a-f]{12}\)$/);
    expect(steps[0]!.commands.map((c) => renderCmd(c))).toContain('cp /opt/notes/releases/r2/package.json /opt/notes/releases/r2/package-lock.json ' + `/opt/notes/node-deps/${nodeSteps(deploy({ build: 'npm run build', devDependencies: true }, { buildOn: 'server' }), host()).manifest.node_modules}.partial`);
    expect(steps[1]!.title).toBe('Build: npm run build');
    expect(renderCmd(steps[1]!.commands[0]!)).toContain('sudo -n -H -u notes -- env PATH=/opt/notes/releases/r2/.node/bin:/opt/notes/releases/r2/node_modules/.bin:');
  });

  it('copies this machine\'s Node when the server lacks the major, and links it into the release', () => {
    const release = nodeSteps(deploy({}, { wanted: '20' }), host());
    expect(release.steps[0]).toMatchObject({ id: 'node-runtime', runsOn: 'deployer', title: 'Copy Node 20.20.2 from this machine to /opt/notes/node/20.20.2' });
    expect(release.manifest.node).toBe('20.20.2');
    expect(release.steps.at(-1)!.commands.map((c) => renderCmd(c))).toContain('ln -sfn /opt/notes/node/20.20.2 /opt/notes/releases/r2/.node');
  });

  it('warns when native addons are built here for another major', () => {
    expect(nodeSteps(deploy({ nativeAddons: true }), host()).warnings).toEqual([
      'package-lock.json has packages that build at install (native addons), installed with this machine\'s Node 20.20.2 for Node 18.19.0 on the server: they need the same major (run slipway with Node 18, or set build.on: server)',
    ]);
    expect(nodeSteps(deploy(), host()).warnings).toEqual([]);
  });

  it('removes node_modules and Node directories no kept release uses', () => {
    const facts = { ...fakeFacts(), nodeDeps: ['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'cccccccccccc'], nodeRuntimes: ['20.1.0', '20.2.0'] };
    const kept = [{ id: 'r1', status: 'ok' as const, manifest: { id: 'r1', sha: SHA, ref: 'main', config_hash: 'h', deployed_by: 'me', created_at: 't', node_modules: 'aaaaaaaaaaaa', node: '20.1.0' } }];
    expect(unusedNodeDirs(layout, facts, kept, { node_modules: 'bbbbbbbbbbbb', node: '18.19.0' }).map((c) => renderCmd(c))).toEqual([
      "{ rm -rf /opt/notes/node-deps/cccccccccccc || echo 'warning: could not remove unused node_modules cccccccccccc'; }",
      "{ rm -rf /opt/notes/node/20.2.0 || echo 'warning: could not remove unused Node 20.2.0'; }",
    ]);
  });
});

describe('a Node app\'s deploy plan', () => {
  it('runs Node steps after the release is made, its units and commands with the release\'s Node and node_modules', () => {
    const config = testConfig({ project: { name: 'notes' }, migrate: { backup: false, command: 'node migrate.js' }, database: { engine: 'postgresql', name: 'notes', user: 'notes', password: 'pw', host: 'localhost', port: 5432 } });
    const files = repo({ 'package.json': pkg({ scripts: { start: 'node server.js' } }), 'package-lock.json': LOCK });
    const profile = resolveProfile({ config, files, cores: 2 });
    const layout = layoutFor(config, 'main');
    const plan = planDeployHost({
      config, configHash: 'h', profile, venvKey: undefined, stepInputs: {}, full: false, hostsDatabase: true, runsMigrations: true, topology: { placement: {}, record: '' }, balancing: undefined, balancerState: NO_BALANCER_STATE, runsApp: true,
      layout, target: sshTarget, facts: { ...fakeFacts(), nodeSystem: '18.19.0' }, source: { mode: 'push', gitDir: '/home/me/notes/.git' }, sha: SHA, ref: 'main', releaseId: 'r2', deployedBy: 'me@x', now: new Date(0),
      node: { profile: profile.node!, files, tree: 't', buildOn: 'deployer', production: true, wanted: undefined, deployer: DEPLOYER, cache: '/c', cached: [], git: { gitDir: '/home/me/notes/.git' }, sha: SHA, env: {} },
    });
    const ids = plan.steps.map((s) => s.id);
    expect(ids.slice(ids.indexOf('release'), ids.indexOf('release') + 5)).toEqual(['release', 'node-install', 'node-upload', 'node-modules', 'migrate']);
    const migrate = plan.steps.find((s) => s.id === 'migrate')!;
    expect(renderCmd(migrate.commands[0]!)).toContain('env PATH=/opt/notes/releases/r2/.node/bin:/opt/notes/releases/r2/node_modules/.bin:/usr/local/bin:/usr/bin:/bin NODE_ENV=production sh -c');
    const unit = plan.steps.find((s) => s.id === 'units')!.commands.map((c) => renderCmd(c)).join('\n');
    expect(unit).toContain('Environment=PATH=/opt/notes/current/.node/bin:/opt/notes/current/node_modules/.bin:/usr/local/bin:/usr/bin:/bin');
    expect(plan.steps.find((s) => s.id === 'release')!.commands.map((c) => renderCmd(c)).join('\n')).toContain('"node_modules": ');
  });
});
