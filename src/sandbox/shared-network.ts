// What all servers share follows the set of live (running or booting) servers: the bridge and the package proxy
// exist while there is one, every live server's hosts file names all of them, and its host-access directory
// points at the proxy (or says it is offline). Run under the registry lock by every leftover sweep (so at every
// up and down) and when up claims a name, so servers booted later and servers removed show up everywhere.
import { ensureBridge, removeBridge } from './bridge.js';
import { writeHostAccess } from './host-access.js';
import { writeHostsBlock, type HostsEntry } from './hosts-file.js';
import { serverHostAccessDir, serverHostsFile, type SandboxPaths } from './paths.js';
import { ensureProxy, stopProxy } from './proxy-process.js';
import { readRegistry, type ServerEntry } from './registry.js';

export interface LiveServer extends HostsEntry {
  offline: boolean;
}

/** Pure: the servers every hosts file lists, in the registry's (name) order. */
export function liveHosts(entries: readonly ServerEntry[]): LiveServer[] {
  return entries.flatMap((e) =>
    e.state && (e.status === 'running' || e.status === 'booting')
      ? [{ name: e.name, address: e.state.address, offline: e.state.offline === true }]
      : [],
  );
}

export async function syncSharedNetwork(paths: SandboxPaths): Promise<void> {
  const live = liveHosts(await readRegistry(paths));
  if (live.length === 0) {
    await stopProxy(paths);
    await removeBridge();
    return;
  }
  await ensureBridge();
  const hosts = live.map(({ name, address }) => ({ name, address }));
  const proxy = await ensureProxy(paths, live.filter((s) => !s.offline).map((s) => s.address));
  for (const server of live) {
    await writeHostsBlock(serverHostsFile(paths, server.name), hosts);
    await writeHostAccess(serverHostAccessDir(paths, server.name), server.offline ? undefined : proxy);
  }
}
