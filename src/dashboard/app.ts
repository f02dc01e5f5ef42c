// The dashboard's routes: pages to read (GET) and the two operations (POST, confirmed from a plan), behind the
// token or password, with cross-site requests refused. A thin layer: everything it shows or does is a Backend
// call, which is the CLI's own code.
import { Hono, type Context } from 'hono';
import { getCookie, setCookie, deleteCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import { bodyLimit } from 'hono/body-limit';
import { SCRIPT, STYLE } from '../render/dashboard/assets.js';
import { environmentPage } from '../render/dashboard/environment.js';
import type { Html } from '../render/dashboard/html.js';
import { problemPage, signInPage } from '../render/dashboard/layout.js';
import { handoffPage, planPage, runPage } from '../render/dashboard/operations.js';
import { overviewPage } from '../render/dashboard/overview.js';
import type { RunHeader, Viewer } from '../render/dashboard/types.js';
import { sameOrigin, secretMatches, SESSION_COOKIE, Sessions, type Session } from './auth.js';
import { failureText, type Backend } from './backend.js';
import { RunRegistry, type Run } from './runs.js';

export interface DashboardOptions {
  backend: Backend;
  /** The token printed at start: `?token=` once, then a session cookie. */
  token: string;
  /** The signed-in user of a token session (the user who started the dashboard). */
  tokenUser: string;
  /** When set, a sign-in form with a name and this password opens a session too. */
  password?: string;
  /** How long a wrong password waits before its answer (tests: 0). */
  signInDelayMs?: number;
  /** Host headers accepted (DNS rebinding); undefined or holding `*`: any. */
  hosts?: Set<string>;
  /** Where the CLI's text of a run goes besides the page (the environment for the config load). */
  env: NodeJS.ProcessEnv;
}

/** A POST's form, read once by the check that guards every POST (a request's body can be read only once). */
type Form = Record<string, string | File | (string | File)[]>;
type Env = { Variables: { session: Session; form: Form } };

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the dashboard's own forms.
  'Referrer-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
};

const ENV_NAME = /^[a-z0-9][a-z0-9_-]*$/i;
const RELEASE_ID = /^[A-Za-z0-9._-]{1,80}$/;

