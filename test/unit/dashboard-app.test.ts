// The dashboard's routes in-process (Hono's app.request) over a fake backend: who gets in (the token, the
// password), what a POST must carry (its session's form token, the dashboard's own origin), one run per
// environment, and a run's events as a stream.
import { describe, expect, it } from 'vitest';
import { dashboardApp } from '../../src/dashboard/app.js';
import type { Backend, OperationRequest } from '../../src/dashboard/backend.js';
import { prodDetail } from './fixtures/dashboard.js';

const HOST = '127.0.0.1:7780';
const ORIGIN = `http://${HOST}`;

function fakeBackend() {
  const calls: (OperationRequest & { ref?: string; sha?: string; full?: boolean })[] = [];
  let finish: (ok: boolean) => void = () => undefined;
  const backend: Backend = {
    dir: '/srv/shop',
    environments: () => Promise.resolve(['prod']),
    summary: (name) => Promise.resolve({ name, hosts: [] }),
    detail: () => Promise.resolve(prodDetail()),
    refs: () => Promise.resolve({ branches: ['main'], tags: [], default: 'main' }),
    plan: (env) => Promise.resolve({ text: `Plan: deploy ${env}: main (abc1234) as release r1\n`, sha: 'abc1234', release: 'r1', headline: 'deploy' }),
    rollbackChoices: () => Promise.resolve([]),
    handoff: () => Promise.resolve('# note'),
    deploy: (request) => {
      calls.push(request);
      request.observer.onStep('web1', { id: 'lock', title: 'Take the deploy lock', commands: [] });
      return new Promise<boolean>((resolve) => (finish = (ok) => {
        request.io.out('deployed prod: r1 is live on 1 host(s) in 1.0s');
        resolve(ok);
      }));
    },
    rollback: () => Promise.resolve(true),
  };
  return { backend, calls, finish: (ok: boolean) => finish(ok) };
}

