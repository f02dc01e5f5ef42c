// Real deploys of examples/hello-app through the CLI to sandbox servers: systemd, the app user, secrets,
// redeploy, rollback, failed health checks and build hooks, several hosts, and plan == what runs.
// Each describe boots its servers once; every test first removes what earlier tests deployed.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRuns, plannedSteps, withoutTimestamps } from './helpers/deploy-log.js';
import { fetchPage, forgetHello, HelloRepo, releasesOn, SECRET, versionServed } from './helpers/hello-app.js';
import { useSandboxes, type TestServer } from './helpers/sandbox.js';

let repos: HelloRepo[] = [];
async function newRepo(servers: TestServer[], extra?: Record<string, unknown>): Promise<HelloRepo> {
  const repo = await HelloRepo.create(servers, extra);
  repos.push(repo);
  return repo;
}
afterEach(async () => {
  await Promise.all(repos.map((r) => r.remove()));
  repos = [];
});

/** Samples the server's process list until stopped: the secret must never be in any process's argv. */
function sampleProcessList(server: TestServer): { stop: () => Promise<string[]> } {
  const sampling = server.run('rm -f /tmp/stop-ps; while [ ! -e /tmp/stop-ps ]; do ps -eww -o args=; echo "#sample"; sleep 0.02; done');
  return {
    stop: async () => {
      await server.run('touch /tmp/stop-ps');
      return (await sampling).stdout.split('#sample\n');
    },
  };
}

