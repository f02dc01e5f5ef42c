// `slipway logs`: which units are read, the exact journalctl commands, and the follow script run by bash
// with a fake journalctl: lines are prefixed with their process, and a stop signal ends every journalctl.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalArgv, journalScript } from '../../src/ops/logs.js';
import type { ReleaseManifest } from '../../src/plan/facts.js';
import { layoutFor } from '../../src/plan/layout.js';
import { journalSince, logEntry, logSources } from '../../src/plan/logs.js';
import { fakeFacts, testConfig } from './fixtures/config.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-logs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const layout = layoutFor(testConfig({ project: { name: 'shop' } }), 'main');
const manifest: ReleaseManifest = { id: 'R1', sha: 'a'.repeat(40), ref: 'main', config_hash: 'h', deployed_by: 'me', created_at: 't', units: ['shop-web.service', 'shop-worker.service'] };
const facts = fakeFacts({ current: 'R1', releases: [{ id: 'R1', status: 'ok', manifest }] });

describe('which units', () => {
  const web1 = { facts, layout, instances: [], label: 'web1' };
  const db1 = { facts: fakeFacts(), layout, instances: [], label: 'db1' };

  it('every process of the current release, or the one asked for; slot instances by pattern', () => {
    expect(logSources([web1], undefined)).toEqual([
      [
        { process: 'web', units: ['shop-web.service'] },
        { process: 'worker', units: ['shop-worker.service'] },
      ],
    ]);
    expect(logSources([{ ...web1, instances: ['shop-web@blue.service'] }], 'web')).toEqual([[{ process: 'web', units: ['shop-web.service', 'shop-web@*.service'] }]]);
  });

  it('a server that runs none of the app (a database server), or not that process, has nothing to read', () => {
    expect(logSources([web1, db1], undefined)).toEqual([[{ process: 'web', units: ['shop-web.service'] }, { process: 'worker', units: ['shop-worker.service'] }], []]);
    expect(logSources([web1, db1], 'worker')).toEqual([[{ process: 'worker', units: ['shop-worker.service'] }], []]);
  });

  it('a process no server runs names the ones each server has', () => {
    expect(() => logSources([web1, db1], 'cron')).toThrow('no server runs a process cron (web1: web, worker; db1: no app units installed)');
  });
});

describe('scripts', () => {
  const sources = logSources([{ facts, layout, instances: [], label: 'web1' }], undefined)[0]!;

  it('without follow: the last lines of each process in turn', () => {
    expect(journalScript(sources, { lines: 20, follow: false }).shell).toBe(
      [
        `journalctl -u shop-web.service -o short-iso --no-pager -n 20 2>&1 | while IFS= read -r line || [ -n "$line" ]; do printf '%s | %s\\n' web "$line"; done`,
        `journalctl -u shop-worker.service -o short-iso --no-pager -n 20 2>&1 | while IFS= read -r line || [ -n "$line" ]; do printf '%s | %s\\n' worker "$line"; done`,
      ].join('\n'),
    );
  });

  it('since a time instead of the last lines, only matching lines, as JSON: journalctl\'s own options', () => {
    expect(journalArgv(sources[0]!, { lines: 20, follow: true, since: '-10min', grep: 'Traceback', json: true })).toEqual([
      'journalctl', '-u', 'shop-web.service', '-o', 'json', '--no-pager', '--since', '-10min', '--grep', 'Traceback', '-f',
    ]);
    // A pattern is one argument: nothing of it reaches the shell.
    expect(journalScript(sources.slice(0, 1), { lines: 5, follow: false, grep: "a'b $(x)" }).shell).toContain(`--grep 'a'\\''b $(x)'`);
  });

  it('a log line is printed as is: no % or backslash is interpreted', () => {
    const bin = join(scratch, 'once');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'journalctl'), `#!/bin/sh\nprintf '%s\\n' 'a %s \\n $(id) line' 'second'\n`);
    chmodSync(join(bin, 'journalctl'), 0o755);
    const result = spawnSync('bash', ['-c', journalScript(sources.slice(0, 1), { lines: 5, follow: false }).shell], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(result.stdout).toBe('web | a %s \\n $(id) line\nweb | second\n');
  });

  it('follow: lines from every process as they come, and a TERM (connection gone, Ctrl-C) ends every journalctl', async () => {
    const bin = join(scratch, 'follow');
    mkdirSync(bin, { recursive: true });
    // Prints its unit, then waits forever like journalctl -f; records its pid so the test can check it is gone.
    writeFileSync(join(bin, 'journalctl'), `#!/bin/bash\necho $$ >> ${join(scratch, 'pids')}\necho "started $2"\nexec sleep 1000\n`);
    chmodSync(join(bin, 'journalctl'), 0o755);
    const child = spawn('bash', ['-c', journalScript(sources, { lines: 5, follow: true }).shell], { env: { PATH: `${bin}:${process.env.PATH}` } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const deadline = Date.now() + 5000;
    while ((!out.includes('worker | started shop-worker.service') || !out.includes('web | started shop-web.service')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(out.split('\n').filter(Boolean).sort()).toEqual(['web | started shop-web.service', 'worker | started shop-worker.service']);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const pids = spawnSync('cat', [join(scratch, 'pids')], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(pids).toHaveLength(2);
    // Gone, or a zombie waiting for the container's init to reap it: either way no longer running.
    const running = (pid: string) => existsSync(`/proc/${pid}`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const until = Date.now() + 2000;
    while (pids.some(running) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(pids.filter(running)).toEqual([]);
  });
});

describe('--since and --json', () => {
  it('takes a span back from now or a time, and refuses anything else before a server is asked', () => {
    expect(journalSince('10m')).toBe('-10min');
    expect(journalSince('30s')).toBe('-30s');
    expect(journalSince('2h')).toBe('-2h');
    expect(journalSince('1d')).toBe('-1d');
    expect(journalSince('2026-12-03 08:00')).toBe('2026-12-03 08:00');
    expect(journalSince('08:00:30')).toBe('08:00:30');
    expect(() => journalSince('yesterday; rm -rf /')).toThrow(/--since "yesterday; rm -rf \/": expected a span/);
    expect(() => journalSince('-f')).toThrow(/expected a span/);
  });

  it('turns a journal entry into host, process, time and message', () => {
    const line = `web | ${JSON.stringify({ __REALTIME_TIMESTAMP: '1764748800123456', MESSAGE: 'GET / 200', PRIORITY: '6', _SYSTEMD_UNIT: 'shop-web@blue.service', _PID: '4242', _BOOT_ID: 'x' })}`;
    expect(logEntry('web1', line)).toEqual({ host: 'web1', process: 'web', time: '2025-12-03T08:00:00.123Z', message: 'GET / 200', priority: 6, unit: 'shop-web@blue.service', pid: 4242 });
    // journald gives a message that is not UTF-8 text as its bytes.
    expect(logEntry('web1', `web | ${JSON.stringify({ __REALTIME_TIMESTAMP: '1764748800000000', MESSAGE: [104, 105] })}`).message).toBe('hi');
  });

  it('keeps a line that is no journal entry as the message: nothing is dropped', () => {
    const entry = logEntry('web1', 'web | -- No entries --');
    expect(entry).toMatchObject({ host: 'web1', process: 'web', message: '-- No entries --' });
    expect(logEntry('web1', 'web | {"cut short').message).toBe('{"cut short');
  });
});
