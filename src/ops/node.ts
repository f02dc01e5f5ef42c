// Builders for Node apps: node_modules installed once per dependency set (on the deployer or the server) and
// linked into each release, the app's own Node when the server's is another major, the build's output.
// Everything lands under a `.partial` name and is renamed into place once complete, so a half-installed
// directory is never reused.
import { cmd, type Cmd, type Command } from './command.js';
import type { Layout } from '../plan/layout.js';
import type { PackageManager } from '../recipes/types.js';
import { quote } from './shell.js';
import { COMPLETE_MARK } from './files.js';

export const nodeDepsDir = (layout: Layout, key: string) => `${layout.root}/node-deps/${key}`;
export const nodeRuntimeDir = (layout: Layout, version: string) => `${layout.root}/node/${version}`;

/** PATH for a release's processes and commands: its own Node (when it has one), then its node_modules/.bin. */
export function nodeEnvironment(appDir: string): Record<string, string> {
  return { PATH: `${appDir}/.node/bin:${appDir}/node_modules/.bin:/usr/local/bin:/usr/bin:/bin`, NODE_ENV: 'production' };
}

export interface InstallSettings {
  packageManager: PackageManager;
  yarnBerry: boolean;
  /** Without devDependencies. */
  production: boolean;
}

/** The install that follows the lockfile exactly and fails when package.json disagrees with it. */
export function installArgv({ packageManager, yarnBerry, production }: InstallSettings): string[] {
  if (packageManager === 'npm') return ['npm', 'ci', '--no-audit', '--no-fund', production ? '--omit=dev' : '--include=dev'];
  if (packageManager === 'pnpm') return ['corepack', 'pnpm', 'install', '--frozen-lockfile', ...(production ? ['--prod'] : [])];
  if (yarnBerry) return production ? ['corepack', 'yarn', 'workspaces', 'focus', '--all', '--production'] : ['corepack', 'yarn', 'install', '--immutable'];
  return ['corepack', 'yarn', 'install', '--frozen-lockfile', '--non-interactive', ...(production ? ['--production'] : [])];
}

/** Where the deployer reads the commit from: the local repository (push), or a copy it fetches into its cache. */
export type DeployerGit = { gitDir: string } | { url: string; gitDir: string };

function gitPrelude(git: DeployerGit, sha: string): string[] {
  if (!('url' in git)) return [];
  return [`git init -q --bare ${quote(git.gitDir)}`, `git --git-dir=${quote(git.gitDir)} cat-file -e ${quote(`${sha}^{commit}`)} 2>/dev/null || git --git-dir=${quote(git.gitDir)} fetch -q ${quote(git.url)} ${quote(sha)}`];
}

/** What the deployer's cache keeps, newest used first: a build per commit, node_modules per lockfile. */
const KEEP_BUILDS = 20;
const KEEP_DEPS = 5;

/**
 * Removes all but the `keep` most recently used archives under `dir` (`withDirectory`: and the directory each
 * was made from, node_modules). The one just made or used is the newest, so a deploy never loses what it needs.
 */
function prune(dir: string, keep: number, withDirectory: boolean): string {
  const also = withDirectory ? ' "${old%.tar.gz}"' : '';
  return `ls -1t ${quote(dir)}/*.tar.gz 2>/dev/null | tail -n +${keep + 1} | while IFS= read -r old; do rm -rf "$old"${also}; done`;
}

/** One builder at a time per directory (parallel hosts share the cache); flock is util-linux, absent on macOS. */
const lockLines = (file: string) => [`if command -v flock >/dev/null 2>&1; then exec 9>${quote(file)}; flock 9; fi`];

const shell = (lines: string[], env: Record<string, string> = {}): Command => ({ argv: ['sh', '-c', lines.join('\n')], ...(Object.keys(env).length > 0 ? { env } : {}) });

export interface DeployerInstallInput {
  cache: string;
  key: string;
  git: DeployerGit;
  sha: string;
  /** The files the install reads (package.json, the lockfile, .npmrc). */
  files: readonly string[];
  settings: InstallSettings;
  /** NPM_TOKEN for the install, when node.npm_token is set. */
  env: Record<string, string>;
}

