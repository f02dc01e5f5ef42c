import { describe, expect, it } from 'vitest';
import { runLocal } from '../../src/execute/deployer.js';

describe('programs run on this machine', () => {
  it('a program that is not installed is exit 127 with spawn\'s ENOENT; one that outlasts its time limit is killed, exit 124', async () => {
    const missing = await runLocal({ argv: ['no-such-program-slipway-zq'] });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('ENOENT');
    expect((await runLocal({ argv: ['sleep', '5'] }, {}, 300)).code).toBe(124);
    expect((await runLocal({ argv: ['true'] }, {}, 5000)).code).toBe(0);
  });
});
