// The health monitor: the deploy's step (installed only where it serves, unchanged files left alone, removed when
// turned off, webhook URLs never shown), and its script run by bash against a fake curl and systemctl: one alert
// when the check starts failing, none while it stays failing, one recovery, the heartbeat on each pass.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderScript } from '../../src/ops/shell.js';
import { sha256 } from '../../src/ops/services.js';
import { layoutFor } from '../../src/plan/layout.js';
import { monitorHooks, monitorSteps } from '../../src/plan/monitor.js';
import { parseStatus } from '../../src/plan/status.js';
import { renderMonitorEnv, renderMonitorScript, renderMonitorService, renderMonitorTimer, type MonitorSpec } from '../../src/render/monitor.js';
import { statusText } from '../../src/render/status.js';
import { testConfig } from './fixtures/config.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-monitor-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const HOOK = 'https://hooks.example.invalid/T0/secret-path';
const notify = [
  { url: HOOK, format: 'json' as const, events: ['failure', 'alert', 'recovery'] as ('failure' | 'alert' | 'recovery')[] },
  { url: 'https://chat.example.invalid/x', format: 'slack' as const, events: ['success'] as 'success'[] },
];

describe('the deploy\'s monitor step', () => {
  const config = testConfig({ project: { name: 'shop' }, notify, monitor: { enabled: true, interval: 30, heartbeat_url: 'https://hc.example.invalid/ping/abc' } });
  const layout = layoutFor(config, 'main');
  const input = { config, layout, label: 'web1', serves: true, services: ['shop-web.service', 'shop-worker.service'], installed: {} };

  it('only the webhooks that asked for alert or recovery are told', () => {
    expect(monitorHooks(config.notify)).toEqual([{ format: 'json', url: HOOK, events: ['alert', 'recovery'] }]);
  });

  it('installs the script, the 0600 secrets file and the units, and starts the timer; the plan never shows a URL', () => {
    const [step] = monitorSteps(input);
    expect(step!.title).toBe('Health monitor: every 30 s, 1 webhook(s), heartbeat');
    const shown = renderScript([step!], { redact: true });
    expect(shown).toContain('/etc/systemd/system/shop-slipway-monitor.timer');
    expect(shown).toContain('systemctl enable --now --quiet shop-slipway-monitor.timer');
    expect(shown).toContain("install -m 600 /dev/null /opt/shop/.slipway/monitor.env.slipway-new");
    expect(shown).not.toContain(HOOK);
    expect(shown).not.toContain('hc.example.invalid');
  });

  it('leaves current units alone: no daemon-reload, only the idempotent enable', () => {
    const spec = { app: 'shop', intervalSeconds: 30 };
    const installed = { 'shop-slipway-monitor.service': sha256(renderMonitorService(layout, spec)), 'shop-slipway-monitor.timer': sha256(renderMonitorTimer(layout, spec)) };
    const shown = renderScript(monitorSteps({ ...input, installed }), { redact: true });
    expect(shown).not.toContain('daemon-reload');
    expect(shown).not.toContain('/etc/systemd/system/shop-slipway-monitor');
  });

  it('is not installed on a server that does not serve the health check; turned off, an installed one is removed', () => {
    expect(monitorSteps({ ...input, serves: false })).toEqual([]);
    const off = testConfig({ project: { name: 'shop' } });
    expect(monitorSteps({ ...input, config: off })).toEqual([]);
    const [removal] = monitorSteps({ ...input, config: off, installed: { 'shop-slipway-monitor.service': 'h' } });
    expect(removal!.title).toBe('Remove the health monitor (monitor.enabled is off here)');
    expect(renderScript([removal!])).toContain('systemctl disable --now --quiet shop-slipway-monitor.timer');
  });
});

