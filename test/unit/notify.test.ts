// Deploy notifications: the events an outcome makes and their bodies (pure), and delivery to a real HTTP
// server on 127.0.0.1 (retries, and a hook that cannot be reached named without its URL).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notify } from '../../src/execute/notify.js';
import { notificationBody, notifyNotes, outcomeNotifications, startNotification, type NotifyContext } from '../../src/plan/notify.js';
import { sshTarget } from './fixtures/config.js';

const SHA = 'abc1234def5678abc1234def5678abc1234def56';
const hostPlan = (label: string) => ({ target: { ...sshTarget, label }, layout: {} as never, from: 'R1', to: 'R2', steps: [], switchIndex: 0, commitIndex: 0, onFailureBeforeSwitch: [], onFailureAfterSwitch: [], onInterruptedCommit: [], warnings: [] });
const ctx = (action: 'deploy' | 'rollback' = 'deploy'): NotifyContext => ({
  config: { project: { name: 'shop', branch: 'main', source: 'auto', framework: 'auto' }, environment: 'prod' },
  plan: { action, ref: action === 'deploy' ? 'main' : null, sha: action === 'deploy' ? SHA : null, hosts: [hostPlan('web1'), hostPlan('web2')] },
  user: 'ana',
  machine: 'laptop',
  at: new Date('2026-12-02T10:00:00.000Z'),
});

describe('notifications', () => {
  it('start names who deploys what where, and nothing secret', () => {
    expect(startNotification(ctx())).toEqual({
      event: 'start', action: 'deploy', app: 'shop', env: 'prod', ref: 'main', sha: SHA, release: 'R2', from: 'R1', user: 'ana', machine: 'laptop', at: '2026-12-02T10:00:00.000Z',
      hosts: [{ host: 'web1', ok: true, switchedBack: false }, { host: 'web2', ok: true, switchedBack: false }],
      text: 'shop prod: a deploy of main (abc1234) by ana@laptop started on 2 server(s)',
    });
  });

  it('success, or failure with the failing step, host and last lines, and a switch-back when a host went back', () => {
    const ok = [{ host: 'web1', ok: true, switchedBack: false }];
    expect(outcomeNotifications(ctx(), ok, 1234).map((n) => [n.event, n.text, n.duration_ms])).toEqual([['success', 'shop prod: a deploy of main (abc1234) is live as R2 on 1 server(s), in 1.2 s', 1234]]);
    const failed = [
      { host: 'web1', ok: false, switchedBack: true, step: 'Check the green slot', error: 'exit 1', output: ['health check failed: answered 500'] },
      { host: 'web2', ok: false, switchedBack: true },
    ];
    const events = outcomeNotifications(ctx(), failed, 9000);
    expect(events.map((n) => [n.event, n.text])).toEqual([
      ['failure', 'shop prod: a deploy of main (abc1234) failed after 9.0 s: Check the green slot failed on web1: exit 1'],
      ['switch_back', 'shop prod: a deploy of main (abc1234): web1, web2 switched back to R1 by themselves'],
    ]);
    expect(JSON.parse(notificationBody(events[0]!, 'slack'))).toEqual({ text: 'shop prod: a deploy of main (abc1234) failed after 9.0 s: Check the green slot failed on web1: exit 1\nweb1:\n```\nhealth check failed: answered 500\n```' });
    expect(outcomeNotifications(ctx('rollback'), ok, 300)[0]).toMatchObject({ event: 'rollback', text: 'shop prod: a rollback to R2 is live on 1 server(s), in 0.3 s' });
  });
});

describe('the plan', () => {
  it('names each webhook by its place and the events of this action it hears of, never its URL', () => {
    const hooks = [
      { url: 'https://hooks.example/secret', format: 'json' as const, events: ['start' as const, 'success' as const, 'failure' as const, 'switch_back' as const, 'rollback' as const] },
      { url: 'https://chat.example/secret', format: 'slack' as const, events: ['success' as const] },
    ];
    expect(notifyNotes(hooks, 'deploy')).toEqual(['notify[0] (json) is told of: start, success, failure, switch_back', 'notify[1] (slack) is told of: success']);
    expect(notifyNotes(hooks, 'rollback')).toEqual(['notify[0] (json) is told of: start, failure, switch_back, rollback']);
  });
});

describe('delivery', () => {
  let server: Server;
  let base: string;
  const received: { path: string; body: string; type: string | undefined }[] = [];
  let failFirst = 0;
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url === '/flaky' && failFirst > 0) {
          failFirst--;
          res.writeHead(503).end();
          return;
        }
        received.push({ path: req.url ?? '', body, type: req.headers['content-type'] });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('posts each hook its format, only the events it asked for; retries a failing hook; names an unreachable one by its place', async () => {
    failFirst = 2;
    const warnings: string[] = [];
    const secretPath = '/unreachable-secret-token';
    // A port nothing listens on: one the system just gave out, closed again.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const hooks = [
      { url: `${base}/json`, format: 'json' as const, events: ['start' as const, 'success' as const] },
      { url: `${base}/chat`, format: 'slack' as const, events: ['failure' as const] },
      { url: `${base}/flaky`, format: 'json' as const, events: ['start' as const] },
      { url: `http://127.0.0.1:${deadPort}${secretPath}`, format: 'json' as const, events: ['start' as const] },
    ];
    await notify(hooks, startNotification(ctx()), (hook, text) => warnings.push(`${hook}: ${text}`), [5, 5]);
    expect(received.map((r) => r.path).sort()).toEqual(['/flaky', '/json']);
    expect(received.find((r) => r.path === '/json')).toMatchObject({ type: 'application/json' });
    expect(JSON.parse(received.find((r) => r.path === '/json')!.body)).toMatchObject({ event: 'start', app: 'shop', sha: SHA });
    expect(warnings).toEqual(['notify[3]: the start notification was not delivered (ECONNREFUSED, 3 tries)']);
    expect(warnings.join('')).not.toContain(secretPath);
  });
});
