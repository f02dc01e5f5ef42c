// The sandbox itself, for real: servers boot with systemd, answer over ssh, serve the host over their own
// address, share one private network (by name and address), and leave nothing behind (namespace, veth, bridge,
// nspawn process, state) after teardown or a crash.
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runHost } from '../../src/sandbox/host.js';
import { sandboxDown, sandboxList, sandboxPaths, sandboxUp } from '../../src/sandbox/index.js';
import { hostAddress } from '../../src/sandbox/registry.js';
import { withSandboxes, type TestServer } from './helpers/sandbox.js';

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
/**
 * The bridge goes with the last server. Another run on this machine may have servers up (the state directory is
 * global), and then the bridge rightly stays: only a machine with no live server can show it gone.
 */
async function expectNoBridgeUnlessOthersLive(): Promise<void> {
  const live = (await sandboxList()).filter((s) => s.status === 'running' || s.status === 'booting');
  if (live.length === 0) expect(await links()).not.toContain('slwbr0');
  else console.log(`[sandbox] bridge kept for ${live.map((s) => s.name).join(', ')}: not checking that it is gone`);
}
const indexOf = (server: { address: string }): number => Number(server.address.split('.')[2]);
/** An HTTP server on the host at the address a sandbox server knows its host by (as for a wheelhouse). */
async function serveOnHostAddress(index: number): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => res.end(`host for ${index}\n`));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, hostAddress(index), resolve));
  return { server, url: `http://${hostAddress(index)}:${(server.address() as AddressInfo).port}/` };
}
/** A TCP connect to sshd: the first bytes it sends. */
const sshBanner = (from: TestServer, target: string) =>
  from.run(`timeout 5 bash -c 'exec 3<>/dev/tcp/${target}/22; head -c 8 <&3'`);
const httpStatus = (from: TestServer, target: string) =>
  from.run(`curl -sS -o /dev/null -w '%{http_code}' --max-time 5 http://${target}/`);

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

  it('puts servers on one private network: by name and address, a later server and a removed one seen by all', async () => {
    const indexes: number[] = [];
    await withSandboxes(['e2e-net1'], async ([one]) => {
      indexes.push(indexOf(one!));
      // A line of its own in /etc/hosts, which must survive slipway rewriting the shared names around it.
      expect((await one!.run("echo '127.0.0.1 only-on-net1.test' >> /etc/hosts")).code).toBe(0);
      // Booted after net1 is running: net1 learns its name without a reboot.
      await withSandboxes(['e2e-net2'], async ([two]) => {
        indexes.push(indexOf(two!));
        for (const [from, to] of [[one!, two!], [two!, one!]] as const) {
          expect((await from.run(`getent hosts ${to.name}`)).stdout.trim().split(/\s+/)).toEqual([to.address, to.name]);
        }
        for (const target of ['e2e-net2', two!.address]) {
          expect((await sshBanner(one!, target)).stdout).toBe('SSH-2.0-');
          expect((await httpStatus(one!, target)).stdout).toBe('200');
        }
        expect((await httpStatus(two!, 'e2e-net1')).stdout).toBe('200');
        // The host reaches both, and each still reaches the host at 10.77.N.1.
        for (const server of [one!, two!]) {
          expect((await fetch(`http://${server.address}/`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
          const { server: http, url } = await serveOnHostAddress(indexOf(server));
          try {
            expect((await server.run(`curl -sS --max-time 5 ${url}`)).stdout).toBe(`host for ${indexOf(server)}\n`);
          } finally {
            http.close();
          }
        }
        expect((await two!.run('getent hosts only-on-net1.test')).code).toBe(2);
        // Nothing goes beyond: no default route inside, no forwarding by the host from the bridge.
        expect((await one!.run('ip route show default')).stdout.trim()).toBe('');
        expect((await readFile('/proc/sys/net/ipv4/conf/slwbr0/forwarding', 'utf8')).trim()).toBe('0');
      });
      await expectNothingLeft('e2e-net2', indexes[1]);
      // Removed: its name and address are gone for net1.
      expect((await one!.run('getent hosts e2e-net2')).code).toBe(2);
      expect((await httpStatus(one!, `10.77.${indexes[1]}.2`)).code).not.toBe(0);
      const own = await one!.run('getent hosts only-on-net1.test');
      expect(own.stdout.trim().split(/\s+/)).toEqual(['127.0.0.1', 'only-on-net1.test']);
    });
    await expectNothingLeft('e2e-net1', indexes[0]);
    await expectNoBridgeUnlessOthersLive();
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
    // And a bare namespace + veth pair whose state never got written, and a host address on the bridge.
    await runHost(['ip', 'netns', 'add', 'slw-e2e-ghost']);
    await runHost(['ip', 'link', 'add', 'slw249h', 'type', 'veth', 'peer', 'name', 'slw249s']);
    await runHost(['ip', 'addr', 'add', '10.77.248.1/24', 'dev', 'slwbr0']);
    try {
      const after = await sandboxUp('e2e-after');
      await expectNothingLeft('e2e-crash', after.address === crashed.address ? undefined : index);
      expect(await namespaces()).not.toContain('slw-e2e-ghost');
      expect(await links()).not.toContain('slw249h');
      expect((await runHost(['ip', '-4', 'addr', 'show', 'dev', 'slwbr0'])).stdout).not.toContain('10.77.248.1/');

      await runHost(['ip', 'netns', 'add', 'slw-e2e-ghost']);
      expect(await sandboxDown('e2e-after')).toBe(true);
      expect(await namespaces()).not.toContain('slw-e2e-ghost');
    } finally {
      await sandboxDown('e2e-after');
      await sandboxDown('e2e-crash');
      await runHost(['ip', 'netns', 'del', 'slw-e2e-ghost']);
      await runHost(['ip', 'link', 'del', 'slw249h']);
      await runHost(['ip', 'addr', 'del', '10.77.248.1/24', 'dev', 'slwbr0']);
    }
    await expectNoBridgeUnlessOthersLive();
  });
});
