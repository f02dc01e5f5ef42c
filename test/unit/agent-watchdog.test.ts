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
  const setup = async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { pendingFromHost, clearPending } = await import('../../src/ops/history.js');
    const dir = mkdtempSync(join(tmpdir(), 'slipway-pending-'));
    const files = { history: join(dir, 'history.jsonl'), pendingHistory: join(dir, 'history.pending') };
    const lock = { lockFile: join(dir, 'deploy.lock'), holderFile: join(dir, 'holder.json'), holder: { user: 'me' }, waitSeconds: 0, history: files };
    const entry = { at: 't', action: 'deploy' as const, env: 'prod', user: 'me', machine: 'm', from: 'R1', to: 'R2', sha: null, ref: 'main' };
    const pending = pendingFromHost({ ...files } as never, entry, 'web1', Date.now()).shell;
    return { dir, files, lock, entry, pending, clear: clearPending(files as never).shell };
  };
  type Setup = Awaited<ReturnType<typeof setup>>;
  /**
   * One agent session running `script`. `end`: `goodbye` (slipway is done), `eof` (gone after the script
   * answered), `vanish` (gone while the script runs: its output closed too, so the agent's next write fails).
   */
  const session = async (t: Setup, script: string, end: 'goodbye' | 'eof' | 'vanish') => {
    const agent = spawn('bash', ['-c', agentScript('p3nd', t.lock)]);
    let out = '';
    await new Promise<void>((resolve) => {
      agent.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (end === 'vanish' ? out.includes('started') : out.includes(exitMarker('p3nd'))) resolve();
      });
      agent.stdin.write(`${Buffer.byteLength(script)}\n${script}`);
    });
    if (end === 'vanish') agent.stdout.destroy();
    agent.stdin.end(end === 'goodbye' ? '0\n' : undefined);
    return new Promise<number | null>((resolve) => agent.on('close', resolve));
  };
  const historyOf = async (t: Setup) => {
    const { readFileSync, existsSync } = await import('node:fs');
    if (!existsSync(t.files.history)) return [];
    return readFileSync(t.files.history, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  const cleanUp = async (t: Setup) => (await import('node:fs')).rmSync(t.dir, { recursive: true, force: true });

  it('gets its history line from the agent when the input ends without a goodbye, and none after one', async () => {
    const t = await setup();
    try {
      // As slipway does: its own history line clears the pending one before the goodbye.
      await session(t, `${t.pending}\n${t.clear}`, 'goodbye');
      expect(await historyOf(t)).toEqual([]);
      await session(t, t.pending, 'eof');
      const lines = await historyOf(t);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ ...t.entry, result: 'interrupted', error: 'web1: slipway went away between two steps' });
      expect(typeof lines[0]!.duration_ms).toBe('number');
      expect((await import('node:fs')).existsSync(t.files.pendingHistory)).toBe(false);
    } finally {
      await cleanUp(t);
    }
  });

  it('finishes the line when slipway vanished during the last script, whose answer then has nowhere to go', async () => {
    const t = await setup();
    try {
      // The agent's write of the exit code raises SIGPIPE: the agent must outlive it.
      await session(t, `${t.pending}\necho started\nsleep 0.3`, 'vanish');
      expect(await historyOf(t)).toMatchObject([{ ...t.entry, result: 'interrupted' }]);
    } finally {
      await cleanUp(t);
    }
  });

  it('a line an earlier agent left unfinished goes into history when the next operation takes the lock', async () => {
    const { writeFileSync, utimesSync } = await import('node:fs');
    const t = await setup();
    try {
      // A server that lost power between two scripts: the pending line stays, its agent is gone.
      const started = Date.now() - 60_000;
      const line = `${JSON.stringify({ ...t.entry, result: 'interrupted', duration_ms: 0 }).slice(0, -2)}`;
      writeFileSync(t.files.pendingHistory, `${line}\n${started}\n`);
      utimesSync(t.files.pendingHistory, new Date(started + 5000), new Date(started + 5000));
      await session(t, t.clear, 'goodbye');
      const lines = await historyOf(t);
      expect(lines).toMatchObject([{ ...t.entry, result: 'interrupted' }]);
      // Its duration ends when the line was last written, not at the next operation.
      expect(lines[0]!.duration_ms).toBeGreaterThanOrEqual(4000);
      expect(lines[0]!.duration_ms).toBeLessThanOrEqual(6000);
    } finally {
      await cleanUp(t);
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
