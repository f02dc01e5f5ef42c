// The Django example with a worker, its processes kept by supervisor (process_manager: supervisor) on a sandbox
// server: supervisor comes from the image's package cache through the deploy's own packages step; deploys,
// rollbacks and a failed health check under a load that never retries; status, logs and env set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppRepo, onServer, sampleProcessList, waitFor } from './helpers/python-app.js';
import { useSandboxes } from './helpers/sandbox.js';
import { get, startLoad } from './helpers/web-client.js';

const WORKER = "python -u -c \"import os, time; print('worker up', os.environ['SLIPWAY_RELEASE'], flush=True); [time.sleep(1) for _ in iter(int, 1)]\"";

describe('the Django example under supervisor', () => {
  const NAME = 'e2e-supervisor';
  const servers = useSandboxes([NAME]);
  const server = () => servers[0]!;
  const site = () => ({ address: server().address, host: 'shop.test' });
  const served = async () => (await get(site(), '/version/')).body.trim();
  let repo: AppRepo;
  beforeAll(async () => {
    repo = await AppRepo.create('django-app', [NAME], {
      process_manager: 'supervisor',
      http: { enabled: true, default_server: true, drain_seconds: 3 },
      processes: { worker: { command: WORKER } },
    });
  });
  afterAll(async () => repo?.remove());

  it('deploys to a fresh server: supervisor installed, web and worker are its programs, run as the app user, shown by status and logs', async () => {
    await repo.commit('v1');
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toContain('Install system packages: supervisor');
    expect(deployed.stderr).toContain('Install supervisor programs');
    expect(await served()).toBe('v1');

    const state = await onServer(server(), 'supervisorctl status; ps -o user= -p "$(supervisorctl pid shop-web@blue)"; ps -o user= -p "$(supervisorctl pid shop-worker)"; systemctl list-units --no-legend "shop-*" | wc -l');
    expect(state).toMatch(/^shop-web@blue\s+RUNNING/m);
    expect(state).toMatch(/^shop-worker\s+RUNNING/m);
    expect(state).toMatch(/^shop-web@green\s+STOPPED/m);
    expect(state.trim().split('\n').slice(-3)).toEqual(['shop', 'shop', '0']); // no systemd unit of the app's

    const status = await repo.cli('status', 'sandbox');
    expect(status.stdout).toMatch(/program\s+shop-web@blue\s+active \(running\), pid \d+/);
    expect(status.stdout).toMatch(/\s+shop-worker\s+active \(running\), pid \d+/);
    expect(JSON.parse((await repo.cli('status', 'sandbox', '--json')).stdout)[0].process_manager).toBe('supervisor');
    const logs = await waitFor(() => repo.cli('logs', 'sandbox', 'worker', '-n', '5'), (r) => r.stdout.includes('worker up'));
    expect(logs.stdout).toMatch(new RegExp(`^${NAME} worker \\| worker up \\d{8}T`, 'm'));
    // Nothing started the worker before its release existed (the boot program, added by this deploy, found no mark).
    expect(logs.stdout).not.toContain("can't cd");
    expect((await repo.cli('logs', 'sandbox', '--since', '5m')).stderr).toContain("supervisor's program logs carry no time of their own");

    // The runbook and the handoff note speak supervisor's commands, as the deploy runs them.
    const runbook = await repo.cli('plan', 'sandbox', '--format', 'md');
    expect(runbook.code, runbook.stderr).toBe(0);
    expect(runbook.stdout).toContain('run systemctl and supervisorctl');
    expect(runbook.stdout).toMatch(/supervisorctl restart shop-web@green/);
    const note = await repo.cli('handoff', 'sandbox');
    expect(note.code, note.stderr).toBe(0);
    expect(note.stdout).toContain('supervisor programs');
  });

  it('under a load that never retries: two deploys and a rollback within the drain period fail no request; the worker follows each release', async () => {
    const load = startLoad(site(), { path: '/version/', concurrency: 4, retry: false, maxMs: 120_000 });
    await new Promise((r) => setTimeout(r, 500));
    await repo.commit('v2');
    expect((await repo.cli('deploy', 'sandbox')).code).toBe(0);
    await repo.commit('v3');
    expect((await repo.cli('deploy', 'sandbox')).code).toBe(0);
    const back = await repo.cli('rollback', 'sandbox');
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toContain('(still running: instant)');
    await new Promise((r) => setTimeout(r, 500));
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    expect(result.total).toBeGreaterThan(100);
    expect(await served()).toBe('v2');
    const worker = await onServer(server(), 'tr "\\0" "\\n" < /proc/$(supervisorctl pid shop-worker)/environ | grep ^SLIPWAY_RELEASE=; cat /opt/shop/current/VERSION');
    expect(worker).toMatch(/^SLIPWAY_RELEASE=\S+-[0-9a-f]{7}\nv2$/);
    // v1 blue, v2 green, v3 blue, back to v2 in green: the drain stops blue in its own time.
    const drained = await waitFor(() => onServer(server(), 'supervisorctl status || true'), (s) => /^shop-web@blue\s+STOPPED/m.test(s), 10_000);
    expect(drained).toMatch(/^shop-web@blue\s+STOPPED/m);
    expect(drained).toMatch(/^shop-web@green\s+RUNNING/m);
  });

  it('a release whose health check fails is switched back: the old slot keeps serving, the worker runs the old release again', async () => {
    await repo.commit('v4', { BROKEN: 'x' });
    const failed = await repo.cli('deploy', 'sandbox');
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/switched back to \S+/);
    expect(await served()).toBe('v2');
    // The release was started in blue beside the live green slot, and stopped there again.
    const state = await onServer(server(), 'supervisorctl status; ls /opt/shop/.slipway/supervisor-enabled');
    expect(state).toMatch(/^shop-web@green\s+RUNNING/m);
    expect(state).toMatch(/^shop-worker\s+RUNNING/m);
    expect(state).toMatch(/^shop-web@blue\s+STOPPED/m);
    expect(state.trim().split('\n').slice(-2)).toEqual(['shop-web@green', 'shop-worker']);
    await repo.commit('v5', { BROKEN: null });
    expect((await repo.cli('deploy', 'sandbox')).code).toBe(0);
    expect(await served()).toBe('v5');
  });

  it('env set: the value reaches the new processes, never supervisorctl status, ps or the program files', async () => {
    const value = `sv-${Date.now()}-secret`;
    // `secre[t]` matches the value but not this command's own line in ps.
    const pattern = value.replace(/t$/, '[t]');
    const set = await repo.cli('env', 'set', 'sandbox', `SUPERVISED_SECRET=${value}`);
    expect(set.code, set.stderr).toBe(0);
    const where = await onServer(
      server(),
      [
        `supervisorctl status | grep -c -- '${pattern}' || true`,
        `ps -eo args | grep -c -- '${pattern}' || true`,
        `grep -rl -- '${pattern}' /etc/supervisor /etc/slipway || true`,
        `tr "\\0" "\\n" < /proc/$(supervisorctl pid shop-worker)/environ | grep -c '^SUPERVISED_SECRET=${pattern}$'`,
      ].join('; '),
    );
    expect(where.trim().split('\n')).toEqual(['0', '0', '1']);
    expect(set.stderr + set.stdout).not.toContain(value);
  });

  it('a rollback after the drain period starts the stopped slot again and checks it before traffic moves', async () => {
    await new Promise((r) => setTimeout(r, 4000)); // drain_seconds is 3
    const back = await repo.cli('rollback', 'sandbox');
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).not.toContain('(still running: instant)');
    expect(back.stderr).toMatch(/Check the (blue|green) slot/);
    expect(await served()).toBe('v2'); // v3 was rolled back from and v4 failed: both marked bad
  });

  it('supervisord starting again (as at boot) starts the live slot and the worker, not the idle slot', async () => {
    const before = await onServer(server(), 'cat /opt/shop/.slipway/live-slot');
    await onServer(server(), 'systemctl restart supervisor');
    const after = await waitFor(() => onServer(server(), 'supervisorctl status || true'), (s) => /^shop-worker\s+RUNNING/m.test(s) && new RegExp(`^shop-web@${before}\\s+RUNNING`, 'm').test(s), 15_000);
    expect(after).toMatch(new RegExp(`^shop-web@${before}\\s+RUNNING`, 'm'));
    expect(after).toMatch(/^shop-worker\s+RUNNING/m);
    expect(after).toMatch(new RegExp(`^shop-web@${before === 'blue' ? 'green' : 'blue'}\\s+STOPPED`, 'm'));
    expect(await waitFor(served, (v) => v === 'v2', 10_000)).toBe('v2');
  });

  it('http.strategy restart: the slots stop, one program serves in place, and a redeploy restarts it on the new release', async () => {
    await repo.configure([NAME], { process_manager: 'supervisor', http: { enabled: true, default_server: true, strategy: 'restart' }, processes: { worker: { command: WORKER } } });
    await repo.commit('v6');
    const moved = await repo.cli('deploy', 'sandbox');
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stderr).toContain('Stop the blue/green slots: the web process restarts in place');
    expect(await waitFor(served, (v) => v === 'v6', 10_000)).toBe('v6');
    const before = await onServer(server(), 'supervisorctl status; supervisorctl pid shop-web');
    expect(before).toMatch(/^shop-web\s+RUNNING/m);
    expect(before).toMatch(/^shop-web@blue\s+STOPPED/m);
    expect(before).toMatch(/^shop-web@green\s+STOPPED/m);
    await repo.commit('v7');
    expect((await repo.cli('deploy', 'sandbox')).code).toBe(0);
    expect(await waitFor(served, (v) => v === 'v7', 10_000)).toBe('v7');
    const pid = await onServer(server(), 'supervisorctl pid shop-web');
    expect(pid).not.toBe(before.split('\n').at(-1));
  });
});

