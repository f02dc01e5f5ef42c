// `validate`'s look at the repository, where it is on this machine: the recipe a deploy of project.branch would
// pick, and what it refuses (a Node app without a lockfile or a start script), before any server is reached.
import type { LoadedConfig } from '../config/types.js';
import { resolveProfile } from '../recipes/index.js';
import type { AppProfile } from '../recipes/types.js';
import { fromLocal } from './repo-files.js';
import { resolveSource } from './source.js';

/** The recipe a deploy of project.branch picks, or undefined when the repository is not here to read (fetch, no git, no branch). What the recipe refuses is thrown. */
async function localProfile(loaded: Pick<LoadedConfig, 'config' | 'dir'>): Promise<{ profile: AppProfile; ref: string; sha: string } | undefined> {
  const { config } = loaded;
  const resolved = await resolveSource(config, loaded.dir, config.project.branch).catch(() => undefined);
  if (!resolved || resolved.source.mode !== 'push') return undefined;
  const files = await fromLocal(resolved.source.gitDir, resolved.sha, config.dependencies.requirements_files ?? []);
  return { profile: resolveProfile({ config, files, cores: 1 }), ref: resolved.ref, sha: resolved.sha };
}

/** `recipe node at main (abc1234)`, or undefined when the repository is not here to read. */
export async function recipeCheck(loaded: Pick<LoadedConfig, 'config' | 'dir'>): Promise<string | undefined> {
  const local = await localProfile(loaded);
  return local ? `recipe ${local.profile.recipe} at ${local.ref} (${local.sha.slice(0, 7)})` : undefined;
}

/** Whether the app runs on Node: the config says so, or the repository here does (what `doctor` checks). */
export async function isNodeApp(loaded: Pick<LoadedConfig, 'config' | 'dir'>): Promise<boolean> {
  const { project } = loaded.config;
  if (project.framework === 'node' || project.node_version !== undefined) return true;
  const local = await localProfile(loaded).catch(() => undefined);
  return local?.profile.recipe === 'node';
}
