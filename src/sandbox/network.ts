// Each server gets its own network namespace joined by one veth pair to the sandbox bridge (bridge.ts): the
// server is 10.77.N.2/16, so every other server is on its link, and the host answers on the bridge at 10.77.N.1,
// the address this server has always known its host by. No default route, NAT or forwarding is added, so a
// server talks to other servers and to its host only (which is why the image carries every package a scenario needs).
import { readdir } from 'node:fs/promises';
import { BRIDGE } from './bridge.js';
import { runHost, mustRun } from './host.js';
import { hostAddress, serverAddress } from './registry.js';

export const NETNS_PREFIX = 'slw-';
export const netnsName = (name: string): string => `${NETNS_PREFIX}${name}`;
export const netnsPath = (name: string): string => `/run/netns/${netnsName(name)}`;
/** Interface names must fit in 15 characters: `slw250h` is the longest. */
export const hostVeth = (index: number): string => `slw${index}h`;
export const serverVeth = (index: number): string => `slw${index}s`;
/**
 * The server's MAC follows from its address, so a server booted later at a freed address has the MAC the host and
 * the other servers still hold in their ARP caches: no lookups stalling on an entry for a server that is gone.
 */
export const serverMac = (index: number): string => `02:77:00:00:${index.toString(16).padStart(2, '0')}:02`;

/**
 * The host address goes on the bridge as a /24 so that the host still talks to server N from 10.77.N.1, as before
 * the bridge. The bridge must exist (ensureBridge, under the registry lock).
 */
export function networkUpCommands(name: string, index: number): string[][] {
  const ns = netnsName(name);
  const host = hostVeth(index);
  const peer = serverVeth(index);
  return [
    ['ip', 'netns', 'add', ns],
    ['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer, 'address', serverMac(index)],
    ['ip', 'link', 'set', peer, 'netns', ns],
    ['ip', 'link', 'set', host, 'master', BRIDGE],
    ['ip', 'link', 'set', host, 'up'],
    ['ip', 'addr', 'replace', `${hostAddress(index)}/24`, 'dev', BRIDGE],
    ['ip', '-n', ns, 'link', 'set', 'lo', 'up'],
    ['ip', '-n', ns, 'addr', 'add', `${serverAddress(index)}/16`, 'dev', peer],
    ['ip', '-n', ns, 'link', 'set', peer, 'up'],
  ];
}

const bridgeAddressDelete = (index: number): string[] => [
  'ip', 'addr', 'del', `${hostAddress(index)}/24`, 'dev', BRIDGE,
];

/** Deleting the host end removes the pair; every command is allowed to find nothing. */
export function networkDownCommands(name: string, index: number | undefined): string[][] {
  const commands: string[][] = [];
  if (index !== undefined) commands.push(['ip', 'link', 'del', hostVeth(index)], bridgeAddressDelete(index));
  commands.push(['ip', 'netns', 'del', netnsName(name)]);
  return commands;
}

export async function networkUp(name: string, index: number): Promise<void> {
  for (const argv of networkUpCommands(name, index)) await mustRun(`network for ${name}`, argv);
}

export async function networkDown(name: string, index: number | undefined): Promise<void> {
  for (const argv of networkDownCommands(name, index)) await runHost(argv);
}

/** Deletes a leftover host veth found by index alone (its server's state may be gone). */
export async function removeHostVeth(index: number): Promise<void> {
  await runHost(['ip', 'link', 'del', hostVeth(index)]);
}

/** Deletes a leftover host address 10.77.N.1 from the bridge, found by index alone. */
export async function removeBridgeAddress(index: number): Promise<void> {
  await runHost(bridgeAddressDelete(index));
}

/** Server names that have a namespace on this host. */
export async function sandboxNamespaces(): Promise<string[]> {
  const names = await readdir('/run/netns').catch(() => []);
  return names.filter((n) => n.startsWith(NETNS_PREFIX)).map((n) => n.slice(NETNS_PREFIX.length));
}

/** Indexes N of host-side sandbox veths (`slwNh`) present on this host. */
export async function sandboxHostVeths(): Promise<number[]> {
  const links = await readdir('/sys/class/net').catch(() => []);
  return links.flatMap((l) => {
    const m = l.match(/^slw(\d+)h$/);
    return m?.[1] ? [Number(m[1])] : [];
  });
}

/** Pids of every process inside a server's namespace (`ip netns pids`): what a crashed run left running. */
export async function namespacePids(name: string): Promise<number[]> {
  const result = await runHost(['ip', 'netns', 'pids', netnsName(name)]);
  if (result.code !== 0) return [];
  return result.stdout.split(/\s+/).filter(Boolean).map(Number).filter(Number.isInteger);
}
