// Step 3 of docs/scaling.md for real (issue 9): five sandbox servers, e2e-lb1 (lb: the public site, TLS),
// e2e-web1 and e2e-web2 (web), e2e-worker1 (worker: the queue worker and the singleton scheduler) and e2e-db1
// (db: PostgreSQL and Redis). One `setup`, then the Django example with a job queue through Redis
// (test/e2e/fixtures/django-scaling): the site answers through lb1 over HTTPS and spreads over both web servers,
// which share one database; the web servers let in only lb1; a job the web app queues is done by the worker on
// worker1; one scheduler runs in all; PostgreSQL refuses lb1 and takes web1 only over TLS; status and releases
// show the five servers; a release failing its health check on web2 leaves every server on the old release while
// the site keeps answering.
import { appendFile, cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AppRepo, expectPostgresTlsOnly, FIXTURES, http, onServer, psqlTo, run, shellQuote, waitFor } from './helpers/python-app.js';
import { useSandboxes } from './helpers/sandbox.js';
import { get, startLoad, type Answer } from './helpers/web-client.js';

const NAMES = ['e2e-lb1', 'e2e-web1', 'e2e-web2', 'e2e-worker1', 'e2e-db1'] as const;
const ROLES = [['lb'], ['web'], ['web'], ['worker'], ['db']];
const DOMAIN = 'shop.test';
const REDIS_PASSWORD = 'e2e-redis-pw-9c41d2';

const config = (extra: Record<string, unknown> = {}) => ({
  servers: NAMES.map((sandbox, i) => ({ sandbox, roles: ROLES[i] })),
  // What this test is about is not the firewall or upgrades (setup-backups covers them): setup stays short.
  setup: { ufw: false, unattended_upgrades: false, ssh_hardening: false, redis: { enabled: true, password: '${REDIS_PASSWORD}' } },
  http: { domain: DOMAIN, tls: 'self-signed' },
  processes: {
    worker: { command: 'python manage.py work_jobs', roles: ['worker'] },
    scheduler: { command: 'python manage.py run_scheduler', roles: ['worker'], singleton: true },
  },
  // The example's settings plus the job queue's URLs (the fixture).
  env_vars: { DJANGO_SETTINGS_MODULE: 'shop.scaling_settings' },
  ...extra,
});

