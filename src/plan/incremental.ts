// Release checks that are not repeated when nothing they read changed: collectstatic, `check --deploy` and
// `migrate --check` (Django). Each check's inputs are hashed on the deployer from the commit's tree (path and
// git object id of every file the recipe says it reads) plus what else decides its outcome; the hash is recorded
// in the release's manifest, and a later release with the same hash skips the check when a good release (status
// ok: every check before its switch passed) recorded it. Pure: hashes and facts in, a decision out.
import { createHash } from 'node:crypto';
import type { Config } from '../config/types.js';
import type { AppProfile, IncrementalStep, RepoFiles } from '../recipes/types.js';
import type { HostFacts } from './facts.js';

/** Input hash of each incremental check this release runs (absent: unknown, the check always runs). */
export type StepInputs = Partial<Record<IncrementalStep, string>>;

export interface StepInputsInput {
  files: RepoFiles;
  profile: Pick<AppProfile, 'stepInputs' | 'collectstatic' | 'checkDeploy' | 'migrate' | 'staticDir'>;
  config: Pick<Config, 'hooks' | 'http'>;
  /** What the checks run with: the venv key, a Node app's lockfile, or undefined for the system's own. */
  venvKey: string | undefined;
  /** The app's environment (.env) with secret values replaced: settings read it, a rotated secret changes nothing. */
  environment: Record<string, string>;
  /** Which database migrations are checked against (its settings, secrets replaced, and where it is). */
  database: unknown;
}

const HASH = /^[0-9a-f]{16}$/;
export const isStepInputHash = (value: unknown): value is string => typeof value === 'string' && HASH.test(value);

/**
 * Build hooks write files the commit does not have (a bundler's output under static/, generated settings), so
 * with any of them no check is skipped. A hook after collectstatic (before_switch, after_switch) may change the
 * collected files in place, so with one of those collectstatic always runs: a copy of the previous release's
 * directory would carry the hook's changes.
 */
export function stepInputHashes(input: StepInputsInput): StepInputs {
  const { files, profile, config, venvKey } = input;
  const blobs = files.blobs;
  if (!blobs || !profile.stepInputs || config.hooks.build.length > 0) return {};
  const staticDir = config.http.static_dir ?? profile.staticDir;
  const commands: Record<IncrementalStep, string | undefined> = {
    collectstatic: config.hooks.before_switch.length > 0 || config.hooks.after_switch.length > 0 || !staticDir ? undefined : profile.collectstatic,
    'check-deploy': profile.checkDeploy,
    // A migrate without a check always runs: there is no "nothing pending" to remember.
    migrate: profile.migrate?.check ? `${profile.migrate.check}\n${profile.migrate.command}` : undefined,
  };
  const hashes: StepInputs = {};
  for (const step of ['collectstatic', 'check-deploy', 'migrate'] as const) {
    const paths = profile.stepInputs[step];
    const command = commands[step];
    if (!paths || !command) continue;
    // The tree's files in the collected directory are the base the copy replaces: they count as inputs too.
    const own = step === 'collectstatic' && staticDir ? files.paths.filter((p) => p.startsWith(`${staticDir}/`)) : [];
    const tree = [...new Set([...paths, ...own])].sort().map((path) => [path, blobs.get(path) ?? null]);
    const material = { step, command, tree, venv: venvKey ?? null, environment: input.environment, ...(step === 'migrate' ? { database: input.database } : {}), ...(step === 'collectstatic' ? { staticDir } : {}) };
    hashes[step] = createHash('sha256').update(JSON.stringify(material)).digest('hex').slice(0, 16);
  }
  return hashes;
}

/**
 * The good release that recorded the same inputs for `step`, if any: the current release when it did (its
 * files are the likeliest still in place), else the newest. A release that failed or was abandoned (bad) never
 * counts, even with the same hash.
 */
export function unchangedSince(facts: Pick<HostFacts, 'current' | 'releases'>, step: IncrementalStep, hash: string | undefined): string | undefined {
  if (!hash) return undefined;
  const matching = facts.releases.filter((r) => r.status === 'ok' && r.manifest?.inputs?.[step] === hash).map((r) => r.id);
  if (facts.current && matching.includes(facts.current)) return facts.current;
  return matching[matching.length - 1];
}

/** How a skipped step says so in its title (the plan, the progress and the runbook show the same words). */
export const skippedTitle = (title: string, since: string) => `${title}: skip (inputs unchanged since ${since})`;
