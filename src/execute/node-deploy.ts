// What a Node deploy needs from the machine running slipway: its own Node (which a server lacking the wanted
// major can be given), the cache that node_modules and builds are kept in, and the commit's tree.
import { existsSync, readdirSync } from 'node:fs';
import { homedir, machine } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/types.js';
import type { Source } from '../plan/deploy.js';
import type { NodeDeploy } from '../plan/node-steps.js';
import type { DeployerNode } from '../plan/node-deps.js';
import type { NodeProfile, RepoFiles } from '../recipes/types.js';
import { runLocal } from './deployer.js';
import { deployerDepsArchive, deployerDepsDir } from '../ops/node.js';
import { COMPLETE_MARK } from '../ops/files.js';

export function deployerNode(): DeployerNode {
  const variables = process.config.variables as { node_shared?: boolean | string };
  const shared = variables.node_shared === true || variables.node_shared === 'true';
  return { version: process.versions.node, binary: process.execPath, machine: machine(), standalone: !shared };
}

/** `$XDG_CACHE_HOME/slipway/node/<project>`: kept between deploys, so an unchanged lockfile installs nothing. */
export function nodeCache(project: string): string {
  const base = process.env.XDG_CACHE_HOME && process.env.XDG_CACHE_HOME.startsWith('/') ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'slipway', 'node', project);
}

/** The commit's tree id (a build's key): read from the local repository; a fetched source keys builds by commit. */
async function treeOf(source: Source, sha: string): Promise<string> {
  if (source.mode !== 'push') return sha;
  const result = await runLocal({ argv: ['git', `--git-dir=${source.gitDir}`, 'rev-parse', `${sha}^{tree}`] });
  return result.code === 0 ? result.stdout.trim() : sha;
}

/** node_modules keys complete in the cache (directory and archive), for the plan's titles. */
function cachedDeps(cache: string): string[] {
  const dir = join(cache, 'deps');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((key) => /^[0-9a-f]{12}$/.test(key) && existsSync(`${deployerDepsDir(cache, key)}/${COMPLETE_MARK}`) && existsSync(deployerDepsArchive(cache, key)));
}

export async function nodeDeployFor(config: Pick<Config, 'project' | 'node' | 'build'>, profile: NodeProfile, files: RepoFiles, source: Source, sha: string): Promise<NodeDeploy> {
  const cache = nodeCache(config.project.name);
  return {
    profile,
    files,
    tree: await treeOf(source, sha),
    buildOn: config.build.on,
    production: config.node.production,
    wanted: config.project.node_version,
    deployer: deployerNode(),
    cache,
    cached: cachedDeps(cache),
    git: source.mode === 'push' ? { gitDir: source.gitDir } : { url: source.url, gitDir: join(cache, 'repo.git') },
    sha,
    env: config.node.npm_token ? { NPM_TOKEN: config.node.npm_token } : {},
  };
}