describe('the monitor script, run by bash', () => {
  const config = testConfig({ project: { name: 'zz-monitor-test' }, base_path: join(scratch, 'base') });
  const layout = layoutFor(config, 'main');
  const bin = join(scratch, 'bin');
  const calls = join(scratch, 'calls.log');
  const spec: MonitorSpec = {
    app: 'shop', env: 'prod', host: 'web1', services: ['zz-monitor-test-worker.service'], expectedStatus: 200, timeoutSeconds: 2, intervalSeconds: 60,
    hooks: [{ format: 'json', url: 'http://hooks.invalid/a', events: ['alert', 'recovery'] }, { format: 'slack', url: 'http://hooks.invalid/b', events: ['alert'] }],
    heartbeatUrl: 'http://hc.invalid/ping',
  };

  // The release's manifest names its health URL; the fake curl answers what `health` says and logs the rest.
  mkdirSync(join(layout.releases, 'R1'), { recursive: true });
  mkdirSync(join(layout.meta, 'releases', 'R1'), { recursive: true });
  writeFileSync(join(layout.meta, 'releases', 'R1', 'manifest.json'), JSON.stringify({ id: 'R1', health: { url: 'http://127.0.0.1:8000/health', expectedStatus: 200 } }, null, 2));
  symlinkSync(join(layout.releases, 'R1'), layout.current);
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'curl'), `#!/bin/bash\nfor a in "$@"; do url=$a; done\nif [ "$url" = http://127.0.0.1:8000/health ]; then printf %s "$(cat ${scratch}/health)"; exit 0; fi\nbody=$(cat 2>/dev/null)\necho "$url $body" >> ${calls}\n`);
  writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\n[ "$1" = is-active ] && cat ${scratch}/unit && exit 0\nexit 0\n`);
  chmodSync(join(bin, 'curl'), 0o755);
  chmodSync(join(bin, 'systemctl'), 0o755);
  writeFileSync(join(layout.meta, 'monitor.env'), renderMonitorEnv(spec));
  const script = join(scratch, 'monitor.sh');
  writeFileSync(script, renderMonitorScript(layout, spec));

  const check = (health: string, unit: string) => {
    writeFileSync(join(scratch, 'health'), health);
    writeFileSync(join(scratch, 'unit'), `${unit}\n`);
    const result = spawnSync('bash', [script], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(result.status, result.stderr).toBe(0);
    const log = (() => {
      try {
        return readFileSync(calls, 'utf8');
      } catch {
        return '';
      }
    })();
    rmSync(calls, { force: true });
    return log.split('\n').map((l) => l.trimEnd()).filter(Boolean);
  };

  it('is valid bash', () => {
    expect(spawnSync('bash', ['-n', script], { encoding: 'utf8' }).status).toBe(0);
  });

  it('a first passing check tells no one (nothing recovered) but pings the heartbeat', () => {
    expect(check('200', 'active')).toEqual(['http://hc.invalid/ping']);
    expect(readFileSync(join(layout.meta, 'monitor.state'), 'utf8')).toMatch(/^ok \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \n$/);
  });

  it('failing: one alert to each webhook that asked, then silence while it keeps failing, and no heartbeat', () => {
    const first = check('503', 'inactive');
    expect(first).toHaveLength(2);
    const alert = JSON.parse(first[0]!.slice('http://hooks.invalid/a '.length)) as Record<string, string>;
    expect(alert).toMatchObject({ event: 'alert', app: 'shop', env: 'prod', host: 'web1', detail: 'health http://127.0.0.1:8000/health answered 503, expected 200; zz-monitor-test-worker.service is inactive' });
    expect(alert.text).toBe('shop prod on web1: failing: health http://127.0.0.1:8000/health answered 503, expected 200; zz-monitor-test-worker.service is inactive');
    expect(first[1]).toMatch(/^http:\/\/hooks\.invalid\/b \{"text":"shop prod on web1: failing: health/);
    expect(check('503', 'inactive')).toEqual([]);
    expect(check('000', 'active')).toEqual([]);
  });

  it('recovered: one recovery to the webhook that asked for it, and the heartbeat again; status shows since when', () => {
    const calls = check('200', 'active');
    expect(calls).toHaveLength(2);
    expect(JSON.parse(calls[0]!.slice('http://hooks.invalid/a '.length))).toMatchObject({ event: 'recovery', text: 'shop prod on web1: recovered', detail: '' });
    expect(calls[1]).toBe('http://hc.invalid/ping');
    const state = readFileSync(join(layout.meta, 'monitor.state'), 'utf8').trim();
    const status = parseStatus({ host: 'web1', layout, lines: [`monitor ${state}`, 'lock free'], now: new Date() });
    expect(status.monitor).toMatchObject({ state: 'ok', detail: '' });
    expect(statusText([status], new Date())).toMatch(/ {2}monitor ok since \d{4}-/);
  });
});
