// env set/unset/list/diff: argument checks, the exact commands, and the rewrite run by a real bash against a
// temp .env (kept lines, escaping that bash and systemd read back, the old file restored after a failure).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { envKeysFrom } from '../../src/execute/host-probe.js';
import { cmd } from '../../src/ops/command.js';
import { envKeysProbe, writeNextEnvFile } from '../../src/ops/env.js';
import { renderCmd, renderScript } from '../../src/ops/shell.js';
import { configKeys, envDiff, nextDeployWarning, parseAssignments, planEnvChange, stdinValue, unsetKeys, type EnvChange } from '../../src/plan/env-change.js';
import type { ReleaseManifest } from '../../src/plan/facts.js';
import { layoutFor } from '../../src/plan/layout.js';
import { fakeFacts, testConfig } from './fixtures/config.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-env-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const bash = (script: string) => spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH } });

describe('arguments', () => {
  it('KEY=VALUE: the value may hold = and be empty; bad names and line breaks are refused', () => {
    expect(parseAssignments(['A=1', 'B=x=y', 'C=', 'D_2=a b'])).toEqual({ A: '1', B: 'x=y', C: '', D_2: 'a b' });
    expect(() => parseAssignments(['NOVALUE'])).toThrow(UserError);
    expect(() => parseAssignments(['=x'])).toThrow(/expected KEY=VALUE/);
    expect(() => parseAssignments(['1A=x'])).toThrow(/not a variable name/);
    expect(() => parseAssignments(['A;rm=x'])).toThrow(/not a variable name/);
    expect(() => parseAssignments(['A=line\nB=injected'])).toThrow(/line break/);
  });

  it('--stdin drops one trailing newline only', () => {
    expect(stdinValue('TOKEN', 's3cret\n')).toEqual({ TOKEN: 's3cret' });
    expect(stdinValue('TOKEN', ' s3cret ')).toEqual({ TOKEN: ' s3cret ' });
    expect(() => stdinValue('TOKEN', 'a\nb\n')).toThrow(/line break/);
    expect(unsetKeys(['A', 'B', 'A'])).toEqual(['A', 'B']);
    expect(() => unsetKeys(['A B'])).toThrow(/not a variable name/);
  });
});

describe('builders', () => {
  it('writes the new file 0600 and app-owned before any value, keeps the other lines, value on stdin only', () => {
    const text = writeNextEnvFile('/opt/shop/shared/.env', { keys: ['TOKEN', 'OLD'], lines: 'TOKEN="v4lue"' }, 'shop').map((c) => renderCmd(c, { redact: true }));
    expect(text).toEqual([
      'install -m 600 -o shop -g shop /dev/null /opt/shop/shared/.env.slipway-new',
      [
        'if test -f /opt/shop/shared/.env; then',
        "{ grep -v -E '^[[:space:]]*(export[[:space:]]+)?(TOKEN|OLD)=' /opt/shop/shared/.env || [ $? -eq 1 ]; } >> /opt/shop/shared/.env.slipway-new",
        'cp -p /opt/shop/shared/.env /opt/shop/shared/.env.slipway-old',
        'else',
        ':',
        'fi',
      ].join('\n'),
      "tee -a /opt/shop/shared/.env.slipway-new > /dev/null <<'SLIPWAY_EOF_0'\n<redacted: secret values>\nSLIPWAY_EOF_0",
    ]);
  });

  it('the key probe prints names, never values', () => {
    const file = join(scratch, 'probe.env');
    writeFileSync(file, 'A="secret-a"\n  export B="x=y"\n# C="comment"\nnot a line\nD_1=""\n');
    const out = bash(envKeysProbe(file).shell);
    expect(out.stdout).not.toContain('secret-a');
    expect(envKeysFrom(out.stdout.trim().split('\n'))).toEqual(['A', 'B', 'D_1']);
    expect(envKeysFrom(bash(envKeysProbe(join(scratch, 'none.env')).shell).stdout.trim().split('\n'))).toBeUndefined();
  });
});

