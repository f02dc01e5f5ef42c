// The recovery a host script runs by itself, by a real bash: which undo runs depends on how far the script got,
// and a script stopped (SIGTERM from the agent when slipway is gone) after the commit point keeps the release.
// The TERM takes effect once the command in flight ends, as on a host.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { parseHistory, recordFromHost } from '../../src/ops/history.js';
import { bootRecoveryFile } from '../../src/ops/boot.js';
import { layoutFor } from '../../src/plan/layout.js';
import { testConfig } from './fixtures/config.js';
import { describe, expect, it } from 'vitest';
import { cmd, type Step } from '../../src/ops/command.js';
import { renderScript, type Recovery } from '../../src/ops/shell.js';

const step = (id: string, ...argv: string[]): Step => ({ id, title: id, commands: [argv.length > 0 ? cmd(...argv) : cmd('echo', `ran ${id}`)] });
const undo = (id: string): Step => ({ id, title: id, commands: [cmd('echo', `undo ${id}`)] });
const recovery: Recovery = { switchAt: 1, beforeSwitch: [undo('mark-failed')], afterSwitch: [undo('switch-back')], commitAt: 3, afterCommit: [undo('keep')] };
const steps = (failAt: number) => ['release', 'switch', 'health', 'finish', 'cleanup'].map((id, i) => (i === failAt ? step(id, 'false') : step(id)));
const run = (script: string) => spawnSync('bash', ['-c', script], { encoding: 'utf8' });
const undone = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('undo '));

