// The listener check by a real bash, ss and /proc against a real listening process on loopback: a process
// outside the given units is named as a stranger; a check that needs a listener fails when there is none.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenerCheck } from '../../src/ops/ports.js';
import { systemdOwns } from '../../src/ops/systemd-manager.js';

// As host scripts run: strict mode.
const bash = (script: string) => spawnSync('bash', ['-c', `set -euo pipefail\n${script}`], { encoding: 'utf8' });
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe('listener check', () => {
  let stranger: ChildProcess;
  let held: number;
  let free: number;
  beforeAll(async () => {
    held = await freePort();
    free = await freePort();
    stranger = spawn('python3', ['-c', `import socket,time; s=socket.socket(); s.bind(("127.0.0.1", ${held})); s.listen(); print("up", flush=True); time.sleep(60)`]);
    await new Promise<void>((resolve) => stranger.stdout!.once('data', () => resolve()));
  });
  afterAll(() => {
    stranger.kill('SIGTERM');
  });

  it('names a process outside the units that holds the port, and fails', () => {
    const result = bash(listenerCheck({ port: held, units: ['zz-shop-web.service'], owns: systemdOwns, mustListen: false }).shell);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`port ${held} is held by a process slipway did not start (not zz-shop-web.service):`);
    expect(result.stdout).toContain(`  ${stranger.pid} `);
    expect(result.stdout).toContain('import socket');
    expect(result.stdout).toContain('stop it, or give the process another port');
  });

  it('passes a free port, unless a listener of the unit is required', () => {
    expect(bash(listenerCheck({ port: free, units: ['zz-shop-web.service'], owns: systemdOwns, mustListen: false }).shell).status).toBe(0);
    const required = bash(listenerCheck({ port: free, units: ['zz-shop-web.service'], owns: systemdOwns, mustListen: true }).shell);
    expect(required.status).toBe(1);
    expect(required.stdout).toBe(`nothing of zz-shop-web.service listens on port ${free}\n`);
  });
});
