// The dashboard's pages rendered from fixed data: what a reader sees (exact text), the links and forms they act
// through, and that every value from a server or config reaches the markup escaped.
import { describe, expect, it } from 'vitest';
import { environmentPage } from '../../src/render/dashboard/environment.js';
import { html } from '../../src/render/dashboard/html.js';
import { problemPage, signInPage } from '../../src/render/dashboard/layout.js';
import { handoffPage, planPage, runPage } from '../../src/render/dashboard/operations.js';
import { environmentState, overviewPage } from '../../src/render/dashboard/overview.js';
import { hostStatus, prodDetail, textOf } from './fixtures/dashboard.js';

const viewer = { user: 'alice', csrf: 'csrf-token-1' };

describe('html', () => {
  it('escapes every value and lets only html fragments through', () => {
    const name = '<script>alert("x")</script> & \'you\'';
    expect(html`<p title="${name}">${name}${html`<b>ok</b>`}${[1, html`<i>2</i>`]}${false}${undefined}</p>`.text).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;you&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;you&#39;<b>ok</b>1<i>2</i></p>',
    );
  });
});

describe('overview', () => {
  it('shows each environment with its servers, release, age, deployer, health, lock and last deploy', () => {
    const page = overviewPage(
      [
        { name: 'prod', project: 'shop', servers: 2, hosts: [hostStatus('web1'), hostStatus('web2', { lock: { state: 'held', holder: { user: 'bob', machine: 'desk', pid: 7 } } })] },
        { name: 'staging', hosts: [], error: 'error: sandbox server stg1 is not running' },
      ],
      viewer,
      '/srv/shop',
    ).text;
    expect(textOf(page)).toBe(
      'slipway alice sign out Environments /srv/shop ' +
        'prod deploying project shop · 2 servers Server Release Age By Health Lock Last ' +
        'web1 abc1234 main 2h01m ago alice@laptop ok free deploy ok ' +
        'web2 abc1234 main 2h01m ago alice@laptop ok held by bob@desk deploy ok Deploy… Details ' +
        'staging unreachable error: sandbox server stg1 is not running Deploy… Details',
    );
    expect(page).toContain('<a href="/env/prod">prod</a>');
    expect(page).toContain('<a class="button" href="/env/staging/deploy">Deploy…</a>');
    // The sign-out is a POST carrying the session's form token.
    expect(page).toContain('<form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="csrf-token-1">');
  });

  it('names the state of an environment in one word', () => {
    expect(environmentState({ hosts: [hostStatus('a')] })).toEqual({ label: 'healthy', tone: 'ok' });
    expect(environmentState({ hosts: [hostStatus('a'), hostStatus('b', { health: { url: 'u', status: null, expected: 200, ok: false } })] })).toEqual({ label: 'failing', tone: 'bad' });
    expect(environmentState({ hosts: [hostStatus('a', { current: null, health: null })] })).toEqual({ label: 'not deployed', tone: 'warn' });
    expect(environmentState({ hosts: [], error: 'x' })).toEqual({ label: 'unreachable', tone: 'bad' });
  });

  it('says where to start when the directory has no environment', () => {
    expect(textOf(overviewPage([], viewer, '/srv/empty').text)).toBe('slipway alice sign out Environments No deploy-<env>.yml in /srv/empty: start one with slipway init .');
  });
});

describe('environment page', () => {
  const page = environmentPage(prodDetail(), viewer).text;
  const text = textOf(page);

  it('shows each server: release, health, lock, disk, monitor and units', () => {
    expect(text).toContain('web1 /opt/shop release abc1234 main 20261203-101500-abc1234 (ok), 2h01m ago by alice@laptop health ok http://127.0.0.1:8000/health lock free last deploy ok disk releases 2.0 MB, venvs 50.0 MB, backups 0 KB Unit State Sub PID shop-web@blue.service active running 4242');
    expect(text).toContain('web2 /opt/shop release abc1234 main 20261203-101500-abc1234 (ok), 2h01m ago by alice@laptop health 503 http://127.0.0.1:8000/health');
    expect(text).toContain('monitor failing since 2026-12-03T11:00:00Z: health 503');
  });

  it('lists the releases newest first, with a rollback link for each good one that is not current', () => {
    expect(text).toContain('Releases Server Release Status Commit Ref Deployed by web1 20261203-101500-abc1234 ok abc1234 main alice@laptop current web1 20261203-080000-bad0002 bad - - - web1 20261202-090000-0ld0001 ok 0ld0001 v1.0 bob@desk roll back to this…');
    expect(page).toContain('<a href="/env/prod/rollback?release=20261202-090000-0ld0001">roll back to this…</a>');
    expect(page.match(/roll back to this/g)).toHaveLength(1);
  });

  it('shows the history newest first, and the .env by key names only', () => {
    expect(text).toContain('History Server When Action Result From To Ref By Time web1 2026-12-03T10:20:00Z env API_KEY ok - 20261203-101500-abc1234 main alice@laptop 1.5s web1 2026-12-03T10:15:00Z deploy ok');
    expect(text).toContain('Environment variables web1 : API_KEY , DATABASE_URL web2 : no .env Key names only: values are never read into the dashboard.');
  });

  it('puts the reason in place of a part it could not read', () => {
    expect(text).toContain('Backups error: db1: no database server reached');
  });
});

