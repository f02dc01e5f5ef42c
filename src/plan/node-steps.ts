// The steps that give a Node release its Node, its node_modules and its build, on one host. With build.on
// deployer the install and the build run once on this machine (cached by key) and are uploaded; with
// build.on server each server runs them. node_modules already on the host for the key is linked at once.
import type { Cmd, Step } from '../ops/command.js';
import { appCommand } from '../ops/app-command.js';
import { removeOrWarn } from '../ops/files.js';
import { deployerBuild, deployerInstall, installArgv, installOnHost, linkNodeModules, linkNodeRuntime, nodeDepsDir, nodeRuntimeDir, uploadBuild, uploadDeps, uploadNode, type DeployerGit, type InstallSettings } from '../ops/node.js';
import type { NodeProfile, RepoFiles } from '../recipes/types.js';
import type { HostFacts, ReleaseFact } from './facts.js';
import type { Layout } from './layout.js';
import { chooseNodeRuntime, majorOf, nodeBuildKey, nodeDepsKey, type DeployerNode } from './node-deps.js';

/** What every host's Node steps share: from the repository, the config and the deployer. */
export interface NodeDeploy {
  profile: NodeProfile;
  files: RepoFiles;
  /** The commit's tree id: a build's key. */
  tree: string;
  buildOn: 'deployer' | 'server';
  production: boolean;
  /** project.node_version */
  wanted: string | undefined;
  deployer: DeployerNode;
  /** The deployer's cache of node_modules and builds. */
  cache: string;
  /** Keys whose node_modules (and archive) the cache holds complete now: their install step only checks. */
  cached: readonly string[];
  git: DeployerGit;
  sha: string;
  /** NPM_TOKEN for installs (node.npm_token). */
  env: Record<string, string>;
}

export interface NodeHost {
  layout: Layout;
  facts: HostFacts;
  label: string;
  /** The SSH host name deployer commands reach it by; undefined for `host: local`. */
  sshHost: string | undefined;
  dir: string;
  appUser: string | undefined;
}

export interface NodeRelease {
  steps: Step[];
  /** Recorded in the release's manifest: what a rollback and the cleanup keep. */
  manifest: { node_modules: string; node: string };
  warnings: string[];
}

const describe = (settings: InstallSettings) => installArgv(settings).join(' ');