describe('a load balancer, two web servers, a worker and a database server', () => {
  const servers = useSandboxes([...NAMES]);
  const at = (i: number) => () => servers[i]!;
  const [lb1, web1, web2, worker1, db1] = [at(0), at(1), at(2), at(3), at(4)];
  let repo: AppRepo;

  /** A GET to the public site as a browser reaching shop.test at lb1 would make it (the certificate is self-signed). */
  const site = (path: string): Promise<Answer> => get({ address: lb1().address, host: DOMAIN }, path, { https: true, timeoutMs: 10_000 });
  /** Processes whose command line matches `pattern`, per server in NAMES order (the bracket keeps pgrep from counting its own shell). */
  const processCount = (pattern: string) => Promise.all(servers.map(async (s) => Number((await s.run(`pgrep -fc ${shellQuote(pattern)} || true`)).stdout.trim() || '0')));
  /** The index page (a new visit) and what it shows: the visit count and the server that answered. */
  const visit = (body: string) => ({ count: Number(/<p class="count">(\d+) visits? so far<\/p>/.exec(body)?.[1]), host: /<span class="host">([^<]*)<\/span>/.exec(body)?.[1] });
  const psql = psqlTo(db1, () => repo.secrets.DB_PASSWORD!);
  const releases = async () => JSON.parse((await repo.cli('releases', 'sandbox', '--json')).stdout) as { host: string; current: string | null; releases: { id: string; status: string }[] }[];

  beforeAll(async () => {
    repo = await AppRepo.create('django-app', NAMES);
    await cp(join(FIXTURES, 'django-scaling'), repo.dir, { recursive: true });
    await writeFile(join(repo.dir, 'deploy-sandbox.yml'), stringify(config()));
    await appendFile(join(repo.dir, '.slipway', 'secrets-sandbox.env'), `REDIS_PASSWORD=${REDIS_PASSWORD}\n`);
    await repo.commit('v1');
  });
  afterAll(async () => repo?.remove());

  it('setup, then a deploy: the site answers through lb1 over HTTPS, and HTTP redirects there', async () => {
    const setup = await repo.cli('setup', 'sandbox');
    expect(setup.code, setup.stderr + setup.stdout).toBe(0);
    // The app servers are web1, web2 and worker1: not lb1, which runs no process of the app.
    expect(setup.stdout).toMatch(/e2e-db1\s+changed\s+PostgreSQL: listen on the private address, TLS, 3 app servers only/);
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);

    const version = await site('/version/');
    expect([version.status, version.body]).toEqual([200, 'v1\n']);
    expect(version.certificate?.subject.CN).toBe(DOMAIN);
    expect(version.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    const plain = await get({ address: lb1().address, host: DOMAIN }, '/version/');
    expect([plain.status, plain.headers.location]).toEqual([301, `https://${DOMAIN}/version/`]);
  });

  it('lb1 spreads requests over web1 and web2, and a visit written through web1 is counted through web2', async () => {
    const hosts = new Set<string | undefined>();
    for (let i = 0; i < 10 && hosts.size < 2; i++) {
      const page = await site('/');
      expect(page.status, page.body).toBe(200);
      hosts.add(visit(page.body).host);
    }
    expect([...hosts].sort()).toEqual(['e2e-web1', 'e2e-web2']);

    // Each web server's private site, as lb1 reaches it.
    const throughWeb1 = await http(lb1(), `http://${web1().address}/`);
    expect(throughWeb1.status, throughWeb1.body).toBe(200);
    const throughWeb2 = await http(lb1(), `http://${web2().address}/`);
    expect(throughWeb2.status, throughWeb2.body).toBe(200);
    expect(visit(throughWeb1.body).host).toBe('e2e-web1');
    expect(visit(throughWeb2.body)).toEqual({ count: visit(throughWeb1.body).count + 1, host: 'e2e-web2' });
  });

  it('a web server answers lb1 only: this host and worker1 get 403 on its private site', async () => {
    for (const web of [web1(), web2()]) {
      expect((await get({ address: web.address, host: DOMAIN }, '/version/')).status).toBe(403);
      expect((await http(worker1(), `http://${web.address}/version/`)).status).toBe(403);
      expect(await http(lb1(), `http://${web.address}/version/`)).toEqual({ status: 200, body: 'v1\n' });
    }
    // TLS ends at lb1: nothing listens on the web servers' port 443.
    expect(await onServer(web1(), 'ss -Hltn')).not.toMatch(/:443\s/);
  });

  it('a job the web app queues in Redis on db1 is done by the worker, which runs on worker1 only', async () => {
    expect(await onServer(web1(), 'grep -E "^REDIS_URL=" /opt/shop/shared/.env')).toBe(`REDIS_URL="redis://:${REDIS_PASSWORD}@${db1().address}:6379/0"`);
    expect(await processCount('[m]anage[.]py work_jobs')).toEqual([0, 0, 0, 1, 0]);

    const queued = await run('curl', ['-sSk', '-m', '10', '--resolve', `${DOMAIN}:443:${lb1().address}`, '-X', 'POST', '-w', '\n%{http_code}', `https://${DOMAIN}/jobs/`], { cwd: repo.dir });
    expect(queued.stdout, queued.stderr).toMatch(/\n202$/);
    const job = JSON.parse(queued.stdout.slice(0, queued.stdout.lastIndexOf('\n'))) as { id: string; enqueued_by: string };
    expect(['e2e-web1', 'e2e-web2']).toContain(job.enqueued_by);

    const done = await waitFor(() => site(`/jobs/${job.id}/`), (a) => a.status !== 404, 30_000);
    expect(done.status, done.body).toBe(200);
    expect(JSON.parse(done.body)).toEqual({ id: job.id, status: 'done', enqueued_by: job.enqueued_by, done_by: 'e2e-worker1' });
    expect(await onServer(db1(), `cd / && runuser -u postgres -- psql -AtX -d shop -c "SELECT done_by FROM scaling_jobs WHERE id = '${job.id}'"`)).toBe('e2e-worker1');
  });

  it('exactly one scheduler runs across the five servers, on worker1', async () => {
    expect(await processCount('[m]anage[.]py run_scheduler')).toEqual([0, 0, 0, 1, 0]);
    // Its heartbeat reaches Redis on db1: it runs with the app's environment, not just as a process.
    const heartbeat = await waitFor(() => onServer(db1(), `REDISCLI_AUTH=${REDIS_PASSWORD} redis-cli --no-auth-warning get shop:scheduler`), (v) => v !== '', 15_000);
    expect(heartbeat).toBe('e2e-worker1');
  });

  it('PostgreSQL on db1 refuses lb1, and web1 without TLS; takes web1 with TLS', async () => {
    await expectPostgresTlsOnly(psql, lb1(), web1());
  });

  it('status and releases list the five servers, on one release; status says where the scheduler runs', async () => {
    const status = await repo.cli('status', 'sandbox', '--json');
    expect(status.code, status.stderr).toBe(0);
    const hosts = JSON.parse(status.stdout) as { host: string; current: { id: string } | null; units: { name: string; active: string }[]; singletons?: string[] }[];
    expect(hosts.map((h) => h.host)).toEqual([...NAMES]);
    expect(new Set(hosts.map((h) => h.current?.id)).size).toBe(1);
    expect(hosts.map((h) => h.singletons ?? [])).toEqual([[], [], [], ['scheduler'], []]);
    const active = (h: (typeof hosts)[number]) => h.units.filter((u) => u.active === 'active').map((u) => u.name.replace(/@.*/, '@')).sort();
    expect(active(hosts[3]!)).toEqual(['shop-scheduler.service', 'shop-worker.service']);
    for (const web of [hosts[1]!, hosts[2]!]) expect(active(web)).toContain('shop-web@');
    for (const none of [hosts[0]!, hosts[4]!]) expect(active(none)).toEqual([]);
    // The load balancer and the database server run none of the app: they get its code, not its secrets or a venv.
    for (const none of [lb1(), db1()]) expect(await onServer(none, 'ls -A /opt/shop/shared/.env /opt/shop/venvs 2>/dev/null | wc -l')).toBe('0');
    expect(await onServer(web1(), 'test -s /opt/shop/shared/.env && echo present')).toBe('present');

    const listed = await releases();
    expect(listed.map((h) => h.host)).toEqual([...NAMES]);
    expect(listed.map((h) => h.current)).toEqual(NAMES.map(() => hosts[0]!.current!.id));
  });

  it('a release failing its health check on web2 leaves every server on the old release; the site answers throughout', async () => {
    const before = (await releases()).map((h) => h.current);
    // The release breaks only on e2e-web2: its /health/ answers 503 once the build put the BROKEN file in it.
    await writeFile(join(repo.dir, 'deploy-sandbox.yml'), stringify(config({ hooks: { build: ['if [ "$(hostname)" = e2e-web2 ]; then touch BROKEN; fi'] } })));
    await repo.commit('v2');

    let polling = true;
    const answers: string[] = [];
    const poller = (async () => {
      while (polling) {
        const answer = await site('/version/').catch((error: Error) => ({ status: 0, body: error.message }));
        answers.push(answer.status === 200 ? answer.body.trim() : `HTTP ${answer.status}: ${answer.body.slice(0, 100)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const failed = await repo.cli('deploy', 'sandbox');
    polling = false;
    await poller;

    expect(failed.code, failed.stderr).toBe(1);
    // Blue/green checks the new slot before it gets traffic: web2 never served v2; web1 did, and went back; the
    // load balancer, whose turn comes once every other server switched, was not touched.
    expect(failed.stderr).toMatch(/e2e-web2\s+failed: Check the green slot: http:\/\/127\.0\.0\.1:8001\/health\//);
    expect(failed.stderr).toMatch(/e2e-web1\s+switched back/);
    expect(failed.stderr).toMatch(/e2e-lb1\s+not switched/);
    expect((await releases()).map((h) => h.current)).toEqual(before);
    // Every request through lb1 was answered (web2 may have served v2 until it switched back).
    expect(answers.length).toBeGreaterThan(10);
    expect(answers.filter((a) => a !== 'v1' && a !== 'v2')).toEqual([]);
    for (let i = 0; i < 6; i++) expect((await site('/version/')).body).toBe('v1\n');
    for (const web of [web1(), web2()]) expect(await http(lb1(), `http://${web.address}/version/`)).toEqual({ status: 200, body: 'v1\n' });
    expect(await processCount('[m]anage[.]py run_scheduler')).toEqual([0, 0, 0, 1, 0]);
  });

  it('a rolling restart (batch_size 1) under load through lb1: no request fails, none is closed under a client that never retries', async () => {
    // Each web server leaves the balancing tier's rotation before it restarts and comes back after: only that tier
    // (slipway-balancer) reloads, never the nginx holding the clients' keep-alive connections.
    await writeFile(join(repo.dir, 'deploy-sandbox.yml'), stringify(config({ http: { domain: DOMAIN, tls: 'self-signed', strategy: 'restart' }, deploy: { batch_size: 1 } })));
    await repo.commit('v3');
    const load = startLoad({ address: lb1().address, host: DOMAIN }, { path: '/version/', concurrency: 4, https: true, retry: false, maxMs: 240_000 });
    const deployed = await repo.cli('deploy', 'sandbox');
    const served = await load.stop();
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(`${deployed.stdout}${deployed.stderr}`).toMatch(/Take e2e-web1 out of rotation/);
    expect(`${deployed.stdout}${deployed.stderr}`).toMatch(/Put e2e-web2 back in rotation/);
    expect(served.total).toBeGreaterThan(100);
    expect(served.failures).toEqual([]);
    expect(served.failed).toBe(0);
    expect((await site('/version/')).body).toBe('v3\n');
    // The public nginx proxies to the tier's socket; the tier names both web servers, both back in rotation.
    expect(await onServer(lb1(), 'cat /etc/nginx/slipway/shop.upstream.conf')).toContain('server unix:/run/slipway-balancer/shop.sock;');
    expect(await onServer(lb1(), "grep -c 'max_fails=3 fail_timeout=10s;' /etc/slipway/balancer/shop.upstream.conf")).toBe('2');
  });
});
