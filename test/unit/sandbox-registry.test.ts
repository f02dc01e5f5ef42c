import { describe, expect, it } from 'vitest';
import { allocateIndex, isValidServerName, serverAddress } from '../../src/sandbox/registry.js';

describe('address allocation', () => {
  it('takes the lowest free index from 1', () => {
    expect(allocateIndex([])).toBe(1);
    expect(allocateIndex([1, 2, 4])).toBe(3);
    expect(allocateIndex([2, 3])).toBe(1);
  });

  it('fails when all 250 are taken', () => {
    const all = Array.from({ length: 250 }, (_, i) => i + 1);
    expect(() => allocateIndex(all)).toThrow(/all 250/);
    expect(allocateIndex(all.slice(0, 249))).toBe(250);
  });

  it('maps an index to the server address', () => {
    expect(serverAddress(12)).toBe('10.77.12.2');
  });
});

describe('server names', () => {
  it('accepts hostname-like names', () => {
    for (const name of ['web1', 'db', 'e2e-sb1', 'a'.repeat(31)]) expect(isValidServerName(name)).toBe(true);
  });
  it('rejects others', () => {
    for (const name of ['', 'Web1', '1web', 'web_1', 'web.1', 'web-', 'a'.repeat(32), '../x']) {
      expect(isValidServerName(name)).toBe(false);
    }
  });
});
