// Building the sandbox image: debootstrap a small base from the machine's own mirror, install the stack with apt
// inside the tree, then make it boot fast as a throwaway server. Built into a temporary directory and renamed
// into place, so an interrupted build is never booted; cached by key, so it is built once per package list.
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { hostRunsSystemd, isAlive, mustRun } from './host.js';
import { configureTree, writeBuildFiles, removeBuildFiles, imageInfoFile } from './image-tree.js';
import { withDirLock } from './lock.js';
import { checkMirrorReachable, readMirror } from './mirror.js';
import { sandboxPaths, type SandboxPaths } from './paths.js';
import { preflight } from './preflight.js';
import { aptScript, debootstrapArgs, imageKey, imageRecipes, inTreeArgs, type ImageRecipe } from './recipe.js';
import { readRegistry } from './registry.js';

export interface EnsureImageOptions {
  /** An image name from imageRecipes; default `bookworm`. */
  image?: string;
  /** Build again even if the cached image matches the key. */
  rebuild?: boolean;
  paths?: SandboxPaths;
  env?: NodeJS.ProcessEnv;
  /** Progress lines while building (minutes); nothing is printed for a cached image. */
  log?: (line: string) => void;
}

export interface SandboxImage {
  name: string;
  key: string;
  dir: string;
  /** True if this call built it. */
  built: boolean;
  buildSeconds: number;
}

export function imageRecipe(name: string): ImageRecipe {
  const recipe = imageRecipes[name];
  if (!recipe) {
    throw new UserError(`unknown sandbox image "${name}"`, `choose one of: ${Object.keys(imageRecipes).join(', ')}`);
  }
  return recipe;
}

export async function ensureImage(opts: EnsureImageOptions = {}): Promise<SandboxImage> {
  const recipe = imageRecipe(opts.image ?? 'bookworm');
  const paths = opts.paths ?? sandboxPaths(opts.env);
  const key = imageKey(recipe);
  const dir = join(paths.imageCacheDir, `${recipe.name}-${key}`);
  const cached = { name: recipe.name, key, dir, built: false, buildSeconds: 0 };
  if (!opts.rebuild && (await isBuilt(dir))) return cached;

  await preflight(['linux', 'root', 'debootstrap', 'systemd-nspawn'], 'image', 'debootstrap builds the image as root');
  await mkdir(paths.imageCacheDir, { recursive: true });
  const log = opts.log ?? (() => undefined);
  return withDirLock(
    join(paths.imageCacheDir, `.lock-${recipe.name}`),
    async () => {
      if (!opts.rebuild && (await isBuilt(dir))) return cached; // another process built it while we waited
      if (opts.rebuild) await refuseIfInUse(paths, dir);
      const started = Date.now();
      await build(recipe, key, dir, paths, opts.env ?? process.env, log);
      await pruneOldImages(paths, recipe, dir);
      const buildSeconds = (Date.now() - started) / 1000;
      log(`image ${recipe.name}-${key} built in ${buildSeconds.toFixed(0)} s: ${dir}`);
      return { ...cached, built: true, buildSeconds };
    },
    { onWait: (pid) => log(`waiting for the image build in process ${pid} to finish`) },
  );
}

async function build(
  recipe: ImageRecipe,
  key: string,
  dir: string,
  paths: SandboxPaths,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  const mirror = await readMirror(recipe.mirror, env);
  await checkMirrorReachable(mirror, recipe.suite);
  await removeAbandonedBuilds(paths);
  const tmp = join(paths.imageCacheDir, `.build-${recipe.name}-${key}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  const started = Date.now();
  const elapsed = (): string => `${Math.round((Date.now() - started) / 1000)} s`;
  const heartbeat = setInterval(() => log(`  ... still building (${elapsed()})`), 30_000);
  try {
    log(`building sandbox image ${recipe.name}-${key} from ${mirror} (takes a few minutes)`);
    log(`[1/3] debootstrap ${recipe.suite} (minbase + ${recipe.base.length} packages)`);
    await mustRun('debootstrap', debootstrapArgs(recipe, tmp, mirror), {
      onLine: (line) => {
        // Phases only, not the few hundred per-package lines.
        const perPackage = /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) [^ ]+(\.\.\.)?$/.test(line);
        if (!perPackage && /^I: .*(\.\.\.|successfully\.)$/.test(line)) log(`  ${line.slice(3)}`);
      },
    });
    log(`[2/3] apt-get install ${recipe.packages.length} packages, download ${recipe.offline.length} for offline use (${elapsed()})`);
    await writeBuildFiles(tmp, recipe, mirror);
    await mustRun('apt-get install in the image', inTreeArgs(tmp, aptScript(recipe), await hostRunsSystemd()), {
      onLine: (line) => {
        if (/^(Need to get|Fetched|\d+ upgraded|E:)/.test(line)) log(`  ${line}`);
      },
    });
    await removeBuildFiles(tmp);
    log(`[3/3] configure for booting as a sandbox server (${elapsed()})`);
    await configureTree(tmp, recipe, key);
    if (await isBuilt(dir)) await rm(dir, { recursive: true, force: true }); // --rebuild
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  } finally {
    clearInterval(heartbeat);
  }
}

async function isBuilt(dir: string): Promise<boolean> {
  return (await stat(imageInfoFile(dir)).catch(() => undefined)) !== undefined;
}

/** Ephemeral servers use the image as the lower layer of their overlay: it must not change under them. */
async function refuseIfInUse(paths: SandboxPaths, dir: string): Promise<void> {
  const users = (await readRegistry(paths)).filter((e) => e.status !== 'stale' && e.state?.rootDir === dir);
  if (users.length > 0) {
    throw new UserError(
      `the image is in use by running servers: ${users.map((u) => u.name).join(', ')}`,
      'stop them first: sudo slipway sandbox down --all',
    );
  }
}

/** Images of the same name with another key are outdated; delete those no live server boots from. */
async function pruneOldImages(paths: SandboxPaths, recipe: ImageRecipe, current: string): Promise<void> {
  const inUse = new Set(
    (await readRegistry(paths)).filter((e) => e.status !== 'stale').map((e) => e.state?.rootDir),
  );
  for (const entry of await readdir(paths.imageCacheDir)) {
    const dir = join(paths.imageCacheDir, entry);
    if (entry.startsWith(`${recipe.name}-`) && dir !== current && !inUse.has(dir)) {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** `.build-<name>-<key>-<pid>` directories whose builder died (Ctrl-C, power loss, SIGKILL). */
async function removeAbandonedBuilds(paths: SandboxPaths): Promise<void> {
  for (const entry of await readdir(paths.imageCacheDir)) {
    const pid = Number(entry.match(/^\.build-.*-(\d+)$/)?.[1]);
    if (pid && (pid === process.pid || !isAlive(pid))) {
      const dir = join(paths.imageCacheDir, entry);
      await unmountUnder(dir);
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/**
 * debootstrap mounts /proc and /sys inside the tree while it configures packages; killed at that moment it leaves
 * them mounted, and a recursive delete must never walk into the host's /sys.
 */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  const inside = mounts
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((target) => target.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const target of inside) await mustRun(`unmount ${target}`, ['umount', '--lazy', target]);
}