export const deployerDepsDir = (cache: string, key: string) => `${cache}/deps/${key}`;
/** node_modules compressed once, for every server it is uploaded to. */
export const deployerDepsArchive = (cache: string, key: string) => `${cache}/deps/${key}.tar.gz`;

/**
 * On the deployer: node_modules for a dependency key, from the commit's package files, and its archive for the
 * servers; both kept for the next deploy. The archive is written last: a complete one means a complete directory.
 */
export function deployerInstall(input: DeployerInstallInput): Command {
  const dir = quote(deployerDepsDir(input.cache, input.key));
  const archive = quote(deployerDepsArchive(input.cache, input.key));
  return shell(
    [
      'set -eu',
      `mkdir -p ${quote(`${input.cache}/deps`)}`,
      ...lockLines(`${deployerDepsDir(input.cache, input.key)}.lock`),
      `if [ -f ${dir}/${COMPLETE_MARK} ] && [ -f ${archive} ]; then touch ${archive}; echo 'node_modules ${input.key} is already built on this machine'; exit 0; fi`,
      ...gitPrelude(input.git, input.sha),
      `rm -rf ${dir}.partial && mkdir ${dir}.partial`,
      `git --git-dir=${quote(input.git.gitDir)} archive ${quote(input.sha)} -- ${input.files.map(quote).join(' ')} | tar -x -C ${dir}.partial`,
      `cd ${dir}.partial`,
      installArgv(input.settings).map(quote).join(' '),
      // An app without dependencies gets no node_modules from npm: an empty one links and archives the same way.
      'mkdir -p node_modules',
      `touch ${COMPLETE_MARK} && cd .. && rm -rf ${dir} && mv ${dir}.partial ${dir}`,
      `tar -C ${dir} -cf - node_modules | gzip -1 > ${archive}.partial && mv ${archive}.partial ${archive}`,
      prune(`${input.cache}/deps`, KEEP_DEPS, true),
    ],
    input.env,
  );
}

export interface DeployerBuildInput {
  cache: string;
  key: string;
  /** The dependency set the build runs with (devDependencies included). */
  depsKey: string;
  git: DeployerGit;
  sha: string;
  command: string;
}

export const deployerBuildArchive = (cache: string, key: string) => `${cache}/builds/${key}.tar.gz`;

/**
 * On the deployer: the commit's tree, its dependencies linked in, the build run; every file the build wrote
 * (newer than a mark made just before it: git archive dates the tree's files at the commit) goes into an archive
 * for the release. The same commit and dependencies build once, for every server and environment.
 */
export function deployerBuild(input: DeployerBuildInput): Command {
  const base = `${input.cache}/builds/${input.key}`;
  const dir = quote(base);
  const archive = quote(deployerBuildArchive(input.cache, input.key));
  return shell([
    'set -eu',
    `mkdir -p ${quote(`${input.cache}/builds`)}`,
    ...lockLines(`${base}.lock`),
    `if [ -f ${archive} ]; then echo 'build ${input.key} is already made on this machine'; exit 0; fi`,
    ...gitPrelude(input.git, input.sha),
    `rm -rf ${dir} && mkdir ${dir}`,
    `git --git-dir=${quote(input.git.gitDir)} archive ${quote(input.sha)} | tar -x -C ${dir}`,
    `ln -s ${quote(`${deployerDepsDir(input.cache, input.depsKey)}/node_modules`)} ${dir}/node_modules`,
    `cd ${dir} && touch .slipway-build-start`,
    `PATH="$PWD/node_modules/.bin:$PATH" NODE_ENV=production sh -c ${quote(input.command)}`,
    `find . -path ./node_modules -prune -o -type f -newer .slipway-build-start ! -name .slipway-build-start -print > ../${input.key}.files`,
    `tar -czf ${archive}.partial -T ../${input.key}.files && mv ${archive}.partial ${archive}`,
    `cd .. && rm -rf ${dir} ${quote(`${input.key}.files`)}`,
    prune(`${input.cache}/builds`, KEEP_BUILDS, false),
  ]);
}