describe('moving a live app between process managers', () => {
  const NAME = 'e2e-supervisor-move';
  const servers = useSandboxes([NAME]);
  const server = () => servers[0]!;
  const site = () => ({ address: server().address, host: 'shop.test' });
  const config = (manager: 'systemd' | 'supervisor') => ({ process_manager: manager, http: { enabled: true, default_server: true, drain_seconds: 2 }, processes: { worker: { command: WORKER } } });
  let repo: AppRepo;
  beforeAll(async () => {
    repo = await AppRepo.create('django-app', [NAME], config('systemd'));
  });
  afterAll(async () => repo?.remove());

  /** Most copies of the worker seen running at once while `body` ran. */
  async function workersAtOnce(body: () => Promise<void>): Promise<number> {
    const ps = sampleProcessList(server());
    await new Promise((r) => setTimeout(r, 300));
    await body();
    const samples = await ps.stop();
    return Math.max(...samples.map((sample) => sample.split('\n').filter((line) => line.includes("print('worker up'")).length));
  }

  it('systemd → supervisor → systemd under a load that never retries: no failed request, never two workers, the old manager left with nothing of the app', async () => {
    await repo.commit('v1');
    expect((await repo.cli('deploy', 'sandbox')).code).toBe(0);
    const load = startLoad(site(), { path: '/version/', concurrency: 4, retry: false, maxMs: 180_000 });

    await repo.configure([NAME], config('supervisor'));
    await repo.commit('v2');
    let moved = { code: -1, stdout: '', stderr: '' };
    expect(await workersAtOnce(async () => void (moved = await repo.cli('deploy', 'sandbox')))).toBe(1);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stderr).toContain("Remove the app's systemd units: it runs under supervisor now");
    const underSupervisor = await waitFor(
      () => onServer(server(), 'supervisorctl status; systemctl list-units --state=active,activating,deactivating --no-legend "shop-*" | grep -c . || true; ls /etc/systemd/system | grep -c "^shop" || true'),
      (s) => s.trim().endsWith('\n0\n0'),
      10_000,
    );
    expect(underSupervisor).toMatch(/^shop-web@green\s+RUNNING/m);
    expect(underSupervisor).toMatch(/^shop-worker\s+RUNNING/m);
    expect(underSupervisor.trim().split('\n').slice(-2), underSupervisor).toEqual(['0', '0']); // systemd's slot drained, its units gone

    await repo.configure([NAME], config('systemd'));
    await repo.commit('v3');
    let back = { code: -1, stdout: '', stderr: '' };
    expect(await workersAtOnce(async () => void (back = await repo.cli('deploy', 'sandbox')))).toBe(1);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toContain("Remove the app's supervisor programs: it runs under systemd now");
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    expect(result.total).toBeGreaterThan(100);
    expect((await get(site(), '/version/')).body.trim()).toBe('v3');
    const underSystemd = await waitFor(
      () => onServer(server(), 'systemctl is-active shop-web@blue.service shop-worker.service || true; supervisorctl status | grep -c "^shop-" || true; ls /etc/supervisor/conf.d /etc/slipway/supervisor | grep -c "^shop-" || true'),
      (s) => s.trim().endsWith('\n0\n0'),
      10_000,
    );
    expect(underSystemd.trim().split('\n')).toEqual(['active', 'active', '0', '0']);
  });

  it('a deploy within the drain of a move, either way, takes the slot the old manager still drains (stopped first): no failed request', async () => {
    // A drain longer than the test: the old manager's slot still runs when the next deploy needs its slot.
    const draining = (manager: 'systemd' | 'supervisor') => ({ ...config(manager), http: { ...config(manager).http, drain_seconds: 60 } });
    const load = startLoad(site(), { path: '/version/', concurrency: 4, retry: false, maxMs: 180_000 });
    const deploy = async (version: string) => {
      await repo.commit(version);
      const result = await repo.cli('deploy', 'sandbox');
      expect(result.code, `${version}: ${result.stderr}`).toBe(0);
      expect((await get(site(), '/version/')).body.trim()).toBe(version);
    };
    await repo.configure([NAME], draining('supervisor'));
    await deploy('v4');
    await deploy('v5');
    const systemdSlots = 'systemctl list-units --state=active,activating,deactivating --no-legend "shop-web@*" | grep -c . || true';
    expect((await onServer(server(), systemdSlots)).trim()).toBe('0');

    await repo.configure([NAME], draining('systemd'));
    await deploy('v6');
    await deploy('v7');
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    expect(result.total).toBeGreaterThan(100);
    const supervisorLeft = await onServer(server(), 'supervisorctl status | grep -c "^shop-" || true; ls /etc/supervisor/conf.d | grep -c "^shop-" || true');
    expect(supervisorLeft.trim().split('\n')).toEqual(['0', '0']);
  });
});