export function nodeSteps(deploy: NodeDeploy, host: NodeHost): NodeRelease {
  const { profile } = deploy;
  const { layout, facts, dir, sshHost } = host;
  const runtime = chooseNodeRuntime(host.label, deploy.wanted, facts, deploy.deployer);
  const major = majorOf(runtime.version)!;
  const base = { packageManager: profile.packageManager, yarnBerry: profile.yarnBerry };
  // A build on the server needs its devDependencies in the node_modules the release runs with.
  const production: InstallSettings = { ...base, production: deploy.production && !(profile.build && deploy.buildOn === 'server') };
  // Without devDependencies the build runs with the very node_modules the release gets.
  const forBuild: InstallSettings = profile.devDependencies ? { ...base, production: false } : production;
  const key = (settings: InstallSettings) => nodeDepsKey({ node: profile, files: deploy.files, settings, major });
  const depsKey = key(production);
  const installFiles = [...profile.installFiles, profile.lockfile];
  const install = (k: string, settings: InstallSettings): Step => ({
    id: k === depsKey ? 'node-install' : 'node-install-build',
    title: deploy.cached.includes(k)
      ? `Use node_modules ${k} built on this machine by an earlier deploy (${describe(settings)})`
      : `Install ${k === depsKey ? 'dependencies' : 'the build\'s dependencies'} on this machine: ${describe(settings)} (node_modules ${k})`,
    runsOn: 'deployer',
    commands: [deployerInstall({ cache: deploy.cache, key: k, git: deploy.git, sha: deploy.sha, files: installFiles, settings, env: deploy.env })],
  });

  const steps: Step[] = [];
  const warnings: string[] = [];
  if (runtime.kind === 'upload') {
    steps.push({ id: 'node-runtime', title: `Copy Node ${runtime.version} from this machine to ${nodeRuntimeDir(layout, runtime.version)}`, runsOn: 'deployer', commands: [uploadNode(layout, runtime.version, runtime.binary, sshHost)] });
  }
  const link: Cmd[] = [linkNodeModules(layout, depsKey, dir), ...(runtime.kind === 'system' ? [] : [linkNodeRuntime(layout, runtime.version, dir)])];
  if (facts.nodeDeps.includes(depsKey)) {
    steps.push({ id: 'node-modules', title: `Reuse node_modules ${depsKey} (${profile.lockfile} unchanged)`, commands: link });
  } else if (deploy.buildOn === 'deployer') {
    steps.push(install(depsKey, production));
    steps.push({ id: 'node-upload', title: `Upload node_modules ${depsKey} to ${nodeDepsDir(layout, depsKey)}`, runsOn: 'deployer', commands: [uploadDeps(layout, deploy.cache, depsKey, sshHost)] });
    steps.push({ id: 'node-modules', title: `Link node_modules ${depsKey} into the release`, commands: link });
  } else {
    steps.push({ id: 'node-modules', title: `Install dependencies: ${describe(production)} (node_modules ${depsKey})`, commands: [...installOnHost(layout, depsKey, dir, installFiles, production, deploy.env), ...link] });
  }
  if (deploy.buildOn === 'deployer' && profile.nativeAddons && majorOf(deploy.deployer.version) !== major) {
    warnings.push(`${profile.lockfile} has packages that build at install (native addons), installed with this machine's Node ${deploy.deployer.version} for Node ${runtime.version} on the server: they need the same major (run slipway with Node ${major}, or set build.on: server)`);
  }

  if (profile.build) {
    if (deploy.buildOn === 'deployer') {
      const buildDeps = key(forBuild);
      if (buildDeps !== depsKey || facts.nodeDeps.includes(depsKey)) steps.push(install(buildDeps, forBuild));
      const buildKey = nodeBuildKey(deploy.tree, buildDeps, profile.build);
      steps.push({ id: 'node-build', title: `Build on this machine: ${profile.build} (build ${buildKey})`, runsOn: 'deployer', commands: [deployerBuild({ cache: deploy.cache, key: buildKey, depsKey: buildDeps, git: deploy.git, sha: deploy.sha, command: profile.build })] });
      steps.push({ id: 'node-build-upload', title: 'Upload the build\'s output into the release', runsOn: 'deployer', commands: [uploadBuild(deploy.cache, buildKey, dir, sshHost)] });
    } else {
      steps.push({ id: 'node-build', title: `Build: ${profile.build}`, commands: [appCommand({ dir, line: profile.build, user: host.appUser, runtime: 'node' })] });
    }
  }
  return { steps, manifest: { node_modules: depsKey, node: runtime.version }, warnings };
}

/** node_modules and Node directories that neither a kept release nor the new one uses: removed with the old releases. */
export function unusedNodeDirs(layout: Layout, facts: HostFacts, kept: readonly ReleaseFact[], release: NodeRelease['manifest'] | undefined): Cmd[] {
  const manifests = [...kept.map((r) => r.manifest), release];
  const deps = new Set(manifests.flatMap((m) => (m?.node_modules ? [m.node_modules] : [])));
  const nodes = new Set(manifests.flatMap((m) => (m?.node ? [m.node] : [])));
  return [
    ...facts.nodeDeps.filter((k) => !deps.has(k)).map((k) => removeOrWarn(`unused node_modules ${k}`, nodeDepsDir(layout, k))),
    ...facts.nodeRuntimes.filter((v) => !nodes.has(v)).map((v) => removeOrWarn(`unused Node ${v}`, nodeRuntimeDir(layout, v))),
  ];
}

