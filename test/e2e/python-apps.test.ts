// Real deploys of the Python examples through the CLI to sandbox servers (issue 4): the Django shop from a fresh
// server, its venv reused by a code-only redeploy, a migration after a restorable backup, failing migration, smoke
// import and health check each leaving the previous release serving, a real pip install from a wheelhouse and a
// rollback to the old dependencies, the FastAPI items API with its worker, and secrets kept out of every process
// list. Each describe boots one server and tells one story in order: a test builds on the one before it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppRepo, buildProbeWheel, FIXTURES, http, onServer, sampleProcessList, waitFor } from './helpers/python-app.js';
import { useSandboxes, type TestServer } from './helpers/sandbox.js';

const SHOP = 'http://127.0.0.1:8000';
const ITEMS = 'http://127.0.0.1:8001';

/** The number of visits the shop's home page reports (the page itself writes one more row first). */
async function visitPage(server: TestServer): Promise<number> {
  const page = await http(server, `${SHOP}/`);
  expect(page.status, page.body).toBe(200);
  return Number(/<p class="count">(\d+) visits? so far<\/p>/.exec(page.body)?.[1]);
}

/** The version /version/ answers, waiting for `expected` (a switched-back process takes a moment to listen again). */
async function versionServed(server: TestServer, expected: string): Promise<string> {
  const answer = await waitFor(() => http(server, `${SHOP}/version/`), (a) => a.status === 200 && a.body.trim() === expected, 5000);
  return answer.status === 200 ? answer.body.trim() : `(HTTP ${answer.status})`;
}

/** What must hold after a deploy that failed: same `current`, same process, old version served. */
async function servingState(server: TestServer): Promise<string> {
  return onServer(server, 'readlink /opt/shop/current; systemctl show -p MainPID --value shop-web');
}

/** Every secret must be absent from the samples of the process list, from what the CLI printed and from its logs. */
function expectSecretsHidden(repo: AppRepo, texts: string[]): void {
  for (const [name, value] of Object.entries(repo.secrets)) {
    for (const form of [value, encodeURIComponent(value)]) expect(texts.filter((t) => t.includes(form)).length, `${name} leaked`).toBe(0);
  }
}

