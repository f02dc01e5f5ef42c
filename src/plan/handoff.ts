// What deploying a commit requires beyond `git pull`, from the diff between two commits and the deploy plan
// (pure): the facts the handoff note (render/handoff.ts) is written from.
import type { Step } from '../ops/command.js';
import type { Plan } from './types.js';
import type { EnvRead } from './env-reads.js';
import { diffPackageJson, diffRequirements, isEmptyChange, type RequirementsChange } from './requirements-diff.js';

/** One line of `git diff --name-status`: A(dded), M(odified), D(eleted), R(enamed, `from` is the old path)... */
export interface FileChange {
  status: string;
  path: string;
  from?: string;
}

export interface HandoffInput {
  env: string;
  /** The commit the servers run (null: nothing deployed yet, everything is new), and where it was read. */
  from: { sha: string | null; source: string };
  to: { sha: string; ref: string };
  commits: string[];
  changes: FileChange[];
  /** Text of each changed dependency file (requirements*.txt, configured requirements files, package.json) on both sides. */
  files: { path: string; before?: string; after?: string }[];
  /** Variables the code at `to` reads, and the names the code at `from` read. */
  envReads: EnvRead[];
  envReadsBefore: string[];
  /** Keys the deploy writes to .env (the config), and each host's current .env keys. */
  configKeys: string[];
  serverKeys: { host: string; keys: string[] | undefined }[];
  /** Set for the processes by slipway itself (PORT, PATH...) or systemd: never needed in .env. */
  provided: string[];
  systemPackages: string[];
  plan: Plan;
}

export interface EnvNeed extends EnvRead {
  /** Read at `to` but not at `from`. */
  new: boolean;
  /** Hosts whose .env has it now (the deploy's .env rewrite drops it when the config writes .env). */
  onHosts: string[];
}

export interface PlanNote {
  host: string;
  /** 1-based, as in the runbook. */
  number: number;
  step: Step;
}

export interface Handoff {
  python: { path: string; change: RequirementsChange }[];
  node: RequirementsChange | undefined;
  /** Dependency files changed whose contents are not diffed package by package (lockfiles, pyproject.toml). */
  otherDependencyFiles: string[];
  migrations: { added: string[]; changed: string[] };
  staticFiles: FileChange[];
  /** Read by the new code, not in the config: the deploy's .env will not have them. */
  envMissing: EnvNeed[];
  systemPackages: string[];
  /** Steps of the plan that do what `git pull` does not (packages, venv, database, static, migrations, units, nginx). */
  planNotes: Record<'packages' | 'python' | 'database' | 'static' | 'migrations' | 'units' | 'web', PlanNote[]>;
  /** Unit files the plan writes, by host. */
  changedUnits: { host: string; units: string[] }[];
}

export const isRequirementsFile = (path: string, configured: readonly string[]) => configured.includes(path) || /(^|\/)requirements[^/]*\.txt$/.test(path);
export const isMigration = (path: string) => /(^|\/)(migrations|alembic\/versions)\/[^/]+\.py$/.test(path) && !path.endsWith('/__init__.py');
export const isStaticFile = (path: string) => /(^|\/)static\//.test(path);
const OTHER_DEPENDENCY_FILES = /(^|\/)(pyproject\.toml|poetry\.lock|Pipfile|Pipfile\.lock|uv\.lock|setup\.py|setup\.cfg|package-lock\.json|yarn\.lock|pnpm-lock\.yaml|\.python-version|\.nvmrc)$/;

const NOTE_STEPS: Record<keyof Handoff['planNotes'], (step: Step) => boolean> = {
  packages: (s) => s.id === 'system-packages',
  python: (s) => s.id === 'venv' && !s.title.startsWith('Reuse'),
  database: (s) => s.id === 'database',
  static: (s) => s.id === 'collectstatic',
  migrations: (s) => s.id === 'migrate',
  units: (s) => s.id === 'units',
  web: (s) => ['site', 'site-http', 'certificate'].includes(s.id),
};

/** Where the process managers' files go: what a `units` step renames into place there is a changed unit or program. */
const PROCESS_FILE_DIRS = ['/etc/systemd/system/', '/etc/supervisor/conf.d/'];

/** Unit (or supervisor program) files a `units` step installs: the targets of its renames into their directory. */
export function unitsWrittenBy(step: Step): string[] {
  const names: string[] = [];
  for (const c of step.commands) {
    if (!('argv' in c) || c.argv[0] !== 'mv') continue;
    const target = c.argv[c.argv.length - 1]!;
    const dir = PROCESS_FILE_DIRS.find((d) => target.startsWith(d));
    if (dir) names.push(target.slice(dir.length));
  }
  return names;
}

export function buildHandoff(input: HandoffInput, requirementsFiles: readonly string[]): Handoff {
  const text = (path: string) => input.files.find((f) => f.path === path);
  const touched = (p: string) => input.changes.some((c) => c.path === p || c.from === p);
  const python = input.files
    .filter((f) => isRequirementsFile(f.path, requirementsFiles) && touched(f.path))
    .map((f) => ({ path: f.path, change: diffRequirements(f.before, f.after) }))
    .filter((p) => !isEmptyChange(p.change));
  const pkg = text('package.json');
  const node = pkg && touched('package.json') ? diffPackageJson(pkg.before, pkg.after) : undefined;
  const planNotes = Object.fromEntries(Object.keys(NOTE_STEPS).map((k) => [k, [] as PlanNote[]])) as Handoff['planNotes'];
  for (const host of input.plan.hosts) {
    host.steps.forEach((step, i) => {
      for (const [key, matches] of Object.entries(NOTE_STEPS)) if (matches(step)) planNotes[key as keyof Handoff['planNotes']].push({ host: host.target.label, number: i + 1, step });
    });
  }
  const before = new Set(input.envReadsBefore);
  const provided = new Set(input.provided);
  // A deploy rewrites .env from the config when the config has variables; otherwise it leaves the file alone.
  const rewrites = input.configKeys.length > 0;
  const envMissing = input.envReads
    .filter((r) => !provided.has(r.name) && !input.configKeys.includes(r.name))
    .map((r) => ({ ...r, new: !before.has(r.name), onHosts: input.serverKeys.filter((h) => h.keys?.includes(r.name)).map((h) => h.host) }))
    .filter((r) => rewrites || r.onHosts.length < input.serverKeys.length);
  return {
    python,
    node: node && !isEmptyChange(node) ? node : undefined,
    otherDependencyFiles: input.changes.filter((c) => OTHER_DEPENDENCY_FILES.test(c.path)).map((c) => c.path),
    migrations: {
      added: input.changes.filter((c) => (c.status === 'A' || c.status.startsWith('R') || c.status.startsWith('C')) && isMigration(c.path)).map((c) => c.path),
      changed: input.changes.filter((c) => (c.status === 'M' || c.status === 'D') && isMigration(c.path)).map((c) => `${c.path}${c.status === 'D' ? ' (deleted)' : ''}`),
    },
    staticFiles: input.changes.filter((c) => isStaticFile(c.path)),
    envMissing,
    systemPackages: input.systemPackages,
    planNotes,
    changedUnits: planNotes.units.map((n) => ({ host: n.host, units: unitsWrittenBy(n.step) })),
  };
}