describe('the example on one server', () => {
  const servers = useSandboxes(['e2e-dep1']);
  const server = () => servers[0]!;
  beforeEach(async () => forgetHello(server()));

  it('runs under systemd as the app user, answers the host, and keeps the secret out of sight', async () => {
    const repo = await newRepo(servers);
    await repo.commit('v1');
    const ps = sampleProcessList(server());
    await new Promise((r) => setTimeout(r, 300)); // the sampler is running before the deploy starts
    const deployed = await repo.cli('deploy', 'sandbox');
    const samples = await ps.stop();
    expect(deployed.code, deployed.stderr).toBe(0);

    const state = await server().run(
      'systemctl is-active hello-web; ps -o user= -p "$(systemctl show -p MainPID --value hello-web)"; stat -c "%a %U %G" /opt/hello/shared/.env',
    );
    expect(state.stdout.trim().split('\n')).toEqual(['active', 'hello', '600 hello hello']);
    expect(await fetchPage(server().address)).toEqual({ hostname: 'e2e-dep1', version: 'v1', secretSet: true });

    // The release tells the app which it is: REVISION, and SLIPWAY_* in the running process's environment.
    const sha = execFileSync('git', ['-C', repo.dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const identity = await server().run(
      'basename "$(readlink /opt/hello/current)"; cat /opt/hello/current/REVISION; tr "\\0" "\\n" < /proc/"$(systemctl show -p MainPID --value hello-web)"/environ | grep ^SLIPWAY_ | sort',
    );
    const [release, ...rest] = identity.stdout.trim().split('\n');
    expect(release).toMatch(new RegExp(`-${sha.slice(0, 7)}$`));
    expect(rest).toEqual([sha, 'SLIPWAY_REF=main', `SLIPWAY_RELEASE=${release}`, `SLIPWAY_SHA=${sha}`]);

    expect(samples.length).toBeGreaterThan(5);
    // The deploy's agent was sampled: its command line is the bootstrap only (the agent came on stdin).
    expect(samples.some((s) => s.includes('agent=$(head -c '))).toBe(true);
    expect(samples.some((s) => s.includes('##slipway-ready'))).toBe(false);
    expect(samples.filter((s) => s.includes(SECRET))).toEqual([]);
    expect(`${deployed.stdout}${deployed.stderr}`).not.toContain(SECRET);
    const logs = await repo.readLogs();
    expect(logs).toContain('tee /opt/hello/shared/.env'); // the log does hold the script that wrote the secret
    expect(logs).not.toContain(SECRET);
  });

  it('a second deploy serves the new version; releases and history show both', async () => {
    const repo = await newRepo(servers);
    await repo.commit('v1');
    await repo.deploy();
    await repo.commit('v2');
    await repo.deploy();
    expect((await fetchPage(server().address))?.version).toBe('v2');

    const { current, releases } = (await releasesOn(repo))['e2e-dep1']!;
    expect(releases.map((r) => r.status)).toEqual(['ok', 'ok']);
    const [first, second] = releases.map((r) => r.id);
    expect(current).toBe(second);
    const table = (await repo.cli('releases', 'sandbox')).stdout.split('\n');
    expect(table.find((line) => line.includes(second!))).toMatch(/^e2e-dep1\s+\*\s+/);
    expect(table.find((line) => line.includes(first!))).not.toContain('*');

    const history = JSON.parse((await repo.cli('history', 'sandbox', '--json')).stdout) as { entries: { action: string; result: string; from: string | null; to: string }[] }[];
    expect(history[0]!.entries.map(({ action, result, from, to }) => ({ action, result, from, to }))).toEqual([
      { action: 'deploy', result: 'ok', from: null, to: first },
      { action: 'deploy', result: 'ok', from: first, to: second },
    ]);
  });

  it('rollback serves the previous version, marks the abandoned release bad, and the next rollback skips it', async () => {
    const repo = await newRepo(servers);
    for (const version of ['v1', 'v2', 'v3']) {
      await repo.commit(version);
      await repo.deploy();
    }
    const [v1, v2, v3] = (await releasesOn(repo))['e2e-dep1']!.releases.map((r) => r.id);

    expect((await repo.cli('rollback', 'sandbox')).code).toBe(0);
    expect(await versionServed(server().address, 'v2')).toBe('v2');
    expect((await releasesOn(repo))['e2e-dep1']).toEqual({ current: v2, releases: [{ id: v1, status: 'ok' }, { id: v2, status: 'ok' }, { id: v3, status: 'bad' }] });

    expect((await repo.cli('rollback', 'sandbox')).code).toBe(0);
    expect(await versionServed(server().address, 'v1')).toBe('v1');
    expect((await releasesOn(repo))['e2e-dep1']).toEqual({ current: v1, releases: [{ id: v1, status: 'ok' }, { id: v2, status: 'bad' }, { id: v3, status: 'bad' }] });
  });

  it('deploys and rollbacks in quick succession keep working (systemd start limit)', async () => {
    // systemd refuses a sixth start within 10 s unless slipway resets the limit for its own restarts.
    const repo = await newRepo(servers);
    await repo.commit('v1');
    await repo.deploy();
    for (const version of ['v2', 'v3', 'v4']) {
      await repo.commit(version);
      await repo.deploy();
      const rolledBack = await repo.cli('rollback', 'sandbox');
      expect(rolledBack.code, rolledBack.stderr).toBe(0);
    }
    expect(await versionServed(server().address, 'v1')).toBe('v1');
  });

  it('a release that fails its health check is switched back and marked bad', async () => {
    const repo = await newRepo(servers);
    await repo.commit('v1');
    await repo.deploy();
    await repo.commit('v2', { broken: true });
    const failed = await repo.cli('deploy', 'sandbox');

    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/error: Check health: http:\/\/127\.0\.0\.1:8000\/health failed on e2e-dep1/);
    expect(failed.stderr).toContain('answered 503, expected 200');
    expect(await versionServed(server().address, 'v1')).toBe('v1');
    const { current, releases } = (await releasesOn(repo))['e2e-dep1']!;
    expect(releases.map((r) => r.status)).toEqual(['ok', 'bad']);
    expect(current).toBe(releases[0]!.id);
  });

  it('a failing build hook leaves current untouched and marks the release failed', async () => {
    const repo = await newRepo(servers);
    await repo.commit('v1');
    await repo.deploy();
    const before = await server().run('readlink /opt/hello/current; systemctl show -p MainPID --value hello-web');
    await repo.configure(servers, { hooks: { build: ['echo compiling assets; exit 3'] } });
    await repo.commit('v2');
    const failed = await repo.cli('deploy', 'sandbox');

    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/error: Run build hooks failed on e2e-dep1 \(exit 3\)/);
    expect(failed.stderr).toContain('compiling assets');
    // Same link and the same process: nothing was switched or restarted.
    expect((await server().run('readlink /opt/hello/current; systemctl show -p MainPID --value hello-web')).stdout).toBe(before.stdout);
    expect((await fetchPage(server().address))?.version).toBe('v1');
    expect((await releasesOn(repo))['e2e-dep1']!.releases.map((r) => r.status)).toEqual(['ok', 'failed']);
  });
});

