// The example app's graceful stop, run for real with this machine's python3: on SIGTERM it reports not ready
// (503 on /health) while still answering, then exits by itself.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const APP = join(import.meta.dirname, '../../examples/hello-app/app.py');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: response.status, body: await response.text() };
}

async function until<T>(probe: () => Promise<T>, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('examples/hello-app', () => {
  it('answers 503 on /health after SIGTERM while it drains, serves pages meanwhile, then exits', async () => {
    const port = await freePort();
    const app = spawn('python3', [APP], { env: { ...process.env, PORT: String(port), DRAIN_SECONDS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    app.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => app.once('exit', (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      expect(await until(() => get(`${base}/health`), 'the app to start')).toEqual({ status: 200, body: 'ok\n' });
      app.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      expect(await get(`${base}/health`)).toEqual({ status: 503, body: 'draining\n' });
      expect((await get(`${base}/`)).status).toBe(200);
      expect(await exited).toBe(0);
      expect(output).toContain('hello stopped after draining');
    } finally {
      if (app.exitCode === null && app.pid) process.kill(app.pid, 'SIGKILL');
    }
  });
});
