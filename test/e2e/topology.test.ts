// Several servers with roles (issue 9): a singleton scheduler runs on exactly one of three sandbox servers,
// moves when the roles change (stopped on the old server first, its unit file removed), stays single through a
// rollback; a rolling deploy (batch_size 1) switches one server at a time, and a health check failing on the
// second server leaves every server on the old release.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRuns } from './helpers/deploy-log.js';
import { HelloRepo, releasesOn, versionServed } from './helpers/hello-app.js';
import { useSandboxes, type TestServer } from './helpers/sandbox.js';

const names = ['e2e-top1', 'e2e-top2', 'e2e-top3'];
const scheduler = { command: "python3 -c 'import time; time.sleep(10**6)'", roles: ['worker'], singleton: true };
const withRoles = (roles: string[][]) => names.map((name, i) => ({ sandbox: name, roles: roles[i] }));

describe('roles, a singleton and rolling deploys on three servers', () => {
  const servers = useSandboxes(names);
  let repo: HelloRepo;
  const configure = (roles: string[][], extra: Record<string, unknown> = {}) => repo.configure(servers, { servers: withRoles(roles), processes: { scheduler }, ...extra });
  /** Scheduler processes per server: the bracket keeps pgrep from counting the shell that runs it. */
  const schedulers = async () => Promise.all(servers.map(async (s: TestServer) => Number((await s.run("pgrep -fc '[t]ime[.]sleep' || true")).stdout.trim() || '0')));
  const unitFile = async (s: TestServer) => (await s.run('test -e /etc/systemd/system/hello-scheduler.service && echo present || echo gone')).stdout.trim();
  const current = async () => Object.values(await releasesOn(repo)).map((r) => r.current);

  beforeAll(async () => {
    repo = await HelloRepo.create([]);
    await configure([['web'], ['web', 'worker'], ['web', 'worker']]);
    await repo.commit('v1');
  });
  afterAll(async () => repo?.remove());

  it('runs the singleton on the first server with its role only, and plan and status say where', async () => {
    const plan = await repo.cli('plan', 'sandbox');
    expect(plan.stdout).toContain('# the scheduler process (singleton) runs on e2e-top2');
    await repo.deploy();
    expect(await schedulers()).toEqual([0, 1, 0]);
    const status = JSON.parse((await repo.cli('status', 'sandbox', '--json')).stdout) as { host: string; singletons: string[] }[];
    expect(status.map((s) => [s.host, s.singletons])).toEqual([['e2e-top1', []], ['e2e-top2', ['scheduler']], ['e2e-top3', []]]);
  });

  it('moves it when the roles change: stopped on the old server before the new one starts it, its unit file gone', async () => {
    await configure([['web'], ['web'], ['web', 'worker']]);
    await repo.commit('v2');
    const deployed = await repo.deploy();
    expect(deployed.stderr).toContain('Stop hello-scheduler.service (the scheduler process (singleton) moves to e2e-top3)');
    expect(await schedulers()).toEqual([0, 0, 1]);
    expect(await unitFile(servers[1]!)).toBe('gone');
    // In the log, the old server's stop (before its switch) comes before the new server's start (at commit).
    const steps = parseRuns(await repo.readLogs()).flatMap((r) => r.steps.map((s) => `${s.host} ${s.id}`));
    const last = (entry: string) => steps.lastIndexOf(entry);
    expect(last('e2e-top2 retire')).toBeGreaterThan(-1);
    expect(last('e2e-top2 retire')).toBeLessThan(last('e2e-top3 singleton'));
  });

  it('a rollback keeps exactly one: it goes back where the older release ran it', async () => {
    const rolled = await repo.cli('rollback', 'sandbox');
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(await schedulers()).toEqual([0, 1, 0]);
    expect(await unitFile(servers[1]!)).toBe('present');
  });

  it('batch_size 1 switches one server at a time, in config order', async () => {
    await configure([['web'], ['web'], ['web', 'worker']], { deploy: { batch_size: 1 } });
    await repo.commit('v3');
    const before = (await repo.logs()).length;
    await repo.deploy();
    const runs = parseRuns((await Promise.all((await repo.logs()).slice(before).map((p) => readFile(p, 'utf8')))).join('\n'));
    const switches = runs.filter((r) => r.steps.some((s) => s.id === 'switch')).map((r) => r.host);
    expect(switches).toEqual(names);
    const lastPrepare = Math.max(...runs.map((r, i) => (r.steps.some((s) => s.id === 'release') ? i : -1)));
    expect(runs.findIndex((r) => r.steps.some((s) => s.id === 'switch'))).toBeGreaterThan(lastPrepare);
    expect(await schedulers()).toEqual([0, 0, 1]);
  });

  it('a health check failing on the second server switches the first back and never switches the third', async () => {
    const old = await current();
    // The release breaks only on e2e-top2: its /health answers 503 once the BROKEN file exists.
    await configure([['web'], ['web'], ['web', 'worker']], { deploy: { batch_size: 1 }, hooks: { after_switch: ['if [ "$(hostname)" = e2e-top2 ]; then touch BROKEN; fi'] } });
    await repo.commit('v4');
    const failed = await repo.cli('deploy', 'sandbox');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/e2e-top1\s+switched back/);
    expect(failed.stderr).toMatch(/e2e-top2\s+failed: Check health/);
    expect(failed.stderr).toMatch(/e2e-top3\s+not switched/);
    expect(await current()).toEqual(old);
    for (const s of servers) expect(await versionServed(s.address, 'v3')).toBe('v3');
    expect(await schedulers()).toEqual([0, 0, 1]);
  });
});
