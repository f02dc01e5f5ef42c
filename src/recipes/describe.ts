// `slipway init`'s view of a repository (pure): the recipe deploy would pick, and what the config must add to
// or override in that recipe's defaults, with what slipway could not tell. The framework detection and the
// defaults are the recipes' own (chooseRecipe, Recipe.defaults), so init never disagrees with a deploy.
import { quote } from '../ops/shell.js';
import { envReadsOf, type EnvRead } from '../plan/env-reads.js';
import { PROJECT_NAME } from '../config/names.js';
import { SECRET_KEY } from '../config/secrets.js';
import { describeDjango } from './describe-django.js';
import { describeFastapi } from './describe-fastapi.js';
import { describeNode, nodeSources } from './describe-node.js';
import { UserError } from '../errors.js';
import { chooseRecipe } from './index.js';
import type { Route } from './python-source.js';
import { requirementsIn, type AppProfile, type RecipeContext, type RecipeName, type RepoFiles } from './types.js';

/** Something slipway could not tell, with the config key to set (or the file to change). */
export interface Finding {
  key: string;
  message: string;
}

export type EnvValue =
  /** `${placeholder}`, resolved from the secrets file; `generate`: a random value is safe (the app's own key). */
  | { kind: 'secret'; placeholder: string; generate: boolean }
  | { kind: 'value'; value: string }
  /** Django's ALLOWED_HOSTS: one list per environment, joined with the settings' separator. */
  | { kind: 'hosts'; separator: string }
  /** Read with a default: written commented out. */
  | { kind: 'optional'; sample: string };

export interface EnvSetting {
  name: string;
  value: EnvValue;
  /** The files that read it. */
  files: string[];
}

export interface AppDescription {
  project: string;
  /** The directory name the project name came from. */
  dirName: string;
  framework: RecipeName;
  detectedFrom: string;
  python: boolean;
  pythonVersion?: { version: string; from: string };
  /** Node apps: the major the repository asks for. */
  nodeVersion?: { version: string; from: string };
  /** A migration command the recipe has no default for (Node: Prisma, Knex...). */
  migrate?: { command: string; from: string };
  /** The branch checked out, when it is not the default `main`. */
  branch?: string;
  git: boolean;
  /** Overrides of the recipe's defaults, each with where it came from. */
  requirementsFiles?: { files: string[]; from: string };
  settingsModule?: { module: string; from: string };
  collectstatic?: false;
  staticDir?: { dir: string; from: string };
  web?: { command: string; port: number; from: string };
  /** With `web`: the recipe's smoke test imports the module it would have served, so the config names the app's. */
  smoke?: string;
  /** Undefined for an app without a web process. */
  health?: { path: string; from?: string };
  database?: { name: string; user: string; from: string };
  env: EnvSetting[];
  /** What was found, in words, for the summary (`settings shop.settings (manage.py)`). */
  found: string[];
  missing: Finding[];
}

export interface WorkingTree {
  /** The name of the directory holding the repository. */
  dirName: string;
  files: RepoFiles;
  git: boolean;
  branch?: string;
}

/** The files whose text init reads; the rest of the tree is only listed. */
export function wantsContent(path: string): boolean {
  return (
    path.endsWith('.py') ||
    /\.[cm]?[jt]s$|(^|\/)schema\.prisma$/.test(path) ||
    /^requirements[^/]*\.txt$|^requirements\/[^/]+\.txt$/.test(path) ||
    ['alembic.ini', '.python-version', 'runtime.txt', '.tool-versions', 'pyproject.toml', 'Dockerfile', 'package.json', 'package-lock.json', 'pnpm-lock.yaml', '.nvmrc', '.node-version'].includes(path)
  );
}

/** The app's own Python modules, shallowest first: not tests, migrations or tooling. */
export function pythonSources(paths: readonly string[]): string[] {
  const ignored = /(^|\/)(tests?|migrations|alembic|docs)\/|(^|\/)(test_[^/]*|[^/]*_test|conftest|setup|noxfile|fabfile)\.py$/;
  const depth = (p: string) => p.split('/').length;
  return paths.filter((p) => p.endsWith('.py') && !ignored.test(p)).sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}

/** `My_Shop.v2` → `my-shop-v2`: the directory name as a project name (PROJECT_NAME), else `app`. */
export function projectNameFrom(dirName: string): string {
  const name = dirName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^[^a-z]+/, '').slice(0, 40).replace(/-+$/, '');
  return PROJECT_NAME.test(name) ? name : 'app';
}

