// `slipway status`: the probe run by bash on a real directory (disk, last history entry, lock, one health
// request through a fake curl), the parser from fixed output, and what people and programs read.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { balancerProbe, currentHealthProbe, statusProbe } from '../../src/ops/status.js';
import { renderUpstream } from '../../src/render/nginx.js';
import { renderBalancerUpstream } from '../../src/render/balancer.js';
import { factsProbe } from '../../src/ops/probe.js';
import { layoutFor } from '../../src/plan/layout.js';
import { appUnits, parseServices, parseStatus } from '../../src/plan/status.js';
import { formatAge, formatSize, statusJson, statusText } from '../../src/render/status.js';
import { fakeFacts, testConfig } from './fixtures/config.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-status-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const bash = (script: string, env: NodeJS.ProcessEnv = {}) => spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });

const NOW = new Date('2026-01-02T12:00:00Z');
const SHA = '3cb37f3'.padEnd(40, '0');
const manifest = {
  id: 'R2',
  sha: SHA,
  ref: 'main',
  config_hash: 'h',
  deployed_by: 'ann@laptop',
  created_at: '2026-01-02T11:00:00.000Z',
  units: ['shop-web.service', 'shop-worker.service'],
  health: { url: 'http://127.0.0.1:8000/health', expectedStatus: 200, timeoutSeconds: 5, retries: 10 },
};
const history = { at: '2026-01-02T11:00:00.000Z', action: 'deploy', env: 'prod', user: 'ann', machine: 'laptop', from: 'R1', to: 'R2', sha: SHA, ref: 'main', result: 'ok', duration_ms: 4200 };

