// Recipes are typed data: what a kind of app needs by default (processes, health path, build, migrate,
// smoke test), each overridable in the config.
import type { Config, ProcessConfig } from '../config/types.js';

/** The repository at the commit being deployed: its file list and the text of the files recipes read. */
export interface RepoFiles {
  paths: readonly string[];
  read(path: string): string | undefined;
  /** Git object id of each path (`git ls-tree -r`), when known: what release step inputs are hashed from. */
  blobs?: ReadonlyMap<string, string>;
}

/** Release checks that are not repeated when their inputs did not change (src/plan/incremental.ts). */
export type IncrementalStep = 'collectstatic' | 'check-deploy' | 'migrate';

export type PackageManager = 'npm' | 'pnpm' | 'yarn';

/** A Node app's dependencies and build, as the recipe reads them from package.json and the lockfile. */
export interface NodeProfile {
  packageManager: PackageManager;
  /** The lockfile the install follows (package-lock.json...); its git object id keys node_modules. */
  lockfile: string;
  /** yarn 2+ (a .yarnrc.yml): its own flags. */
  yarnBerry: boolean;
  /** The files an install reads, besides the lockfile: package.json, and .npmrc when the repo has one. */
  installFiles: string[];
  /** The build command (package.json's `build` script, or build.command), when the app has one. */
  build?: string;
  /** package.json lists devDependencies: without any, a production install and a full one are the same. */
  devDependencies: boolean;
  /** The lockfile marks a package that builds at install (a native addon, bound to one Node major). */
  nativeAddons: boolean;
}

/** What runs an app's commands: its venv, its Node and node_modules, or nothing but the system's PATH. */
export type Runtime = 'python' | 'node' | undefined;

/** What the deploy does for this app, after the recipe's defaults and the config's overrides are merged. */
export interface AppProfile {
  recipe: RecipeName;
  python: boolean;
  /** Node apps: how node_modules is installed and the app built. */
  node?: NodeProfile;
  requirementsFiles: string[];
  processes: Record<string, ProcessConfig>;
  healthPath: string;
  migrate?: { command: string; check?: string };
  collectstatic?: string;
  checkDeploy?: string;
  /** Prints nothing and exits 0 when the superuser exists. */
  superuserExists?: string;
  createSuperuser?: string;
  smoke?: string;
  /** Directory in the release that nginx serves at /static/ (Django: staticfiles). */
  staticDir?: string;
  /** The repository paths each incremental check reads, besides the venv and the app's environment. */
  stepInputs?: Partial<Record<IncrementalStep, string[]>>;
  /** Packages the recipe itself needs on the server. */
  systemPackages: string[];
}

export type RecipeName = 'django' | 'fastapi' | 'node' | 'python' | 'generic';

export interface RecipeContext {
  config: Pick<Config, 'project' | 'processes' | 'health' | 'dependencies' | 'django' | 'migrate' | 'smoke' | 'database' | 'node' | 'build'>;
  files: RepoFiles;
  /** CPU cores of the smallest web host, for worker counts. */
  cores: number;
}

export interface Recipe {
  name: RecipeName;
  detect(files: RepoFiles): boolean;
  /** The recipe's defaults; the config's own values are applied on top by `resolveProfile`. */
  defaults(ctx: RecipeContext): Omit<AppProfile, 'recipe'>;
}

/** Requirement names in a requirements file, lowercased, without versions, extras or markers. */
export function requirementNames(text: string | undefined): string[] {
  if (!text) return [];
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line && !line.startsWith('-'))
    .map((line) => line.split(/[\s<>=!~;[@]/)[0]!.toLowerCase().replaceAll('_', '-'));
}

export function requirementsIn(files: RepoFiles): string[] {
  return files.paths.filter((p) => /^requirements[^/]*\.txt$/.test(p)).flatMap((p) => requirementNames(files.read(p)));
}

/** The runtime of an app by its profile. */
export const runtimeOf = (profile: Pick<AppProfile, 'python' | 'node'>): Runtime => (profile.python ? 'python' : profile.node ? 'node' : undefined);

/** Files the recipes read besides requirements files (the rest of the repo is only listed). */
export const RECIPE_FILES = ['manage.py', 'main.py', 'app.py', 'app/main.py', 'src/main.py', 'api/main.py', 'package.json', 'package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml'] as const;

/** Files the recipes read: requirements, manage.py, ASGI candidates, package.json. */
export function isRecipeFile(path: string, requirementsFiles: readonly string[] = []): boolean {
  return /^requirements[^/]*\.txt$/.test(path) || requirementsFiles.includes(path) || (RECIPE_FILES as readonly string[]).includes(path);
}