function dashboard(options: { password?: string; signInDelayMs?: number } = {}) {
  const fake = fakeBackend();
  const { app } = dashboardApp({ backend: fake.backend, token: 'the-token', tokenUser: 'root', env: {}, hosts: new Set([HOST]), ...options });
  const request = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => app.request(`${ORIGIN}${path}`, { ...init, headers: { host: HOST, ...init.headers } });
  /** Opens a session with the token link: its cookie, and the form token of its pages. */
  const signIn = async () => {
    const opened = await request('/?token=the-token');
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    const page = await (await request('/env/prod/deploy?ref=main', { headers: { cookie } })).text();
    return { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(page)![1]! };
  };
  const post = (path: string, form: Record<string, string>, headers: Record<string, string>) =>
    request(path, { method: 'POST', body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  return { ...fake, request, signIn, post };
}

describe('dashboard access', () => {
  it('answers 401 without a session, and with a wrong token', async () => {
    const d = dashboard();
    expect((await d.request('/')).status).toBe(401);
    expect((await d.request('/env/prod')).status).toBe(401);
    expect((await d.request('/?token=wrong')).status).toBe(401);
    expect(await (await d.request('/')).text()).toContain('This dashboard needs its access token');
  });

  it('turns the token link into a session cookie (HttpOnly, SameSite=Strict) and takes the token out of the address', async () => {
    const d = dashboard();
    const opened = await d.request('/env/prod?token=the-token');
    expect(opened.status).toBe(303);
    expect(opened.headers.get('location')).toBe('/env/prod');
    expect(opened.headers.get('set-cookie')).toMatch(/^slipway_dashboard=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    const page = await d.request('/env/prod', { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('referrer-policy')).toBe('same-origin');
  });

  it('refuses a Host it does not listen as (a rebound DNS name)', async () => {
    const d = dashboard();
    expect((await d.request('/?token=the-token', { headers: { host: 'evil.example:7780' } })).status).toBe(421);
  });

  it('opens a session with the password, under the name given, and refuses a wrong one', async () => {
    const d = dashboard({ password: 'hunter22', signInDelayMs: 0 });
    expect(await (await d.request('/')).text()).toContain('name="password"');
    const wrong = await d.post('/login', { user: 'carol', password: 'nope' }, { origin: ORIGIN });
    expect(wrong.status).toBe(401);
    const right = await d.post('/login', { user: 'carol', password: 'hunter22', next: '/env/prod' }, { origin: ORIGIN });
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/env/prod');
    const cookie = right.headers.get('set-cookie')!.split(';')[0]!;
    expect(await (await d.request('/', { headers: { cookie } })).text()).toContain('<span class="who">carol');
    // Back only to this dashboard's own pages.
    for (const next of ['//evil.example/x', '/\\evil.example', 'https://evil.example/']) {
      expect((await d.post('/login', { user: 'carol', password: 'hunter22', next }, { origin: ORIGIN })).headers.get('location')).toBe('/');
    }
    // A sign-in posted from another site is refused even with the right password.
    expect((await d.post('/login', { user: 'carol', password: 'hunter22' }, { origin: 'http://evil.example' })).status).toBe(403);
  });

  it('answers 404 for an environment the directory does not have', async () => {
    const d = dashboard();
    const { cookie } = await d.signIn();
    expect((await d.request('/env/nope', { headers: { cookie } })).status).toBe(404);
    expect((await d.request('/env/..%2f..%2fetc', { headers: { cookie } })).status).toBe(404);
  });
});

describe('dashboard operations', () => {
  it('refuses a POST without its form token, or from another origin, and runs nothing', async () => {
    const d = dashboard();
    const { cookie, csrf } = await d.signIn();
    expect((await d.post('/env/prod/deploy', { ref: 'main' }, { cookie, origin: ORIGIN })).status).toBe(403);
    expect((await d.post('/env/prod/deploy', { ref: 'main', csrf }, { cookie, origin: 'http://evil.example' })).status).toBe(403);
    expect((await d.post('/env/prod/deploy', { ref: 'main', csrf }, { cookie, origin: ORIGIN, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await d.post('/env/prod/deploy', { ref: 'main', csrf }, { cookie })).status).toBe(403);
    expect(d.calls).toHaveLength(0);
  });

  it('starts the deploy confirmed, as the signed-in user, refuses a second one by name, and streams its events', async () => {
    const d = dashboard();
    const { cookie, csrf } = await d.signIn();
    const started = await d.post('/env/prod/deploy', { ref: 'main', sha: 'abc1234', csrf }, { cookie, origin: ORIGIN });
    expect(started.status).toBe(303);
    const run = started.headers.get('location')!;
    expect(run).toMatch(/^\/runs\/[0-9a-f]{12}$/);
    expect(d.calls).toHaveLength(1);
    expect(d.calls[0]).toMatchObject({ env: 'prod', ref: 'main', sha: 'abc1234', full: false, actor: { user: 'root', via: 'dashboard' } });

    const busy = await d.post('/env/prod/deploy', { ref: 'main', csrf }, { cookie, origin: ORIGIN });
    expect(busy.status).toBe(409);
    expect(await busy.text()).toMatch(/root is running a deploy of prod \(to main \(abc1234\)\) since \S+: wait for it/);
    const running = await (await d.request(run, { headers: { cookie } })).text();
    expect(running).toContain('<span class="x">Take the deploy lock</span>');
    expect(running).toContain('data-stream');

    d.finish(true);
    await new Promise((r) => setTimeout(r, 0));
    const stream = await d.request(`${run}/events`, { headers: { cookie } });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const text = await stream.text();
    expect(text).toMatch(/^event: event\ndata: \{"seq":1,"seconds":[\d.]+,"kind":"step","text":"Take the deploy lock","host":"web1"\}\nid: 1\n/);
    expect(text).toContain('"kind":"out","text":"deployed prod: r1 is live on 1 host(s) in 1.0s"');
    expect(text).toMatch(/event: end\ndata: \{"state":"ok"\}/);
    // Resumed after the events seen: only what came later.
    const resumed = await (await d.request(`${run}/events`, { headers: { cookie, 'last-event-id': '1' } })).text();
    expect(resumed).not.toContain('"seq":1,');
    expect(resumed).toContain('"seq":2,');
  });
});

describe('dashboard addresses and origins', () => {
  it('reads --listen as HOST:PORT or [V6]:PORT, and refuses anything else in one line', async () => {
    const { parseListen } = await import('../../src/cli/dashboard-command.js');
    const { isLoopback } = await import('../../src/dashboard/auth.js');
    expect(parseListen('127.0.0.1:7780')).toEqual({ host: '127.0.0.1', port: 7780 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen('dash.internal:8080')).toEqual({ host: 'dash.internal', port: 8080 });
    expect(() => parseListen('7780')).toThrow('--listen "7780": expected HOST:PORT, e.g. 127.0.0.1:7780');
    expect(() => parseListen('0.0.0.0:70000')).toThrow('expected HOST:PORT');
    expect([isLoopback('127.0.0.1'), isLoopback('localhost'), isLoopback('::1'), isLoopback('0.0.0.0'), isLoopback('10.0.0.5')]).toEqual([true, true, true, false, false]);
  });

  it('accepts only the loopback names of its port as Host, and any on a network address', async () => {
    const { allowedHosts, sameOrigin } = await import('../../src/dashboard/auth.js');
    expect([...allowedHosts('127.0.0.1', 7780)!]).toEqual(['127.0.0.1:7780', 'localhost:7780', '[::1]:7780']);
    expect(allowedHosts('0.0.0.0', 7780)).toBeUndefined();
    expect(sameOrigin({ origin: 'http://127.0.0.1:7780', secFetchSite: 'same-origin', host: '127.0.0.1:7780' })).toBe(true);
    expect(sameOrigin({ origin: 'null', host: '127.0.0.1:7780' })).toBe(false);
    expect(sameOrigin({ origin: 'http://localhost:7780', host: '127.0.0.1:7780' })).toBe(false);
    expect(sameOrigin({ host: '127.0.0.1:7780' })).toBe(false);
  });
});

describe('dashboard sessions', () => {
  it('forget a session idle for more than 12 hours, and keep one in use', async () => {
    const { Sessions, SESSION_IDLE_MS } = await import('../../src/dashboard/auth.js');
    let now = 0;
    const sessions = new Sessions(() => now);
    const used = sessions.create('alice');
    const idle = sessions.create('bob');
    now = SESSION_IDLE_MS - 1;
    expect(sessions.get(used.id)?.user).toBe('alice');
    now = SESSION_IDLE_MS + 10;
    expect(sessions.get(used.id)?.user).toBe('alice');
    expect(sessions.get(idle.id)).toBeUndefined();
    expect(sessions.get(undefined)).toBeUndefined();
  });
});

describe('dashboard request bodies', () => {
  it('refuses a body larger than any of its forms without reading it', async () => {
    const d = dashboard();
    const { cookie, csrf } = await d.signIn();
    const answer = await d.post('/env/prod/deploy', { ref: 'x'.repeat(20_000), csrf }, { cookie, origin: ORIGIN });
    expect(answer.status).toBe(413);
    expect(d.calls).toHaveLength(0);
  });
});

describe('slipway dashboard on the command line', () => {
  it('refuses a --listen that is not HOST:PORT in one line, before serving anything', async () => {
    const { run } = await import('../../src/cli/main.js');
    const err: string[] = [];
    const code = await run(['dashboard', '--listen', 'everywhere'], { out: () => undefined, err: (t) => err.push(t), env: {}, cwd: '/tmp' });
    expect(code).toBe(2);
    expect(err).toEqual(['error: --listen "everywhere": expected HOST:PORT, e.g. 127.0.0.1:7780']);
  });
});
