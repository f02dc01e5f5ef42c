// Builders for the release engine on a host: directories, code, shared links, manifest, status, switch.
import { cmd, pipe, unless, type Cmd, type Command, type Snippet } from './command.js';
import { quote } from './shell.js';
import { removeOrWarn } from './files.js';
import { releaseDir, releaseMeta, type Layout } from '../plan/layout.js';
import type { ReleaseManifest, ReleaseStatus } from '../plan/facts.js';
import { envFileText } from '../plan/env-file.js';

/** Shared files are created here, before the shared tree is handed to the app user, so the app can write them. */
export function makeDirectories(layout: Layout, sharedDirs: readonly string[], sharedFiles: readonly string[] = []): Cmd[] {
  const fileParents = sharedFiles.filter((f) => f.includes('/')).map((f) => f.slice(0, f.lastIndexOf('/')));
  const dirs = [layout.releases, layout.shared, `${layout.meta}/releases`, ...[...sharedDirs, ...fileParents].map((d) => `${layout.shared}/${d}`)];
  return [
    cmd('mkdir', '-p', ...new Set(dirs)),
    ...(sharedFiles.length > 0 ? [cmd('touch', ...sharedFiles.map((f) => `${layout.shared}/${f}`))] : []),
    unless({ argv: ['test', '-d', layout.repo] }, cmd('git', 'init', '--bare', '--quiet', layout.repo)),
  ];
}

/** The server fetches the repository into its cached bare repo (it needs its own read access to `url`). */
export function fetchSource(layout: Layout, url: string, sha: string): Cmd[] {
  return [
    // `--`: a repo value starting with a dash must be a repository, never an option (--upload-pack=...).
    cmd('git', `--git-dir=${layout.repo}`, 'fetch', '--quiet', '--force', '--prune', '--tags', '--', url, '+refs/heads/*:refs/heads/*'),
    cmd('git', `--git-dir=${layout.repo}`, 'cat-file', '-e', `${sha}^{commit}`),
  ];
}

/**
 * Runs on the deployer: a pack of what the commit needs that the host's commits `bases` do not have (thin: its
 * deltas may name objects of theirs). With no base, every object of the commit. A git push would find the same
 * by asking the host, in a round trip and a session of its own, which slipway's preflight already answered.
 */
export function packSource(gitDir: string, sha: string, bases: readonly string[]): Command {
  return { argv: ['git', `--git-dir=${gitDir}`, 'pack-objects', '--revs', '--thin', '--stdout', '--delta-base-offset', '-q'], stdin: { text: [sha, ...bases.map((b) => `^${b}`)].join('\n') } };
}

/** Where the pack waits on the host between the agent's write and the step that reads it. */
export const incomingPack = (layout: Layout) => `${layout.meta}/incoming.pack`;

/**
 * On the host: the carried pack into the cached repo (its thin deltas completed from the host's own objects), and
 * the ref that keeps the commit from git's pruning.
 */
export function receivePack(layout: Layout, sha: string, releaseId: string): Cmd[] {
  return [
    // index-pack names the pack it wrote on stdout: only its errors matter.
    { argv: ['git', `--git-dir=${layout.repo}`, 'index-pack', '--stdin', '--fix-thin'], stdinFrom: incomingPack(layout), stdoutTo: '/dev/null' },
    cmd('rm', '-f', incomingPack(layout)),
    cmd('git', `--git-dir=${layout.repo}`, 'update-ref', `refs/slipway/${releaseId}`, sha),
  ];
}

/**
 * After the commit: a pack per deploy adds up, and git gathers them (and loose objects) when there are enough
 * (gc.autoPackLimit); quick when there is nothing to do. receive-pack ran the same after each push.
 */
export const tidyRepo = (layout: Layout): Command => cmd('git', `--git-dir=${layout.repo}`, 'gc', '--auto', '--quiet');

/** On the deployer: which of `shas` its repository has as commits (`<sha> commit` lines; others say missing). */
export function commitsCheck(gitDir: string, shas: readonly string[]): Command {
  return { argv: ['git', `--git-dir=${gitDir}`, 'cat-file', '--batch-check=%(objectname) %(objecttype)'], stdin: { text: shas.join('\n') } };
}

export function createRelease(layout: Layout, id: string, sha: string): Cmd[] {
  const dir = releaseDir(layout, id);
  return [
    cmd('mkdir', dir),
    pipe(cmd('git', `--git-dir=${layout.repo}`, 'archive', '--format=tar', sha), cmd('tar', '-x', '-C', dir)),
  ];
}

/** In each release: the variables that say which release it is, for its processes (units) and its commands. */
export const RELEASE_ENV_FILE = '.slipway-release.env';

export interface ReleaseIdentity {
  id: string;
  sha: string;
  ref: string;
}

