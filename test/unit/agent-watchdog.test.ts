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

describe('an operation interrupted between two scripts', () => {
  it('gets its history line from the agent when the input ends without a goodbye, and none after one', async () => {
    const { mkdtempSync, readFileSync, rmSync, existsSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { pendingFromHost } = await import('../../src/ops/history.js');
    const dir = mkdtempSync(join(tmpdir(), 'slipway-pending-'));
    const files = { history: join(dir, 'history.jsonl'), pendingHistory: join(dir, 'history.pending') };
    const lock = { lockFile: join(dir, 'deploy.lock'), holderFile: join(dir, 'holder.json'), holder: { user: 'me' }, waitSeconds: 0, history: files };
    const entry = { at: 't', action: 'deploy' as const, env: 'prod', user: 'me', machine: 'm', from: 'R1', to: 'R2', sha: null, ref: 'main' };
    const pending = pendingFromHost({ ...files } as never, entry, 'web1', Date.now()).shell;
    const session = async (goodbye: boolean) => {
      const agent = spawn('bash', ['-c', agentScript('p3nd', lock)]);
      let out = '';
      await new Promise<void>((resolve) => {
        agent.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes(exitMarker('p3nd'))) resolve();
        });
        agent.stdin.write(`${Buffer.byteLength(pending)}\n${pending}`);
      });
      agent.stdin.end(goodbye ? '0\n' : undefined);
      await new Promise((resolve) => agent.on('close', resolve));
    };
    try {
      await session(true);
      expect(existsSync(files.history)).toBe(false);
      await session(false);
      const lines = readFileSync(files.history, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ ...entry, result: 'interrupted', error: 'web1: slipway went away between two steps' });
      expect(typeof lines[0]!.duration_ms).toBe('number');
      expect(existsSync(files.pendingHistory)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('an idle agent', () => {
  it('ends by itself (freeing its lock) when no heartbeat comes, and stays while they do', async () => {
    const wait = async (beatMs: number, ms: number) => {
      const agent = spawn('bash', ['-c', agentScript('1dle', undefined, 1)]);
      const beat = beatMs > 0 ? setInterval(() => agent.stdin.write('\n'), beatMs) : undefined;
      const ended = await Promise.race([new Promise((resolve) => agent.on('close', () => resolve(true))), new Promise((resolve) => setTimeout(() => resolve(false), ms))]);
      clearInterval(beat);
      agent.stdin.end();
      if (!ended) await new Promise((resolve) => agent.on('close', resolve));
      return ended;
    };
    expect(await wait(0, 3000)).toBe(true);
    expect(await wait(300, 2500)).toBe(false);
  });
});
