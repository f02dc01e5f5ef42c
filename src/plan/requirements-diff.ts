// What changed between two versions of a requirements file, package by package (pure).

export interface Requirement {
  /** Normalized (PEP 503): lowercase, runs of `-_.` as one `-`. Option lines (`-r x.txt`) are keyed by the line. */
  name: string;
  /** Everything after the name: extras, version specifiers, markers, `@ url` (whitespace removed). */
  spec: string;
  /** The line as written (comments removed). */
  line: string;
}

export interface RequirementsChange {
  added: Requirement[];
  removed: Requirement[];
  changed: { name: string; from: Requirement; to: Requirement }[];
}

export const normalizeName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

export function parseRequirements(text: string | undefined): Map<string, Requirement> {
  const result = new Map<string, Requirement>();
  if (!text) return result;
  // A trailing backslash continues the line (hashes are often written one per line this way).
  const logical = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const raw of logical) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    if (line.startsWith('-')) {
      result.set(line, { name: line, spec: '', line });
      continue;
    }
    const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)(.*)$/.exec(line);
    if (!match) {
      result.set(line, { name: line, spec: '', line });
      continue;
    }
    const name = normalizeName(match[1]!);
    // Hashes pin the file, not the version: a hash-only change is not a new version.
    const spec = match[2]!.replace(/--hash=\S+/g, '').replace(/\s+/g, '');
    result.set(name, { name, spec, line });
  }
  return result;
}

function diffMaps(old: Map<string, Requirement>, now: Map<string, Requirement>): RequirementsChange {
  const change: RequirementsChange = { added: [], removed: [], changed: [] };
  for (const [name, req] of now) {
    const was = old.get(name);
    if (!was) change.added.push(req);
    else if (was.spec !== req.spec) change.changed.push({ name, from: was, to: req });
  }
  for (const [name, req] of old) if (!now.has(name)) change.removed.push(req);
  return change;
}

export function diffRequirements(before: string | undefined, after: string | undefined): RequirementsChange {
  return diffMaps(parseRequirements(before), parseRequirements(after));
}

export const isEmptyChange = (c: RequirementsChange) => c.added.length + c.removed.length + c.changed.length === 0;

/** package.json's dependencies and devDependencies, by name (`@scope/name` as is), spec = the version range. */
function packageDependencies(text: string | undefined): Map<string, Requirement> {
  const result = new Map<string, Requirement>();
  if (!text) return result;
  let pkg: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  try {
    pkg = JSON.parse(text) as typeof pkg;
  } catch {
    return result;
  }
  for (const [name, range] of Object.entries({ ...pkg.devDependencies, ...pkg.dependencies })) {
    result.set(name, { name, spec: String(range), line: `${name}@${String(range)}` });
  }
  return result;
}

export function diffPackageJson(before: string | undefined, after: string | undefined): RequirementsChange {
  return diffMaps(packageDependencies(before), packageDependencies(after));
}
