// The zero-downtime web tier for real (issue 5): examples/hello-app behind nginx on sandbox servers, reached from
// this host over the server's address as a browser would. HTTPS with a certificate Pebble (Let's Encrypt's test
// CA, run on the server itself) issued after a real HTTP-01 validation; WebSocket upgrades and static files;
// a site nginx refuses; a release failing its slot's health check under load; an instant rollback; and the
// restart strategy. Each test boots its own server and takes it down, so no test sees another's nginx.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HelloRepo, nginxReloadDone, releasesOn, runningHelloUnits } from './helpers/hello-app.js';
import { FIXTURES, onServer, waitFor } from './helpers/python-app.js';
import { withSandboxes, type TestServer } from './helpers/sandbox.js';
import { get, pageVersion, startLoad, webSocketEcho, type Target } from './helpers/web-client.js';

let repos: HelloRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.map((r) => r.remove()));
  repos = [];
});

/** The hello example deploying to `server` with `http` settings; the app listens on 127.0.0.1 only (behind nginx). */
async function helloBehindNginx(server: TestServer, http: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<HelloRepo> {
  const repo = await HelloRepo.create([server], { env_vars: {}, http, ...extra });
  repos.push(repo);
  return repo;
}

const versionThrough = async (target: Target) => pageVersion((await get(target, '/')).body);



/**
 * Pebble on the server: its ACME API on localhost:14000 behind a listener certificate from a throwaway CA (the
 * CA file certbot is told to trust), validating HTTP-01 challenges on port 80 of the names it is asked for.
 * Debian's package ships no test certificates, hence the CA. `shop.test` resolves to the server itself.
 */
const PEBBLE = String.raw`set -e
apt-get install -y -q pebble >/dev/null
mkdir -p /etc/pebble && cd /etc/pebble
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=e2e-pebble-listener-ca -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout key.pem -out csr.pem 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in csr.pem -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out cert.pem 2>/dev/null
cat > config.json <<'JSON'
{"pebble": {"listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "/etc/pebble/cert.pem", "privateKey": "/etc/pebble/key.pem",
  "httpPort": 80, "tlsPort": 5001, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
echo '127.0.0.1 shop.test' >> /etc/hosts
# Pebble rejects 5 % of valid nonces on purpose (to exercise clients' retries); certbot gave up on one in CI.
systemd-run --quiet --unit=pebble -E PEBBLE_VA_NOSLEEP=1 -E PEBBLE_WSFE_NONCEREJECT=0 /usr/bin/pebble -config /etc/pebble/config.json
for i in $(seq 100); do curl -sf --cacert ca.pem https://localhost:14000/dir >/dev/null && exit 0; sleep 0.1; done
journalctl -u pebble --no-pager | tail; exit 1`;

describe('the web tier on sandbox servers', () => {
  it('serves HTTPS with a certificate Pebble issued after an HTTP-01 validation, and redirects HTTP', async () => {
    await withSandboxes(['e2e-web1'], async ([server]) => {
      await onServer(server!, PEBBLE);
      const repo = await helloBehindNginx(server!, {
        domain: 'shop.test',
        tls: 'letsencrypt',
        acme_server: 'https://localhost:14000/dir',
        acme_ca_bundle: '/etc/pebble/ca.pem',
        acme_email: 'ops@shop.test',
        default_server: true,
      });
      await repo.commit('v1');
      const deployed = await repo.deploy();
      expect(deployed.stderr).toContain('Obtain a certificate for shop.test from https://localhost:14000/dir');

      // Pebble's root changes at every start: fetched from its management API, it must verify the served chain.
      const root = await onServer(server!, 'curl -sf --cacert /etc/pebble/ca.pem https://localhost:15000/roots/0');
      expect(root).toContain('BEGIN CERTIFICATE');
      const shop = { address: server!.address, host: 'shop.test' };
      const page = await get(shop, '/', { https: true, ca: root });
      expect(page.status).toBe(200);
      expect(pageVersion(page.body)).toBe('v1');
      expect(page.certificate?.subject.CN).toBe('shop.test');
      expect(page.certificate?.issuer.CN).toMatch(/^Pebble Intermediate CA /);
      expect(page.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      // Pebble fetched the challenge from nginx (no always-valid shortcut).
      expect(await onServer(server!, 'grep -c "GET /.well-known/acme-challenge/[^ ]* HTTP/1.1\\" 200" /var/log/nginx/access.log')).not.toBe('0');

      const redirect = await get(shop, '/cart?x=1');
      expect([redirect.status, redirect.headers.location]).toEqual([301, 'https://shop.test/cart?x=1']);
      // default_server: the server's address answers too (same certificate, no other site in the way).
      expect((await get({ address: server!.address, host: server!.address }, '/')).status).toBe(301);
    });
  });

  it('passes WebSocket upgrades through and serves static files itself, with cache headers', async () => {
    await withSandboxes(['e2e-web2'], async ([server]) => {
      const ws = { processes: { web: { command: 'python3 ws_app.py', port: 8000 } } };
      const repo = await helloBehindNginx(server!, { enabled: true, default_server: true, static_dir: 'static' }, ws);
      await copyFile(join(FIXTURES, 'ws_app.py'), join(repo.dir, 'ws_app.py'));
      await mkdir(join(repo.dir, 'static'));
      await writeFile(join(repo.dir, 'static', 'site.css'), 'body { color: teal }\n');
      await repo.commit('v1');
      await repo.deploy();
      const site = { address: server!.address, host: server!.address };

      const echo = await webSocketEcho(site, '/ws', 'ping through nginx');
      expect(echo).toEqual({ status: 101, acceptValid: true, reply: 'echo: ping through nginx' });

      const css = await get(site, '/static/site.css');
      expect([css.status, css.body]).toEqual([200, 'body { color: teal }\n']);
      expect(css.headers['cache-control']).toBe('max-age=2592000');
      expect(Date.parse(css.headers.expires!) - Date.now()).toBeGreaterThan(29 * 86_400_000);
      expect(css.headers['x-content-type-options']).toBe('nosniff');
      // nginx read the file: the app answers 404 for any path but / and /health, and the page gets no caching.
      expect(await onServer(server!, 'curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:8000/static/site.css')).toBe('404');
      const page = await get(site, '/');
      expect([page.status, pageVersion(page.body), page.headers.expires]).toEqual([200, 'v1', undefined]);
    });
  });

  it('a site nginx -t refuses is not installed: the previous file comes back and the site keeps serving', async () => {
    await withSandboxes(['e2e-web3'], async ([server]) => {
      const repo = await helloBehindNginx(server!, { domain: 'shop.test' });
      await repo.commit('v1');
      await repo.deploy();
      const shop = { address: server!.address, host: 'shop.test' };
      expect(await versionThrough(shop)).toBe('v1');
      const before = await onServer(server!, 'cat /etc/nginx/sites-available/hello.conf');
      const [v1] = (await releasesOn(repo))['e2e-web3']!.releases.map((r) => r.id);

      // Another site already is the default server on port 80 (valid by itself): a second one is refused.
      await onServer(server!, [
        'rm -f /etc/nginx/sites-enabled/default',
        "printf 'server {\\n    listen 80 default_server;\\n    server_name rogue.test;\\n    return 418;\\n}\\n' > /etc/nginx/sites-enabled/rogue.conf",
        'nginx -t -q && systemctl reload nginx',
      ].join(' && '));
      await nginxReloadDone(server!);
      await repo.configure([server!], { env_vars: {}, http: { domain: 'shop.test', default_server: true } });
      await repo.commit('v2');
      const load = startLoad(shop, { concurrency: 4 });
      const refused = await repo.cli('deploy', 'sandbox');
      const served = await load.stop();

      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('Install the nginx site /etc/nginx/sites-available/hello.conf');
      expect(refused.stderr).toMatch(/a duplicate default server for 0\.0\.0\.0:80/);
      expect(refused.stderr).toContain('nginx -t refused the new configuration: the previous one was restored');
      expect(await onServer(server!, 'cat /etc/nginx/sites-available/hello.conf')).toBe(before);
      expect(await onServer(server!, 'nginx -t 2>&1')).toContain('test is successful');
      expect(await onServer(server!, 'ls /etc/nginx/sites-available')).toBe('default\nhello.conf'); // no backup left over
      expect(served).toMatchObject({ failed: 0, retried: 0, versions: { v1: served.total } }); // nginx never reloaded
      expect(served.total).toBeGreaterThan(20);
      expect(await versionThrough(shop)).toBe('v1');
      const { current, releases } = (await releasesOn(repo))['e2e-web3']!;
      expect(current).toBe(v1);
      expect(releases.map((r) => r.status)).toEqual(['ok', 'failed']);
    });
  });

  it('a release failing its health check in the idle slot never gets traffic: zero failed requests, marked bad', async () => {
    await withSandboxes(['e2e-web4'], async ([server]) => {
      const repo = await helloBehindNginx(server!, { enabled: true, default_server: true });
      await repo.commit('v1');
      await repo.deploy();
      const site = { address: server!.address, host: server!.address };
      expect(await versionThrough(site)).toBe('v1');

      await repo.commit('v2', { broken: true });
      await nginxReloadDone(server!);
      const load = startLoad(site, { concurrency: 8 });
      await new Promise((r) => setTimeout(r, 300));
      const failed = await repo.cli('deploy', 'sandbox');
      await new Promise((r) => setTimeout(r, 300));
      const served = await load.stop();

      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('Check the green slot: http://127.0.0.1:8001/health');
      expect(failed.stderr).toContain('answered 503');
      expect(served.failures).toEqual([]);
      // Traffic never moved, so nginx was never reloaded: no client connection was even closed.
      expect(served.retried).toBe(0);
      expect(failed.stderr + failed.stdout).not.toContain('nginx -t refused');
      expect(served.versions).toEqual({ v1: served.total });
      expect(served.total).toBeGreaterThan(200);
      expect(await runningHelloUnits(server!)).toBe('hello-web@blue.service');
      expect(await onServer(server!, 'cat /etc/nginx/slipway/hello.upstream.conf')).toContain('server 127.0.0.1:8000;');
      const { current, releases } = (await releasesOn(repo))['e2e-web4']!;
      expect(releases.map((r) => r.status)).toEqual(['ok', 'bad']);
      expect(current).toBe(releases[0]!.id);
    });
  });

  it('deploys under load through the socket link without a failed request or a closed connection; a rollback within the drain period is instant and survives the drain timer', async () => {
    await withSandboxes(['e2e-web5'], async ([server]) => {
      const drainSeconds = 4;
      // The app listens on the socket slipway names it too: nginx proxies to the link (http.switch auto).
      const socketApp = { processes: { web: { command: 'python3 app.py --socket $SLIPWAY_SOCKET' } } };
      const repo = await helloBehindNginx(server!, { enabled: true, default_server: true, drain_seconds: drainSeconds }, socketApp);
      await repo.commit('v1');
      await repo.deploy();
      const site = { address: server!.address, host: server!.address };

      await nginxReloadDone(server!);
      const load = startLoad(site, { concurrency: 8 });
      await repo.commit('v2');
      const deployed = await repo.deploy();
      expect(deployed.stderr).toContain('Stop the blue slot after 4s of draining');
      const rolledBack = await repo.cli('rollback', 'sandbox');
      const served = await load.stop();
      expect(rolledBack.code, rolledBack.stderr).toBe(0);
      expect(rolledBack.stderr).toContain('Send traffic to the blue slot (still running: instant)');
      expect(rolledBack.stderr).not.toContain('Start '); // no slot was started
      expect(deployed.stderr).toContain('Send traffic to the green slot (socket link, no reload)');
      expect(served.failures).toEqual([]);
      // nginx never reloaded, so it closed no client connection: not one request had to be sent again.
      expect(served.retried).toBe(0);
      expect(await onServer(server!, 'readlink /opt/hello/run/web.sock; cat /etc/nginx/slipway/hello.upstream.conf')).toBe(
        "web-blue.sock\n# Written by slipway: the web process's socket link, which a switch re-points (no reload).\nupstream hello_app {\n    server unix:/opt/hello/run/web.sock;\n}",
      );
      expect(served.total).toBeGreaterThan(200);
      expect(Object.keys(served.versions).sort()).toEqual(['v1', 'v2']);

      // The drain timer the deploy set for blue was cancelled; green (v2) drains now instead.
      await new Promise((r) => setTimeout(r, (drainSeconds + 2) * 1000));
      expect(await runningHelloUnits(server!)).toBe('hello-web@blue.service');
      expect(await versionThrough(site)).toBe('v1');
      const { current, releases } = (await releasesOn(repo))['e2e-web5']!;
      expect(releases.map((r) => r.status)).toEqual(['ok', 'bad']);
      expect(current).toBe(releases[0]!.id);
    });
  });

  it('env set on a blue/green app moves traffic to a fresh slot with the new environment: zero failed requests', async () => {
    await withSandboxes(['e2e-web7'], async ([server]) => {
      const repo = await helloBehindNginx(server!, { enabled: true, default_server: true, drain_seconds: 2 });
      await repo.commit('v1');
      await repo.deploy();
      const site = { address: server!.address, host: server!.address };
      // The first deploy wrote the site and reloaded nginx: until the old workers are gone, one may still answer
      // with the default site (it did once, on a busy CI machine).
      await nginxReloadDone(server!);
      expect((await get(site, '/')).body).toContain('HELLO_SECRET is set');

      const load = startLoad(site, { concurrency: 8 });
      const unset = await repo.cli('env', 'unset', 'sandbox', 'HELLO_SECRET');
      const served = await load.stop();
      expect(unset.code, unset.stderr).toBe(0);
      expect(unset.stderr).toContain('in the green slot');
      expect(unset.stderr).toContain('Send traffic to the green slot');
      expect(served.failures).toEqual([]);
      expect(served.retried).toBeLessThanOrEqual(8); // one reload, eight connections
      expect(served.total).toBeGreaterThan(100);
      expect((await get(site, '/')).body).toContain('HELLO_SECRET is not set');

      // The serving slot was never restarted in place; the old one drains.
      await new Promise((r) => setTimeout(r, 4000));
      expect(await runningHelloUnits(server!)).toBe('hello-web@green.service');
      // status checks the slot that serves now (green, 8001), not the one the release first started in.
      const status = await repo.cli('status', 'sandbox', '--json');
      const health = (JSON.parse(status.stdout) as { health: { url: string; ok: boolean } }[])[0]!.health;
      expect(health).toMatchObject({ url: 'http://127.0.0.1:8001/health', ok: true });
    });
  });

  it('strategy restart runs one service in place; changing strategy either way leaves one web service serving the new code', async () => {
    await withSandboxes(['e2e-web6'], async ([server]) => {
      const site = { address: server!.address, host: server!.address };
      const upstream = () => onServer(server!, "grep -o 'server 127.0.0.1:[0-9]*' /etc/nginx/slipway/hello.upstream.conf");
      const deployWith = async (strategy: string, version: string) => {
        await repo.configure([server!], { env_vars: {}, http: { enabled: true, default_server: true, strategy } });
        await repo.commit(version);
        return (await repo.deploy()).stderr;
      };
      const repo = await helloBehindNginx(server!, {});
      await deployWith('blue-green', 'v1');
      await deployWith('blue-green', 'v2'); // green (8001) serves, blue drains
      expect(await upstream()).toBe('server 127.0.0.1:8001');

      expect(await deployWith('restart', 'v3')).toContain('Stop the blue/green slots: the web process restarts in place on port 8000');
      expect(await runningHelloUnits(server!)).toBe('hello-web.service');
      expect(await upstream()).toBe('server 127.0.0.1:8000');
      expect(await versionThrough(site)).toBe('v3');
      await deployWith('restart', 'v4');
      expect(await waitFor(() => versionThrough(site).catch(() => undefined), (v) => v === 'v4', 5000)).toBe('v4');
      expect(await runningHelloUnits(server!)).toBe('hello-web.service');

      expect(await deployWith('blue-green', 'v5')).toContain('Stop hello-web.service: the web process moves to blue/green slots');
      expect(await runningHelloUnits(server!)).toBe('hello-web@blue.service');
      expect(await versionThrough(site)).toBe('v5');
    });
  });
});