/**
 * How a deployer command reaches the host: through the deploy's own SSH connection (GIT_SSH_COMMAND, which the
 * executor sets for every deployer command, shares the master connection), or a shell for `host: local`.
 */
export function remoteShell(host: string | undefined): string {
  return host === undefined ? 'sh -c' : `slipway_ssh -- ${quote(host)}`;
}

/** GIT_SSH_COMMAND is shell text (its options quoted), so it is evaluated, as git itself does, not word-split. */
const SSH_FUNCTION = 'slipway_ssh() { eval "$GIT_SSH_COMMAND \\"\\$@\\""; }';

/** Unpacks the stream on stdin into `dir` on the host, complete or not at all. */
function receive(dir: string, unpack: string, check?: string): string {
  const d = quote(dir);
  const parent = quote(dir.slice(0, dir.lastIndexOf('/')));
  return ['set -eu', `mkdir -p ${parent}`, `rm -rf ${d}.partial && mkdir ${d}.partial`, unpack.replaceAll('$DIR', `${d}.partial`), ...(check ? [check.replaceAll('$DIR', `${d}.partial`)] : []), `touch ${d}.partial/${COMPLETE_MARK}`, `rm -rf ${d} && mv ${d}.partial ${d}`].join('; ');
}

/** Sends the deployer's node_modules archive for a key to the host's node-deps/<key>. */
export function uploadDeps(layout: Layout, cache: string, key: string, host: string | undefined): Command {
  const remote = receive(nodeDepsDir(layout, key), 'gzip -dc | tar -x --no-same-owner -C $DIR');
  return shell(['set -eu', SSH_FUNCTION, `${remoteShell(host)} ${quote(remote)} < ${quote(deployerDepsArchive(cache, key))}`]);
}

/** Copies the deployer's own Node binary to the host's node/<version>/bin/node, checked there by running it. */
export function uploadNode(layout: Layout, version: string, binary: string, host: string | undefined): Command {
  const remote = receive(nodeRuntimeDir(layout, version), 'mkdir $DIR/bin && gzip -dc > $DIR/bin/node && chmod 755 $DIR/bin/node', `$DIR/bin/node --version >/dev/null`);
  return shell(['set -eu', SSH_FUNCTION, `gzip -1 < ${quote(binary)} | ${remoteShell(host)} ${quote(remote)}`]);
}

/** Unpacks the deployer's build output into the release. */
export function uploadBuild(cache: string, key: string, releaseDir: string, host: string | undefined): Command {
  return shell(['set -eu', SSH_FUNCTION, `${remoteShell(host)} ${quote(`tar -xz --no-same-owner -C ${quote(releaseDir)}`)} < ${quote(deployerBuildArchive(cache, key))}`]);
}

/** On the host (build.on server): node_modules for a key from the release's package files. */
export function installOnHost(layout: Layout, key: string, releaseDir: string, files: readonly string[], settings: InstallSettings, env: Record<string, string>): Cmd[] {
  const dir = nodeDepsDir(layout, key);
  const partial = `${dir}.partial`;
  return [
    cmd('rm', '-rf', partial),
    cmd('mkdir', '-p', partial),
    cmd('cp', ...files.map((f) => `${releaseDir}/${f}`), partial),
    { argv: installArgv(settings), cwd: partial, env },
    cmd('mkdir', '-p', `${partial}/node_modules`),
    cmd('touch', `${partial}/${COMPLETE_MARK}`),
    cmd('rm', '-rf', dir),
    cmd('mv', partial, dir),
  ];
}

export function linkNodeModules(layout: Layout, key: string, releaseDir: string): Cmd {
  return cmd('ln', '-sfn', `${nodeDepsDir(layout, key)}/node_modules`, `${releaseDir}/node_modules`);
}

export function linkNodeRuntime(layout: Layout, version: string, releaseDir: string): Cmd {
  return cmd('ln', '-sfn', nodeRuntimeDir(layout, version), `${releaseDir}/.node`);
}