describe('the probe on a real directory', () => {
  const config = testConfig({ project: { name: 'zz-status-test' }, base_path: join(scratch, 'base') });
  const layout = layoutFor(config, 'main');

  it('reports disk use, the last history entry, a free lock, and one health answer from the manifest URL', () => {
    for (const id of ['R1', 'R2']) {
      mkdirSync(join(layout.releases, id), { recursive: true });
      mkdirSync(join(layout.meta, 'releases', id), { recursive: true });
      writeFileSync(join(layout.meta, 'releases', id, 'status'), 'ok\n');
    }
    writeFileSync(join(layout.releases, 'R2', 'big'), Buffer.alloc(64 * 1024));
    writeFileSync(join(layout.meta, 'releases', 'R2', 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    symlinkSync(join(layout.releases, 'R2'), layout.current);
    writeFileSync(layout.history, `${JSON.stringify({ ...history, to: 'R1' })}\n${JSON.stringify(history)}\n`);
    writeFileSync(layout.lockFile, '');
    // A fake curl that records its arguments and answers 200.
    const bin = join(scratch, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'curl'), `#!/bin/sh\necho "$@" >> ${join(scratch, 'curl.log')}\nprintf 200\n`);
    chmodSync(join(bin, 'curl'), 0o755);

    const script = [currentHealthProbe(layout, 3).shell, statusProbe(layout).shell, factsProbe(layout, undefined).shell].map((s) => `(\n${s}\n)`).join('\n');
    const result = bash(script, { PATH: `${bin}:${process.env.PATH}` });
    expect(result.status, result.stderr).toBe(0);
    const status = parseStatus({ host: 'web1', layout, lines: result.stdout.split('\n'), now: NOW });
    expect(status.current).toEqual({ id: 'R2', status: 'ok', sha: SHA, ref: 'main', deployed_by: 'ann@laptop', created_at: '2026-01-02T11:00:00.000Z', age_seconds: 3600 });
    expect(status.releases).toBe(2);
    expect(status.health).toEqual({ url: 'http://127.0.0.1:8000/health', status: 200, expected: 200, ok: true });
    expect(spawnSync('cat', [join(scratch, 'curl.log')], { encoding: 'utf8' }).stdout).toContain('--max-time 3 http://127.0.0.1:8000/health');
    expect(status.disk_kb.releases).toBeGreaterThanOrEqual(64);
    expect(status.disk_kb.venvs).toBeNull();
    expect(status.last).toMatchObject({ action: 'deploy', result: 'ok', to: 'R2' });
    expect(status.lock).toEqual({ state: 'free', holder: null });
    // This machine's own load, memory and file system, read as the server's would be.
    expect(status.resources?.load).toHaveLength(3);
    expect(status.resources?.memory?.total_kb).toBeGreaterThan(0);
    expect(status.resources?.filesystem?.total_kb).toBeGreaterThan(0);
  });

  it('under supervisor: its programs by their names, from supervisorctl status as systemd\'s words', () => {
    const supervised = { ...layout, processManager: 'supervisor' as const };
    const p = layout.unitPrefix;
    const lines = [`unit ${p}-worker.service 5d41402a`, `service ${p}-worker.service ActiveState=active SubState=running MainPID=412`, `service ${p}-web@green.service ActiveState=active SubState=running MainPID=388`];
    const status = parseStatus({ host: 'web1', layout: supervised, lines, now: NOW });
    expect(status.process_manager).toBe('supervisor');
    expect(statusText([status], NOW)).toContain(`  program ${p}-web@green  active (running), pid 388\n          ${p}-worker  active (running), pid 412\n`);
  });

  it("a load balancer's upstream shows which web servers it balances over, and which are out of rotation", () => {
    const file = join(scratch, 'lb.upstream.conf');
    writeFileSync(file, renderBalancerUpstream('shop', [{ address: '10.9.0.3', port: 80 }, { address: '10.9.0.4', port: 80, down: true }]));
    const lines = bash(balancerProbe(file).shell).stdout.split('\n');
    const status = parseStatus({ host: 'lb1', layout, lines, now: NOW });
    expect(status.balances).toEqual([{ address: '10.9.0.3', port: 80, in_rotation: true }, { address: '10.9.0.4', port: 80, in_rotation: false }]);
    expect(statusText([status], NOW)).toContain('  balance 10.9.0.3:80, 10.9.0.4:80 (out of rotation)');
    // A web server's own upstream (its slot on 127.0.0.1) is not a load balancer's.
    writeFileSync(file, renderUpstream('shop', { port: 8000 }));
    expect(parseStatus({ host: 'web1', layout, lines: bash(balancerProbe(file).shell).stdout.split('\n'), now: NOW }).balances).toBeUndefined();
  });

  it('a held lock shows its holder', () => {
    writeFileSync(layout.holderFile, '{"agent_pid":1,"user":"bob","machine":"ci","pid":7,"command":"slipway deploy prod","started_at":"2026-01-02T11:59:00Z"}\n');
    const held = spawnSync('flock', [layout.lockFile, 'bash', '-c', statusProbe(layout).shell], { encoding: 'utf8' });
    const status = parseStatus({ host: 'web1', layout, lines: held.stdout.split('\n'), now: NOW });
    expect(status.lock).toEqual({ state: 'held', holder: { agent_pid: 1, user: 'bob', machine: 'ci', pid: 7, command: 'slipway deploy prod', started_at: '2026-01-02T11:59:00Z' } });
  });
});

describe('parsing and showing', () => {
  const layout = layoutFor(testConfig({ project: { name: 'shop' } }), 'main');
  const lines = [
    'current releases/R2',
    'release R1 ok',
    'release R2 ok',
    `manifest R2 ${JSON.stringify(manifest)}`,
    'service shop-web.service ActiveState=active MainPID=812 SubState=running ',
    'service shop-worker.service ActiveState=failed MainPID=0 SubState=failed ',
    'service shop-other-web.service ActiveState=active MainPID=9 SubState=running ',
    'health 503',
    'disk releases 2048',
    'disk venvs 51200',
    'disk shared/backups 3145728',
    `last ${JSON.stringify(history)}`,
    'lock free ',
  ];

  it('units: what the release recorded, nothing of another app sharing the prefix', () => {
    const status = parseStatus({ host: 'web1', layout, lines, now: NOW });
    expect(status.units).toEqual([
      { name: 'shop-web.service', active: 'active', sub: 'running', pid: 812 },
      { name: 'shop-worker.service', active: 'failed', sub: 'failed', pid: null },
    ]);
    expect(status.health).toEqual({ url: 'http://127.0.0.1:8000/health', status: 503, expected: 200, ok: false });
    expect(status.disk_kb).toEqual({ releases: 2048, venvs: 51200, node_modules: null, backups: 3145728 });
    // A Node app's node_modules and its own Node count together.
    const node = parseStatus({ host: 'web1', layout, lines: [...lines, 'disk node-deps 30000', 'disk node 98000'], now: NOW });
    expect(node.disk_kb.node_modules).toBe(128000);
  });

  it('the last restore drill: its result, when, which backup from where, and what it found', () => {
    const drill = 'drill failed 2026-12-03T03:00:00Z 20261203T020000.000Z-timer.dump vault 20261203T020000.000Z-timer.dump from vault: public.visits: 5 rows in the dump, 4 restored';
    const status = parseStatus({ host: 'web1', layout, lines: [...lines, drill], now: NOW });
    expect(status.drill).toEqual({ result: 'failed', at: '2026-12-03T03:00:00Z', backup: '20261203T020000.000Z-timer.dump', from: 'vault', detail: '20261203T020000.000Z-timer.dump from vault: public.visits: 5 rows in the dump, 4 restored' });
    expect(statusText([status], NOW)).toContain('  drill   restore failed at 2026-12-03T03:00:00Z: 20261203T020000.000Z-timer.dump from vault: public.visits: 5 rows in the dump, 4 restored\n');
    expect(parseStatus({ host: 'web1', layout, lines, now: NOW }).drill).toBeUndefined();
  });

  it('a recorded unit systemd does not list shows as missing; slot instances are the app\'s', () => {
    const facts = fakeFacts({ current: 'R2', releases: [{ id: 'R2', status: 'ok', manifest }] });
    const listed = parseServices(['service shop-web@blue.service ActiveState=active MainPID=5 SubState=running', 'service shop-web.service ActiveState=active MainPID=6 SubState=running']);
    expect(appUnits(facts, layout, listed).map((u) => `${u.name} ${u.active}`)).toEqual(['shop-web.service active', 'shop-web@blue.service active', 'shop-worker.service not-found']);
  });

  it('says what the host did with an operation it had to finish alone', () => {
    const interrupted = { ...history, result: 'interrupted', outcome: 'kept', error: 'web1: interrupted during Mark the release good and remove old releases' };
    const status = parseStatus({ host: 'web1', layout, lines: [...lines.filter((l) => !l.startsWith('last ')), `last ${JSON.stringify(interrupted)}`], now: NOW });
    expect(statusText([status], NOW)).toContain('  last    deploy interrupted (kept) 1h00m ago by ann@laptop: web1: interrupted during Mark the release good and remove old releases\n');
  });

  it('the server\'s load, memory and file system, and nothing made up when a line is missing or odd', () => {
    const status = parseStatus({ host: 'web1', layout, lines: [...lines, 'load 0.52 0.30 1.05', 'memory 2048000 512000', 'fs 41943040 4194304 /'], now: NOW });
    expect(status.resources).toEqual({ load: [0.52, 0.3, 1.05], memory: { total_kb: 2048000, available_kb: 512000 }, filesystem: { mount: '/', total_kb: 41943040, available_kb: 4194304 } });
    expect(statusText([status], NOW)).toContain('  server  load 0.52 0.30 1.05, memory 75 % used (500.0 MB available of 2.0 GB), / 90 % full (4.0 GB free)\n');
    expect(parseStatus({ host: 'web1', layout, lines: [...lines, 'load x y', 'memory 1'], now: NOW }).resources).toEqual({ load: null, memory: null, filesystem: null });
    expect(statusText([parseStatus({ host: 'web1', layout, lines, now: NOW })], NOW)).not.toContain('server');
  });

  it('no answer from the health URL is status null, not ok', () => {
    const status = parseStatus({ host: 'web1', layout, lines: [...lines.filter((l) => !l.startsWith('health')), 'health 000'], now: NOW });
    expect(status.health).toMatchObject({ status: null, ok: false });
  });

  it('text for people', () => {
    const status = parseStatus({ host: 'web1', layout, lines, now: NOW });
    expect(statusText([status], NOW)).toBe(
      [
        'web1  /opt/shop',
        '  release R2 (3cb37f3 main, ok), deployed 1h00m ago by ann@laptop',
        '  units   shop-web.service  active (running), pid 812',
        '          shop-worker.service  failed (failed)',
        '  health  http://127.0.0.1:8000/health answered 503 (expected 200)',
        '  disk    releases 2.0 MB, venvs 50.0 MB, backups 3.0 GB',
        '  last    deploy ok 1h00m ago by ann@laptop',
        '  lock    free',
        '',
      ].join('\n'),
    );
  });

  it('a host that never saw the app', () => {
    const status = parseStatus({ host: 'web2', layout, lines: ['lock free'], now: NOW });
    expect(status).toMatchObject({ current: null, releases: 0, units: [], health: null, last: null });
    expect(statusText([status], NOW)).toContain('release (none deployed)');
  });

  it('JSON: stable field names', () => {
    const [parsed] = JSON.parse(statusJson([parseStatus({ host: 'web1', layout, lines, now: NOW })])) as Record<string, unknown>[];
    expect(Object.keys(parsed!)).toEqual(['host', 'root', 'current', 'releases', 'process_manager', 'units', 'health', 'disk_kb', 'resources', 'last', 'lock', 'singletons']);
  });

  it('ages and sizes', () => {
    expect([formatAge(5), formatAge(125), formatAge(3 * 3600 + 5 * 60), formatAge(2 * 86400 + 3 * 3600)]).toEqual(['5s', '2m', '3h05m', '2d3h']);
    expect([formatSize(null), formatSize(12), formatSize(1536), formatSize(5 * 1024 * 1024)]).toEqual(['-', '12 KB', '1.5 MB', '5.0 GB']);
  });
});
