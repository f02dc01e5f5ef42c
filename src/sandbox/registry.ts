// A server's state is one JSON file in its directory; whether it is running is decided from the live process
// table, never trusted from the file, so a crashed run shows up as `stale` and is cleaned by the next up/down.
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAlive } from './host.js';
import { readJsonFile } from './json-file.js';
import {
  clientKeyFile,
  knownHostsFile,
  persistentRootFile,
  sandboxPaths,
  serverStateFile,
  serversDir,
  type SandboxPaths,
} from './paths.js';

export interface ServerState {
  name: string;
  /** N in 10.77.N.0/24 and in the interface names slwNh / slwNs. */
  index: number;
  address: string;
  image: string;
  /** The tree nspawn boots: the shared image (ephemeral) or the server's own copy (persist). */
  rootDir: string;
  persist: boolean;
  /** The systemd-nspawn process; null while the network is being set up. */
  pid: number | null;
  /** The slipway process that ran `up`: a state without a pid is only live while that process is. */
  ownerPid: number;
  startedAt: string;
  /** Set once SSH answered and systemd finished booting. */
  readyAt: string | null;
  /** Reaches no package source through the host (absent in states written before there was a choice). */
  offline?: boolean;
}

export type ServerStatus = 'running' | 'booting' | 'stopped' | 'stale';

export const MAX_SERVERS = 250;
export const serverAddress = (index: number): string => `10.77.${index}.2`;
export const hostAddress = (index: number): string => `10.77.${index}.1`;

/** The lowest N not in use; 10.77.N.0/24 per server keeps every pair of veth ends on its own link. */
export function allocateIndex(used: Iterable<number>): number {
  const taken = new Set(used);
  for (let n = 1; n <= MAX_SERVERS; n++) if (!taken.has(n)) return n;
  throw new Error(`all ${MAX_SERVERS} sandbox addresses are in use`);
}

/** Server names become hostnames, machine names and part of a netns name. */
export function isValidServerName(name: string): boolean {
  return /^[a-z][a-z0-9-]{0,30}$/.test(name) && !name.endsWith('-');
}

/** Guards against pid reuse: the pid must still be the nspawn that boots this very server. */
export async function isServerProcess(pid: number, name: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const argv = cmdline.split('\0');
  return argv.some((a) => a.endsWith('systemd-nspawn')) && argv.includes(`--machine=${name}`);
}

export async function statusOf(state: ServerState): Promise<ServerStatus> {
  if (state.pid !== null) {
    if (!(await isServerProcess(state.pid, state.name))) return 'stale';
    return state.readyAt ? 'running' : 'booting';
  }
  return isAlive(state.ownerPid) ? 'booting' : 'stale';
}

/** Undefined also for a torn write from a crash: the directory is then cleaned as a leftover. */
export async function readServerState(paths: SandboxPaths, name: string): Promise<ServerState | undefined> {
  return readJsonFile<ServerState>(serverStateFile(paths, name));
}

/** Written to a temporary file and renamed, so a reader never sees half a state. */
export async function writeServerState(paths: SandboxPaths, state: ServerState): Promise<void> {
  const file = serverStateFile(paths, state.name);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

export async function removeServerState(paths: SandboxPaths, name: string): Promise<void> {
  await rm(serverStateFile(paths, name), { force: true });
}

/** Names of all server directories, with or without a state file. */
export async function serverNames(paths: SandboxPaths): Promise<string[]> {
  const entries = await readdir(serversDir(paths), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

export interface ServerEntry {
  name: string;
  status: ServerStatus;
  state: ServerState | undefined;
}

export async function readRegistry(paths: SandboxPaths): Promise<ServerEntry[]> {
  const entries: ServerEntry[] = [];
  for (const name of await serverNames(paths)) {
    const state = await readServerState(paths, name);
    if (state) {
      entries.push({ name, status: await statusOf(state), state });
    } else if (await exists(persistentRootFile(paths, name))) {
      entries.push({ name, status: 'stopped', state: undefined });
    } else {
      entries.push({ name, status: 'stale', state: undefined });
    }
  }
  return entries;
}

export interface SandboxTarget {
  address: string;
  user: 'root';
  port: 22;
  identityFile: string;
  knownHostsFile: string;
}

/** How to reach a running sandbox server over SSH; undefined if it is not up (config `sandbox: web1`). */
export async function sandboxTarget(
  name: string,
  paths: SandboxPaths = sandboxPaths(),
): Promise<SandboxTarget | undefined> {
  const state = await readServerState(paths, name);
  if (!state || (await statusOf(state)) !== 'running') return undefined;
  return {
    address: state.address,
    user: 'root',
    port: 22,
    identityFile: clientKeyFile(paths),
    knownHostsFile: knownHostsFile(paths),
  };
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
