import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { formatServerTable, formatUp, formatUptime, registerSandbox } from '../../src/cli/sandbox.js';
import { UserError } from '../../src/errors.js';
import type { SandboxServer } from '../../src/sandbox/index.js';

const server: SandboxServer = {
  name: 'web1',
  address: '10.77.1.2',
  status: 'running',
  image: 'bookworm',
  persist: false,
  offline: false,
  pid: 42,
  startedAt: '2025-01-01T00:00:00Z',
  uptimeSeconds: 192,
};

describe('sandbox CLI output', () => {
  it('formats uptimes', () => {
    expect([null, 5, 192, 7500, 90_000].map(formatUptime)).toEqual(['-', '5s', '3m12s', '2h05m', '1d01h']);
  });

  it('lists servers as a table', () => {
    const stopped: SandboxServer = { ...server, name: 'db1', address: '', status: 'stopped', image: '', persist: true, uptimeSeconds: null };
    expect(formatServerTable([server, stopped])).toBe(
      [
        'NAME  ADDRESS    STATE    UPTIME  IMAGE',
        'web1  10.77.1.2  running  3m12s   bookworm',
        'db1   -          stopped  -       - (persist)',
      ].join('\n'),
    );
    expect(formatServerTable([])).toMatch(/^no sandbox servers/);
  });

  it('prints the same address for a fresh and a repeated up', () => {
    const fresh = formatUp({ ...server, alreadyUp: false, bootSeconds: 2.34 });
    const again = formatUp({ ...server, alreadyUp: true, bootSeconds: 0 });
    expect(fresh.split('\n')[0]).toBe('web1 is up at 10.77.1.2 (booted in 2.3 s)');
    expect(again.split('\n')[0]).toBe('web1 is up at 10.77.1.2 (already running)');
    expect(fresh.split('\n').slice(1)).toEqual(again.split('\n').slice(1));
  });
});

describe('sandbox CLI arguments', () => {
  function program(): Command {
    const p = new Command('slipway').exitOverride();
    registerSandbox(p, { out: () => undefined, err: () => undefined, env: {}, cwd: '/' });
    return p;
  }

  it('asks which server for a bare down', async () => {
    await expect(program().parseAsync(['sandbox', 'down'], { from: 'user' })).rejects.toThrow(UserError);
  });

  it('refuses a name together with --all', async () => {
    await expect(program().parseAsync(['sandbox', 'down', 'web1', '--all'], { from: 'user' })).rejects.toThrow(
      /not both/,
    );
  });

  it('registers up, list, ssh, down and image, and the proxy\'s own process hidden from help', () => {
    const sandbox = program().commands.find((c) => c.name() === 'sandbox');
    expect(sandbox?.commands.map((c) => c.name())).toEqual(['up', 'proxy-serve', 'list', 'ssh', 'down', 'image']);
    expect(sandbox?.helpInformation()).not.toContain('proxy-serve');
    expect(sandbox?.commands.find((c) => c.name() === 'up')?.helpInformation()).toContain('--offline');
  });
});
