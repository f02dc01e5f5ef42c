// What all servers share follows the set of live (running or booting) servers: the bridge exists while there is
// one, and every live server's hosts file names all of them. Run under the registry lock by every leftover sweep
// (so at every up and down) and when up claims a name, so servers booted later and servers removed show up everywhere.
import { ensureBridge, removeBridge } from './bridge.js';
import { writeHostsBlock, type HostsEntry } from './hosts-file.js';
import { serverHostsFile, type SandboxPaths } from './paths.js';
import { readRegistry, type ServerEntry } from './registry.js';

/** Pure: the servers every hosts file lists, in the registry's (name) order. */
export function liveHosts(entries: readonly ServerEntry[]): HostsEntry[] {
  return entries.flatMap((e) =>
    e.state && (e.status === 'running' || e.status === 'booting') ? [{ name: e.name, address: e.state.address }] : [],
  );
}

export async function syncSharedNetwork(paths: SandboxPaths): Promise<void> {
  const live = liveHosts(await readRegistry(paths));
  if (live.length === 0) {
    await removeBridge();
    return;
  }
  await ensureBridge();
  for (const server of live) await writeHostsBlock(serverHostsFile(paths, server.name), live);
}
