// What the dashboard's pages show, gathered by the dashboard from the same execute/ functions the CLI calls.
// Plain data, so each page is rendered (and tested) from fixed values.
import type { Listing } from '../../execute/backups.js';
import type { HostEnvKeys } from '../../execute/env.js';
import type { HistoryEntry } from '../../ops/history.js';
import type { ReleaseFact } from '../../plan/facts.js';
import type { HostStatus } from '../../plan/status.js';

/** Who is looking, and the token their forms must carry back (cross-site request protection). */
export interface Viewer {
  user: string;
  csrf: string;
}

/** One environment on the overview: its servers' status, or why it could not be read. */
export interface EnvironmentSummary {
  name: string;
  project?: string;
  servers?: number;
  hosts: HostStatus[];
  error?: string;
  /** A deploy or rollback this dashboard is running there now. */
  running?: RunHeader;
}

export interface HostReleases {
  host: string;
  current: string | null;
  releases: ReleaseFact[];
}

export interface HostHistory {
  host: string;
  entries: HistoryEntry[];
}

/** A part of the environment page that could not be read says why, in place of its table. */
export type Part<T> = { ok: true; value: T } | { ok: false; error: string };

export interface EnvironmentDetail {
  name: string;
  project: string;
  files: string[];
  statuses: Part<HostStatus[]>;
  releases: Part<HostReleases[]>;
  history: Part<HostHistory[]>;
  envKeys: Part<HostEnvKeys[]>;
  /** Absent where the environment has no database to back up. */
  backups?: Part<Listing>;
  running?: RunHeader;
}

export interface Refs {
  branches: string[];
  tags: string[];
  /** The branch a deploy takes without --ref. */
  default: string;
}

/** The deploy (or rollback) page: the choice, and once made, the exact plan to confirm. */
export interface PlanView {
  env: string;
  action: 'deploy' | 'rollback';
  /** Deploy: the ref asked for; rollback: the release asked for (empty: the previous good one). */
  requested: string;
  refs?: Refs;
  full?: boolean;
  /** The release choices of a rollback (the first host's good releases that are not current). */
  choices?: { id: string; label: string }[];
  plan?: { text: string; sha: string | null; release: string | null; headline: string };
  error?: string;
  running?: RunHeader;
}

export interface RunHeader {
  id: string;
  env: string;
  action: 'deploy' | 'rollback';
  /** What it deploys or rolls back to, as asked. */
  what: string;
  user: string;
  startedAt: string;
  state: 'running' | 'ok' | 'failed';
}

/**
 * `step`: a host started a step; `warning`; `out` and `err`: the lines the CLI prints at the end (the host
 * table, the outcome, the error with its output), the same text.
 */
export interface RunEvent {
  seq: number;
  /** Seconds since the run started. */
  seconds: number;
  kind: 'step' | 'warning' | 'out' | 'err';
  host?: string;
  text: string;
}

export interface RunView extends RunHeader {
  events: RunEvent[];
}

export interface HandoffView {
  env: string;
  to: string;
  refs?: Refs;
  note?: string;
  error?: string;
}