/** Whether the browser says the request comes from one of the dashboard's own pages. */
const fromHere = (c: Context) => sameOrigin({ origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site'), host: c.req.header('host') });
const runHeader = (run: Run | undefined): RunHeader | undefined => (run ? { ...run.header, state: run.state } : undefined);
const viewerOf = (session: Session): Viewer => ({ user: session.user, csrf: session.csrf });

/** A page's two reads side by side: what each found, and the CLI's text of whichever failed (the page shows both). */
async function readBoth<A, B>(first: Promise<A>, second: Promise<B>): Promise<{ first?: A; second?: B; error?: string }> {
  const [a, b] = await Promise.allSettled([first, second]);
  const error = [a, b].flatMap((r) => (r.status === 'rejected' ? [failureText(r.reason)] : [])).join('\n');
  return { ...(a.status === 'fulfilled' ? { first: a.value } : {}), ...(b.status === 'fulfilled' ? { second: b.value } : {}), ...(error ? { error } : {}) };
}

export function dashboardApp(options: DashboardOptions): { app: Hono<Env>; runs: RunRegistry } {
  const { backend } = options;
  const sessions = new Sessions();
  const runs = new RunRegistry();
  const app = new Hono<Env>();
  let failedSignIns = Promise.resolve();
  /** The run going on in an environment, for the page to show (and to hold back its confirm). */
  const runningIn = (name: string): { running?: RunHeader } => {
    const running = runHeader(runs.running(name));
    return running ? { running } : {};
  };
  const send = (c: Context, body: Html, status: 200 | 400 | 401 | 403 | 404 | 409 = 200) => c.html(body.text, status);

  app.use('*', async (c, next) => {
    if (options.hosts && !options.hosts.has('*') && !options.hosts.has(c.req.header('host') ?? '')) {
      return c.text('refused: this dashboard answers only to the address it listens on', 421);
    }
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  });

  // Its forms are a few short fields: a body larger than this is not one of them, and is not read into memory.
  app.use('*', bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('refused: request body too large', 413) }));

  app.get('/assets/dashboard.css', (c) => c.body(STYLE, 200, { 'Content-Type': 'text/css; charset=utf-8' }));
  app.get('/assets/dashboard.js', (c) => c.body(SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }));

  const openSession = (c: Context, user: string) => {
    const session = sessions.create(user);
    setCookie(c, SESSION_COOKIE, session.id, { httpOnly: true, sameSite: 'Strict', path: '/' });
    return session;
  };

  app.post('/login', async (c) => {
    if (!fromHere(c)) return send(c, problemPage('Refused', 'A sign-in must come from this dashboard\'s own page.'), 403);
    const form = await c.req.parseBody();
    const user = typeof form.user === 'string' ? form.user.trim().slice(0, 64) : '';
    // Back to a page of this dashboard only: `//host` and `/\host` are other sites to a browser.
    const next = typeof form.next === 'string' && /^\/(?![/\\])/.test(form.next) ? form.next : '/';
    if (!options.password || !user || !/^[\w.@ -]+$/.test(user) || !secretMatches(typeof form.password === 'string' ? form.password : undefined, options.password)) {
      // A second per wrong guess, and one guess at a time: guessing the password takes forever.
      failedSignIns = failedSignIns.then(() => new Promise((r) => setTimeout(r, options.signInDelayMs ?? 1000)));
      await failedSignIns;
      return send(c, signInPage({ password: options.password !== undefined, failed: true, next }), 401);
    }
    openSession(c, user);
    return c.redirect(next, 303);
  });

  // Every other route: a session (from the token link or the sign-in), and for a POST, its form token and origin.
  app.use('*', async (c, next) => {
    const token = c.req.query('token');
    if (token !== undefined) {
      if (!secretMatches(token, options.token)) return send(c, signInPage({ password: options.password !== undefined }), 401);
      openSession(c, options.tokenUser);
      // The token leaves the address bar (and the history) at once.
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    const session = sessions.get(getCookie(c, SESSION_COOKIE));
    if (!session) return send(c, signInPage({ password: options.password !== undefined, next: new URL(c.req.url).pathname }), 401);
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      c.set('form', form);
      const csrf = typeof form.csrf === 'string' ? form.csrf : undefined;
      if (!fromHere(c) || !secretMatches(csrf, session.csrf)) {
        return send(c, problemPage('Refused', 'This request did not come from a page of this dashboard (cross-site request): nothing was done.', viewerOf(session)), 403);
      }
    }
    c.set('session', session);
    await next();
  });

  app.post('/logout', (c) => {
    sessions.end(c.get('session').id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return send(c, signInPage({ password: options.password !== undefined }), 200);
  });

  app.get('/', async (c) => {
    const names = await backend.environments();
    const summaries = await Promise.all(names.map(async (name) => ({ ...(await backend.summary(name)), ...runningIn(name) })));
    return send(c, overviewPage(summaries, viewerOf(c.get('session')), backend.dir));
  });

  /** The environment of the path, when the config directory has it. */
  const environment = async (c: Context<Env>): Promise<string | undefined> => {
    const name = c.req.param('env') ?? '';
    return ENV_NAME.test(name) && (await backend.environments()).includes(name) ? name : undefined;
  };
  const unknown = (c: Context<Env>) => send(c, problemPage('Not found', `No environment ${c.req.param('env') ?? ''} in ${backend.dir}.`, viewerOf(c.get('session'))), 404);

  app.get('/env/:env', async (c) => {
    const name = await environment(c);
    if (!name) return unknown(c);
    const viewer = viewerOf(c.get('session'));
    try {
      const detail = await backend.detail(name);
      return send(c, environmentPage({ ...detail, ...runningIn(name) }, viewer));
    } catch (error) {
      return send(c, problemPage(name, failureText(error), viewer), 400);
    }
  });

  app.get('/env/:env/deploy', async (c) => {
    const name = await environment(c);
    if (!name) return unknown(c);
    const ref = c.req.query('ref') ?? '';
    const full = c.req.query('full') === '1';
    const read = await readBoth(backend.refs(name), c.req.query('ref') !== undefined ? backend.plan(name, 'deploy', ref, full) : Promise.resolve(undefined));
    const view = { env: name, action: 'deploy' as const, requested: ref, full, ...(read.first ? { refs: read.first } : {}), ...(read.second ? { plan: read.second } : {}), ...(read.error ? { error: read.error } : {}), ...runningIn(name) };
    return send(c, planPage(view, viewerOf(c.get('session'))));
  });

  app.get('/env/:env/rollback', async (c) => {
    const name = await environment(c);
    if (!name) return unknown(c);
    const release = c.req.query('release') ?? '';
    if (release && !RELEASE_ID.test(release)) return send(c, problemPage('Bad request', `${release} is not a release id.`, viewerOf(c.get('session'))), 400);
    const read = await readBoth(backend.rollbackChoices(name), backend.plan(name, 'rollback', release, false));
    const view = { env: name, action: 'rollback' as const, requested: release, ...(read.first ? { choices: read.first } : {}), ...(read.second ? { plan: read.second } : {}), ...(read.error ? { error: read.error } : {}), ...runningIn(name) };
    return send(c, planPage(view, viewerOf(c.get('session'))));
  });

  app.get('/env/:env/handoff', async (c) => {
    const name = await environment(c);
    if (!name) return unknown(c);
    const to = c.req.query('to') ?? '';
    const read = await readBoth(backend.refs(name), c.req.query('to') !== undefined ? backend.handoff(name, to) : Promise.resolve(undefined));
    const view = { env: name, to, ...(read.first ? { refs: read.first } : {}), ...(read.second !== undefined ? { note: read.second } : {}), ...(read.error ? { error: read.error } : {}) };
    return send(c, handoffPage(view, viewerOf(c.get('session'))));
  });

  /** Starts the operation as a run, or says who is running one in this environment already. */
  const begin = (c: Context<Env>, name: string, action: 'deploy' | 'rollback', what: string, body: (run: Run) => Promise<boolean>) => {
    const session = c.get('session');
    const run = runs.start({ env: name, action, what, user: session.user }, body);
    if (!run) {
      const holder = runs.running(name)!.header;
      return send(c, problemPage('Busy', `${holder.user} is running a ${holder.action} of ${name} (to ${holder.what}) since ${holder.startedAt}: wait for it, then look at the plan again. It is at /runs/${holder.id}.`, viewerOf(session)), 409);
    }
    return c.redirect(`/runs/${run.header.id}`, 303);
  };
  const request = (c: Context<Env>, run: Run, name: string) => ({ env: name, actor: { user: c.get('session').user, via: 'dashboard' }, io: run.io({ env: options.env, cwd: backend.dir }), observer: run.observer() });

  app.post('/env/:env/deploy', async (c) => {
    const name = await environment(c);
    if (!name) return unknown(c);
    const form = c.get('form');
    const text = (key: string) => (typeof form[key] === 'string' ? form[key] : '');
    const ref = text('ref');
    const sha = text('sha');
    const full = text('full') === '1';
    return begin(c, name, 'deploy', `${ref || 'the default branch'}${sha ? ` (${sha.slice(0, 7)})` : ''}`, (run) => backend.deploy({ ...request(c, run, name), ref, full, ...(sha ? { sha } : {}) }));
  });

  app.post('/env/:env/rollback', async (c) => {
    const name = await environment(c);
    if (!name) return unknown(c);
    const form = c.get('form');
    const release = typeof form.release === 'string' ? form.release : '';
    if (release && !RELEASE_ID.test(release)) return send(c, problemPage('Bad request', `${release} is not a release id.`, viewerOf(c.get('session'))), 400);
    return begin(c, name, 'rollback', release || 'the previous good release', (run) => backend.rollback({ ...request(c, run, name), ...(release ? { release } : {}) }));
  });

  app.get('/runs/:id', (c) => {
    const run = runs.get(c.req.param('id'));
    if (!run) return send(c, problemPage('Not found', 'No such run in this dashboard (runs are kept while it runs).', viewerOf(c.get('session'))), 404);
    return send(c, runPage(run.view(), viewerOf(c.get('session'))));
  });

  app.get('/runs/:id/events', (c) => {
    const run = runs.get(c.req.param('id'));
    if (!run) return c.text('no such run', 404);
    // After a reconnect, EventSource says what it has seen; the page's own list is where a first connection starts.
    const after = Number(c.req.header('last-event-id') ?? c.req.query('after') ?? 0) || 0;
    return streamSSE(c, async (stream) => {
      await new Promise<void>((resolve) => {
        let writing = Promise.resolve();
        const stop = run.follow(after, (event) => {
          writing = writing.then(() =>
            event === 'end'
              ? stream.writeSSE({ event: 'end', data: JSON.stringify({ state: run.state }) }).then(resolve)
              : stream.writeSSE({ event: 'event', id: String(event.seq), data: JSON.stringify(event) }),
          );
        });
        stream.onAbort(() => {
          stop();
          resolve();
        });
      });
    });
  });

  app.notFound((c) => c.text('not found', 404));
  return { app, runs };
}
