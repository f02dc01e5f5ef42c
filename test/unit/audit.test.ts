import { describe, expect, it } from 'vitest';
import { auditText, auditVerdict, parseNpmAudit, parsePipAudit, type AuditPart } from '../../src/plan/audit.js';

// npm audit --json, report version 2, in the shape npm 7 and later print (package names and advisories made up).
const npmReport = JSON.stringify({
  auditReportVersion: 2,
  vulnerabilities: {
    'left-pad-ish': { name: 'left-pad-ish', severity: 'critical', range: '<1.2.0', via: [{ title: 'Prototype pollution', url: 'https://advisories.example/GHSA-1', severity: 'critical' }] },
    'uses-it': { name: 'uses-it', severity: 'critical', range: '2.x', via: ['left-pad-ish'] },
    'slow-regex': { name: 'slow-regex', severity: 'moderate', range: '<3.0.1', via: [{ title: 'ReDoS', url: 'https://advisories.example/GHSA-2', severity: 'moderate' }] },
  },
  metadata: { vulnerabilities: { info: 0, low: 0, moderate: 1, high: 0, critical: 2, total: 3 } },
});

describe('npm audit reports', () => {
  it('each advisory of each vulnerable package, worst first; a package only reached through another is not counted twice', () => {
    const part = parseNpmAudit('package-lock.json at main (abc1234)', npmReport);
    expect(part.checked).toBe(true);
    expect(part.findings).toEqual([
      { package: 'left-pad-ish', severity: 'critical', title: 'Prototype pollution', url: 'https://advisories.example/GHSA-1', range: '<1.2.0' },
      { package: 'slow-regex', severity: 'moderate', title: 'ReDoS', url: 'https://advisories.example/GHSA-2', range: '<3.0.1' },
    ]);
  });

  it('an error report (the audit endpoint refused, a proxy allowing only GET) is "not checked", with npm\'s reason', () => {
    const refused = JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk', statusCode: 405, error: { summary: '', detail: '' } });
    const part = parseNpmAudit('package-lock.json', refused);
    expect(part).toMatchObject({ checked: false, findings: [] });
    expect(part.note).toBe("the npm registry's audit could not be asked: 405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk");
    expect(parseNpmAudit('package-lock.json', 'npm ERR! something').note).toBe('npm audit printed no report: npm ERR! something');
  });

  it('a clean report is checked with no finding', () => {
    expect(parseNpmAudit('l', JSON.stringify({ auditReportVersion: 2, vulnerabilities: {}, metadata: {} }))).toMatchObject({ checked: true, findings: [] });
  });
});

describe('pip-audit reports', () => {
  it('each vulnerability, as high (pip-audit rates none), with the versions that fix it', () => {
    const report = JSON.stringify({ dependencies: [{ name: 'django', version: '4.2.0', vulns: [{ id: 'PYSEC-2023-1', fix_versions: ['4.2.1'] }] }, { name: 'requests', version: '2.31.0', vulns: [] }] });
    expect(parsePipAudit('requirements.txt', report).findings).toEqual([{ package: 'django', severity: 'high', title: 'PYSEC-2023-1 (fixed in 4.2.1)', range: '4.2.0' }]);
  });
});

describe('the verdict and the text', () => {
  const parts: AuditPart[] = [
    parseNpmAudit('package-lock.json at main (abc1234)', npmReport),
    { what: 'requirements.txt at main (abc1234)', checked: false, findings: [], note: 'pip-audit is not installed on this machine' },
    { what: 'system packages on the servers', checked: false, findings: [], note: 'not audited by slipway', outOfScope: true },
  ];

  it('counts findings at or above the threshold and the sources that could not be checked (not the out-of-scope ones)', () => {
    expect(auditVerdict(parts, 'high').blocking.map((f) => f.package)).toEqual(['left-pad-ish']);
    expect(auditVerdict(parts, 'moderate').blocking).toHaveLength(2);
    expect(auditVerdict(parts, 'high').unchecked.map((p) => p.what)).toEqual(['requirements.txt at main (abc1234)']);
  });

  it('says what was checked, what was found, and what was not checked and why', () => {
    expect(auditText(parts, 'high')).toBe(
      [
        "package-lock.json at main (abc1234): 2 known vulnerabilities (the npm registry's audit)",
        '  critical left-pad-ish <1.2.0: Prototype pollution https://advisories.example/GHSA-1',
        '  moderate slow-regex <3.0.1: ReDoS https://advisories.example/GHSA-2',
        'requirements.txt at main (abc1234): not checked: pip-audit is not installed on this machine',
        'system packages on the servers: not checked: not audited by slipway',
        '1 at or above high; 1 source(s) not checked',
      ].join('\n'),
    );
  });
});