const VERSION_SOURCES: [string, RegExp][] = [
  ['.python-version', /^\s*(?:python-|cpython-)?(3\.\d{1,2})(?:\.\d+)?\s*$/m],
  ['runtime.txt', /^\s*python-(3\.\d{1,2})/m],
  ['.tool-versions', /^\s*python\s+(3\.\d{1,2})/m],
  ['Dockerfile', /^\s*FROM\s+(?:\S+\/)?python:(3\.\d{1,2})\b/im],
  ['pyproject.toml', /^\s*(?:requires-python|python)\s*=\s*["'](?:==|~)?(3\.\d{1,2})(?:\.\*)?["']/m],
];

export function pythonVersionOf(files: RepoFiles): AppDescription['pythonVersion'] {
  for (const [path, pattern] of VERSION_SOURCES) {
    const version = pattern.exec(files.read(path) ?? '')?.[1];
    if (version) return { version, from: path };
  }
  return undefined;
}

/** A config slice with every default, for the recipe's own defaults (RecipeContext). */
function recipeContext(files: RepoFiles, name: string): RecipeContext {
  return {
    files,
    cores: 1,
    config: {
      project: { name, branch: 'main', source: 'auto', framework: 'auto' },
      processes: {},
      health: { process: 'web', expected_status: 200, timeout: 5, retries: 10 },
      dependencies: { system: [], python: [] },
      django: { collectstatic: true, check_deploy: true, superuser: {} },
      migrate: { backup: true },
      database: { engine: 'none', host: 'localhost', port: 5432 },
      node: { package_manager: 'auto', production: true },
      build: { on: 'deployer' },
    },
  };
}

/**
 * The recipe's defaults for init; a Node app's package.json may lack what the recipe needs (a lockfile, a
 * start script): then that is a finding with its key, and init writes the rest.
 */
function recipeDefaults(recipe: ReturnType<typeof chooseRecipe>, files: RepoFiles, project: string, missing: Finding[]): Omit<AppProfile, 'recipe'> {
  try {
    return recipe.defaults(recipeContext(files, project));
  } catch (error) {
    if (!(error instanceof UserError) || recipe.name !== 'node') throw error;
    const key = /lockfile/.test(error.message) ? 'package-lock.json' : /start/.test(error.message) ? 'processes.web.command' : 'package.json';
    missing.push({ key, message: `${error.message}${error.hint ? `: ${error.hint}` : ''}` });
    return { python: false, requirementsFiles: [], processes: {}, healthPath: '/health', systemPackages: [] };
  }
}

function detectedFrom(framework: RecipeName, files: RepoFiles): string {
  if (framework === 'django') return files.paths.includes('manage.py') ? 'manage.py' : 'Django in the requirements';
  if (framework === 'fastapi') return `${requirementsIn(files).includes('fastapi') ? 'fastapi' : 'uvicorn'} in the requirements`;
  if (framework === 'python') return 'Python requirements, no Django or FastAPI';
  if (framework === 'node') return 'package.json';
  return 'no manage.py and no Python requirements';
}

export function describeApp(tree: WorkingTree): AppDescription {
  const { files } = tree;
  const project = projectNameFrom(tree.dirName);
  const recipe = chooseRecipe('auto', files);
  const missing: Finding[] = [];
  const profile = recipeDefaults(recipe, files, project, missing);
  const sources = recipe.name === 'node' ? nodeSources(files.paths) : pythonSources(files.paths);
  const reads = envReadsOf(new Map(sources.map((p) => [p, files.read(p) ?? ''])));
  const found: string[] = [];
  const description: AppDescription = { project, dirName: tree.dirName, framework: recipe.name, detectedFrom: detectedFrom(recipe.name, files), python: profile.python, git: tree.git, env: [], found, missing };
  if (tree.branch && tree.branch !== 'main') description.branch = tree.branch;

  if (profile.python) {
    const version = pythonVersionOf(files);
    if (version) {
      description.pythonVersion = version;
      found.push(`Python ${version.version} (${version.from})`);
    }
    else missing.push({ key: 'project.python_version', message: "no .python-version, runtime.txt, .tool-versions or Dockerfile names one: the servers' python3 runs the app (Debian 12: 3.11)" });
    requirements(files, profile, description);
  }

  let health: Route | undefined;
  let postgres = false;
  let databaseFrom = 'a PostgreSQL driver in the requirements';
  let hostsEnv: { name: string; separator: string } | undefined;
  let generated: string[] = [];
  if (recipe.name === 'django') {
    const django = describeDjango(files);
    if (!files.paths.includes('manage.py')) missing.push({ key: 'manage.py', message: 'no manage.py at the top of the repository, where the recipe runs python manage.py (collectstatic, check, migrate): move it there, or set migrate.command and django.collectstatic: false' });
    missing.push(...django.findings);
    if (django.settings) found.push(`settings ${django.settings.module} (${django.settings.from})`);
    if (django.wsgi) found.push(`WSGI ${django.wsgi.module}`);
    if (django.staticRoot) found.push(`STATIC_ROOT ${django.staticRoot.dir}`);
    if (django.settings && !django.settings.fromManage) description.settingsModule = { module: django.settings.module, from: django.settings.from };
    if (django.settingsFiles.length > 0 && !django.staticRootSet) description.collectstatic = false;
    if (django.staticRoot && django.staticRoot.dir !== profile.staticDir) description.staticDir = { dir: django.staticRoot.dir, from: `STATIC_ROOT in ${django.staticRoot.file}` };
    const recipeModule = /gunicorn (\S+)/.exec(profile.processes.web?.command ?? '')?.[1];
    if (django.wsgi && django.wsgi.module !== recipeModule) {
      description.web = { command: `python -m gunicorn ${django.wsgi.module}:${django.wsgi.callable} --bind 127.0.0.1:$PORT --bind unix:$SLIPWAY_SOCKET --workers 3 --preload`, port: 8000, from: 'WSGI_APPLICATION' };
      description.smoke = `python -c ${quote(`import ${django.wsgi.module}`)}`;
    } else if (!django.wsgi && recipeModule && !files.paths.includes(`${recipeModule.replaceAll('.', '/')}.py`)) {
      missing.push({ key: 'processes.web.command', message: `no ${recipeModule.replaceAll('.', '/')}.py, which the recipe serves with gunicorn: set processes.web.command to your WSGI module` });
    }
    health = django.health;
    postgres = django.database === 'postgresql';
    databaseFrom = django.databaseFrom ?? databaseFrom;
    hostsEnv = django.allowedHostsEnv;
    generated = django.secretKeyEnv;
  } else if (recipe.name === 'fastapi') {
    const fastapi = describeFastapi(files, sources);
    missing.push(...fastapi.findings);
    if (fastapi.app) found.push(`ASGI app ${fastapi.app}`);
    found.push(fastapi.alembic ? 'alembic.ini (migrations: alembic upgrade head)' : 'no alembic.ini');
    const recipeApp = /uvicorn (\S+)/.exec(profile.processes.web?.command ?? '')?.[1];
    if (fastapi.app && fastapi.app !== recipeApp) {
      const [module, variable] = fastapi.app.split(':') as [string, string];
      description.web = { command: `python -m uvicorn ${fastapi.app} --host 127.0.0.1 --port $PORT`, port: 8000, from: `\`${variable} = FastAPI(\` in ${module.replaceAll('.', '/')}.py` };
      description.smoke = `python -c ${quote(`import ${module}; ${module}.${variable}`)}`;
    }
    health = fastapi.health;
    postgres = fastapi.postgres;
  } else if (recipe.name === 'node') {
    const node = describeNode(files, sources);
    found.push(...node.found);
    missing.push(...node.findings);
    if (node.nodeVersion) description.nodeVersion = node.nodeVersion;
    if (node.migrate) description.migrate = node.migrate;
    health = node.health;
    postgres = node.postgres;
    databaseFrom = 'a PostgreSQL client in package.json';
  } else {
    missing.push({
      key: 'processes.web',
      message: `${recipe.name === 'python' ? 'no Django or FastAPI found' : 'no Python app found'}, so no web process runs: set processes.web.command (what serves HTTP on 127.0.0.1:$PORT${profile.python ? ', e.g. python -m gunicorn app:app --bind 127.0.0.1:$PORT' : ''}), its port, and health.path`,
    });
  }

  if (profile.processes.web || description.web) {
    description.health = { path: health?.path ?? profile.healthPath, ...(health ? { from: health.file } : {}) };
    if (health) found.push(`health route ${health.path} (${health.file})`);
    else missing.push({ key: 'health.path', message: `no health route found, and the deploy switches back unless ${profile.healthPath} answers 200: add a view there (checking the database), or set health.path to a page that answers 200` });
  }
  const db = project.replaceAll('-', '_');
  if (postgres) {
    description.database = { name: db, user: db, from: databaseFrom };
    found.push(`PostgreSQL (${databaseFrom})`);
  }
  if (files.paths.includes('worker.py') || requirementsIn(files).includes('celery')) {
    missing.push({ key: 'processes.worker', message: 'a background worker (worker.py or celery) is not run: add it under processes, with processes.web next to it (a processes section replaces the recipe\'s web process)' });
  }
  description.env = envSettings(reads, { project, postgres, db, hostsEnv, generated });
  return description;
}

function requirements(files: RepoFiles, profile: Omit<AppProfile, 'recipe'>, description: AppDescription): void {
  if (profile.requirementsFiles.length > 0) return;
  const candidates = files.paths.filter((p) => /^requirements[^/]*\.txt$|^requirements\/[^/]+\.txt$/.test(p)).sort();
  const chosen = candidates.find((p) => /prod/.test(p)) ?? candidates.find((p) => /base|common/.test(p)) ?? candidates[0];
  if (chosen) {
    description.requirementsFiles = { files: [chosen], from: candidates.length === 1 ? 'the only requirements file' : `chosen among ${candidates.join(', ')}` };
    if (candidates.length > 1) description.missing.push({ key: 'dependencies.requirements_files', message: `chose ${chosen} among ${candidates.join(', ')}: check it lists what production needs` });
  } else {
    description.missing.push({ key: 'dependencies.requirements_files', message: `no requirements file${files.paths.includes('pyproject.toml') ? ' (pyproject.toml only)' : ''}: slipway installs requirements files into the venv; write one (pip freeze, poetry export) and list it` });
  }
}

/** Provided by slipway or the system, never the config's business. */
const PROVIDED = new Set(['PORT', 'SLIPWAY_SOCKET', 'HOME', 'PATH', 'USER', 'LOGNAME', 'SHELL', 'PWD', 'LANG', 'LC_ALL', 'TERM', 'TZ', 'TMPDIR', 'HOSTNAME', 'PYTHONPATH', 'PYTHONUNBUFFERED', 'VIRTUAL_ENV', 'PROJECT_PYTHON_PATH', 'DJANGO_SETTINGS_MODULE', 'NODE_ENV', 'SLIPWAY_RELEASE', 'SLIPWAY_SHA', 'SLIPWAY_REF', 'INVOCATION_ID', 'JOURNAL_STREAM', 'NOTIFY_SOCKET', 'CI']);
const DB_VAR = /^(?:DB|DATABASE|POSTGRES(?:QL)?|PG)_?(NAME|DB|DATABASE|USER|USERNAME|PASS|PASSWORD|HOST|PORT)$/;
/** Keys an app signs with itself: a random value is exactly what they need. */
const OWN_KEYS = /^(?:(?:DJANGO|APP|FLASK|SESSION|JWT)_)?SECRET(?:_KEY)?$|^JWT_SECRET_KEY$/;

interface EnvContext {
  project: string;
  postgres: boolean;
  db: string;
  hostsEnv: { name: string; separator: string } | undefined;
  generated: string[];
}

function envSettings(reads: readonly EnvRead[], ctx: EnvContext): EnvSetting[] {
  const own = new RegExp(`^${ctx.project.toUpperCase().replaceAll('-', '_')}_SECRET_KEY$`);
  const settings: EnvSetting[] = [];
  for (const read of reads) {
    if (PROVIDED.has(read.name) || (read.name === 'DATABASE_URL' && ctx.postgres)) continue;
    const db = ctx.postgres ? DB_VAR.exec(read.name)?.[1] : undefined;
    let value: EnvValue;
    if (db) value = dbValue(db, ctx.db);
    else if (ctx.generated.includes(read.name) || OWN_KEYS.test(read.name) || own.test(read.name)) value = { kind: 'secret', placeholder: read.name, generate: true };
    else if (ctx.hostsEnv?.name === read.name) value = { kind: 'hosts', separator: ctx.hostsEnv.separator };
    else if (read.required) value = { kind: 'secret', placeholder: read.name, generate: false };
    else value = { kind: 'optional', sample: SECRET_KEY.test(read.name) ? `\${${read.name}}` : /^(REDIS|CELERY_BROKER|CACHE)_URL$/.test(read.name) ? 'redis://127.0.0.1:6379/0' : '' };
    settings.push({ name: read.name, value, files: read.files });
  }
  return settings;
}

function dbValue(part: string, db: string): EnvValue {
  if (part === 'PASS' || part === 'PASSWORD') return { kind: 'secret', placeholder: 'DB_PASSWORD', generate: true };
  if (part === 'HOST') return { kind: 'value', value: 'localhost' };
  if (part === 'PORT') return { kind: 'value', value: '5432' };
  return { kind: 'value', value: db };
}
