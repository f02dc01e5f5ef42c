// A script's output through a real local agent: bounded in memory however much a script prints.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { OUTPUT_LIMITS } from '../../src/execute/agent-output.js';
import { AgentSession } from '../../src/execute/agent-session.js';
import { Redactor } from '../../src/execute/redact.js';

describe('agent output', () => {
  it('keeps the last lines and cuts a line without end, so memory stays bounded', async () => {
    const session = await AgentSession.start('local', new Redactor([]), undefined, (bootstrap) => spawn('bash', ['-c', bootstrap], { stdio: 'pipe' }));
    try {
      const many = await session.run(`seq 1 ${OUTPUT_LIMITS.lines * 2}; echo last`);
      expect(many.code).toBe(0);
      expect(many.lines.length).toBeLessThanOrEqual(OUTPUT_LIMITS.lines * 1.1);
      expect(many.lines.at(-1)).toBe('last');
      const endless = await session.run(`head -c ${OUTPUT_LIMITS.lineChars * 3} /dev/zero | tr '\\0' x; echo; echo after`);
      expect(endless.code).toBe(0);
      expect(Math.max(...endless.lines.map((l) => l.length))).toBeLessThanOrEqual(OUTPUT_LIMITS.lineChars + 6);
      expect(endless.lines.at(-1)).toBe('after');
    } finally {
      await session.close();
    }
  }, 20_000);
});
