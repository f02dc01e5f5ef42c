import { describe, expect, it } from 'vitest';
import { table } from '../../src/cli/output.js';
import { Redactor } from '../../src/execute/redact.js';

describe('Redactor', () => {
  it('replaces every occurrence of every secret, the longest first', () => {
    const r = new Redactor(['hunter2', 'hunter2-long', '', 'hunter2']);
    expect(r.redact('pw=hunter2-long other=hunter2 again hunter2')).toBe('pw=*** other=*** again ***');
  });

  it('treats secrets as text, not patterns', () => {
    expect(new Redactor(['a.b*c$(x)']).redact('value a.b*c$(x) and aXbbc')).toBe('value *** and aXbbc');
  });

  it('leaves text alone without secrets', () => {
    expect(new Redactor([]).redact('nothing to hide')).toBe('nothing to hide');
  });
});

describe('table', () => {
  it('pads every column but the last and trims trailing space', () => {
    expect(
      table([
        ['HOST', '', 'RELEASE', 'STATUS'],
        ['web1', '*', 'r2', 'ok'],
        ['web10', '', 'r1', ''],
      ]),
    ).toBe(['HOST      RELEASE  STATUS', 'web1   *  r2       ok', 'web10     r1'].join('\n'));
    expect(table([])).toBe('');
  });
});
