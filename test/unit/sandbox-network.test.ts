import { describe, expect, it } from 'vitest';
import {
  bridgeCreateCommands,
  bridgeDownCommands,
  bridgeHostIndexes,
  bridgeSettings,
  bridgeStartCommands,
} from '../../src/sandbox/bridge.js';
import {
  hostVeth,
  networkDownCommands,
  networkUpCommands,
  netnsPath,
  serverMac,
  serverVeth,
} from '../../src/sandbox/network.js';
import { liveHosts } from '../../src/sandbox/shared-network.js';
import type { ServerEntry, ServerStatus } from '../../src/sandbox/registry.js';

describe('server network', () => {
  it('joins a namespace to the bridge: 10.77.N.2/16 inside, 10.77.N.1 for the host on the bridge', () => {
    expect(networkUpCommands('web1', 7).map((c) => c.join(' '))).toEqual([
      'ip netns add slw-web1',
      'ip link add slw7h type veth peer name slw7s address 02:77:00:00:07:02',
      'ip link set slw7s netns slw-web1',
      'ip link set slw7h master slwbr0',
      'ip link set slw7h up',
      'ip addr replace 10.77.7.1/24 dev slwbr0',
      'ip -n slw-web1 link set lo up',
      'ip -n slw-web1 addr add 10.77.7.2/16 dev slw7s',
      'ip -n slw-web1 link set slw7s up',
    ]);
  });

  it('removes the veth and the host address (if its index is known) and the namespace', () => {
    expect(networkDownCommands('web1', 7).map((c) => c.join(' '))).toEqual([
      'ip link del slw7h',
      'ip addr del 10.77.7.1/24 dev slwbr0',
      'ip netns del slw-web1',
    ]);
    expect(networkDownCommands('web1', undefined).map((c) => c.join(' '))).toEqual(['ip netns del slw-web1']);
  });

  it('gives each address its own MAC, the same every time that address is handed out', () => {
    expect(serverMac(7)).toBe('02:77:00:00:07:02');
    expect(serverMac(250)).toBe('02:77:00:00:fa:02');
    expect(new Set(Array.from({ length: 250 }, (_, i) => serverMac(i + 1))).size).toBe(250);
  });

  it('keeps interface names within the kernel limit of 15 characters', () => {
    expect(hostVeth(250).length).toBeLessThanOrEqual(15);
    expect(serverVeth(250).length).toBeLessThanOrEqual(15);
  });

  it('gives nspawn the namespace path', () => {
    expect(netnsPath('web1')).toBe('/run/netns/slw-web1');
  });
});

describe('sandbox bridge', () => {
  it('is created with a fixed MAC, forwarding and IPv6 off before it comes up, holding the whole range', () => {
    expect(bridgeCreateCommands(false).map((c) => c.join(' '))).toEqual(['ip link add slwbr0 address 02:77:00:00:00:01 type bridge']);
    expect(bridgeSettings).toEqual([
      { file: '/proc/sys/net/ipv4/conf/slwbr0/forwarding', value: '0' },
      { file: '/proc/sys/net/ipv6/conf/slwbr0/disable_ipv6', value: '1' },
    ]);
    expect(bridgeStartCommands().map((c) => c.join(' '))).toEqual(['ip addr replace 10.77.0.1/16 dev slwbr0', 'ip link set slwbr0 up']);
  });

  it('is completed, not created again, when it exists; deleted with everything on it', () => {
    expect(bridgeCreateCommands(true)).toEqual([]);
    expect(bridgeDownCommands()).toEqual([['ip', 'link', 'del', 'slwbr0']]);
  });

  it('finds the per-server host addresses on it, not its own /16 or foreign ones', () => {
    const json = JSON.stringify([
      {
        ifname: 'slwbr0',
        addr_info: [
          { family: 'inet', local: '10.77.0.1', prefixlen: 16 },
          { family: 'inet', local: '10.77.3.1', prefixlen: 24 },
          { family: 'inet', local: '10.77.12.1', prefixlen: 24 },
          { family: 'inet', local: '10.77.4.9', prefixlen: 24 },
          { family: 'inet', local: '192.0.2.1', prefixlen: 24 },
        ],
      },
    ]);
    expect(bridgeHostIndexes(json)).toEqual([3, 12]);
    expect(bridgeHostIndexes('')).toEqual([]);
    expect(bridgeHostIndexes('not json')).toEqual([]);
  });
});

describe('names every server knows', () => {
  const entry = (name: string, index: number, status: ServerStatus): ServerEntry => ({
    name,
    status,
    state: {
      name,
      index,
      address: `10.77.${index}.2`,
      image: 'bookworm',
      rootDir: '/img',
      persist: false,
      pid: null,
      ownerPid: 1,
      startedAt: '2025-01-01T00:00:00Z',
      readyAt: null,
    },
  });

  it('are the running and booting servers, not stale or stopped ones', () => {
    const entries = [
      entry('db1', 2, 'running'),
      entry('gone', 3, 'stale'),
      { name: 'kept', status: 'stopped' as const, state: undefined },
      entry('web1', 1, 'booting'),
    ];
    expect(liveHosts(entries)).toEqual([
      { name: 'db1', address: '10.77.2.2', offline: false },
      { name: 'web1', address: '10.77.1.2', offline: false },
    ]);
  });

  it('say which of them reach no package source', () => {
    const offline = entry('db1', 2, 'running');
    offline.state = { ...offline.state!, offline: true };
    expect(liveHosts([offline, entry('web1', 1, 'running')]).map((s) => s.offline)).toEqual([true, false]);
  });
});
