import { describe, expect, it } from 'vitest';
import { promotedFrom, promotionSource } from '../../src/plan/promotion.js';
import type { HostStatus } from '../../src/plan/status.js';

const SHA = 'a'.repeat(40);
const host = (name: string, current: Partial<NonNullable<HostStatus['current']>> | null = {}, health: HostStatus['health'] = { url: 'http://127.0.0.1:8000/health', status: 200, expected: 200, ok: true }): HostStatus => ({
  host: name,
  root: '/opt/shop',
  current: current === null ? null : { id: `20261203T080000.000Z-${SHA.slice(0, 7)}`, status: 'ok', sha: SHA, ref: 'main', deployed_by: 'ann@laptop', created_at: null, age_seconds: 60, ...current },
  releases: 1,
  process_manager: 'systemd',
  units: [],
  health,
  disk_kb: { releases: null, venvs: null, node_modules: null, backups: null },
  last: null,
  lock: { state: 'free', holder: null },
});

describe('what promote ships', () => {
  it('is the commit live, ok and healthy on every server of the source environment', () => {
    const source = promotionSource('staging', [host('stg1'), host('stg2')]);
    expect(source).toEqual({ env: 'staging', release: `20261203T080000.000Z-${SHA.slice(0, 7)}`, sha: SHA, ref: 'main' });
    expect(promotedFrom(source)).toBe(`staging 20261203T080000.000Z-${SHA.slice(0, 7)}`);
  });

  it('is refused, with the reason, when any server is not so', () => {
    const refusal = (hosts: HostStatus[]) => {
      try {
        promotionSource('staging', hosts);
      } catch (err) {
        return (err as Error).message;
      }
      return 'not refused';
    };
    expect(refusal([host('stg1'), host('stg2', null)])).toBe('cannot promote from staging: stg2 has no live release');
    expect(refusal([host('stg1', { status: 'bad' })])).toBe(`cannot promote from staging: stg1's live release 20261203T080000.000Z-${SHA.slice(0, 7)} is bad, not ok`);
    expect(refusal([host('stg1', {}, { url: 'http://127.0.0.1:8000/health', status: 503, expected: 200, ok: false })])).toBe('cannot promote from staging: stg1 fails its health check now (http://127.0.0.1:8000/health answered 503, expected 200)');
    expect(refusal([host('stg1', {}, { url: 'http://127.0.0.1:8000/health', status: null, expected: 200, ok: false })])).toMatch(/answered nothing/);
    expect(refusal([host('stg1'), host('stg2', { sha: 'b'.repeat(40) })])).toBe('cannot promote from staging: its servers run different commits (stg1: aaaaaaa, stg2: bbbbbbb)');
    expect(refusal([])).toBe('cannot promote from staging: it has no servers');
  });

  it('takes a server without a health check at its release status alone', () => {
    expect(promotionSource('staging', [host('stg1', {}, null)]).sha).toBe(SHA);
  });
});