describe('a change run by bash on a real .env', () => {
  let n = 0;
  function setup(initial: string | undefined) {
    const base = join(scratch, `app${(n += 1)}`);
    const config = testConfig({ project: { name: 'shop' }, base_path: base });
    const layout = layoutFor(config, 'main');
    mkdirSync(layout.shared, { recursive: true });
    if (initial !== undefined) writeFileSync(layout.envFile, initial, { mode: 0o600 });
    const manifest: ReleaseManifest = { id: 'R1', sha: 'a'.repeat(40), ref: 'main', config_hash: 'h', deployed_by: 'me', created_at: 't', units: [] };
    const facts = fakeFacts({ current: 'R1', releases: [{ id: 'R1', status: 'ok', manifest }] });
    return { layout, facts };
  }
  const plan = (s: ReturnType<typeof setup>, change: EnvChange, present: string[] = []) => planEnvChange({ ...s, present, instances: [], change, label: 'web1', http: testConfig({}).http });
  /** What a program started with this file as its environment sees (bash reads it as systemd's EnvironmentFile= does). */
  const seen = (file: string, key: string) => bash(`set -a; . '${file}'; printf '%s' "\${${key}-<unset>}"`).stdout;

  it('set replaces one key, keeps the others, and values with quotes, $, backticks and backslashes come back exactly', () => {
    const s = setup('A="1"\nTOKEN="old"\nB="2"\n');
    const value = 'p"a$HOME`id`\\x \' y';
    const p = plan(s, { kind: 'set', values: { TOKEN: value, NEW: 'n' } });
    const result = bash(renderScript(p.steps, {}, p.recovery));
    expect(result.status, result.stdout + result.stderr).toBe(0);
    const text = readFileSync(s.layout.envFile, 'utf8');
    expect(text.split('\n').filter(Boolean).map((l) => l.split('=')[0])).toEqual(['A', 'B', 'TOKEN', 'NEW']);
    expect(seen(s.layout.envFile, 'TOKEN')).toBe(value);
    expect(seen(s.layout.envFile, 'A')).toBe('1');
    expect(statSync(s.layout.envFile).mode & 0o777).toBe(0o600);
    expect(existsSync(`${s.layout.envFile}.slipway-old`)).toBe(false);
    expect(existsSync(`${s.layout.envFile}.slipway-new`)).toBe(false);
  });

  it('unset removes only the named keys (a key that is a prefix of another stays)', () => {
    const s = setup('TOKEN="1"\nTOKEN_2="2"\nexport OTHER="3"\n');
    const p = plan(s, { kind: 'unset', keys: ['TOKEN', 'OTHER'] }, ['TOKEN', 'TOKEN_2', 'OTHER']);
    expect(bash(renderScript(p.steps, {}, p.recovery)).status).toBe(0);
    expect(readFileSync(s.layout.envFile, 'utf8')).toBe('TOKEN_2="2"\n');
  });

  it('unsetting keys the file does not have does nothing: no steps, no restart', () => {
    const s = setup('A="1"\n');
    expect(plan(s, { kind: 'unset', keys: ['B'] }, ['A']).steps).toEqual([]);
  });

  it('set on a host without a .env creates it, 0600', () => {
    const s = setup(undefined);
    const p = plan(s, { kind: 'set', values: { A: 'x' } });
    expect(bash(renderScript(p.steps, {}, p.recovery)).status).toBe(0);
    expect(readFileSync(s.layout.envFile, 'utf8')).toBe('A="x"\n');
    expect(statSync(s.layout.envFile).mode & 0o777).toBe(0o600);
  });

  it('a failure after the switch (the health check) puts the old file back', () => {
    const s = setup('A="1"\nTOKEN="old"\n');
    const p = plan(s, { kind: 'set', values: { TOKEN: 'new' } });
    const failing = [...p.steps.slice(0, 2), { id: 'health', title: 'fails', commands: [cmd('false')] }, ...p.steps.slice(2)];
    const result = bash(renderScript(failing, {}, p.recovery));
    expect(result.status).not.toBe(0);
    expect(readFileSync(s.layout.envFile, 'utf8')).toBe('A="1"\nTOKEN="old"\n');
    expect(existsSync(`${s.layout.envFile}.slipway-old`)).toBe(false);
  });

  it('a failure before the switch leaves the file untouched and no temp files', () => {
    const s = setup('A="1"\n');
    const p = plan(s, { kind: 'set', values: { A: '2' } });
    const failing = [p.steps[0]!, { id: 'boom', title: 'fails', commands: [cmd('false')] }, ...p.steps.slice(1)];
    expect(bash(renderScript(failing, {}, { ...p.recovery, switchAt: 2 })).status).not.toBe(0);
    expect(readFileSync(s.layout.envFile, 'utf8')).toBe('A="1"\n');
    expect(existsSync(`${s.layout.envFile}.slipway-new`)).toBe(false);
    expect(existsSync(`${s.layout.envFile}.slipway-old`)).toBe(false);
  });
});

