// `validate`'s look at the repository, where it is on this machine: the recipe a deploy of project.branch would
// pick, and what it refuses (a Node app without a lockfile or a start script), before any server is reached.
import type { LoadedConfig } from '../config/types.js';
import { resolveProfile } from '../recipes/index.js';
import { fromLocal } from './repo-files.js';
import { resolveSource } from './source.js';

/** `recipe node at main (abc1234)`, or undefined when the repository is not here to read (fetch, no git, no branch). */
export async function recipeCheck(loaded: Pick<LoadedConfig, 'config' | 'dir'>): Promise<string | undefined> {
  const { config } = loaded;
  const resolved = await resolveSource(config, loaded.dir, config.project.branch).catch(() => undefined);
  if (!resolved || resolved.source.mode !== 'push') return undefined;
  const files = await fromLocal(resolved.source.gitDir, resolved.sha, config.dependencies.requirements_files ?? []);
  const profile = resolveProfile({ config, files, cores: 1 });
  return `recipe ${profile.recipe} at ${resolved.ref} (${resolved.sha.slice(0, 7)})`;
}
