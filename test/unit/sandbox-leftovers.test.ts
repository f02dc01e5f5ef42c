import { describe, expect, it } from 'vitest';
import { planLeftoverCleanup } from '../../src/sandbox/leftovers.js';
import type { ServerEntry, ServerState, ServerStatus } from '../../src/sandbox/registry.js';

function entry(name: string, index: number, status: ServerStatus): ServerEntry {
  const state: ServerState = {
    name,
    index,
    address: `10.77.${index}.2`,
    image: 'bookworm',
    rootDir: '/img',
    persist: false,
    pid: 100 + index,
    ownerPid: 1,
    startedAt: '2025-01-01T00:00:00Z',
    readyAt: null,
  };
  return { name, status, state };
}

describe('leftover cleanup plan', () => {
  it('keeps everything of running and booting servers', () => {
    const plan = planLeftoverCleanup({
      entries: [entry('web1', 1, 'running'), entry('web2', 2, 'booting')],
      namespaces: ['web1', 'web2'],
      hostVeths: [1, 2],
      bridgeAddresses: [1, 2],
    });
    expect(plan).toEqual({ servers: [], namespaces: [], hostVeths: [], bridgeAddresses: [] });
  });

  it('removes stale servers, and namespaces, veths and bridge addresses that belong to no live server', () => {
    const plan = planLeftoverCleanup({
      entries: [entry('web1', 1, 'running'), entry('old', 3, 'stale'), { name: 'db', status: 'stopped', state: undefined }],
      namespaces: ['web1', 'old', 'ghost'],
      hostVeths: [1, 3, 9],
      bridgeAddresses: [1, 3, 9, 12],
    });
    expect(plan).toEqual({
      servers: [{ name: 'old', index: 3 }],
      namespaces: ['ghost'],
      hostVeths: [9],
      bridgeAddresses: [9, 12],
    });
  });

  it('removes a server directory without a state file', () => {
    const plan = planLeftoverCleanup({ entries: [{ name: 'torn', status: 'stale', state: undefined }], namespaces: [], hostVeths: [], bridgeAddresses: [] });
    expect(plan.servers).toEqual([{ name: 'torn', index: undefined }]);
  });
});
