// Resolving what to deploy: the source mode and the ref's full commit SHA, on the deployer.
import { isAbsolute, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { Config } from '../config/types.js';
import { repoProblem } from '../config/forms.js';
import { GIT_REF, isFullSha } from '../config/names.js';
import { UserError } from '../errors.js';
import type { Source } from '../plan/deploy.js';
import { runLocal } from './deployer.js';

export const looksLikeUrl = (repo: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/\s]+@[^/\s]+:/.test(repo);

export interface ResolvedSource {
  source: Source;
  sha: string;
  ref: string;
}

async function gitDirOf(path: string): Promise<string> {
  const result = await runLocal({ argv: ['git', '-C', path, 'rev-parse', '--absolute-git-dir'] });
  if (result.code !== 0) throw new UserError(`${path} is not a git repository`, 'set project.repo to a repository path or URL');
  return result.stdout.trim();
}

export async function resolveSource(config: Pick<Config, 'project'>, configDir: string, ref: string): Promise<ResolvedSource> {
  if (!GIT_REF.test(ref)) throw new UserError(`ref ${JSON.stringify(ref)} is not a valid branch, tag or SHA`);
  const repo = config.project.repo ?? '.';
  // A --repo on the command line replaces project.repo after the config was checked: check it the same way.
  const problem = repoProblem(repo);
  if (problem) throw new UserError(`repository ${JSON.stringify(repo)} ${problem}`);
  const isUrl = looksLikeUrl(repo);
  const mode = config.project.source === 'auto' ? (isUrl ? 'fetch' : 'push') : config.project.source;

  if (mode === 'fetch') {
    if (!isUrl && !isAbsolute(repo)) throw new UserError(`project.repo ${repo} is a local path: use source: push, or a URL the servers can reach`);
    if (isFullSha(ref)) return { source: { mode, url: repo }, sha: ref, ref };
    const listed = await runLocal({ argv: ['git', 'ls-remote', '--', repo, `refs/heads/${ref}`, `refs/tags/${ref}`, `refs/tags/${ref}^{}`] });
    if (listed.code !== 0) throw new UserError(`cannot list ${repo}: ${listed.stderr.trim().split('\n').pop() ?? ''}`, 'check the URL and your access to it');
    const lines = listed.stdout.trim().split('\n').filter(Boolean);
    const peeled = lines.find((l) => l.endsWith('^{}')) ?? lines[0];
    if (!peeled) {
      const heads = await runLocal({ argv: ['git', 'ls-remote', '--heads', '--', repo] });
      const branches = heads.stdout.split('\n').flatMap((l) => (l.includes('\trefs/heads/') ? [l.split('\trefs/heads/')[1]!] : []));
      throw new UserError(`no branch or tag ${ref} in ${repo}${branchList(branches)}`, branches.length > 0 ? otherBranchHint(branches) : 'give a full 40-character SHA to deploy a commit with source: fetch');
    }
    return { source: { mode, url: repo }, sha: peeled.split('\t')[0]!, ref };
  }

  const path = isUrl ? repo : resolve(configDir, repo);
  if (isUrl) throw new UserError(`source: push needs project.repo to be a local path, got ${repo}`);
  if (!(await stat(path).catch(() => undefined))) throw new UserError(`project.repo ${path} does not exist`);
  const gitDir = await gitDirOf(path);
  const parsed = await runLocal({ argv: ['git', `--git-dir=${gitDir}`, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`] });
  if (parsed.code !== 0) {
    const heads = await runLocal({ argv: ['git', `--git-dir=${gitDir}`, 'for-each-ref', '--format=%(refname:short)', 'refs/heads'] });
    const branches = heads.stdout.split('\n').filter(Boolean);
    throw new UserError(`no branch, tag or commit ${ref} in ${path}${branchList(branches)}`, branches.length > 0 ? otherBranchHint(branches) : 'commit something first: slipway deploys commits');
  }
  return { source: { mode: 'push', gitDir }, sha: parsed.stdout.trim(), ref };
}

/** `(its branches: master, dev)`: what a repository whose default branch is not `main` has instead. */
function branchList(branches: readonly string[]): string {
  if (branches.length === 0) return ' (it has no branches)';
  const shown = branches.slice(0, 8);
  return ` (its branches: ${shown.join(', ')}${branches.length > shown.length ? `, and ${branches.length - shown.length} more` : ''})`;
}

function otherBranchHint(branches: readonly string[]): string {
  const likely = branches.find((b) => b === 'master') ?? branches[0]!;
  return `deploy one with --ref ${likely}, or set project.branch: ${likely} in deploy.yml`;
}

/** The branches and tags a deploy could take (the dashboard's ref picker), from the repository or its remote. */
export async function listRefs(config: Pick<Config, 'project'>, configDir: string): Promise<{ branches: string[]; tags: string[] }> {
  const repo = config.project.repo ?? '.';
  if (looksLikeUrl(repo)) {
    const listed = await runLocal({ argv: ['git', 'ls-remote', '--heads', '--tags', '--', repo] }, {}, 15_000);
    if (listed.code !== 0) throw new UserError(`cannot list ${repo}: ${listed.stderr.trim().split('\n').pop() ?? ''}`);
    return refNames(listed.stdout.split('\n').flatMap((l) => (l.includes('\t') && !l.endsWith('^{}') ? [l.split('\t')[1]!] : [])));
  }
  const gitDir = await gitDirOf(resolve(configDir, repo));
  const listed = await runLocal({ argv: ['git', `--git-dir=${gitDir}`, 'for-each-ref', '--sort=-committerdate', '--format=%(refname)', 'refs/heads', 'refs/tags'] });
  return refNames(listed.stdout.split('\n').filter(Boolean));
}

const refNames = (names: readonly string[]) => ({
  branches: names.flatMap((n) => (n.startsWith('refs/heads/') ? [n.slice('refs/heads/'.length)] : [])),
  tags: names.flatMap((n) => (n.startsWith('refs/tags/') ? [n.slice('refs/tags/'.length)] : [])),
});
