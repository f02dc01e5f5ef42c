// Faults on a real sandbox server, behind nginx with blue/green slots (issue 14's first findings): slipway
// killed (-9) or stopped with Ctrl-C while the release is already checked and serving must leave that release
// live and good, with the old slot drained as planned, never traffic sent to a stopped slot; an interrupted
// rollback within the drain period leaves no slot running without its drain timer; a stranger holding the new
// slot's port (answering 200 on /health) is an error before anything switches, not a passed health check.
import { afterEach, describe, expect, it } from 'vitest';
import { HelloRepo, historyOf, nginxReloadDone, releasesOn, runningHelloUnits } from './helpers/hello-app.js';
import { onServer } from './helpers/python-app.js';
import { withSandboxes, type TestServer } from './helpers/sandbox.js';
import { get, pageVersion, startLoad } from './helpers/web-client.js';

let repos: HelloRepo[] = [];
afterEach(async () => {
  await Promise.all(repos.map((r) => r.remove()));
  repos = [];
});

const DRAIN = 3;
const FINISH = 'Mark the release good and remove old releases';

async function helloRepo(server: TestServer, extra: Record<string, unknown> = {}): Promise<HelloRepo> {
  const repo = await HelloRepo.create([server], { env_vars: {}, http: { enabled: true, default_server: true, drain_seconds: DRAIN }, keep_releases: 2, ...extra });
  repos.push(repo);
  return repo;
}

/** Fills a release with many small files, so removing it (the last step's cleanup) takes a few seconds. */
const slowToRemove = (server: TestServer, id: string) => onServer(server, `mkdir -p /opt/hello/releases/${id}/junk && cd /opt/hello/releases/${id}/junk && seq 1 30000 | xargs touch`);

const settle = () => new Promise((r) => setTimeout(r, (DRAIN + 2) * 1000));

/** A process slipway did not start, answering 200 to everything on `port`, in a unit of its own. */
const STRANGER = (port: number) => `cat > /tmp/stranger.py <<'PY'
import http.server as h
class A(h.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<p>version stranger</p>')
h.HTTPServer(('127.0.0.1', ${port}), A).serve_forever()
PY
systemd-run --quiet --unit=stranger-${port} python3 /tmp/stranger.py
for i in $(seq 50); do curl -sf http://127.0.0.1:${port}/health >/dev/null && exit 0; sleep 0.1; done; exit 1`;