describe('the example on three servers', () => {
  const names = ['e2e-multi1', 'e2e-multi2', 'e2e-multi3'];
  const servers = useSandboxes(names);
  beforeEach(async () => {
    await Promise.all(servers.map(forgetHello));
  });

  it('prepares every server before switching any, and all of them answer with the same release', async () => {
    const repo = await newRepo(servers);
    await repo.commit('v1');
    const deployed = await repo.deploy();
    // The summary: one row per host, its result, the release it serves and its time.
    const rows = deployed.stderr.split('\n').filter((l) => /^(HOST|e2e-)\S*\s+(RESULT|ok)\s/.test(l));
    expect(rows[0]).toMatch(/^HOST\s+RESULT\s+RELEASE\s+TIME$/);
    expect(rows.slice(1).map((r) => r.split(/\s+/)[0])).toEqual(names);
    expect(rows.slice(1).every((r) => /\sok\s+\S+-\w{7}\s+\d+\.\ds$/.test(r))).toBe(true);

    const pages = await Promise.all(servers.map((s) => fetchPage(s.address)));
    expect(pages).toEqual(names.map((hostname) => ({ hostname, version: 'v1', secretSet: true })));
    const releases = await releasesOn(repo);
    const ids = names.map((name) => releases[name]!.current);
    expect(new Set(ids).size).toBe(1);

    const runs = parseRuns(await repo.readLogs());
    const runsWith = (id: string) => runs.flatMap((run, i) => (run.steps.some((s) => s.id === id) ? [i] : []));
    expect(runsWith('release')).toHaveLength(3);
    expect(runsWith('switch')).toHaveLength(3);
    expect(Math.max(...runsWith('release'))).toBeLessThan(Math.min(...runsWith('switch')));
  });

  it('plan --json lists exactly the commands the deploy then runs (first deploy and redeploy)', async () => {
    const repo = await newRepo(servers);
    for (const version of ['v1', 'v2']) {
      await repo.commit(version);
      const plan = await repo.cli('plan', 'sandbox', '--json');
      expect(plan.code, plan.stderr).toBe(0);
      const logsBefore = await repo.logs();
      await repo.deploy();
      const newLogs = (await repo.logs()).filter((path) => !logsBefore.includes(path));
      expect(newLogs).toHaveLength(1);
      expect(newLogs[0]).toMatch(/\/\.slipway\/logs\/sandbox-deploy-[^/]+\.log$/);

      const releases = await releasesOn(repo);
      const ran = parseRuns(await readFile(newLogs[0]!, 'utf8')).flatMap((r) => r.steps);
      const planned = plannedSteps(plan.stdout);
      expect(planned.map((p) => p.steps[0]?.host)).toEqual(names);
      for (const [i, name] of names.entries()) {
        const deployedId = releases[name]!.current!;
        const ranHere = withoutTimestamps(ran.filter((s) => s.host === name), deployedId);
        expect(ranHere.length).toBeGreaterThan(3);
        expect(ranHere).toEqual(withoutTimestamps(planned[i]!.steps, planned[i]!.to));
      }
      expect(plan.stdout).not.toContain(SECRET);
    }
  });
});
