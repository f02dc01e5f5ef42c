// The one host bridge every sandbox server's host-side veth is a port of, so servers reach each other directly
// (one layer-2 segment, 10.77.0.0/16) and the host holds its addresses on it. It exists while at least one server
// is up or booting: the first `up` creates it and the `down` (or cleanup) that leaves no server removes it.
import { stat, writeFile } from 'node:fs/promises';
import { mustRun, runHost } from './host.js';

export const BRIDGE = 'slwbr0';
/**
 * Set explicitly, so the kernel never gives the bridge the MAC of one of its ports: that MAC would change as
 * servers come and go, and every server's ARP entry for the host would point at a port that is gone.
 */
export const BRIDGE_MAC = '02:77:00:00:00:01';
/**
 * The whole sandbox range, on the bridge: while any server is up, the host's packets for any 10.77 address stay
 * on the bridge instead of following the default route off this machine. Index 0 is never a server's.
 */
export const BRIDGE_NETWORK_ADDRESS = '10.77.0.1/16';

/** Only when missing; the settings and start commands after it are idempotent, completing a half-made bridge. */
export function bridgeCreateCommands(exists: boolean): string[][] {
  return exists ? [] : [['ip', 'link', 'add', BRIDGE, 'address', BRIDGE_MAC, 'type', 'bridge']];
}

/**
 * Written before the bridge comes up. Forwarding off on the bridge: the host never routes a server's packets
 * anywhere, even where it forwards for others (Docker, VMs). Setting the global ip_forward resets it, so it is
 * written again at every up and down. IPv6 off on the host side: no IPv6 route through the host either. Files
 * rather than sysctl(8), which would be one more program to require.
 */
export const bridgeSettings: readonly { file: string; value: string }[] = [
  { file: `/proc/sys/net/ipv4/conf/${BRIDGE}/forwarding`, value: '0' },
  { file: `/proc/sys/net/ipv6/conf/${BRIDGE}/disable_ipv6`, value: '1' },
];

export function bridgeStartCommands(): string[][] {
  return [
    ['ip', 'addr', 'replace', BRIDGE_NETWORK_ADDRESS, 'dev', BRIDGE],
    ['ip', 'link', 'set', BRIDGE, 'up'],
  ];
}

/** Deleting the bridge takes its addresses and routes with it; allowed to find nothing. */
export function bridgeDownCommands(): string[][] {
  return [['ip', 'link', 'del', BRIDGE]];
}

/** Indexes N of the per-server host addresses 10.77.N.1/24 in `ip -j -4 addr show dev slwbr0` output. */
export function bridgeHostIndexes(ipJson: string): number[] {
  let links: { addr_info?: { local?: string; prefixlen?: number }[] }[];
  try {
    links = JSON.parse(ipJson || '[]') as typeof links;
  } catch {
    return [];
  }
  return links.flatMap((link) =>
    (link.addr_info ?? []).flatMap((a) => {
      const m = a.local?.match(/^10\.77\.(\d+)\.1$/);
      return m?.[1] && a.prefixlen === 24 && Number(m[1]) > 0 ? [Number(m[1])] : [];
    }),
  );
}

export async function bridgeExists(): Promise<boolean> {
  return (await stat(`/sys/class/net/${BRIDGE}`).catch(() => undefined)) !== undefined;
}

export async function ensureBridge(): Promise<void> {
  for (const argv of bridgeCreateCommands(await bridgeExists())) await mustRun('the sandbox bridge', argv);
  for (const { file, value } of bridgeSettings) {
    await writeFile(file, `${value}\n`).catch((err: NodeJS.ErrnoException) => {
      if (!(err.code === 'ENOENT' && file.includes('/ipv6/'))) throw err; // a host without IPv6
    });
  }
  for (const argv of bridgeStartCommands()) await mustRun('the sandbox bridge', argv);
}

export async function removeBridge(): Promise<void> {
  if (!(await bridgeExists())) return;
  for (const argv of bridgeDownCommands()) await runHost(argv);
}

/** Indexes of the servers whose host address is on the bridge: after a crash, some may belong to no server. */
export async function bridgeAddressIndexes(): Promise<number[]> {
  if (!(await bridgeExists())) return [];
  const result = await runHost(['ip', '-j', '-4', 'addr', 'show', 'dev', BRIDGE]);
  return result.code === 0 ? bridgeHostIndexes(result.stdout) : [];
}