describe('the plan around the rewrite', () => {
  const config = testConfig({ project: { name: 'shop' } });
  const layout = layoutFor(config, 'main');
  const health = { url: 'http://127.0.0.1:8000/health', expectedStatus: 200, timeoutSeconds: 5, retries: 3 };
  const manifest: ReleaseManifest = { id: 'R1', sha: 'a'.repeat(40), ref: 'main', config_hash: 'h', deployed_by: 'me', created_at: 't', units: ['shop-web.service', 'shop-worker.service'], health };
  const facts = fakeFacts({ current: 'R1', releases: [{ id: 'R1', status: 'ok', manifest }], appUser: true });

  it('restarts the units the current release recorded (and running slot instances), then checks its health', () => {
    const p = planEnvChange({ layout, facts, present: [], instances: ['shop-web@blue.service'], change: { kind: 'set', values: { A: '1' } }, label: 'web1', http: config.http });
    expect(p.steps.map((s) => s.id)).toEqual(['env-write', 'env-switch', 'health', 'env-finish']);
    expect(p.units).toEqual(['shop-web.service', 'shop-worker.service', 'shop-web@blue.service']);
    expect(p.steps[1]!.commands.map((c) => renderCmd(c))).toEqual([
      'mv -f /opt/shop/shared/.env.slipway-new /opt/shop/shared/.env',
      'systemctl reset-failed shop-web.service shop-worker.service shop-web@blue.service',
      'systemctl restart shop-web.service shop-worker.service shop-web@blue.service',
    ]);
    expect(renderCmd(p.steps[0]!.commands[0]!)).toBe('install -m 600 -o shop -g shop /dev/null /opt/shop/shared/.env.slipway-new');
    expect(p.recovery.switchAt).toBe(1);
    expect(p.recovery.afterSwitch[0]!.commands.map((c) => renderCmd(c)).join('\n')).toContain('systemctl restart shop-web.service');
  });

  it('the value appears in no command shown to a person', () => {
    const p = planEnvChange({ layout, facts, present: [], instances: [], change: { kind: 'set', values: { TOKEN: 'hunter2-value' } }, label: 'web1', http: config.http });
    const shown = renderScript(p.steps, { redact: true }, p.recovery);
    expect(shown).not.toContain('hunter2-value');
    expect(renderScript(p.steps, {}, p.recovery)).toContain('TOKEN="hunter2-value"');
  });

  it('refuses a host where nothing is deployed', () => {
    expect(() => planEnvChange({ layout, facts: fakeFacts(), present: [], instances: [], change: { kind: 'set', values: { A: '1' } }, label: 'web1', http: config.http })).toThrow(/nothing is deployed/);
  });

  it('moves a blue/green app to a fresh slot with the new .env instead of restarting the serving one', () => {
    const bgManifest: ReleaseManifest = { ...manifest, units: ['shop-worker.service'], health, web: { process: 'web', port: 8000, strategy: 'blue-green' } };
    const live = fakeFacts({ current: 'R1', releases: [{ id: 'R1', status: 'ok', manifest: bgManifest }], appUser: true, slots: { blue: { release: 'R1', active: true } }, liveSlot: 'blue' });
    const p = planEnvChange({ layout, facts: live, present: [], instances: ['shop-web@blue.service'], change: { kind: 'set', values: { A: '1' } }, label: 'web1', http: config.http });
    expect(p.steps.map((s) => s.id)).toEqual(['env-write', 'env-switch', 'slot', 'slot-health', 'route', 'switch', 'restart', 'drain', 'env-finish']);
    const script = renderScript(p.steps, {}, p.recovery);
    expect(script).not.toContain('systemctl restart shop-web@blue.service');
    expect(script).toContain('systemctl restart shop-web@green.service');
    expect(script).toContain('shop-drain-blue');
    expect(p.recovery.afterSwitch.map((s) => s.id)).toEqual(['env-restore', 'switch-back']);
  });
});

describe('diff and warnings', () => {
  it('keys in the config (with DATABASE_URL) missing on the server, and the reverse', () => {
    const config = testConfig({ env_vars: { A: '1', B: '2' }, database: { engine: 'postgresql', name: 'shop', user: 'shop', password: 'pw', host: 'localhost', port: 5432 } });
    expect(configKeys(config)).toEqual(['A', 'B', 'DATABASE_URL']);
    expect(envDiff(configKeys(config), ['B', 'MANUAL'])).toEqual({ missingOnServer: ['A', 'DATABASE_URL'], notInConfig: ['MANUAL'] });
    expect(envDiff(['A'], ['A'])).toEqual({ missingOnServer: [], notInConfig: [] });
  });

  it('warns that the next deploy rewrites .env, naming what happens to each key', () => {
    expect(nextDeployWarning({ kind: 'set', values: { A: '1', X: '2' } }, ['A', 'B'])).toMatch(/^the next deploy rewrites \.env from the config: A will be replaced by the config's value; X \(not in the config\) will be removed\. To keep a value, put it in env_vars as \$\{NAME\}/);
    expect(nextDeployWarning({ kind: 'unset', keys: ['A'] }, ['A'])).toContain('A will be written again from the config');
    expect(nextDeployWarning({ kind: 'unset', keys: ['X'] }, ['A'])).toBeUndefined();
    // A config without env_vars never rewrites .env: nothing to warn about.
    expect(nextDeployWarning({ kind: 'set', values: { X: '1' } }, [])).toBeUndefined();
  });
});
