// `slipway dashboard` in headless Chromium (Debian's chromium, driven by playwright-core) against a sandbox
// server (issue 13): the overview lists the environments, a deploy confirmed from its plan streams its steps and
// ends with the new commit served through nginx, a rollback from the page brings the old one back, a request
// without the token is refused, a cross-site POST is refused, and the secret value appears in no response.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { HelloRepo, SECRET, historyOf, releasesOn } from './helpers/hello-app.js';
import { run } from './helpers/example-repo.js';
import { useSandboxes } from './helpers/sandbox.js';
import { get, pageVersion } from './helpers/web-client.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHOTS = join(ROOT, 'docs', 'images');
// As the machine notes say: without the background-networking flags Chromium keeps calling out, and is refused.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The dashboard as a user starts it; resolves with the link it prints. */
function startDashboard(dir: string): Promise<{ child: ChildProcess; link: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'slipway.js'), '-c', dir, 'dashboard', '--listen', '127.0.0.1:0'], { cwd: ROOT, env: { ...process.env, HELLO_SECRET: SECRET } });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const link = /^http:\/\/\S+\?token=\S+$/m.exec(out)?.[0];
      if (link) resolve({ child, link });
    });
    child.on('exit', (code) => reject(new Error(`dashboard exited (${code}): ${err}`)));
  });
}

