// A cross-process lock as a directory (mkdir is atomic) holding its owner's pid, so a lock left by a crashed
// run is taken over instead of blocking every later `sandbox up` forever.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isAlive, sleep } from './host.js';

export interface LockOptions {
  timeoutMs?: number;
  /** Called once if the lock is held by another live process, e.g. to say "waiting for the image build". */
  onWait?: (ownerPid: number) => void;
}

export async function withDirLock<T>(dir: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  let told = false;
  await mkdir(dirname(dir), { recursive: true }); // the first command on a fresh machine creates the state dir
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'owner'), `${process.pid}\n`);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(dir);
    if (owner === undefined ? await olderThan(dir, 10_000) : !isAlive(owner)) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    if (owner !== undefined && owner !== process.pid && !told) {
      told = true;
      opts.onWait?.(owner);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${dir} (held by pid ${owner})`);
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readOwner(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, 'owner'), 'utf8').catch(() => undefined);
  const pid = Number.parseInt(text ?? '', 10);
  return Number.isFinite(pid) ? pid : undefined;
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  const s = await stat(path).catch(() => undefined);
  return s === undefined || Date.now() - s.mtimeMs > ms;
}
