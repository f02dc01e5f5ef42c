// The app's working tree for `slipway init`: listing and reading it (bounded) into RepoFiles, and writing the
// files init generated, never over an existing one.
import { constants } from 'node:fs';
import { appendFile, mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import type { WorkingTree } from '../recipes/describe.js';
import type { RepoFiles } from '../recipes/types.js';

/** Directories that are never the app's code: VCS data, virtualenvs, caches, build output, dependencies. */
const SKIPPED_DIRS = new Set(['.git', '.hg', '.svn', '.slipway', 'node_modules', '__pycache__', '.venv', 'venv', '.tox', '.nox', '.mypy_cache', '.pytest_cache', '.ruff_cache', 'site-packages', '.idea', '.vscode']);
const MAX_PATHS = 20_000;
const MAX_DEPTH = 12;
/** Per file: a settings module or a requirements file is far smaller; a bigger file is listed, not read. */
const MAX_READ_BYTES = 512 * 1024;
const MAX_READ_FILES = 5_000;

async function listFiles(root: string): Promise<string[]> {
  const paths: string[] = [];
  const walk = async (dir: string, prefix: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (paths.length >= MAX_PATHS) return;
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isFile()) paths.push(path);
      else if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) {
        // Any virtualenv, whatever its name, is marked by its pyvenv.cfg.
        if ((await stat(join(dir, entry.name, 'pyvenv.cfg')).catch(() => undefined))) continue;
        await walk(join(dir, entry.name), path, depth + 1);
      }
    }
  };
  await walk(root, '', 0);
  return paths;
}

/** The checked-out branch from .git/HEAD (a worktree's .git file points to its git dir). */
async function currentBranch(root: string): Promise<{ git: boolean; branch?: string }> {
  const dotGit = join(root, '.git');
  const info = await stat(dotGit).catch(() => undefined);
  if (!info) return { git: false };
  let gitDir = dotGit;
  if (info.isFile()) {
    const pointer = /^gitdir:\s*(.+)$/m.exec(await readFile(dotGit, 'utf8').catch(() => ''))?.[1]?.trim();
    if (!pointer) return { git: true };
    gitDir = pointer.startsWith('/') ? pointer : join(root, pointer);
  }
  const head = await readFile(join(gitDir, 'HEAD'), 'utf8').catch(() => '');
  const branch = /^ref: refs\/heads\/(.+)$/m.exec(head)?.[1]?.trim();
  return branch ? { git: true, branch } : { git: true };
}

/** Lists the tree and reads the files `wanted` picks (UTF-8 text within the size bound). */
export async function readWorkingTree(root: string, wanted: (path: string) => boolean): Promise<WorkingTree> {
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new UserError(`${root} is not a directory`, 'run slipway init in your app\'s repository, or name it with -c DIR');
  const paths = await listFiles(root);
  const contents = new Map<string, string>();
  for (const path of paths.filter(wanted).slice(0, MAX_READ_FILES)) {
    const size = (await stat(join(root, path)).catch(() => undefined))?.size ?? Infinity;
    if (size > MAX_READ_BYTES) continue;
    const text = await readFile(join(root, path), 'utf8').catch(() => undefined);
    if (text !== undefined && !text.includes('\0')) contents.set(path, text);
  }
  const files: RepoFiles = { paths, read: (path) => contents.get(path) };
  return { dirName: basename(root), files, ...(await currentBranch(root)) };
}

export interface NewFile {
  /** Relative to the root. */
  path: string;
  text: string;
  mode?: number;
}

export type WriteOutcome = 'written' | 'exists';

/** Creates the file only if there is none (O_EXCL: an existing file, even one created meanwhile, is kept). */
export async function writeNewFile(root: string, file: NewFile): Promise<WriteOutcome> {
  const path = join(root, file.path);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, file.mode ?? 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
    throw error;
  }
  try {
    await handle.writeFile(file.text);
    // The umask may have narrowed the mode; a secrets file must be exactly 0600 whatever it is.
    if (file.mode !== undefined) await handle.chmod(file.mode);
  } finally {
    await handle.close();
  }
  return 'written';
}

export async function readOptional(root: string, path: string): Promise<string | undefined> {
  return readFile(join(root, path), 'utf8').catch(() => undefined);
}

export async function appendToFile(root: string, path: string, text: string): Promise<void> {
  await appendFile(join(root, path), text);
}
