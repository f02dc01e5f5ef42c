// The remote agent by a real bash: a script is stopped when slipway goes silent (a partition ssh has not noticed
// yet) as when its input ends, and heartbeats keep a long script running.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { agentScript, exitMarker } from '../../src/ops/agent.js';

/** Runs one script through the agent (silence limit 1 s), sending a heartbeat every `beatMs` (none if 0). */
async function runThroughAgent(script: string, beatMs: number): Promise<{ rc: number; out: string; ms: number }> {
  const started = Date.now();
  const agent = spawn('bash', ['-c', agentScript('t3st', undefined, 1)]);
  let out = '';
  const beat = beatMs > 0 ? setInterval(() => agent.stdin.write('\n'), beatMs) : undefined;
  const rc = await new Promise<number>((resolve) => {
    agent.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = new RegExp(`${exitMarker('t3st')} (\\d+)`).exec(out);
      if (m) resolve(Number(m[1]));
    });
    agent.stdin.write(`${Buffer.byteLength(script)}\n${script}`);
  });
  clearInterval(beat);
  agent.stdin.end();
  await new Promise((resolve) => agent.on('close', resolve));
  return { rc, out, ms: Date.now() - started };
}

describe('agent watchdog', () => {
  it('stops a script after a second without a heartbeat', async () => {
    const { rc, out } = await runThroughAgent("trap 'echo stopped; exit 143' TERM; echo started; for i in 1 2 3 4 5 6; do sleep 0.5; done; echo finished", 0);
    expect(rc).toBe(143);
    expect(out).toContain('started');
    expect(out).toContain('stopped');
    expect(out).not.toContain('finished');
  });

  it('lets a script outlive the silence limit while heartbeats come, and ignores heartbeats between scripts', async () => {
    const { rc, out } = await runThroughAgent('echo started; sleep 2.5; echo finished', 300);
    expect(rc).toBe(0);
    expect(out).toContain('finished');
  });
});
