// Each server gets its own network namespace joined to the host by one veth pair: the host reaches the server at
// 10.77.N.2 and the server reaches only the host at 10.77.N.1. No route, NAT or forwarding is added, so a server
// can talk to nothing but its host (which is why the image carries every package a scenario needs).
import { readdir } from 'node:fs/promises';
import { runHost, mustRun } from './host.js';
import { hostAddress, serverAddress } from './registry.js';

export const NETNS_PREFIX = 'slw-';
export const netnsName = (name: string): string => `${NETNS_PREFIX}${name}`;
export const netnsPath = (name: string): string => `/run/netns/${netnsName(name)}`;
/** Interface names must fit in 15 characters: `slw250h` is the longest. */
export const hostVeth = (index: number): string => `slw${index}h`;
export const serverVeth = (index: number): string => `slw${index}s`;

export function networkUpCommands(name: string, index: number): string[][] {
  const ns = netnsName(name);
  const host = hostVeth(index);
  const peer = serverVeth(index);
  return [
    ['ip', 'netns', 'add', ns],
    ['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer],
    ['ip', 'link', 'set', peer, 'netns', ns],
    ['ip', 'addr', 'add', `${hostAddress(index)}/24`, 'dev', host],
    ['ip', 'link', 'set', host, 'up'],
    ['ip', '-n', ns, 'link', 'set', 'lo', 'up'],
    ['ip', '-n', ns, 'addr', 'add', `${serverAddress(index)}/24`, 'dev', peer],
    ['ip', '-n', ns, 'link', 'set', peer, 'up'],
  ];
}

/** Deleting the host end removes the pair; both commands are allowed to find nothing. */
export function networkDownCommands(name: string, index: number | undefined): string[][] {
  const commands: string[][] = [];
  if (index !== undefined) commands.push(['ip', 'link', 'del', hostVeth(index)]);
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