/**
 * What the release tells the app about itself: `REVISION` (the commit, as Capistrano writes it; a repository
 * that has its own REVISION keeps it) and SLIPWAY_RELEASE, SLIPWAY_SHA and SLIPWAY_REF in RELEASE_ENV_FILE,
 * which every unit and app command loads. Per release, so a rollback's processes see their own.
 */
export function writeReleaseIdentity(layout: Layout, release: ReleaseIdentity): Snippet {
  const dir = releaseDir(layout, release.id);
  const env = envFileText({ SLIPWAY_RELEASE: release.id, SLIPWAY_SHA: release.sha, SLIPWAY_REF: release.ref });
  return {
    shell: [
      `[ -e ${quote(`${dir}/REVISION`)} ] || printf '%s\\n' ${quote(release.sha)} > ${quote(`${dir}/REVISION`)}`,
      `printf '%s\\n' ${quote(env)} > ${quote(`${dir}/${RELEASE_ENV_FILE}`)}`,
    ].join('\n'),
  };
}

/** Shared paths replace whatever the repo has at that path with a link into shared/. */
export function linkShared(layout: Layout, id: string, dirs: readonly string[], files: readonly string[]): Cmd[] {
  const dir = releaseDir(layout, id);
  const commands: Cmd[] = [];
  for (const path of [...dirs, ...files]) {
    const target = `${dir}/${path}`;
    const parent = target.slice(0, target.lastIndexOf('/'));
    commands.push(cmd('rm', '-rf', target));
    if (parent !== dir) commands.push(cmd('mkdir', '-p', parent));
    commands.push(cmd('ln', '-s', `${layout.shared}/${path}`, target));
  }
  return commands;
}

/**
 * The release's record, written before its directory: a release interrupted at any point after this is listed
 * with its ref and deployer (and marked failed by the recovery), never as an anonymous `unknown`.
 */
export function writeManifest(layout: Layout, manifest: ReleaseManifest): Cmd[] {
  const meta = releaseMeta(layout, manifest.id);
  return [cmd('mkdir', '-p', meta), { argv: ['tee', `${meta}/manifest.json`], stdin: { text: `${JSON.stringify(manifest, null, 2)}\n` }, stdoutTo: '/dev/null' }];
}

/** Once the release directory is complete: its lockfile hashes, and status prepared. */
export function sealRelease(layout: Layout, id: string): Cmd[] {
  const meta = releaseMeta(layout, id);
  return [
    // Lockfile hashes tell a later rollback or handoff whether dependencies changed between releases.
    {
      argv: ['find', releaseDir(layout, id), '-maxdepth', '1', '-type', 'f', '(', '-name', 'requirements*.txt', '-o', '-name', 'package-lock.json', '-o', '-name', 'poetry.lock', '-o', '-name', 'Pipfile.lock', '-o', '-name', 'yarn.lock', ')', '-exec', 'sha256sum', '{}', '+'],
      stdoutTo: `${meta}/lockfiles.sha256`,
    },
    setStatus(layout, id, 'prepared'),
  ];
}

export function setStatus(layout: Layout, id: string, status: ReleaseStatus): Command {
  return { argv: ['printf', '%s\\n', status], stdoutTo: `${releaseMeta(layout, id)}/status` };
}

/** For recovery: mark a release failed if it got as far as having a record (a failed push leaves none). */
export function markFailed(layout: Layout, id: string): Cmd {
  return unless({ argv: ['test', '!', '-d', releaseMeta(layout, id)] }, setStatus(layout, id, 'failed'));
}

/** Point `current` at a release atomically: a new link, renamed over the old one. */
export function switchCurrent(layout: Layout, id: string): Cmd[] {
  return [cmd('ln', '-sfn', releaseDir(layout, id), layout.nextCurrent), cmd('mv', '-T', layout.nextCurrent, layout.current)];
}

/** Removing an old release must never fail a deploy: a permission problem becomes a warning. */
export function removeRelease(layout: Layout, id: string): Cmd {
  return removeOrWarn(`old release ${id}`, releaseDir(layout, id), releaseMeta(layout, id));
}

/**
 * After a failure, whatever the failing program printed (ensurepip's own error, a tar error): say so when the
 * filesystem under `path` is out of space or inodes, the cause the user needs to see.
 */
export function fullDiskNote(path: string): Snippet {
  const p = quote(path);
  return {
    shell: [
      `df -Pk ${p} 2>/dev/null | awk 'NR == 2 && $4 < 10240 { printf "No space left on device: %s has %d KiB free\\n", $6, $4 }' || true`,
      `df -Pi ${p} 2>/dev/null | awk 'NR == 2 && $2 > 0 && $4 < 100 { printf "No space left on device: %s has %d inodes free\\n", $6, $4 }' || true`,
    ].join('\n'),
  };
}