describe('deploy and rollback pages', () => {
  const refs = { branches: ['main', 'feature/x'], tags: ['v1.0'], default: 'main' };
  const plan = { text: 'Plan: deploy prod: main (abc1234) as release r1\n\n== web1 ==\n## 1. Take <the> lock\n', sha: 'abc1234def5678900000000000000000000000000', release: 'r1', headline: 'deploy prod: main (abc1234) as release r1' };

  it('offers the branches and tags, then shows the plan text exactly and a confirm form carrying what was planned', () => {
    const page = planPage({ env: 'prod', action: 'deploy', requested: 'main', refs, plan }, viewer).text;
    expect(page).toContain('<datalist id="refs"><option value="main">branch</option><option value="feature/x">branch</option><option value="v1.0">tag</option></datalist>');
    expect(page).toContain('<pre class="plan">Plan: deploy prod: main (abc1234) as release r1\n\n== web1 ==\n## 1. Take &lt;the&gt; lock\n</pre>');
    expect(page).toContain('<form method="post" action="/env/prod/deploy" class="actions">\n<input type="hidden" name="csrf" value="csrf-token-1">\n<input type="hidden" name="ref" value="main"><input type="hidden" name="sha" value="abc1234def5678900000000000000000000000000"><input type="hidden" name="release" value="r1">');
    expect(textOf(page)).toContain('Deploy abc1234 to prod Cancel');
  });

  it('shows no confirm while a run goes on there, but who runs it', () => {
    const running = { id: 'f00d', env: 'prod', action: 'deploy' as const, what: 'main', user: 'bob', startedAt: '2026-12-03T12:00:00Z', state: 'running' as const };
    const page = planPage({ env: 'prod', action: 'deploy', requested: 'main', refs, plan, running }, viewer).text;
    expect(page).not.toContain('method="post" action="/env/prod/deploy"');
    expect(textOf(page)).toContain('deploy of main by bob is running — follow it');
  });

  it('offers the good releases of a rollback and confirms the one planned', () => {
    const page = planPage({ env: 'prod', action: 'rollback', requested: 'r0', choices: [{ id: 'r0', label: 'r0 (v1.0)' }], plan: { ...plan, text: 'Plan: rollback prod to r0\n', sha: null, release: 'r0', headline: 'rollback prod to r0' } }, viewer).text;
    expect(page).toContain('<option value="r0" selected>r0 (v1.0)</option>');
    expect(textOf(page)).toContain('Roll prod back to r0 Cancel');
    expect(page).toContain('<input type="hidden" name="release" value="r0">');
  });

  it('shows a planning failure as the CLI would print it', () => {
    expect(textOf(planPage({ env: 'prod', action: 'deploy', requested: 'nope', refs, error: 'error: no branch, tag or commit nope in /srv/shop' }, viewer).text)).toContain('error: no branch, tag or commit nope in /srv/shop');
  });
});

describe('run page', () => {
  const events = [
    { seq: 1, seconds: 0.1, kind: 'step' as const, host: 'web1', text: 'Take the deploy lock' },
    { seq: 2, seconds: 1.25, kind: 'warning' as const, host: 'web1', text: 'disk 91 % full' },
    { seq: 3, seconds: 2, kind: 'out' as const, text: 'deployed prod: r1 is live on 1 host(s) in 2.0s' },
  ];
  const header = { id: 'abc123', env: 'prod', action: 'deploy' as const, what: 'main (abc1234)', user: 'alice', startedAt: '2026-12-03T12:00:00Z' };

  it('lists the events so far and, while running, follows the stream (and reloads without a script)', () => {
    const page = runPage({ ...header, state: 'running', events: events.slice(0, 2) }, viewer).text;
    expect(page).toContain('<ol class="events" data-stream="/runs/abc123/events?after=2">');
    expect(page).toContain('<li id="event-2" class="warning"><span class="t">1.3s</span><span class="h">web1</span><span class="x">disk 91 % full</span></li>');
    expect(page).toContain('<noscript><meta http-equiv="refresh" content="2"></noscript>');
    expect(page).toContain('<body data-run-state="running">');
  });

  it('when finished: the result, every event, and nothing left to follow', () => {
    const page = runPage({ ...header, state: 'ok', events }, viewer).text;
    expect(textOf(page)).toBe('slipway alice sign out deploy prod: main (abc1234) ok started by alice at 2026-12-03T12:00:00Z 0.1s web1 Take the deploy lock 1.3s web1 disk 91 % full 2.0s deployed prod: r1 is live on 1 host(s) in 2.0s Back to prod');
    expect(page).not.toContain('data-stream');
    expect(page).not.toContain('http-equiv="refresh"');
  });
});

describe('sign-in, problems and the handoff note', () => {
  it('tells how to get in, with the password form only when a password is set', () => {
    expect(textOf(signInPage({ password: false }).text)).toBe('slipway This dashboard needs its access token Open the link slipway dashboard printed when it started (it carries ?token=… ).');
    const withPassword = signInPage({ password: true, failed: true, next: '/env/prod' }).text;
    expect(withPassword).toContain('<input type="hidden" name="next" value="/env/prod">');
    expect(textOf(withPassword)).toContain('or sign in with the dashboard password. Sign in That name and password do not match. Name Password Sign in');
  });

  it('shows a problem with the way back, and the handoff note as written', () => {
    expect(textOf(problemPage('Busy', 'bob is running a deploy of prod', viewer).text)).toBe('slipway alice sign out Busy bob is running a deploy of prod All environments');
    expect(handoffPage({ env: 'prod', to: 'main', note: '# Deploying main\n<b>' }, viewer).text).toContain('<pre class="handoff"># Deploying main\n&lt;b&gt;</pre>');
  });
});
