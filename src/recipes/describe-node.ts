// What `slipway init` learns from a Node app (pure): the Node version it asks for, the lockfile, the start and
// build scripts, its database and migration tool, a health route, a worker.
import type { Finding } from './describe.js';
import { readPackageJson } from './node.js';
import type { Route } from './python-source.js';
import type { RepoFiles } from './types.js';

export interface NodeFindings {
  nodeVersion?: { version: string; from: string };
  postgres: boolean;
  migrate?: { command: string; from: string };
  health?: Route;
  found: string[];
  findings: Finding[];
}

/** The app's own JavaScript and TypeScript, shallowest first: not tests, builds or configuration. */
export function nodeSources(paths: readonly string[]): string[] {
  const ignored = /(^|\/)(tests?|__tests__|dist|build|coverage|public|\.next)\/|\.(test|spec)\.[cm]?[jt]s$|(^|\/)[^/]*\.config\.[cm]?[jt]s$/;
  const depth = (p: string) => p.split('/').length;
  return paths.filter((p) => /\.[cm]?[jt]s$/.test(p) && !p.endsWith('.d.ts') && !ignored.test(p)).sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
}

/** `20`, `v20.11.0`, `lts/iron`, `>=18`, `^20.1`, `20.x`: the major asked for, when one can be told. */
export function nodeMajor(text: string): string | undefined {
  const lts: Record<string, string> = { hydrogen: '18', iron: '20', jod: '22' };
  const named = /lts\/([a-z]+)/i.exec(text)?.[1]?.toLowerCase();
  if (named) return lts[named];
  return /(?:^|[\s^~=v]|>=?\s*)(\d{2})(?:\.|\s|$|x)/.exec(text.trim())?.[1];
}

function versionOf(files: RepoFiles): NodeFindings['nodeVersion'] {
  for (const path of ['.nvmrc', '.node-version']) {
    const major = nodeMajor(files.read(path) ?? '');
    if (major) return { version: major, from: path };
  }
  const tool = /^\s*(?:nodejs|node)\s+(\S+)/m.exec(files.read('.tool-versions') ?? '')?.[1];
  if (tool && nodeMajor(tool)) return { version: nodeMajor(tool)!, from: '.tool-versions' };
  try {
    const engines = (JSON.parse(files.read('package.json') ?? '{}') as { engines?: { node?: unknown } }).engines?.node;
    if (typeof engines === 'string' && nodeMajor(engines)) return { version: nodeMajor(engines)!, from: `engines.node "${engines}" in package.json` };
  } catch {
    // readPackageJson reports a broken package.json.
  }
  return undefined;
}

const PG_PACKAGES = ['pg', 'postgres', 'pg-promise', 'slonik', '@neondatabase/serverless'];

/** A route string such as '/health' in the app's sources (Express, Fastify, Koa, Nest all name it so). */
function healthRoute(files: RepoFiles, sources: readonly string[]): Route | undefined {
  for (const path of ['/health', '/healthz', '/api/health', '/status']) {
    const file = sources.find((f) => new RegExp(String.raw`['"\`]${path.replaceAll('/', '\\/')}['"\`]`).test(files.read(f) ?? ''));
    if (file) return { path, file };
  }
  return undefined;
}

export function describeNode(files: RepoFiles, sources: readonly string[]): NodeFindings {
  const pkg = readPackageJson(files);
  const found: string[] = [];
  const findings: Finding[] = [];
  const deps = pkg?.dependencies ?? {};
  const nodeVersion = versionOf(files);
  if (nodeVersion) found.push(`Node ${nodeVersion.version} (${nodeVersion.from})`);
  else findings.push({ key: 'project.node_version', message: 'no .nvmrc, .node-version or engines.node names one: the servers\' own Node runs the app (Debian 12 and Ubuntu 24.04: 18)' });
  if (pkg?.scripts.start) found.push(`start script: ${pkg.scripts.start}`);
  if (pkg?.scripts.build) found.push(`build script: ${pkg.scripts.build} (run on this machine at each deploy, build.on: deployer)`);

  const prisma = files.paths.find((p) => /(^|\/)schema\.prisma$/.test(p));
  const prismaPostgres = prisma !== undefined && /provider\s*=\s*"postgres(ql)?"/.test(files.read(prisma) ?? '');
  const knex = deps.knex !== undefined;
  const postgres = prismaPostgres || PG_PACKAGES.some((name) => deps[name] !== undefined);
  let migrate: NodeFindings['migrate'];
  if (prisma && (deps.prisma !== undefined || deps['@prisma/client'] !== undefined)) migrate = { command: 'npx prisma migrate deploy', from: prisma };
  else if (deps['node-pg-migrate'] !== undefined) migrate = { command: 'npx node-pg-migrate up', from: 'node-pg-migrate in package.json' };
  else if (knex) migrate = { command: 'npx knex migrate:latest', from: 'knex in package.json' };
  else if (pkg?.scripts.migrate) migrate = { command: pkg.scripts.migrate, from: 'the migrate script in package.json' };
  if (migrate) found.push(`migrations: ${migrate.command} (${migrate.from})`);
  else if (postgres) findings.push({ key: 'migrate.command', message: 'no migration tool found (Prisma, Knex, node-pg-migrate, a migrate script), so none runs before the switch: set migrate.command if the app has one' });
  if (migrate?.command.startsWith('npx ') && readDevOnly(files, migrate.command.split(' ')[1]!)) {
    findings.push({ key: 'node.production', message: `${migrate.command.split(' ')[1]} is a devDependency, which production installs leave out: move it to dependencies, or set node.production: false` });
  }
  const worker = files.paths.find((p) => /^(src\/)?workers?\.[cm]?[jt]s$/.test(p)) ?? (pkg?.scripts.worker ? 'the worker script in package.json' : undefined);
  if (worker) findings.push({ key: 'processes.worker', message: `a background worker (${worker}) is not run: add it under processes, with processes.web next to it (a processes section replaces the recipe's web process)` });
  const health = healthRoute(files, sources);
  return { ...(nodeVersion ? { nodeVersion } : {}), postgres, ...(migrate ? { migrate } : {}), ...(health ? { health } : {}), found, findings };
}

/** A package listed in devDependencies and not in dependencies. */
function readDevOnly(files: RepoFiles, name: string): boolean {
  try {
    const json = JSON.parse(files.read('package.json') ?? '{}') as { dependencies?: Record<string, unknown>; devDependencies?: Record<string, unknown> };
    return json.devDependencies?.[name] !== undefined && json.dependencies?.[name] === undefined;
  } catch {
    return false;
  }
}
