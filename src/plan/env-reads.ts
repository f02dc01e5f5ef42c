// Environment variables a code base reads, found by pattern (pure). Python: os.environ[...], os.environ.get(...),
// os.getenv(...), `"X" in os.environ`, and django-environ/environs style env("X") / env.bool("X"). JavaScript and
// TypeScript: process.env.X and process.env["X"], required unless a default follows (`|| 'x'`, `?? 'x'`).

export interface EnvRead {
  name: string;
  /** `os.environ["X"]` or env("X") without a default: the code fails without it. */
  required: boolean;
  /** Files that read it, sorted. */
  files: string[];
}

const NAME = String.raw`([A-Za-z_][A-Za-z0-9_]*)`;
const Q = String.raw`(['"])`;

interface Pattern {
  re: RegExp;
  required: (match: RegExpExecArray, rest: string) => boolean;
}

const PATTERNS: Pattern[] = [
  // A subscript is a read unless it is assigned to (`os.environ["X"] = ...`).
  { re: new RegExp(String.raw`\benviron\[\s*${Q}${NAME}\1\s*\]`, 'g'), required: () => true },
  { re: new RegExp(String.raw`\benviron\.get\(\s*${Q}${NAME}\1`, 'g'), required: () => false },
  { re: new RegExp(String.raw`\bgetenv\(\s*${Q}${NAME}\1`, 'g'), required: () => false },
  { re: new RegExp(String.raw`${Q}${NAME}\1\s+(?:not\s+)?in\s+(?:os\.)?environ\b`, 'g'), required: () => false },
  // env("X"), env.str("X", default=...): required unless a default is given in the call.
  { re: new RegExp(String.raw`\benv(?:\.[a-z_]+)?\(\s*${Q}([A-Z][A-Z0-9_]*)\1`, 'g'), required: (_m, rest) => !/^[^)]*\bdefault\s*=/.test(rest) },
  // The empty group stands for the quote the other patterns have: the name is the second group in each.
  { re: new RegExp(String.raw`\bprocess\.env\.()${NAME}\b`, 'g'), required: (_m, rest) => !JS_DEFAULT.test(rest) },
  { re: new RegExp(String.raw`\bprocess\.env\[\s*${Q}${NAME}\1\s*\]`, 'g'), required: (_m, rest) => !JS_DEFAULT.test(rest) },
];

/** What follows a JavaScript read that gives it a default, or only tests it. */
const JS_DEFAULT = /^\s*(?:\|\||\?\?|\?|===?|!==?|&&)/;
/** Subscripts and properties assigned to are writes, not reads. */
const ASSIGNED = /^\s*=(?!=)/;

/** Names read by one file's text (or by some of its lines). */
export function scanEnvReads(text: string): { name: string; required: boolean }[] {
  const found = new Map<string, boolean>();
  for (const line of text.split('\n')) {
    const code = line.replace(/^\s*(?:#|\/\/).*$/, '');
    for (const { re, required } of PATTERNS) {
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(code)) !== null) {
        const rest = code.slice(m.index + m[0].length);
        if (ASSIGNED.test(rest)) continue; // an assignment, not a read
        const name = m[2]!;
        found.set(name, (found.get(name) ?? false) || required(m, rest));
      }
    }
  }
  return [...found].map(([name, req]) => ({ name, required: req })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Merges per-file reads: `files` maps a path to its text (or just its matching lines). */
export function envReadsOf(files: ReadonlyMap<string, string>): EnvRead[] {
  const byName = new Map<string, EnvRead>();
  for (const [path, text] of files) {
    for (const read of scanEnvReads(text)) {
      const entry = byName.get(read.name) ?? { name: read.name, required: false, files: [] };
      entry.required ||= read.required;
      if (!entry.files.includes(path)) entry.files.push(path);
      byName.set(read.name, entry);
    }
  }
  for (const entry of byName.values()) entry.files.sort();
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