describe('faults on a sandbox server', () => {
  it('a stranger on the port the new slot needs is a clear error before anything switches; the site keeps serving', async () => {
    await withSandboxes(['e2e-int4'], async ([server]) => {
      const repo = await helloRepo(server!);
      await repo.commit('v1');
      await repo.deploy();
      await onServer(server!, STRANGER(8001));
      await repo.commit('v2');
      const failed = await repo.cli('deploy', 'sandbox');
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('Check that port 8001 is free for the web process failed on e2e-int4');
      expect(failed.stderr).toContain('port 8001 is held by a process slipway did not start');
      expect(failed.stderr).toContain('python3 /tmp/stranger.py');
      expect(failed.stderr).not.toContain('Start ');
      const site = { address: server!.address, host: server!.address };
      expect(pageVersion((await get(site, '/')).body)).toBe('v1');
      const { current, releases } = (await releasesOn(repo))['e2e-int4']!;
      expect(current).toBe(releases[0]!.id);
      expect(releases.map((r) => r.status)).toEqual(['ok', 'failed']);

      // Once the stranger is gone, the same deploy goes through.
      await onServer(server!, 'systemctl stop stranger-8001');
      await repo.deploy();
      expect(pageVersion((await get(site, '/')).body)).toBe('v2');
    });
  });

  for (const signal of ['SIGKILL', 'SIGINT'] as const) {
    it(`${signal === 'SIGKILL' ? 'kill -9' : 'Ctrl-C'} during "${FINISH}" keeps the checked release live; the old slot drains; nothing fails`, async () => {
      const name = signal === 'SIGKILL' ? 'e2e-int1' : 'e2e-int2';
      await withSandboxes([name], async ([server]) => {
        const repo = await helloRepo(server!);
        for (const v of ['v1', 'v2', 'v3', 'v4']) {
          await repo.commit(v);
          await repo.deploy();
        }
        // The next deploy removes v1 and v2 (keep 2; v3 is previous, v4 current): both slow to remove.
        const before = (await releasesOn(repo))[name]!.releases.map((r) => r.id);
        await slowToRemove(server!, before[0]!);
        await slowToRemove(server!, before[1]!);
        const site = { address: server!.address, host: server!.address };
        await nginxReloadDone(server!);
        const load = startLoad(site, { concurrency: 4 });

        await repo.commit('v5');
        const killed = await repo.cliInterrupted(FINISH, signal, 'deploy', 'sandbox');
        expect(killed.interrupted, killed.stderr).toBe(true);
        if (signal === 'SIGKILL') expect(killed.signal).toBe('SIGKILL');
        else {
          expect(killed.code, killed.stderr).toBe(130);
          expect(killed.stderr).toContain('after the release passed its checks: it stays live');
        }
        // Past the drain period: the slot the deploy left draining has stopped, the new one serves.
        await settle();
        const served = await load.stop();
        expect(served.failures).toEqual([]);
        expect(served.total).toBeGreaterThan(50);
        expect(pageVersion((await get(site, '/')).body)).toBe('v5');
        const after = (await releasesOn(repo))[name]!;
        const v5 = after.releases.at(-1)!;
        expect(after.current).toBe(v5.id);
        expect(v5.status).toBe('ok');
        // The cleanup really was cut short: the second old release is still there, for the next deploy.
        expect(after.releases.map((r) => r.id)).toContain(before[1]);
        expect((await runningHelloUnits(server!)).split('\n').filter((u) => u.startsWith('hello-web@'))).toHaveLength(1);
        // The host wrote the interrupted deploy's line itself, once, whether or not slipway was still there.
        const lines = (await historyOf(repo)).filter((e) => e.to === v5.id);
        expect(lines).toMatchObject([{ action: 'deploy', result: 'interrupted', outcome: 'kept', error: `${name}: interrupted during ${FINISH}` }]);

        // The next deploy needs no manual step, says what happened to the interrupted one, and finishes the cleanup.
        await repo.commit('v6');
        const next = await repo.deploy();
        expect(next.stderr).toContain(`warning: ${name}: the last deploy (by `);
        expect(next.stderr).toContain(`was interrupted: the host kept the new release (it had passed its checks); ${v5.id}`);
        expect(pageVersion((await get(site, '/')).body)).toBe('v6');
        expect((await releasesOn(repo))[name]!.releases.map((r) => r.id)).not.toContain(before[1]);
      });
    });
  }

  it('Ctrl-C during a rollback within the drain period: traffic back on the new release, the old slot drains again', async () => {
    await withSandboxes(['e2e-int3'], async ([server]) => {
      const repo = await helloRepo(server!, { http: { enabled: true, default_server: true, drain_seconds: 20 } });
      await repo.commit('v1');
      await repo.deploy();
      await repo.commit('v2');
      await repo.deploy();
      expect(await runningHelloUnits(server!)).toBe('hello-web@blue.service\nhello-web@green.service');
      // A slow after_switch hook gives the Ctrl-C a step after the route to land in.
      await repo.configure([server!], { env_vars: {}, http: { enabled: true, default_server: true, drain_seconds: 2 }, hooks: { after_switch: ['sleep 2'] } });
      const site = { address: server!.address, host: server!.address };
      const stopped = await repo.cliInterrupted('Run after_switch hooks', 'SIGINT', 'rollback', 'sandbox');
      expect(stopped.interrupted).toBe(true);
      expect(stopped.code, stopped.stderr).toBe(130);
      expect(stopped.stderr).toContain('Send traffic back to the green slot');
      expect(pageVersion((await get(site, '/')).body)).toBe('v2');
      // blue, which the rollback took over while it drained, drains again (2 s now) instead of running on.
      expect(await onServer(server!, 'systemctl is-active hello-drain-blue.timer')).toBe('active');
      await new Promise((r) => setTimeout(r, 4000));
      expect(await runningHelloUnits(server!)).toBe('hello-web@green.service');
      expect(pageVersion((await get(site, '/')).body)).toBe('v2');
      const { current, releases } = (await releasesOn(repo))['e2e-int3']!;
      expect(current).toBe(releases[1]!.id);
      expect(releases.map((r) => r.status)).toEqual(['ok', 'ok']);
      expect((await historyOf(repo)).at(-1)).toMatchObject({ action: 'rollback', from: releases[1]!.id, to: releases[0]!.id, result: 'interrupted', outcome: 'switched-back' });
    });
  });
});
