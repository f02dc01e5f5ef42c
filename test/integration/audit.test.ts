// `slipway audit` for real on the Node example, with this machine's npm and the registry it reaches: the
// lockfile is checked, or said not to be, with npm's own reason (here the registry's audit endpoint is refused by
// the network's proxy, which lets GET through only). And audit.on_deploy: block refuses a deploy it cannot clear
// before any server is reached, while --skip-audit goes ahead.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditPart } from '../../src/plan/audit.js';

const ROOT = join(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin', 'slipway.js');
const dir = mkdtempSync(join(tmpdir(), 'slipway-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

cpSync(join(ROOT, 'examples', 'node-app'), dir, { recursive: true });
// Nowhere to deploy to: the gate must decide before any connection is tried.
writeFileSync(join(dir, 'deploy-gate.yml'), 'servers:\n  - host: unreachable.invalid\naudit:\n  on_deploy: block\n  severity: low\n');
writeFileSync(join(dir, '.slipway', 'secrets-gate.env'), 'DB_PASSWORD=not-a-real-one\n', { mode: 0o600 });
writeFileSync(join(dir, '.slipway', 'secrets-sandbox.env'), 'DB_PASSWORD=not-a-real-one\n', { mode: 0o600 });
for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-qm', 'audit']]) execFileSync('git', args, { cwd: dir });
const slipway = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 180_000 });

describe('slipway audit', () => {
  let lockfile: AuditPart;

  it('checks the lockfile of the commit a deploy would ship, or says why it could not', () => {
    const result = slipway('audit', 'sandbox', '--json');
    expect([0, 1], result.stderr).toContain(result.status);
    const { severity, parts } = JSON.parse(result.stdout) as { severity: string; parts: AuditPart[] };
    expect(severity).toBe('high');
    lockfile = parts[0]!;
    expect(lockfile.what).toMatch(/^package-lock\.json at main \([0-9a-f]{7}\)$/);
    if (lockfile.checked) expect(lockfile.note).toBe("the npm registry's audit");
    else expect(lockfile.note).toMatch(/^(the npm registry's audit could not be asked: \S|npm audit printed no report)/);
    expect(parts.at(-1)).toMatchObject({ what: 'system packages on the servers', checked: false, outOfScope: true });
  });

  it('audit.on_deploy block: refused before any server when the lockfile is not cleared; --skip-audit goes on to the server', () => {
    const gated = slipway('deploy', 'gate');
    const cleared = lockfile.checked && lockfile.findings.length === 0;
    if (!cleared) {
      expect(gated.status, gated.stderr).toBe(2);
      expect(gated.stderr).toMatch(/^error: deploy refused by audit\.on_deploy: block: /m);
      expect(gated.stderr).not.toContain('unreachable.invalid');
    }
    expect(gated.stderr).toMatch(/^audit: package-lock\.json at main/m);
    const skipped = slipway('deploy', 'gate', '--skip-audit');
    expect(skipped.status).not.toBe(0);
    expect(skipped.stderr).not.toMatch(/^audit: /m);
    expect(skipped.stderr).toContain('unreachable.invalid');
  });
});