describe('slipway dashboard in a browser', () => {
  const servers = useSandboxes(['e2e-dash1']);
  const server = () => servers[0]!;
  let repo: HelloRepo;
  let dashboard: { child: ChildProcess; link: string };
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Every response body the browser received, searched for the secret at the end. */
  const bodies: string[] = [];
  /** The runs the tests started, whose event streams are read for the secret too. */
  const runPages: string[] = [];
  const sha = async () => (await run('git', ['rev-parse', 'HEAD'], { cwd: repo.dir })).stdout.trim();
  const served = async () => pageVersion((await get({ address: server().address, host: 'localhost' }, '/')).body);
  const record = (p: Page) =>
    p.on('response', (response) => {
      // The event stream stays open while the run goes on; it is read on its own below.
      if (!response.url().includes('/events')) void response.text().then((t) => bodies.push(t), () => undefined);
    });

  beforeAll(async () => {
    repo = await HelloRepo.create([server()], { env_vars: {}, http: { enabled: true, default_server: true } });
    // A second environment whose server is not up: the overview says so in its card.
    await writeFile(join(repo.dir, 'deploy-staging.yml'), stringify({ servers: [{ sandbox: 'e2e-dash-absent' }] }));
    await repo.commit('d1');
    const first = await repo.cli('deploy', 'sandbox');
    expect(first.code, first.stderr).toBe(0);
    await repo.commit('d2');
    dashboard = await startDashboard(repo.dir);
    base = new URL(dashboard.link).origin;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    page = await context.newPage();
    record(page);
  });

  afterAll(async () => {
    await browser?.close();
    dashboard?.child.kill('SIGTERM');
    await repo?.remove();
  });

  it('refuses a request without the token, or with a wrong one, with 401', async () => {
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/env/sandbox`)).status).toBe(401);
    expect((await fetch(`${base}/?token=not-the-token`)).status).toBe(401);
    const page401 = await (await fetch(`${base}/`)).text();
    expect(page401).toContain('This dashboard needs its access token');
  });

  it('lists the environments on the overview: what runs where, healthy, and the one it cannot reach', async () => {
    await page.goto(dashboard.link);
    // The token opened a session and left the address bar.
    expect(new URL(page.url()).search).toBe('');
    const sandbox = page.locator('section.env[data-env="sandbox"]');
    await expect.poll(() => sandbox.locator('h2').innerText()).toContain('healthy');
    expect(await sandbox.locator('tbody tr').first().innerText()).toContain('e2e-dash1');
    const staging = page.locator('section.env[data-env="staging"]');
    expect(await staging.locator('.error').innerText()).toContain('sandbox server e2e-dash-absent is not running');
    expect(await staging.locator('h2').innerText()).toContain('unreachable');
    await page.screenshot({ path: join(SHOTS, 'dashboard-overview.png'), fullPage: true });
  });

  it('deploys from the page: the plan slipway plan prints, then the steps streamed live, then the new commit served through nginx', async () => {
    const wanted = await sha();
    await page.goto(`${base}/env/sandbox/deploy`);
    // The ref picker offers the repository's branches.
    const offered = await Promise.all((await page.locator('datalist#refs option').all()).map((o) => o.getAttribute('value')));
    expect(offered).toContain('main');
    await page.fill('input[name=ref]', 'main');
    await page.click('button:has-text("Show the plan")');
    const planShown = await page.locator('pre.plan').innerText();
    expect(planShown).toContain(`Plan: deploy sandbox: main (${wanted.slice(0, 7)}) as release`);
    // The text the CLI's plan prints, step for step and command for command (the release id and the times in
    // it, made of the moment each was planned, aside). innerText drops the final newline of the <pre>.
    const cli = await repo.cli('plan', 'sandbox', '--ref', 'main');
    const timeless = (text: string) => text.replace(/\d{8}T\d{6}(\.\d+)?Z/g, 'TIME').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'TIME').trimEnd();
    expect(timeless(planShown)).toBe(timeless(cli.stdout));
    expect(planShown).toContain('## 7. Send traffic to the green slot');

    // A second browser with the same plan open: its confirm, sent while the first deploy runs, is refused by name.
    const other = await browser.newContext();
    const second = await other.newPage();
    record(second);
    await second.goto(dashboard.link.replace('/?', `/env/sandbox/deploy?ref=main&`));
    await second.waitForSelector('pre.plan');

    await page.click(`button:has-text("Deploy ${wanted.slice(0, 7)} to sandbox")`);
    await page.waitForURL(/\/runs\/[0-9a-f]+$/);
    runPages.push(new URL(page.url()).pathname);
    const initial = await page.locator('ol.events li').count();
    await second.click(`button:has-text("Deploy ${wanted.slice(0, 7)} to sandbox")`);
    expect(await second.locator('main').innerText()).toMatch(/root is running a deploy of sandbox/);
    await other.close();

    // A few steps in: what a deploy in progress looks like.
    await page.locator('ol.events li.step').nth(3).waitFor();
    await page.screenshot({ path: join(SHOTS, 'dashboard-deploy.png'), fullPage: true });
    await page.waitForSelector('body[data-run-state="ok"]', { timeout: 120_000 });
    const events = await page.locator('ol.events li').allInnerTexts();
    // Streamed: the list grew in the page after it loaded, step by step, host by host.
    expect(events.length).toBeGreaterThan(initial);
    expect(events.some((e) => /e2e-dash1\s+Switch/i.test(e) || /e2e-dash1\s+.*health/i.test(e))).toBe(true);
    expect(events.at(-1)).toMatch(/deployed sandbox: \S+ is live on 1 host\(s\)/);
    expect(await served()).toBe('d2');
    // The same lock and history as the CLI, with the dashboard's user recorded.
    const last = (await historyOf(repo)).at(-1)!;
    expect(last).toMatchObject({ action: 'deploy', result: 'ok', sha: wanted, user: 'root' });
    expect(last.machine).toMatch(/ \(dashboard\)$/);
  });

  it('rolls back from the page to the release chosen, and the old commit is served again', async () => {
    const before = (await releasesOn(repo))['e2e-dash1']!;
    const previous = before.releases.find((r) => r.id !== before.current && r.status === 'ok')!;
    await page.goto(`${base}/env/sandbox`);
    // The .env's key names are listed, never a value.
    expect(await page.locator('main').innerText()).toContain('HELLO_SECRET');
    await page.click(`tr[data-release="${previous.id}"] a:has-text("roll back to this")`);
    expect(await page.locator('pre.plan').innerText()).toContain(`Plan: rollback sandbox to ${previous.id}`);
    await page.click(`button:has-text("Roll sandbox back to ${previous.id}")`);
    await page.waitForURL(/\/runs\/[0-9a-f]+$/);
    runPages.push(new URL(page.url()).pathname);
    await page.waitForSelector('body[data-run-state="ok"]', { timeout: 120_000 });
    expect((await page.locator('ol.events li').allInnerTexts()).at(-1)).toMatch(/rolled back sandbox: \S+ is live/);
    expect(await served()).toBe('d1');
    expect((await releasesOn(repo))['e2e-dash1']!.current).toBe(previous.id);
  });

  it('reads on a phone: the environment page in a narrow viewport', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, deviceScaleFactor: 2 });
    const small = await phone.newPage();
    record(small);
    await small.goto(dashboard.link.replace('/?', '/env/sandbox?'));
    expect(await small.locator('h1').innerText()).toContain('sandbox');
    // Nothing wider than the screen but the tables, which scroll in their own box.
    expect(await small.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await small.screenshot({ path: join(SHOTS, 'dashboard-phone.png') });
    await phone.close();
  });

  it('refuses a cross-site POST: from another site\'s page, and with a foreign Origin even carrying the session', async () => {
    const releases = JSON.stringify(await releasesOn(repo));
    // A page elsewhere (another origin) whose form posts a deploy to the dashboard as soon as it loads.
    const evil: Server = createServer((_, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<form id=f method=post action="${base}/env/sandbox/deploy"><input name=ref value=main></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    try {
      const attacker = await context.newPage();
      const answered = attacker.waitForResponse((r) => r.url().startsWith(`${base}/env/sandbox/deploy`));
      await attacker.goto(`http://localhost:${(evil.address() as { port: number }).port}/`);
      expect([401, 403]).toContain((await answered).status());
      await attacker.close();
    } finally {
      evil.close();
    }
    // The session cookie and even the form token, but an Origin that is not the dashboard's: refused.
    const cookie = (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ');
    await page.goto(`${base}/env/sandbox/deploy?ref=main`);
    const csrf = await page.locator('input[name=csrf]').first().getAttribute('value');
    const forged = await fetch(`${base}/env/sandbox/deploy`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ref: 'main', csrf: csrf ?? '' }) });
    expect(forged.status).toBe(403);
    // Same origin, but without the form token: refused too.
    const tokenless = await fetch(`${base}/env/sandbox/deploy`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ref: 'main' }) });
    expect(tokenless.status).toBe(403);
    expect(JSON.stringify(await releasesOn(repo))).toBe(releases);
  });

  it('never sends the secret value: no page, asset or event stream carries it', async () => {
    const cookie = (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ');
    const pages: Record<string, string> = {};
    for (const path of ['/', '/env/sandbox', '/env/sandbox/deploy?ref=main', '/env/sandbox/rollback', '/env/sandbox/handoff?to=main', '/env/staging']) {
      const answer = await fetch(`${base}${path}`, { headers: { cookie } });
      expect(answer.status, path).toBe(200);
      pages[path] = await answer.text();
      bodies.push(pages[path]);
    }
    // After the rollback to the first release, none is left to roll back to: the page says why.
    expect(pages['/env/sandbox/rollback']).toMatch(/class="error">error: [^<]*release/);
    // The handoff note for a ref, as `slipway handoff` writes it.
    expect(pages['/env/sandbox/handoff?to=main']).toContain('<pre class="handoff">');
    // The finished runs' event streams replay every event and end.
    expect(runPages).toHaveLength(2);
    for (const r of runPages) bodies.push(await (await fetch(`${base}${r}/events`, { headers: { cookie } })).text());
    expect(bodies.length).toBeGreaterThan(10);
    expect(bodies.join('\n')).toContain('HELLO_SECRET');
    for (const body of bodies) expect(body).not.toContain(SECRET);
  });
});
