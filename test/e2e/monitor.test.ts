// The health monitor (issue 12) on a sandbox server, with a webhook receiver on this machine's side of the
// sandbox network: the deploy installs the timer; stopping the app's web unit by hand makes one check send
// exactly one alert, a second check sends nothing more, and starting it again sends one recovery; status shows
// the monitor's state; the webhook URL is never printed; turning the monitor off removes it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HelloRepo } from './helpers/hello-app.js';
import { useSandboxes } from './helpers/sandbox.js';

describe('the health monitor between deploys', () => {
  const servers = useSandboxes(['e2e-mon1']);
  const server = () => servers[0]!;
  let repo: HelloRepo;
  let receiver: http.Server;
  const received: Record<string, unknown>[] = [];
  let hook = '';
  const config = (enabled: boolean) => ({ notify: [{ url: '${MONITOR_HOOK}', events: ['alert', 'recovery'] }], monitor: { enabled, interval: 3600 } });
  /** One check now, as the timer would run it. */
  const check = async () => {
    const ran = await server().run('systemctl start hello-slipway-monitor.service');
    expect(ran.code, ran.stderr).toBe(0);
  };

  beforeAll(async () => {
    // On the bridge's own address, which every sandbox server reaches directly; a random port and path.
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url === new URL(hook).pathname) received.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '10.77.0.1', resolve));
    hook = `http://10.77.0.1:${(receiver.address() as AddressInfo).port}/hooks/${Math.random().toString(36).slice(2)}`;
    process.env.MONITOR_HOOK = hook;
    repo = await HelloRepo.create([server()], config(true));
  });
  afterAll(async () => {
    delete process.env.MONITOR_HOOK;
    await new Promise((resolve) => receiver?.close(resolve));
    await repo?.remove();
  });

  it('a deploy installs the timer; a passing check tells no one; the URL is never printed', async () => {
    await repo.commit('m1');
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toContain('Health monitor: every 3600 s, 1 webhook(s)');
    const plan = await repo.cli('plan', 'sandbox');
    for (const output of [deployed.stdout, deployed.stderr, plan.stdout, plan.stderr]) expect(output).not.toContain(hook);
    expect((await server().run('systemctl is-enabled hello-slipway-monitor.timer; systemctl is-active hello-slipway-monitor.timer')).stdout).toBe('enabled\nactive\n');
    expect((await server().run('stat -c "%a %U" /opt/hello/.slipway/monitor.env')).stdout.trim()).toBe('600 root');
    await check();
    expect(received).toEqual([]);
  });

  it('the web unit stopped by hand: exactly one alert, however often it is checked; status says so', async () => {
    await server().run('systemctl stop hello-web.service');
    await check();
    await check();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ event: 'alert', app: 'hello', env: 'sandbox', host: 'e2e-mon1', detail: expect.stringContaining('hello-web.service is inactive') });
    const status = await repo.cli('status', 'sandbox');
    expect(status.stdout).toMatch(/^ {2}monitor failing since \S+: .*hello-web\.service is inactive/m);
  });

  it('started again: exactly one recovery', async () => {
    await server().run('systemctl start hello-web.service; for i in $(seq 50); do curl -fs -o /dev/null http://127.0.0.1:8000/health && break; sleep 0.1; done');
    await check();
    await check();
    expect(received.map((e) => e.event)).toEqual(['alert', 'recovery']);
    expect((await repo.cli('status', 'sandbox')).stdout).toMatch(/^ {2}monitor ok since /m);
  });

  it('monitor.enabled off: the next deploy removes the timer and its files', async () => {
    await repo.configure([server()], config(false));
    await repo.commit('m2');
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toContain('Remove the health monitor');
    expect((await server().run('ls /etc/systemd/system/hello-slipway-monitor.* /opt/hello/.slipway/monitor.* 2>&1 | grep -c "No such file"')).stdout.trim()).toBe('2');
  });
});
