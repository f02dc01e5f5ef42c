// Node apps: the keys node_modules and builds are kept under, and which Node a host runs the release with.
// Same key, same node_modules: a code-only deploy links the installed one at once, and a rollback finds its
// release's exact dependencies still in place.
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import type { NodeProfile, RepoFiles } from '../recipes/types.js';
import type { InstallSettings } from '../ops/node.js';

const hash = (material: unknown) => createHash('sha256').update(JSON.stringify(material)).digest('hex').slice(0, 12);

/** The parts of package.json an install reads (not its scripts or version: a change there installs nothing new). */
function installFields(text: string | undefined): unknown {
  try {
    const json = JSON.parse(text ?? '{}') as Record<string, unknown>;
    const fields = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'overrides', 'resolutions', 'pnpm', 'workspaces', 'packageManager'];
    return Object.fromEntries(fields.filter((f) => json[f] !== undefined).map((f) => [f, json[f]]));
  } catch {
    return text ?? null;
  }
}

export interface DepsKeyInput {
  node: NodeProfile;
  files: RepoFiles;
  settings: InstallSettings;
  /** The Node major the modules are installed for (native addons are built for one). */
  major: string;
}

/** Keyed by the lockfile's git object id, the install-relevant package.json fields, .npmrc, the settings and Node's major. */
export function nodeDepsKey({ node, files, settings, major }: DepsKeyInput): string {
  const blob = (path: string) => files.blobs?.get(path) ?? files.read(path) ?? null;
  return hash({ lock: blob(node.lockfile), lockfile: node.lockfile, npmrc: files.paths.includes('.npmrc') ? blob('.npmrc') : null, pkg: installFields(files.read('package.json')), settings, major });
}

/** A build: the commit's tree (not the commit: the same tree builds the same) with the dependencies it ran with. */
export function nodeBuildKey(tree: string, depsKey: string, command: string): string {
  return hash({ tree, deps: depsKey, command });
}

export const majorOf = (version: string | undefined) => version?.replace(/^v/, '').split('.')[0];

/** The deployer's own Node, when it can serve a server that lacks the wanted major. */
export interface DeployerNode {
  /** `20.20.2` */
  version: string;
  binary: string;
  /** uname -m of the machine it runs on. */
  machine: string;
  /** A build linked against a shared libnode (Debian's) is not a binary that can be copied alone. */
  standalone: boolean;
}

export type NodeRuntime =
  /** The server's own node on PATH. */
  | { kind: 'system'; version: string }
  /** One slipway put under the app's node/ before. */
  | { kind: 'installed'; version: string }
  /** The deployer's, copied now. */
  | { kind: 'upload'; version: string; binary: string };

export interface RuntimeFacts {
  nodeSystem?: string;
  nodeRuntimes: readonly string[];
  machine?: string;
}

/**
 * The Node a host runs the release with: the wanted major from the server's own Node, one installed for the app
 * before, or the deployer's copied to the app; else a one-line error saying what is missing, before anything runs.
 * `label`: the server the error names (doctor's report is per server already: none).
 */
export function chooseNodeRuntime(label: string | undefined, wanted: string | undefined, facts: RuntimeFacts, deployer: DeployerNode): NodeRuntime {
  const system = facts.nodeSystem;
  if (system && (!wanted || majorOf(system) === wanted)) return { kind: 'system', version: system };
  const installed = facts.nodeRuntimes.filter((v) => !wanted || majorOf(v) === wanted).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (installed.length > 0) return { kind: 'installed', version: installed[installed.length - 1]! };
  const major = wanted ?? majorOf(deployer.version);
  const why: string[] = [];
  if (majorOf(deployer.version) !== major) why.push(`this machine runs Node ${deployer.version}`);
  else if (!deployer.standalone) why.push(`this machine's Node ${deployer.version} is built on a shared libnode and cannot be copied`);
  else if (facts.machine && facts.machine !== deployer.machine) why.push(`this machine's Node ${deployer.version} is for ${deployer.machine}, the server is ${facts.machine}`);
  if (why.length === 0) return { kind: 'upload', version: deployer.version, binary: deployer.binary };
  const has = system ? `the server has Node ${system}` : 'the server has no Node';
  throw new UserError(
    `${label ? `${label}: ` : ''}project.node_version ${major}: ${has} and ${why[0]}`,
    `install Node ${major} on the server (e.g. apt-get install nodejs where its major is ${major}), or run slipway with a Node ${major} for it to copy, or change project.node_version`,
  );
}