describe('the Django example, from a fresh server through failed deploys', () => {
  const NAME = 'e2e-py-django';
  const servers = useSandboxes([NAME]);
  const server = () => servers[0]!;
  let repo: AppRepo;
  let views: string;
  let wsgi: string;
  beforeAll(async () => {
    repo = await AppRepo.create('django-app', [NAME]);
    views = await repo.read('visits/views.py');
    wsgi = await repo.read('shop/wsgi.py');
  });
  afterAll(async () => repo?.remove());

  it('deploys to a fresh server: page, /health/ and static files answer; the app user runs it; no secret is ever visible', async () => {
    await repo.commit('v1');
    const ps = sampleProcessList(server());
    await new Promise((r) => setTimeout(r, 300)); // the sampler is running before the deploy starts
    const deployed = await repo.cli('deploy', 'sandbox');
    const samples = await ps.stop();
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toMatch(/Create venv [0-9a-f]+ and install dependencies/);
    expect(deployed.stderr).toContain('Report Django deployment checks:'); // check --deploy's findings, shown after the deploy
    expect(deployed.stderr).toContain('System check identified');

    const page = await http(server(), `${SHOP}/`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<p class="count">1 visit so far</p>');
    expect(page.body).toContain(`release <span class="version">v1</span> on <span class="host">${NAME}</span>`);
    expect(page.body).toContain('href="/static/visits/site.css"');
    expect(await http(server(), `${SHOP}/health/`)).toEqual({ status: 200, body: 'ok\n' });
    const css = await http(server(), `${SHOP}/static/visits/site.css`); // collected into the release, served with SERVE_STATIC=1
    expect(css).toEqual({ status: 200, body: await readFile(join(repo.dir, 'visits/static/visits/site.css'), 'utf8') });

    const state = await onServer(
      server(),
      [
        'systemctl is-active shop-web',
        'main=$(systemctl show -p MainPID --value shop-web)',
        'ps -o user= -p "$main"',
        'ps -o user= --ppid "$main" | sort -u', // gunicorn's workers
        'stat -c "%a %U %G" /opt/shop/shared/.env',
        'readlink /opt/shop/current/.env',
        'readlink /opt/shop/current/.venv',
      ].join('; '),
    );
    expect(state.split('\n')).toEqual(['active', 'shop', 'shop', '600 shop shop', '/opt/shop/shared/.env', expect.stringMatching(/^\/opt\/shop\/venvs\/[0-9a-f]+$/)]);
    // The secrets reach the app exactly (the health check above proves the database password made it too).
    const environ = await onServer(server(), 'tr "\\0" "\\n" < /proc/$(systemctl show -p MainPID --value shop-web)/environ');
    expect(environ.split('\n')).toContain(`DJANGO_SECRET_KEY=${repo.secrets.DJANGO_SECRET_KEY}`);
    expect(environ.split('\n')).toContain(`DATABASE_URL=postgresql://shop:${encodeURIComponent(repo.secrets.DB_PASSWORD!)}@localhost:5432/shop`);

    // Role, password, .env, migrations, the backup and the app itself all happened while the list was sampled.
    expect(samples.length).toBeGreaterThan(5);
    // The deploy's agent was sampled: its command line is the bootstrap only (the agent came on stdin).
    expect(samples.some((s) => s.includes('agent=$(head -c '))).toBe(true);
    expect(samples.some((s) => s.includes('##slipway-ready'))).toBe(false);
    expect(samples.some((s) => s.includes('gunicorn'))).toBe(true);
    expectSecretsHidden(repo, [...samples, deployed.stdout, deployed.stderr, await repo.readLogs()]);
  });

  it('a code-only redeploy reuses the venv, and the visits written before it are still counted', async () => {
    const venv = 'v=$(readlink -f /opt/shop/current/.venv); echo "$v"; stat -c "%i %y" "$v" "$v/bin/python3" "$v/.slipway-complete"; ls /opt/shop/venvs';
    const venvBefore = await onServer(server(), venv);
    const before = await visitPage(server());
    expect(before).toBeGreaterThanOrEqual(2);

    await repo.commit('v2', { 'visits/templates/visits/index.html': (await repo.read('visits/templates/visits/index.html')).replace('<h1>shop,', '<h1>The shop,') });
    const deployed = await repo.deploy();
    expect(deployed.stderr).toMatch(/Reuse venv [0-9a-f]+ \(dependencies unchanged\)/);
    expect(deployed.stderr).not.toContain('Create venv');
    // Settings, migrations, static files and venv as the first release had them: no check is repeated, and the
    // collected files are the first release's own (hard links), still served.
    for (const check of ['Collect static files', 'Report Django deployment checks', 'Back up the database and apply pending migrations']) expect(deployed.stderr).toContain(`${check}: skip (inputs unchanged since `);
    expect(deployed.stderr).not.toContain('Report Django deployment checks:\n');
    expect(await onServer(server(), 'stat -L -c %h /opt/shop/current/staticfiles/visits/site.css')).toBe('2');
    expect((await http(server(), `${SHOP}/static/visits/site.css`)).status).toBe(200);
    expect(await onServer(server(), venv)).toBe(venvBefore); // the same directory, untouched
    expect(await onServer(server(), 'ls /opt/shop/venvs | wc -l')).toBe('1');

    expect(await versionServed(server(), 'v2')).toBe('v2');
    expect(await visitPage(server())).toBe(before + 1);
    const { current, releases } = await repo.releases();
    expect(releases.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(current).toBe(releases[1]!.id);
  });

  it('a release with a new migration is backed up first, and the backup restores into a scratch database', async () => {
    const rows = await visitPage(server()); // no page is visited during the deploy: the dump holds exactly these
    await repo.commit('v3', { 'visits/migrations/0002_visit_user_agent.py': await readFile(join(FIXTURES, 'django-migrations', '0002_visit_user_agent.py'), 'utf8') });
    const deployed = await repo.deploy();
    expect(deployed.stderr).toContain('Back up the database and apply pending migrations');
    const { current, releases } = await repo.releases();
    const [first, codeOnly, migrated] = releases.map((r) => r.id);
    expect(current).toBe(migrated);

    const dump = `/opt/shop/shared/backups/${migrated}-pre-migrate.dump`;
    expect(await onServer(server(), `cat /opt/shop/.slipway/releases/${migrated}/backup`)).toBe(dump);
    expect(await onServer(server(), `stat -c "%a %U" ${dump}; pg_restore --list ${dump} | grep -c "TABLE DATA public visits_visit"`)).toBe('600 root\n1');
    // Only releases with pending migrations took a backup: the code-only redeploy did not.
    expect((await onServer(server(), 'ls /opt/shop/shared/backups')).split('\n')).toEqual([`${first}-pre-migrate.dump`, `${migrated}-pre-migrate.dump`]);
    expect(await onServer(server(), `test ! -e /opt/shop/.slipway/releases/${codeOnly}/backup && echo none`)).toBe('none');

    const column = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'visits_visit' AND column_name = 'user_agent'";
    expect(await onServer(server(), `sudo -u postgres psql -d shop -tAc "${column}"`)).toBe('1'); // migrated
    const restored = await onServer(
      server(),
      [
        'set -e',
        'sudo -u postgres dropdb --if-exists scratch',
        'sudo -u postgres createdb scratch',
        `sudo -u postgres pg_restore --exit-on-error -d scratch < ${dump}`, // root reads the 0600 dump, postgres restores it
        'sudo -u postgres psql -d scratch -tAc "SELECT count(*) FROM visits_visit"',
        `sudo -u postgres psql -d scratch -tAc "${column}"`,
        'sudo -u postgres dropdb scratch',
      ].join('\n'),
    );
    expect(restored.split('\n')).toEqual([String(rows), '0']); // every row, and the schema from before the migration
    expect(await visitPage(server())).toBe(rows + 1);
  });

  it('a failing migration stops before the switch: the previous release keeps serving, the new one is failed; the next deploy succeeds', async () => {
    const previous = (await repo.releases()).current;
    const before = await servingState(server());
    const broken = (await readFile(join(FIXTURES, 'django-migrations', '0002_broken.py'), 'utf8')).replace('"0001_initial"', '"0002_visit_user_agent"');
    await repo.commit('v4', { 'visits/migrations/0003_broken.py': broken });
    const failed = await repo.cli('deploy', 'sandbox');

    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(new RegExp(`error: Back up the database and apply pending migrations failed on ${NAME} \\(exit 1\\)`));
    expect(failed.stderr).toContain('column "no_such_column" does not exist');
    expect(await servingState(server())).toBe(before);
    expect(await versionServed(server(), 'v3')).toBe('v3');
    const column = "SELECT count(*) FROM information_schema.columns WHERE table_name = 'visits_visit' AND column_name = 'half_done'";
    expect(await onServer(server(), `sudo -u postgres psql -d shop -tAc "${column}"`)).toBe('0'); // rolled back with its transaction
    await expectNewest('failed', previous);

    await repo.commit('v5', { 'visits/migrations/0003_broken.py': null });
    await repo.deploy();
    expect(await versionServed(server(), 'v5')).toBe('v5');
    await expectNewest('ok');
  });

  it('a release whose WSGI app does not import fails its smoke test: the previous release keeps serving; the next deploy succeeds', async () => {
    const previous = (await repo.releases()).current;
    const before = await servingState(server());
    // Only the WSGI module imports it: collectstatic, check and migrate pass, the smoke test is what catches it.
    await repo.commit('v6', { 'shop/broken.py': 'def half_written(:\n', 'shop/wsgi.py': `${wsgi}\nimport shop.broken  # noqa: E402,F401\n` });
    const failed = await repo.cli('deploy', 'sandbox');

    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(new RegExp(`error: Smoke test the new release failed on ${NAME} \\(exit 1\\)`));
    expect(failed.stderr).toContain('SyntaxError');
    expect(await servingState(server())).toBe(before);
    expect(await versionServed(server(), 'v5')).toBe('v5');
    await expectNewest('failed', previous);

    await repo.commit('v7', { 'shop/broken.py': null, 'shop/wsgi.py': wsgi });
    await repo.deploy();
    expect(await versionServed(server(), 'v7')).toBe('v7');
    await expectNewest('ok');
  });

  it('a release whose /health/ answers 503 is switched back and marked bad; the next deploy succeeds', async () => {
    const previous = (await repo.releases()).current;
    const unhealthy = views.replace('return HttpResponse("ok\\n", content_type="text/plain")', 'return HttpResponse("not ready\\n", status=503, content_type="text/plain")');
    expect(unhealthy).not.toBe(views);
    // Five attempts (1.5 s of backoff) instead of ten (11 s): enough for gunicorn to listen and answer 503.
    await repo.configure([NAME], { health: { retries: 5 } });
    await repo.commit('v8', { 'visits/views.py': unhealthy });
    const failed = await repo.cli('deploy', 'sandbox');

    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(new RegExp(`error: Check health: http://127\\.0\\.0\\.1:8000/health/ through /opt/shop/run/web\\.sock failed on ${NAME}`));
    expect(failed.stderr).toContain('answered 503, expected 200');
    expect(await versionServed(server(), 'v7')).toBe('v7');
    expect(await http(server(), `${SHOP}/health/`)).toEqual({ status: 200, body: 'ok\n' });
    expect(await onServer(server(), 'readlink /opt/shop/current')).toBe(`/opt/shop/releases/${previous}`);
    await expectNewest('bad', previous);

    await repo.configure([NAME]);
    await repo.commit('v9', { 'visits/views.py': views });
    await repo.deploy();
    expect(await versionServed(server(), 'v9')).toBe('v9');
    expect(await http(server(), `${SHOP}/health/`)).toEqual({ status: 200, body: 'ok\n' });
    await expectNewest('ok');
  });

  /** The newest release has `status` in `releases --json` and in the table; current is it when ok, else `previous`. */
  async function expectNewest(status: 'ok' | 'failed' | 'bad', previous?: string | null): Promise<void> {
    const { current, releases } = await repo.releases();
    const newest = releases[releases.length - 1]!;
    expect(newest.status).toBe(status);
    expect(current).toBe(status === 'ok' ? newest.id : previous);
    const table = (await repo.cli('releases', 'sandbox')).stdout.split('\n');
    const row = table.find((line) => line.includes(newest.id));
    expect(row).toMatch(new RegExp(`^${NAME}\\s+${status === 'ok' ? '\\*' : ''}\\s+${newest.id.replaceAll('.', '\\.')}\\s+${status}\\s`));
  }
});

describe('dependencies from a wheelhouse the test builds, and a rollback across a dependency change', () => {
  const NAME = 'e2e-py-wheels';
  const servers = useSandboxes([NAME]);
  const server = () => servers[0]!;
  let repo: AppRepo;
  let requirements: string;
  beforeAll(async () => {
    // deploy.yml's pip.no_index stays: pip installs slipway-probe from the release's wheelhouse/ and nothing else.
    repo = await AppRepo.create('django-app', [NAME], { pip: { find_links: ['wheelhouse'], no_index: true } });
    requirements = await repo.read('requirements.txt');
    // /version/ also names the probe's version as the running app imports it.
    const views = await repo.read('visits/views.py');
    const withProbe = views.replace(
      'def version(request):\n    return HttpResponse(release_version() + "\\n", content_type="text/plain")',
      'def version(request):\n    import slipway_probe\n\n    return HttpResponse(f"{release_version()} probe {slipway_probe.VERSION}\\n", content_type="text/plain")',
    );
    expect(withProbe).not.toBe(views);
    await repo.commit('setup', { 'visits/views.py': withProbe });
  });
  afterAll(async () => repo?.remove());

  const probe = "/opt/shop/current/.venv/bin/python -c 'import os, slipway_probe; print(slipway_probe.VERSION, os.path.realpath(slipway_probe.__file__))'";
  const served = (expected: string) =>
    waitFor(() => http(server(), `${SHOP}/version/`), (a) => a.body === `${expected}\n`, 5000).then((a) => a.body.trim());

  it('pip installs the pinned wheel into the release venv; a rollback after a dependency change brings back the old code and the old version', async () => {
    await buildProbeWheel('1.0.0', join(repo.dir, 'wheelhouse'));
    await repo.commit('w1', { 'requirements.txt': `${requirements}slipway-probe==1.0.0\n` });
    const first = await repo.deploy();
    expect(first.stderr).toMatch(/Create venv [0-9a-f]+ and install dependencies/);
    const venv1 = await onServer(server(), 'readlink /opt/shop/current/.venv');
    expect(await onServer(server(), probe)).toBe(`1.0.0 ${venv1}/lib/python3.11/site-packages/slipway_probe/__init__.py`);
    expect(await onServer(server(), 'python3 -c "import slipway_probe" 2>&1 || echo absent')).toContain('absent'); // only in the venv
    expect(await served('w1 probe 1.0.0')).toBe('w1 probe 1.0.0');

    await buildProbeWheel('2.0.0', join(repo.dir, 'wheelhouse')); // the wheelhouse holds both: the pin decides
    await repo.commit('w2', { 'requirements.txt': `${requirements}slipway-probe==2.0.0\n` });
    const second = await repo.deploy();
    expect(second.stderr).toMatch(/Create venv [0-9a-f]+ and install dependencies/);
    const venv2 = await onServer(server(), 'readlink /opt/shop/current/.venv');
    expect(venv2).not.toBe(venv1);
    expect(await onServer(server(), probe)).toBe(`2.0.0 ${venv2}/lib/python3.11/site-packages/slipway_probe/__init__.py`);
    expect(await served('w2 probe 2.0.0')).toBe('w2 probe 2.0.0');

    const rolledBack = await repo.cli('rollback', 'sandbox');
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    const output = `${rolledBack.stdout}${rolledBack.stderr}`;
    expect(output).not.toContain('Create venv');
    expect(output).not.toContain('pip');
    expect(await onServer(server(), 'readlink /opt/shop/current/.venv')).toBe(venv1);
    expect(await onServer(server(), probe)).toBe(`1.0.0 ${venv1}/lib/python3.11/site-packages/slipway_probe/__init__.py`);
    expect(await served('w1 probe 1.0.0')).toBe('w1 probe 1.0.0'); // the running app: old code, old dependency
    const { current, releases } = await repo.releases();
    expect(releases.map((r) => r.status)).toEqual(['ok', 'bad']);
    expect(current).toBe(releases[0]!.id);
  });
});

describe('the FastAPI example with its worker', () => {
  const NAME = 'e2e-py-fastapi';
  const servers = useSandboxes([NAME]);
  const server = () => servers[0]!;
  let repo: AppRepo;
  beforeAll(async () => {
    repo = await AppRepo.create('fastapi-app', [NAME]);
  });
  afterAll(async () => repo?.remove());

  it('runs web and worker as the app user; an item posted to the API is processed by the worker through Redis', async () => {
    await repo.commit('f1');
    const ps = sampleProcessList(server());
    await new Promise((r) => setTimeout(r, 300));
    const deployed = await repo.cli('deploy', 'sandbox');
    const samples = await ps.stop();
    expect(deployed.code, deployed.stderr).toBe(0);

    const state = await onServer(
      server(),
      [
        'systemctl is-active items-web items-worker',
        'ps -o user= -p "$(systemctl show -p MainPID --value items-web)"',
        'ps -o user= -p "$(systemctl show -p MainPID --value items-worker)"',
        'stat -c "%a %U %G" /opt/items/shared/.env',
      ].join('; '),
    );
    expect(state.split('\n')).toEqual(['active', 'active', 'items', 'items', '600 items items']);
    expect(await http(server(), `${ITEMS}/health`)).toEqual({ status: 200, body: '{"status":"ok","database":"ok","redis":"ok"}' });
    expect((await http(server(), `${ITEMS}/version`)).body).toBe('f1\n');

    const posted = await http(server(), `${ITEMS}/items`, { method: 'POST', json: { name: 'e2e item' } });
    expect(posted.status, posted.body).toBe(201);
    const item = JSON.parse(posted.body) as { id: number; name: string; processed: boolean };
    expect(item).toMatchObject({ name: 'e2e item' });
    const read = () => http(server(), `${ITEMS}/items/${item.id}`).then((a) => JSON.parse(a.body) as { processed: boolean });
    expect(await waitFor(read, (i) => i.processed, 5000)).toMatchObject({ id: item.id, name: 'e2e item', processed: true });
    const journal = () => onServer(server(), 'journalctl -u items-worker --no-pager -o cat');
    expect(await waitFor(journal, (text) => text.includes(`item ${item.id} processed`), 5000)).toContain(`item ${item.id} processed`);
    expect(await onServer(server(), 'redis-cli llen items:queue')).toBe('0');

    expect(samples.length).toBeGreaterThan(5);
    expectSecretsHidden(repo, [...samples, deployed.stdout, deployed.stderr, await repo.readLogs()]);
  });
});
