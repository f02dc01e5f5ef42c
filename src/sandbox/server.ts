// The server lifecycle: up (idempotent), down, down --all, list. Decisions about names and addresses are made
// under the registry lock; the slow parts (copying a persistent disk, booting) run outside it so several servers
// boot at once.
import { appendFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { closeSharedMasters } from '../execute/ssh-control.js';
import { UserError } from '../errors.js';
import { startServer, stopProcess, waitUntilReady } from './boot.js';
import { hostRunsSystemd, isAlive, mustRun, sleep } from './host.js';
import { ensureImage } from './image.js';
import { ensureKeys, type SandboxKeys } from './keys.js';
import { cleanLeftovers, removeServerRemains } from './leftovers.js';
import { withDirLock } from './lock.js';
import { networkUp } from './network.js';
import {
  consoleLogFile,
  lockDir,
  persistentRootFile,
  sandboxPaths,
  serverDir,
  serverHostAccessDir,
  serverHostsFile,
  serversDir,
  type SandboxPaths,
} from './paths.js';
import { preflight } from './preflight.js';
import { syncSharedNetwork } from './shared-network.js';
import {
  allocateIndex,
  isServerProcess,
  isValidServerName,
  readRegistry,
  readServerState,
  serverAddress,
  statusOf,
  writeServerState,
  type ServerState,
  type ServerStatus,
} from './registry.js';

export interface SandboxOptions {
  paths?: SandboxPaths;
  env?: NodeJS.ProcessEnv;
  /** Progress for a human: image build steps, leftovers cleaned. */
  log?: (line: string) => void;
}

export interface UpOptions extends SandboxOptions {
  image?: string;
  /** Boot from the server's own copy of the image, kept across down/up. */
  persist?: boolean;
  /** Reach no package source through the host (default: SLIPWAY_SANDBOX_OFFLINE=1, else online). */
  offline?: boolean;
  readyTimeoutMs?: number;
}

export interface SandboxServer {
  name: string;
  address: string;
  status: ServerStatus;
  image: string;
  persist: boolean;
  /** Reaches no package source through the host. */
  offline: boolean;
  pid: number | null;
  startedAt: string | null;
  uptimeSeconds: number | null;
}

export interface UpResult extends SandboxServer {
  /** The server was already running: nothing was done. */
  alreadyUp: boolean;
  /** From starting nspawn to SSH-ready; 0 when already up. */
  bootSeconds: number;
}

/** SLIPWAY_SANDBOX_OFFLINE=1 makes every server booted offline: a test suite that must not touch a network. */
export const offlineByDefault = (env: NodeJS.ProcessEnv): boolean => env.SLIPWAY_SANDBOX_OFFLINE === '1';

export async function sandboxUp(name: string, opts: UpOptions = {}): Promise<UpResult> {
  if (!isValidServerName(name)) {
    throw new UserError(
      `"${name}" is not a valid sandbox server name`,
      'use up to 31 lowercase letters, digits and dashes, starting with a letter (it becomes the hostname)',
    );
  }
  await preflight(['linux', 'root', 'systemd-nspawn', 'ip', 'ssh', 'ssh-keygen'], `up ${name}`);
  const paths = opts.paths ?? sandboxPaths(opts.env);
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.readyTimeoutMs ?? 90_000;
  const keys = await ensureKeys(paths);
  const image = await ensureImage({ image: opts.image, paths, env: opts.env, log });
  await mkdir(serversDir(paths), { recursive: true });

  const claim = await withDirLock(lockDir(paths), async () => {
    await cleanLeftovers(paths, log);
    const existing = await readServerState(paths, name);
    if (existing) return { fresh: false, state: existing };
    const used = (await readRegistry(paths)).flatMap((e) => (e.state ? [e.state.index] : []));
    const index = allocateIndex(used);
    const persist = opts.persist === true || (await exists(persistentRootFile(paths, name)));
    const state: ServerState = {
      name,
      index,
      address: serverAddress(index),
      image: image.name,
      rootDir: persist ? persistentRootFile(paths, name) : image.dir,
      persist,
      pid: null,
      ownerPid: process.pid,
      startedAt: new Date().toISOString(),
      readyAt: null,
      offline: opts.offline ?? offlineByDefault(opts.env ?? process.env),
    };
    await mkdir(serverDir(paths, name), { recursive: true });
    await writeServerState(paths, state);
    // Now booting, so it gets its hosts file and the others learn its name before it boots.
    await syncSharedNetwork(paths);
    return { fresh: true, state };
  });

  if (!claim.fresh) return { ...(await awaitExisting(paths, claim.state, keys, timeoutMs)), alreadyUp: true, bootSeconds: 0 };
  const state = claim.state;
  // A connection kept open (ssh.reuse_seconds) to a server that had this address before must not carry a session.
  await closeSharedMasters(state.address);
  try {
    if (state.persist && !(await exists(state.rootDir))) {
      log(`copying the image to ${state.rootDir} (persistent server)`);
      await rm(`${state.rootDir}.tmp`, { recursive: true, force: true }); // a copy interrupted earlier
      await mustRun('copy the image', ['cp', '-a', '--reflink=auto', image.dir, `${state.rootDir}.tmp`]);
      await rename(`${state.rootDir}.tmp`, state.rootDir);
    }
    await networkUp(name, state.index);
    const logFile = consoleLogFile(paths, name);
    await appendFile(logFile, `--- slipway sandbox up ${name} at ${new Date().toISOString()} ---\n`);
    const started = Date.now();
    state.pid = await startServer(
      {
        name,
        rootDir: state.rootDir,
        persist: state.persist,
        authorizedKeysFile: keys.publicKeyFile,
        hostKeyFile: keys.hostKeyFile,
        hostsFile: serverHostsFile(paths, name),
        hostAccessDir: serverHostAccessDir(paths, name),
        hostSystemd: await hostRunsSystemd(),
      },
      logFile,
    );
    await writeServerState(paths, state);
    await waitUntilReady({ name, address: state.address, pid: state.pid, files: keys, logFile, timeoutMs });
    state.readyAt = new Date().toISOString();
    await writeServerState(paths, state);
    return { ...describe(state, 'running'), alreadyUp: false, bootSeconds: (Date.now() - started) / 1000 };
  } catch (err) {
    if (state.pid !== null) await stopProcess(state.pid, 5_000);
    await removeServerRemains(paths, name, state.index);
    // The others drop its name now; should that fail, the next up or down does it, and the boot error matters more.
    await withDirLock(lockDir(paths), () => cleanLeftovers(paths, log)).catch(() => undefined);
    throw err;
  }
}

/** `up` of a name that exists: return it, after waiting if it is still booting (here or in another process). */
async function awaitExisting(paths: SandboxPaths, first: ServerState, keys: SandboxKeys, timeoutMs: number): Promise<SandboxServer> {
  const deadline = Date.now() + timeoutMs;
  let state: ServerState | undefined = first;
  while (state && Date.now() < deadline) {
    const status = await statusOf(state);
    if (status === 'running') return describe(state, status);
    if (status === 'stale') break;
    if (state.pid !== null && !isAlive(state.ownerPid)) {
      // Its `up` died before seeing it ready: finish the job.
      const logFile = consoleLogFile(paths, state.name);
      await waitUntilReady({ name: state.name, address: state.address, pid: state.pid, files: keys, logFile, timeoutMs });
      state.readyAt = new Date().toISOString();
      await writeServerState(paths, state);
      return describe(state, 'running');
    }
    await sleep(250);
    state = await readServerState(paths, first.name);
  }
  throw new UserError(`sandbox server ${first.name} did not come up in another slipway process`, `see ${consoleLogFile(paths, first.name)}`);
}

export interface DownOptions extends SandboxOptions {
  /** Also delete a persistent server's disk. */
  purge?: boolean;
}

/** Stops a server cleanly and removes its network and state; false if there was no such server. */
export async function sandboxDown(name: string, opts: DownOptions = {}): Promise<boolean> {
  await preflight(['linux', 'root', 'ip'], `down ${name}`);
  const paths = opts.paths ?? sandboxPaths(opts.env);
  const existed = await exists(serverDir(paths, name));
  await stopServer(paths, name, opts.purge === true);
  await withDirLock(lockDir(paths), () => cleanLeftovers(paths, opts.log));
  return existed;
}

/** Stops every server; returns their names. */
export async function sandboxDownAll(opts: DownOptions = {}): Promise<string[]> {
  await preflight(['linux', 'root', 'ip'], 'down --all');
  const paths = opts.paths ?? sandboxPaths(opts.env);
  const entries = await readRegistry(paths);
  await Promise.all(entries.map((e) => stopServer(paths, e.name, opts.purge === true)));
  await withDirLock(lockDir(paths), () => cleanLeftovers(paths, opts.log));
  return entries.filter((e) => e.status !== 'stopped' || opts.purge).map((e) => e.name);
}

async function stopServer(paths: SandboxPaths, name: string, purge: boolean): Promise<void> {
  const state = await readServerState(paths, name);
  if (state) await closeSharedMasters(state.address);
  if (state?.pid != null && (await isServerProcess(state.pid, name))) await stopProcess(state.pid);
  await removeServerRemains(paths, name, state?.index, purge);
}

export async function sandboxList(opts: SandboxOptions = {}): Promise<SandboxServer[]> {
  const paths = opts.paths ?? sandboxPaths(opts.env);
  const entries = await readRegistry(paths);
  return entries.map((e) =>
    e.state
      ? describe(e.state, e.status)
      : { name: e.name, address: '', status: e.status, image: '', persist: e.status === 'stopped', offline: false, pid: null, startedAt: null, uptimeSeconds: null },
  );
}

function describe(state: ServerState, status: ServerStatus): SandboxServer {
  const up = status === 'running' || status === 'booting';
  return {
    name: state.name,
    address: state.address,
    status,
    image: state.image,
    persist: state.persist,
    offline: state.offline === true,
    pid: state.pid,
    startedAt: state.startedAt,
    uptimeSeconds: up ? Math.round((Date.now() - Date.parse(state.startedAt)) / 1000) : null,
  };
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

