// `slipway audit` and the deploy's audit gate (pure): what npm's and pip-audit's reports say, in slipway's
// terms. A check that could not run is said to be so, with the reason, and never counts as clean.
export const SEVERITIES = ['low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  package: string;
  severity: Severity;
  /** The advisory's title and where to read it, when the report gives them. */
  title: string;
  url?: string;
  /** The versions affected, as the report gives them. */
  range?: string;
}

/** One source of dependencies (the lockfile, a requirements file): checked, or why not. */
export interface AuditPart {
  what: string;
  checked: boolean;
  findings: Finding[];
  /** Why it was not checked, or how it was. */
  note: string;
  /** A source slipway never audits (the servers' system packages): said, but no gate waits for it. */
  outOfScope?: boolean;
}

const severityOf = (value: unknown): Severity => (SEVERITIES.includes(value as Severity) ? (value as Severity) : value === 'info' ? 'low' : 'moderate');

/**
 * `npm audit --json` (report version 2): each vulnerable package with its advisories (`via` entries that are
 * objects; a string names another vulnerable package it is reached through). An error report (the registry's
 * audit endpoint unreachable, a 405 through a proxy) is a part that was not checked.
 */
export function parseNpmAudit(what: string, stdout: string): AuditPart {
  let report: Record<string, unknown>;
  try {
    report = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    return { what, checked: false, findings: [], note: `npm audit printed no report${stdout.trim() ? `: ${stdout.trim().split('\n')[0]!.slice(0, 200)}` : ''}` };
  }
  const error = report.error as { summary?: unknown; detail?: unknown; code?: unknown } | undefined;
  if ((error || report.message) && !report.vulnerabilities) {
    const why = [error?.summary, error?.detail, report.message, error?.code].find((s): s is string => typeof s === 'string' && s.trim() !== '') ?? 'an error without a message';
    return { what, checked: false, findings: [], note: `the npm registry's audit could not be asked: ${why}` };
  }
  const vulnerable = (report.vulnerabilities ?? {}) as Record<string, { severity?: string; range?: string; via?: unknown[] }>;
  const findings: Finding[] = [];
  for (const [name, v] of Object.entries(vulnerable)) {
    const advisories = (v.via ?? []).filter((x): x is { title?: string; url?: string; severity?: string } => typeof x === 'object' && x !== null);
    if (advisories.length === 0) continue; // only reached through another vulnerable package, listed on its own
    for (const a of advisories) findings.push({ package: name, severity: severityOf(a.severity ?? v.severity), title: a.title ?? 'an advisory', ...(a.url ? { url: a.url } : {}), ...(v.range ? { range: v.range } : {}) });
  }
  findings.sort((a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) || a.package.localeCompare(b.package));
  return { what, checked: true, findings, note: 'the npm registry\'s audit' };
}

/** `pip-audit -f json`: `{dependencies: [{name, version, vulns: [{id, fix_versions, description}]}]}`. */
export function parsePipAudit(what: string, stdout: string): AuditPart {
  let report: { dependencies?: { name?: string; version?: string; vulns?: { id?: string; fix_versions?: string[]; description?: string }[] }[] };
  try {
    report = JSON.parse(stdout) as typeof report;
  } catch {
    return { what, checked: false, findings: [], note: `pip-audit printed no report${stdout.trim() ? `: ${stdout.trim().split('\n')[0]!.slice(0, 200)}` : ''}` };
  }
  const findings = (report.dependencies ?? []).flatMap((d) =>
    (d.vulns ?? []).map((v) => ({
      package: d.name ?? '?',
      // pip-audit gives no severity: an unrated advisory counts as high rather than slipping under a gate.
      severity: 'high' as Severity,
      title: `${v.id ?? 'an advisory'}${v.fix_versions && v.fix_versions.length > 0 ? ` (fixed in ${v.fix_versions.join(', ')})` : ''}`,
      ...(d.version ? { range: d.version } : {}),
    })),
  );
  return { what, checked: true, findings, note: 'pip-audit (the Python Packaging Advisory Database)' };
}

export interface AuditVerdict {
  /** Findings at or above the threshold. */
  blocking: Finding[];
  /** Parts that could not be checked. */
  unchecked: AuditPart[];
}

export function auditVerdict(parts: readonly AuditPart[], threshold: Severity): AuditVerdict {
  const at = SEVERITIES.indexOf(threshold);
  return { blocking: parts.flatMap((p) => p.findings.filter((f) => SEVERITIES.indexOf(f.severity) >= at)), unchecked: parts.filter((p) => !p.checked && !p.outOfScope) };
}

export function auditText(parts: readonly AuditPart[], threshold: Severity): string {
  const lines: string[] = [];
  for (const part of parts) {
    if (!part.checked) {
      lines.push(`${part.what}: not checked: ${part.note}`);
      continue;
    }
    lines.push(`${part.what}: ${part.findings.length === 0 ? 'no known vulnerability' : `${part.findings.length} known vulnerabilit${part.findings.length === 1 ? 'y' : 'ies'}`} (${part.note})`);
    for (const f of part.findings) lines.push(`  ${f.severity.padEnd(8)} ${f.package}${f.range ? ` ${f.range}` : ''}: ${f.title}${f.url ? ` ${f.url}` : ''}`);
  }
  const verdict = auditVerdict(parts, threshold);
  lines.push(`${verdict.blocking.length} at or above ${threshold}${verdict.unchecked.length > 0 ? `; ${verdict.unchecked.length} source(s) not checked` : ''}`);
  return lines.join('\n');
}
