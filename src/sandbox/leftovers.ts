// What a crashed run leaves behind: a state whose nspawn is dead, a namespace (with the container's processes
// still in it if nspawn was SIGKILLed), a host veth, a host address on the bridge. Every up and down sweeps them,
// under the registry lock, so a user never has to know the names to clean up by hand.
import { rm, stat } from 'node:fs/promises';
import { bridgeAddressIndexes } from './bridge.js';
import { isAlive, sleep } from './host.js';
import {
  namespacePids,
  networkDown,
  removeBridgeAddress,
  removeHostVeth,
  sandboxHostVeths,
  sandboxNamespaces,
} from './network.js';
import { persistentRootFile, serverDir, type SandboxPaths } from './paths.js';
import { readRegistry, removeServerState, type ServerEntry } from './registry.js';
import { syncSharedNetwork } from './shared-network.js';

export interface LeftoverFacts {
  entries: ServerEntry[];
  /** Server names that have a `slw-` namespace. */
  namespaces: string[];
  /** Indexes of `slwNh` host veths. */
  hostVeths: number[];
  /** Indexes N of the host addresses 10.77.N.1 on the bridge. */
  bridgeAddresses: number[];
}

export interface LeftoverPlan {
  /** Stale servers: their network and state go; a persistent server's disk stays. */
  servers: { name: string; index: number | undefined }[];
  namespaces: string[];
  hostVeths: number[];
  bridgeAddresses: number[];
}

/** Pure: anything not belonging to a running or booting server is a leftover. */
export function planLeftoverCleanup(facts: LeftoverFacts): LeftoverPlan {
  const live = facts.entries.filter((e) => e.status === 'running' || e.status === 'booting');
  const liveNames = new Set(live.map((e) => e.name));
  const liveIndexes = new Set(live.flatMap((e) => (e.state ? [e.state.index] : [])));
  const servers = facts.entries
    .filter((e) => e.status === 'stale')
    .map((e) => ({ name: e.name, index: e.state?.index }));
  const staleIndexes = new Set(servers.flatMap((s) => (s.index === undefined ? [] : [s.index])));
  const staleNames = new Set(servers.map((s) => s.name));
  return {
    servers,
    namespaces: facts.namespaces.filter((n) => !liveNames.has(n) && !staleNames.has(n)),
    hostVeths: facts.hostVeths.filter((i) => !liveIndexes.has(i) && !staleIndexes.has(i)),
    bridgeAddresses: facts.bridgeAddresses.filter((i) => !liveIndexes.has(i) && !staleIndexes.has(i)),
  };
}

/** SIGKILLs whatever still runs inside a server's namespace: only the remains of a server slipway booted. */
export async function killNamespaceProcesses(name: string): Promise<void> {
  const pids = await namespacePids(name);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(50);
}

/** Network, processes and state of one server that is not running; keeps a persistent server's disk. */
export async function removeServerRemains(
  paths: SandboxPaths,
  name: string,
  index: number | undefined,
  purge = false,
): Promise<void> {
  await killNamespaceProcesses(name);
  await networkDown(name, index);
  await removeServerState(paths, name);
  const persistent = (await stat(persistentRootFile(paths, name)).catch(() => undefined)) !== undefined;
  if (purge || !persistent) await rm(serverDir(paths, name), { recursive: true, force: true });
}

/** Also brings what servers share in line with who is left: the hosts files, and the bridge if no one is. */
export async function cleanLeftovers(paths: SandboxPaths, log: (line: string) => void = () => undefined): Promise<void> {
  const plan = planLeftoverCleanup({
    entries: await readRegistry(paths),
    namespaces: await sandboxNamespaces(),
    hostVeths: await sandboxHostVeths(),
    bridgeAddresses: await bridgeAddressIndexes(),
  });
  for (const server of plan.servers) {
    log(`cleaning up ${server.name}, left over by a run that crashed`);
    await removeServerRemains(paths, server.name, server.index);
  }
  for (const name of plan.namespaces) {
    log(`removing leftover network namespace slw-${name}`);
    await killNamespaceProcesses(name);
    await networkDown(name, undefined);
  }
  for (const index of plan.hostVeths) {
    log(`removing leftover interface slw${index}h`);
    await removeHostVeth(index);
  }
  for (const index of plan.bridgeAddresses) {
    log(`removing leftover address 10.77.${index}.1 from the sandbox bridge`);
    await removeBridgeAddress(index);
  }
  await syncSharedNetwork(paths);
}
