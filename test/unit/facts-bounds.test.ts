// What a host reports is bounded and checked before any of it becomes a path in a command.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { FACTS_LIMITS, parseFacts } from '../../src/plan/facts.js';

const SHA = 'a'.repeat(40);
const manifest = (extra: Record<string, unknown>) => JSON.stringify({ id: 'R1', sha: SHA, ref: 'main', config_hash: 'h', deployed_by: 'me', created_at: 't', ...extra });

describe('facts from a host', () => {
  it('ignores names that could leave their directory or pass for an option', () => {
    const facts = parseFacts(['release .. ok', 'release -rf ok', 'release R1 ok', 'venv ../../etc', 'venv abcdef012345', 'unit ../x.service h', 'current /opt/shop/releases/..'].join('\n'));
    expect(facts.releases.map((r) => r.id)).toEqual(['R1']);
    expect(facts.venvs).toEqual(['abcdef012345']);
    expect(facts.units).toEqual({});
    expect(facts.current).toBeUndefined();
  });

  it('drops a manifest whose fields do not have their form, keeping the release listed', () => {
    for (const bad of [{ venv: '../../home' }, { units: ['a/b.service'] }, { sha: 'not-a-sha' }, { health: { url: 'http://evil:80/' } }]) {
      const facts = parseFacts(['release R1 ok', `manifest R1 ${manifest(bad)}`].join('\n'));
      expect(facts.releases).toEqual([{ id: 'R1', status: 'ok' }]);
    }
    const good = parseFacts(['release R1 ok', `manifest R1 ${manifest({ venv: 'abcdef012345', units: ['shop-web.service'] })}`].join('\n'));
    expect(good.releases[0]!.manifest?.venv).toBe('abcdef012345');
  });

  it('refuses output past its bounds with a one-line error naming the line', () => {
    const long = `manifest R1 ${'x'.repeat(FACTS_LIMITS.lineBytes)}`;
    expect(() => parseFacts(`release R1 ok\n${long}`, 'web1: the facts probe')).toThrow(UserError);
    expect(() => parseFacts(`release R1 ok\n${long}`, 'web1: the facts probe')).toThrow(`web1: the facts probe: line 2: longer than ${FACTS_LIMITS.lineBytes} bytes`);
    expect(() => parseFacts('venv abcdef\n'.repeat(FACTS_LIMITS.lines))).toThrow(/more than the 50000 a host's state can have/);
  });
});

describe('the last operation on a host', () => {
  it('is reported by the next command when the host had to finish it alone, in printable text only', async () => {
    const { lastOperationNotes } = await import('../../src/plan/last-operation.js');
    const line = (extra: Record<string, unknown>) => `last-operation ${JSON.stringify({ at: '2026-12-01T10:00:00Z', action: 'deploy', user: 'ann', machine: 'lap\u001b[31m', to: 'R2', ...extra })}`;
    expect(lastOperationNotes(parseFacts(line({ result: 'interrupted', outcome: 'kept' })))).toEqual([
      'the last deploy (by ann@lap?[31m at 2026-12-01T10:00:00Z) was interrupted: the host kept the new release (it had passed its checks); R2',
    ]);
    expect(lastOperationNotes(parseFacts(line({ result: 'interrupted' }))))
      .toEqual(['the last deploy (by ann@lap?[31m at 2026-12-01T10:00:00Z) was interrupted: slipway went away between two steps; R2']);
    expect(lastOperationNotes(parseFacts(line({ result: 'ok' })))).toEqual([]);
    expect(lastOperationNotes(parseFacts('last-operation {torn'))).toEqual([]);
  });
});
