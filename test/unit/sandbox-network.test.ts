import { describe, expect, it } from 'vitest';
import { hostVeth, networkDownCommands, networkUpCommands, netnsPath, serverVeth } from '../../src/sandbox/network.js';

describe('server network', () => {
  it('creates a namespace and a veth pair with 10.77.N.1 on the host and 10.77.N.2 inside', () => {
    expect(networkUpCommands('web1', 7).map((c) => c.join(' '))).toEqual([
      'ip netns add slw-web1',
      'ip link add slw7h type veth peer name slw7s',
      'ip link set slw7s netns slw-web1',
      'ip addr add 10.77.7.1/24 dev slw7h',
      'ip link set slw7h up',
      'ip -n slw-web1 link set lo up',
      'ip -n slw-web1 addr add 10.77.7.2/24 dev slw7s',
      'ip -n slw-web1 link set slw7s up',
    ]);
  });

  it('removes the veth (if its index is known) and the namespace', () => {
    expect(networkDownCommands('web1', 7).map((c) => c.join(' '))).toEqual(['ip link del slw7h', 'ip netns del slw-web1']);
    expect(networkDownCommands('web1', undefined).map((c) => c.join(' '))).toEqual(['ip netns del slw-web1']);
  });

  it('keeps interface names within the kernel limit of 15 characters', () => {
    expect(hostVeth(250).length).toBeLessThanOrEqual(15);
    expect(serverVeth(250).length).toBeLessThanOrEqual(15);
  });

  it('gives nspawn the namespace path', () => {
    expect(netnsPath('web1')).toBe('/run/netns/slw-web1');
  });
});