describe('host script recovery', () => {
  it('before the switch marks the release failed; from the switch on switches back; from the commit on keeps it', () => {
    expect(undone(run(renderScript(steps(0), {}, recovery)).stdout)).toEqual(['undo mark-failed']);
    expect(undone(run(renderScript(steps(1), {}, recovery)).stdout)).toEqual(['undo switch-back']);
    expect(undone(run(renderScript(steps(2), {}, recovery)).stdout)).toEqual(['undo switch-back']);
    expect(undone(run(renderScript(steps(3), {}, recovery)).stdout)).toEqual(['undo keep']);
    const late = run(renderScript(steps(4), {}, recovery));
    expect(late.status).toBe(1);
    expect(undone(late.stdout)).toEqual(['undo keep']);
    expect(undone(run(renderScript(steps(-1), {}, recovery)).stdout)).toEqual([]);
  });

  it('without a commit point, a failure in the last step still switches back', () => {
    const plain: Recovery = { switchAt: recovery.switchAt, beforeSwitch: recovery.beforeSwitch, afterSwitch: recovery.afterSwitch };
    expect(undone(run(renderScript(steps(4), {}, plain)).stdout)).toEqual(['undo switch-back']);
  });

  it('a SIGTERM during a slow step after the commit keeps the release; during one before it switches back', async () => {
    const stopped = async (slowAt: number) => {
      const slow = steps(-1).map((s, i) => (i === slowAt ? { ...s, commands: [cmd('echo', 'slow'), cmd('sleep', '1')] } : s));
      const child = spawn('bash', ['-c', renderScript(slow, {}, recovery)]);
      let out = '';
      let signals = 0;
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        // Again while it recovers: the repair still runs to its end.
        if (out.includes('slow\n') && signals < 2) {
          signals += 1;
          child.kill('SIGTERM');
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      return { code, undone: undone(out) };
    };
    expect(await stopped(4)).toEqual({ code: 143, undone: ['undo keep'] });
    expect(await stopped(2)).toEqual({ code: 143, undone: ['undo switch-back'] });
  }, 10_000);
});

describe('the history line a host writes while it repairs', () => {
  const base = mkdtempSync(join(tmpdir(), 'slipway-record-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));
  const layout = { ...layoutFor(testConfig({ base_path: base }), 'main'), history: join(base, 'history.jsonl') };
  const entry = { at: '2026-12-01T10:00:00.000Z', action: 'deploy' as const, env: 'prod', user: 'me', machine: 'laptop', from: 'R1', to: 'R2', sha: 'a'.repeat(40), ref: 'main' };
  const recording: Recovery = { ...recovery, record: recordFromHost(layout, entry, 'web "1"', Date.now()) };
  const titled = (failAt: number) => steps(failAt).map((s) => ({ ...s, title: `the "${s.id}" step` }));

  it('says what the host did, and where it stopped, in one valid JSON line per repair', () => {
    expect(run(renderScript(titled(0), {}, recording)).stdout).toContain('##slipway-recorded');
    run(renderScript(titled(2), {}, recording));
    run(renderScript(titled(4), {}, recording));
    expect(run(renderScript(titled(-1), {}, recording)).stdout).not.toContain('##slipway-recorded');
    const lines = parseHistory(readFileSync(layout.history, 'utf8'));
    expect(lines.map((l) => [l.result, l.outcome, l.error])).toEqual([
      ['failed', 'release-failed', 'web "1": the "release" step failed (exit 1)'],
      ['rolled-back', 'switched-back', 'web "1": the "health" step failed (exit 1)'],
      ['ok', 'kept', 'web "1": the "cleanup" step failed (exit 1)'],
    ]);
    expect(lines[0]).toMatchObject(entry);
    expect(lines.every((l) => l.duration_ms >= 0 && l.duration_ms < 60_000)).toBe(true);
  });
});

describe('the switch-back a boot finishes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-boot-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const layout = { meta: dir, lockFile: join(dir, 'deploy.lock') };
  const back: Step[] = [{ id: 'switch-back', title: 'Send traffic back', commands: [cmd('echo', 'undo switch-back')] }];
  const file = bootRecoveryFile(layout);
  /** bash with a systemctl that reports the system `state`. */
  const runOn = (state: string, script: string) => {
    writeFileSync(join(dir, 'systemctl'), `#!/bin/sh\necho ${state}\n`, { mode: 0o755 });
    return spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
  };

  it('is armed at the switch and gone once the release is committed or switched back', async () => {
    const { bootRecovery } = await import('../../src/ops/boot.js');
    const boot = bootRecovery(layout, back, undefined);
    const armed: Recovery = { ...recovery, boot };
    const exists = () => spawnSync('test', ['-f', file]).status === 0;
    // Stopped during the health check while the system shuts down (or systemd does not answer): left armed.
    runOn('stopping', renderScript(steps(2), {}, armed));
    expect(exists()).toBe(true);
    runOn('', renderScript(steps(2), {}, armed));
    expect(exists()).toBe(true);
    // The same on a system that keeps running: switched back, disarmed.
    runOn('running', renderScript(steps(2), {}, armed));
    expect(exists()).toBe(false);
    // A script that ends right after the switch (as a power loss would leave it) stays armed.
    run(renderScript(steps(-1).slice(0, 3), {}, { ...armed, commitAt: -1 }));
    expect(exists()).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(
      ['#!/bin/bash', '# Written by slipway at a switch; run at boot if the server stopped before the release was committed.', 'set +u', `exec 9>>${layout.lockFile}`, 'flock -w 300 9', `[ -f ${file} ] || exit 0`, "echo 'undo switch-back'", `rm -f ${file}`, ''].join('\n'),
    );
    // What the boot unit runs: the switch-back, then the file is gone.
    expect(spawnSync('bash', [file], { encoding: 'utf8' }).stdout).toBe('undo switch-back\n');
    expect(exists()).toBe(false);
    // Committed: disarmed at the commit point.
    run(renderScript(steps(-1), {}, armed));
    expect(exists()).toBe(false);
  });

  it('the unit runs the file after the app and nginx started, only when it exists', async () => {
    const { renderBootRecoveryUnit } = await import('../../src/render/systemd.js');
    const unit = renderBootRecoveryUnit(layoutFor(testConfig(), 'main'), 'shop', '/opt/shop/.slipway/boot-recovery.sh');
    expect(unit).toContain('ConditionPathExists=/opt/shop/.slipway/boot-recovery.sh\nAfter=network-online.target nginx.service shop.target\n');
    expect(unit).toContain('Type=oneshot\nExecStart=/bin/bash /opt/shop/.slipway/boot-recovery.sh\n');
    expect(unit).toContain('[Install]\nWantedBy=multi-user.target\n');
  });
});
