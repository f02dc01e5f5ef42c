// The sandbox itself, for real: servers boot with systemd, answer over ssh, serve the host over their own
// address, and leave nothing behind (namespace, veth, nspawn process, state) after teardown or a crash.
import { readdir, readFile, stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runHost } from '../../src/sandbox/host.js';
import { sandboxDown, sandboxList, sandboxPaths, sandboxUp } from '../../src/sandbox/index.js';
import { withSandboxes } from './helpers/sandbox.js';

const paths = sandboxPaths();

async function namespaces(): Promise<string[]> {
  return readdir('/run/netns').catch(() => []);
}
async function links(): Promise<string[]> {
  return readdir('/sys/class/net');
}
async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}
/** Live (not zombie) systemd-nspawn processes booting the given machine name. */
async function nspawnProcesses(name: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('systemd-nspawn') && cmdline.split('\0').includes(`--machine=${name}`)) pids.push(Number(entry));
  }
  return pids;
}
/** `index` undefined: the address was handed to a newer server, so its veth name is legitimately in use again. */
async function expectNothingLeft(name: string, index: number | undefined): Promise<void> {
  expect(await namespaces()).not.toContain(`slw-${name}`);
  if (index !== undefined) expect(await links()).not.toContain(`slw${index}h`);
  expect(await nspawnProcesses(name)).toEqual([]);
  expect(await exists(`${paths.stateDir}/servers/${name}`)).toBe(false);
}
async function fetchText(url: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return await res.text();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('sandbox servers', () => {
  it('boots three at once; ssh, systemd and a service reached from the host work; teardown leaves nothing', async () => {
    const names = ['e2e-sb1', 'e2e-sb2', 'e2e-sb3'];
    const indexes: number[] = [];
    await withSandboxes(names, async (servers) => {
      expect(servers.map((s) => s.name)).toEqual(names);
      expect(new Set(servers.map((s) => s.address)).size).toBe(3);
      for (const server of servers) {
        indexes.push(Number(server.address.split('.')[2]));
        const state = await server.run('systemctl is-system-running');
        expect(['running', 'degraded']).toContain(state.stdout.trim());
        expect((await server.run('hostname')).stdout.trim()).toBe(server.name);
        // Servers reach nothing but their host: no default route.
        expect((await server.run('ip route show default')).stdout.trim()).toBe('');
      }
      const [web] = servers;
      const started = await web!.run(
        'mkdir -p /srv/hello && echo "hello from $(hostname)" > /srv/hello/index.html && ' +
          'systemd-run --unit=hello --property=MemoryMax=200M python3 -m http.server 8000 --directory /srv/hello',
      );
      expect(started.code, started.stderr).toBe(0);
      expect((await web!.run('systemctl is-active hello')).stdout.trim()).toBe('active');
      expect(await fetchText(`http://${web!.address}:8000/`)).toBe('hello from e2e-sb1\n');
      // The stack the scenarios deploy onto is there and running.
      const stack = await web!.run('systemctl is-active nginx postgresql@15-main redis-server ssh');
      expect(stack.stdout.trim().split('\n')).toEqual(['active', 'active', 'active', 'active']);
    });
    for (const [i, name] of names.entries()) await expectNothingLeft(name, indexes[i]!);
  });

  it('up of a running server is idempotent', async () => {
    try {
      const first = await sandboxUp('e2e-idem');
      const second = await sandboxUp('e2e-idem');
      expect(second.alreadyUp).toBe(true);
      expect(second.address).toBe(first.address);
      expect(second.pid).toBe(first.pid);
      const listed = (await sandboxList()).filter((s) => s.name === 'e2e-idem');
      expect(listed.map((s) => s.status)).toEqual(['running']);
    } finally {
      await sandboxDown('e2e-idem');
    }
  });

  it('cleans what a crashed run left behind on the next up and down', async () => {
    // A crash: nspawn killed outright leaves its state, namespace, veth and the container's processes.
    const crashed = await sandboxUp('e2e-crash');
    const index = Number(crashed.address.split('.')[2]);
    process.kill(crashed.pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect((await sandboxList()).find((s) => s.name === 'e2e-crash')?.status).toBe('stale');
    expect(await namespaces()).toContain('slw-e2e-crash');
    // And a bare namespace + veth pair whose state never got written.
    await runHost(['ip', 'netns', 'add', 'slw-e2e-ghost']);
    await runHost(['ip', 'link', 'add', 'slw249h', 'type', 'veth', 'peer', 'name', 'slw249s']);
    try {
      const after = await sandboxUp('e2e-after');
      await expectNothingLeft('e2e-crash', after.address === crashed.address ? undefined : index);
      expect(await namespaces()).not.toContain('slw-e2e-ghost');
      expect(await links()).not.toContain('slw249h');

      await runHost(['ip', 'netns', 'add', 'slw-e2e-ghost']);
      expect(await sandboxDown('e2e-after')).toBe(true);
      expect(await namespaces()).not.toContain('slw-e2e-ghost');
    } finally {
      await sandboxDown('e2e-after');
      await sandboxDown('e2e-crash');
      await runHost(['ip', 'netns', 'del', 'slw-e2e-ghost']);
      await runHost(['ip', 'link', 'del', 'slw249h']);
    }
  });
});
