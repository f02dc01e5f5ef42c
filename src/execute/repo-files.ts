// Reading the repository at the commit being deployed, for recipe detection, the venv key and the input hashes
// of release checks (every path's git object id, from `git ls-tree -r`): from the local repository (push), or
// from the host's cached repository after fetching into it (fetch).
import type { Layout } from '../plan/layout.js';
import type { Source } from '../plan/deploy.js';
import { isRecipeFile, RECIPE_FILES, type RepoFiles } from '../recipes/types.js';
import { CommandFailedError } from '../errors.js';
import { fetchSource, makeDirectories } from '../ops/release.js';
import { quote, renderScript } from '../ops/shell.js';
import type { HostConnection } from './connection.js';
import { runLocalChecked } from './deployer.js';

function snapshot(blobs: Map<string, string>, contents: Map<string, string>): RepoFiles {
  return { paths: [...blobs.keys()], read: (path) => contents.get(path), blobs };
}

/** One `git ls-tree -r` entry, `<mode> <type> <object>\t<path>`, into the map of object ids by path. */
function addEntry(blobs: Map<string, string>, entry: string): void {
  const tab = entry.indexOf('\t');
  if (tab >= 0) blobs.set(entry.slice(tab + 1), entry.slice(0, tab).split(' ')[2] ?? '');
}

/** The commit's files from a repository on this machine (push). */
export async function fromLocal(gitDir: string, sha: string, requirementsFiles: readonly string[]): Promise<RepoFiles> {
  const git = (...args: string[]) => runLocalChecked({ argv: ['git', `--git-dir=${gitDir}`, ...args] }, 'Read the repository');
  const blobs = new Map<string, string>();
  for (const entry of (await git('ls-tree', '-r', '-z', sha)).split('\0')) addEntry(blobs, entry);
  const contents = new Map<string, string>();
  for (const path of [...blobs.keys()].filter((p) => isRecipeFile(p, requirementsFiles))) contents.set(path, await git('show', `${sha}:${path}`));
  return snapshot(blobs, contents);
}

/** One round trip: fetch into the host's cached repo (the deploy fetches again, a no-op), list, read. */
async function fromHost(connection: HostConnection, layout: Layout, url: string, sha: string, requirementsFiles: readonly string[]): Promise<RepoFiles> {
  const wanted = ['requirements*.txt', ...RECIPE_FILES, ...requirementsFiles].map((p) => (p.includes('*') ? p : quote(p))).join('|');
  const read = `git --git-dir=${quote(layout.repo)} ls-tree -r ${quote(sha)} | while IFS= read -r entry; do f=\${entry#*$'\\t'}; meta=\${entry%%$'\\t'*}; echo "==path \${meta##* } $f"; case "$f" in ${wanted}) printf '==file %s ' "$f"; git --git-dir=${quote(layout.repo)} show ${quote(sha)}:"$f" | base64 -w0; echo;; esac; done`;
  const script = renderScript([
    { id: 'fetch', title: 'Fetch the repository on the host', commands: [...makeDirectories(layout, [], []), ...fetchSource(layout, url, sha), { shell: read }] },
  ]);
  const result = await connection.session.run(script);
  if (result.code !== 0) throw new CommandFailedError(connection.target.label, 'Fetch the repository on the host', result.failedCommand ?? 'git fetch', result.code, result.lines.slice(-10));
  const blobs = new Map<string, string>();
  const contents = new Map<string, string>();
  for (const line of result.lines) {
    if (line.startsWith('==path ')) {
      // `==path <object> <path>`: the host's script keeps tabs out of its output.
      const [object = '', ...path] = line.slice(7).split(' ');
      blobs.set(path.join(' '), object);
    } else if (line.startsWith('==file ')) {
      const [path = '', data = ''] = line.slice(7).split(' ');
      contents.set(path, Buffer.from(data, 'base64').toString('utf8'));
    }
  }
  return snapshot(blobs, contents);
}

export function readRepoFiles(source: Source, sha: string, first: HostConnection, layout: Layout, requirementsFiles: readonly string[]): Promise<RepoFiles> {
  return source.mode === 'push' ? fromLocal(source.gitDir, sha, requirementsFiles) : fromHost(first, layout, source.url, sha, requirementsFiles);
}
