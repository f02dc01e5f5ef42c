// Node.js: the web process from package.json's start script (or `main`), node_modules installed per lockfile
// by the package manager that lockfile belongs to, the build script run before the switch.
import { UserError } from '../errors.js';
import { quote } from '../ops/shell.js';
import type { ProcessConfig } from '../config/types.js';
import type { NodeProfile, PackageManager, Recipe, RecipeContext, RepoFiles } from './types.js';

export interface PackageJson {
  main?: string;
  scripts: Record<string, string>;
  /** dependencies and devDependencies together (for telling frameworks apart). */
  dependencies: Record<string, string>;
  devDependencies: boolean;
}

/** package.json as far as the recipe reads it; undefined when missing, an error when it does not parse. */
export function readPackageJson(files: RepoFiles): PackageJson | undefined {
  const text = files.read('package.json');
  if (text === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(`package.json: not valid JSON (${(error as Error).message})`, 'fix package.json in the repository');
  }
  const record = (value: unknown): Record<string, string> =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  const json = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  return {
    ...(typeof json.main === 'string' ? { main: json.main } : {}),
    scripts: record(json.scripts),
    dependencies: { ...record(json.devDependencies), ...record(json.dependencies) },
    devDependencies: Object.keys(record(json.devDependencies)).length > 0,
  };
}

/** Lockfiles in the order their package manager is preferred when a repo has several. */
const LOCKFILES: readonly [string, PackageManager][] = [
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
  ['pnpm-lock.yaml', 'pnpm'],
  ['yarn.lock', 'yarn'],
];

function nodePackaging(ctx: RecipeContext): NodeProfile {
  const { files, config } = ctx;
  const wanted = config.node.package_manager;
  const found = LOCKFILES.filter(([path, pm]) => files.paths.includes(path) && (wanted === 'auto' || wanted === pm));
  const lock = found[0];
  if (!lock) {
    const which = wanted === 'auto' ? 'package-lock.json, pnpm-lock.yaml or yarn.lock' : LOCKFILES.filter(([, pm]) => pm === wanted).map(([p]) => p).join(' or ');
    throw new UserError(`package.json: no lockfile in the repository (${which})`, 'commit the lockfile (npm install writes package-lock.json): node_modules is installed exactly as it says, once per lockfile');
  }
  const [lockfile, packageManager] = lock;
  const pkg = readPackageJson(files);
  const scripts = pkg?.scripts ?? {};
  const build = config.build.command ?? buildScript(scripts);
  // npm's lockfile marks a package with install scripts, pnpm's one that must be built; yarn's says neither.
  const lockText = files.read(lockfile) ?? '';
  return {
    devDependencies: pkg?.devDependencies ?? false,
    nativeAddons: /"hasInstallScript":\s*true|requiresBuild:\s*true/.test(lockText),
    packageManager,
    lockfile,
    yarnBerry: files.paths.includes('.yarnrc.yml'),
    installFiles: ['package.json', ...(files.paths.includes('.npmrc') ? ['.npmrc'] : [])],
    ...(build ? { build } : {}),
  };
}

/**
 * package.json's build script (with its prebuild and postbuild) as the package manager would run it: in the
 * tree, node_modules/.bin first on PATH. Run as written, without the package manager's own start-up (0.3 s
 * for npm) and whichever manager the lockfile names.
 */
function buildScript(scripts: Record<string, string>): string | undefined {
  if (scripts.build === undefined) return undefined;
  return [scripts.prebuild, scripts.build, scripts.postbuild].filter((s): s is string => s !== undefined && s.trim() !== '').map((s) => s.trim()).join(' && ');
}

/**
 * The web command. A start script runs as written, in the release, with node_modules/.bin on PATH (as the
 * package manager would run it, without it: servers need no npm, and systemd's SIGTERM reaches node itself).
 * NestJS's `start` is its dev server: `start:prod` is what production runs.
 */
function webCommand(pkg: PackageJson): string | undefined {
  const nest = pkg.dependencies['@nestjs/core'] !== undefined;
  const start = (nest ? pkg.scripts['start:prod'] : undefined) ?? pkg.scripts.start;
  if (start !== undefined) {
    // `next start` reads PORT; so do most frameworks. Next.js binds every address unless told.
    if (/^\s*next\s+start\b/.test(start) && !/\s(-H|--hostname)\b/.test(start)) return `${start.trim()} -H 127.0.0.1`;
    return start.trim();
  }
  return pkg.main ? `node ${quote(pkg.main)}` : undefined;
}

/** The file the start command runs, for the smoke test's syntax check. */
function entryFile(command: string, pkg: PackageJson): string | undefined {
  const named = command.match(/^\s*node\s+(?:--?[a-z-]+(?:=\S+)?\s+)*([^\s-][^\s]*\.[cm]?js)\b/)?.[1];
  return named ?? pkg.main;
}

export const nodeRecipe: Recipe = {
  name: 'node',
  detect: (files) => files.paths.includes('package.json'),
  defaults(ctx) {
    const pkg = readPackageJson(ctx.files);
    if (!pkg) throw new UserError('project.framework: node, but the repository has no package.json', 'commit package.json, or set project.framework to the app\'s recipe');
    const node = nodePackaging(ctx);
    const command = webCommand(pkg);
    const configured = Object.keys(ctx.config.processes).length > 0;
    if (!command && !configured) {
      throw new UserError('package.json: no `start` script and no `main`, and the config has no `processes`', 'add "start": "node server.js" to package.json\'s scripts, or set processes.web.command in deploy.yml');
    }
    const entry = command ? entryFile(command, pkg) : undefined;
    const processes: Record<string, ProcessConfig> = command ? { web: { command, port: 3000, roles: ['web'] } } : {};
    return {
      python: false,
      node,
      requirementsFiles: [],
      processes,
      healthPath: '/health',
      // Loading the entry would start the server (and listen); a syntax check of it is what can run anywhere.
      ...(entry ? { smoke: `node --check ${quote(entry)}` } : {}),
      systemPackages: [],
    };
  },
};
