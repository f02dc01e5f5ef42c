// `slipway handoff`: reads the two commits in the local repository (git on this machine), the servers' current
// release and .env keys, and the deploy plan; the note itself is composed by plan/handoff and render/handoff.
import { isAbsolute, resolve } from 'node:path';
import { GIT_REF } from '../config/names.js';
import type { LoadedConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { envKeysProbe } from '../ops/env.js';
import { venvEnvironment } from '../ops/python.js';
import { currentManifest } from '../plan/app-units.js';
import { configKeys } from '../plan/env-change.js';
import { envReadsOf } from '../plan/env-reads.js';
import { buildHandoff, isRequirementsFile, type FileChange, type Handoff, type HandoffInput } from '../plan/handoff.js';
import { preview } from './deploy.js';
import { runLocal, runLocalChecked } from './deployer.js';
import { looksLikeUrl } from './source.js';
import { envKeysFrom, probeHost } from './host-probe.js';
import { layoutForRef, withHosts, type OperationContext } from './operation.js';

/** git's empty tree: the "from" side when nothing is deployed yet, so every file counts as new. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
/** Set for the app's processes by systemd (User=) and slipway's units: never needed in .env. */
const PROVIDED = ['PORT', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'PWD', 'LANG', 'INVOCATION_ID', 'JOURNAL_STREAM', 'SYSTEMD_EXEC_PID', ...Object.keys(venvEnvironment('/'))];

/** The repository to read commits from: project.repo when it is a path, else the config directory (a clone). */
async function localGitDir(loaded: LoadedConfig): Promise<string> {
  const repo = loaded.config.project.repo;
  const path = repo && !looksLikeUrl(repo) ? (isAbsolute(repo) ? repo : resolve(loaded.dir, repo)) : loaded.dir;
  const result = await runLocal({ argv: ['git', '-C', path, 'rev-parse', '--absolute-git-dir'] });
  if (result.code !== 0) throw new UserError(`handoff reads the commits from a local clone, and ${path} is not one`, repo ? `run it with -c pointing into a clone of ${repo}` : 'keep the config in the app repository');
  return result.stdout.trim();
}

export async function gatherHandoff(ctx: OperationContext, request: { from?: string; to?: string }): Promise<{ input: HandoffInput; handoff: Handoff }> {
  const { loaded } = ctx;
  const { config } = loaded;
  const gitDir = await localGitDir(loaded);
  const git = (...args: string[]) => runLocalChecked({ argv: ['git', `--git-dir=${gitDir}`, ...args] }, 'Read the repository');
  const commit = async (ref: string, where: string) => {
    if (!GIT_REF.test(ref)) throw new UserError(`${where} ${JSON.stringify(ref)} is not a valid branch, tag or SHA`);
    const result = await runLocal({ argv: ['git', `--git-dir=${gitDir}`, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`] });
    if (result.code !== 0) throw new UserError(`${where} ${ref} is not a commit in ${gitDir}`, 'fetch it first (git fetch), or give another --from/--to');
    return result.stdout.trim();
  };

  const toRef = request.to ?? config.project.branch;
  const toSha = await commit(toRef, '--to');
  const layout = layoutForRef(loaded, toRef);
  const hosts = await withHosts(ctx, undefined, (connections) =>
    Promise.all(
      connections.map(async (c) => {
        const { facts, lines } = await probeHost(c, layout, [envKeysProbe(layout.envFile)]);
        return { host: c.target.label, facts, keys: envKeysFrom(lines) };
      }),
    ),
  );
  const first = hosts[0];
  const deployed = first ? currentManifest(first.facts)?.sha : undefined;
  const fromSha = request.from ? await commit(request.from, '--from') : deployed ? await commit(deployed, `the release on ${first!.host} runs`) : null;
  const source = request.from ? `--from ${request.from}` : deployed ? `the current release on ${first!.host}` : 'nothing deployed yet';
  const base = fromSha ?? EMPTY_TREE;

  const tokens = (await git('diff', '--name-status', '-z', '-M', base, toSha)).split('\0');
  const changes: FileChange[] = [];
  for (let i = 0; i < tokens.length - 1; ) {
    const status = tokens[i]!;
    if (/^[RC]/.test(status)) {
      changes.push({ status, from: tokens[i + 1]!, path: tokens[i + 2]! });
      i += 3;
    } else {
      changes.push({ status, path: tokens[i + 1]! });
      i += 2;
    }
  }
  const commits = (await git('log', '--oneline', '--no-decorate', '-n', '200', fromSha ? `${fromSha}..${toSha}` : toSha)).split('\n').filter(Boolean);

  const configured = config.dependencies.requirements_files ?? [];
  const show = async (sha: string | null, path: string | undefined) => {
    if (!sha || !path) return undefined;
    const result = await runLocal({ argv: ['git', `--git-dir=${gitDir}`, 'show', `${sha}:${path}`] });
    return result.code === 0 ? result.stdout : undefined;
  };
  const files = await Promise.all(
    changes
      .filter((c) => isRequirementsFile(c.path, configured) || c.path === 'package.json')
      .map(async (c) => ({ path: c.path, before: await show(fromSha, c.from ?? c.path), after: await show(toSha, c.path) })),
  );

  // Lines of the Python files that mention the environment, at both commits (git grep exits 1 when none do).
  const envLines = async (sha: string | null) => {
    const byFile = new Map<string, string>();
    if (!sha) return byFile;
    const result = await runLocal({ argv: ['git', `--git-dir=${gitDir}`, 'grep', '-I', '-z', '-E', '-e', 'environ|getenv|env[.(]', sha, '--', '*.py'] });
    if (result.code > 1) throw new UserError(`git grep failed in ${gitDir}: ${result.stderr.trim()}`);
    for (const line of result.stdout.split('\n')) {
      const nul = line.indexOf('\0');
      if (nul < 0) continue;
      const path = line.slice(sha.length + 1, nul);
      byFile.set(path, `${byFile.get(path) ?? ''}${line.slice(nul + 1)}\n`);
    }
    return byFile;
  };
  const envReads = envReadsOf(await envLines(toSha));
  const envReadsBefore = envReadsOf(await envLines(fromSha)).map((r) => r.name);

  const plan = await preview(ctx, 'deploy', toRef);
  const input: HandoffInput = {
    env: config.environment,
    from: { sha: fromSha, source },
    to: { sha: toSha, ref: toRef },
    commits,
    changes,
    files,
    envReads,
    envReadsBefore,
    configKeys: configKeys(config),
    serverKeys: hosts.map((h) => ({ host: h.host, keys: h.keys })),
    provided: PROVIDED,
    systemPackages: config.dependencies.system,
    plan,
  };
  return { input, handoff: buildHandoff(input, configured) };
}
