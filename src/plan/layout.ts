// Where everything lives on a host, derived from the config alone.
import { branchSlug } from '../config/names.js';
import type { Config } from '../config/types.js';

export interface Layout {
  /** {base_path}/{project}, or {base_path}/{project}/{env}/{branch-slug} for per-branch deploys. */
  root: string;
  releases: string;
  shared: string;
  current: string;
  /** Temporary name of the new `current` link, renamed over it with `mv -T` (atomic). */
  nextCurrent: string;
  meta: string;
  repo: string;
  lockFile: string;
  holderFile: string;
  history: string;
  /** The running operation's history line, for the agent to finish if slipway vanishes between two scripts. */
  pendingHistory: string;
  envFile: string;
  /** Blue/green: `slots/blue` and `slots/green` link to the release each web slot runs. */
  slots: string;
  /** Unix sockets of the web process (http.switch socket): `<process>.sock` is the one nginx proxies to. */
  sockets: string;
  /** Which slot nginx sends traffic to (blue/green). */
  liveSlotFile: string;
  /** Prefix of systemd unit names: `{project}` or `{project}-{env}-{branch-slug}`. */
  unitPrefix: string;
  appUser: string;
  /** What keeps the app's processes running there (ops/managers.ts). */
  processManager: Config['process_manager'];
}

export function layoutFor(config: Config, branch: string): Layout {
  const perBranch = config.per_branch;
  const slug = branchSlug(branch);
  const root = perBranch
    ? `${config.base_path}/${config.project.name}/${config.environment}/${slug}`
    : `${config.base_path}/${config.project.name}`;
  const meta = `${root}/.slipway`;
  return {
    root,
    releases: `${root}/releases`,
    shared: `${root}/shared`,
    current: `${root}/current`,
    nextCurrent: `${root}/.current-next`,
    meta,
    repo: `${meta}/repo.git`,
    lockFile: `${meta}/deploy.lock`,
    holderFile: `${meta}/lock-holder.json`,
    history: `${meta}/history.jsonl`,
    pendingHistory: `${meta}/history.pending`,
    envFile: `${root}/shared/.env`,
    slots: `${root}/slots`,
    sockets: `${root}/run`,
    liveSlotFile: `${meta}/live-slot`,
    unitPrefix: perBranch ? `${config.project.name}-${config.environment}-${slug}` : config.project.name,
    appUser: config.app_user ?? config.project.name.replaceAll('-', '_').slice(0, 32),
    processManager: config.process_manager,
  };
}

export const releaseDir = (layout: Layout, id: string) => `${layout.releases}/${id}`;
export const releaseMeta = (layout: Layout, id: string) => `${layout.meta}/releases/${id}`;
