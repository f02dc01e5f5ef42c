// A plan: everything a deploy or rollback will run, per host, computed before anything changes.
import type { Step } from '../ops/command.js';
import type { Layout } from './layout.js';
import type { Target } from './target.js';
import type { SingletonMove } from './topology.js';

export interface HostPlan {
  target: Target;
  layout: Layout;
  /** Release `current` points at before the change. */
  from?: string;
  /** Release `current` points at after the change. */
  to: string;
  steps: Step[];
  /** Index of the first step that changes what serves traffic; a failure from there on switches back. */
  switchIndex: number;
  /**
   * Index of the first step after which the change stands: the new release passed its checks and serves, and
   * what follows is bookkeeping. A failure or an interruption from there on keeps it (onInterruptedCommit).
   */
  commitIndex: number;
  onFailureBeforeSwitch: Step[];
  onFailureAfterSwitch: Step[];
  /** Run by the host script if it stops after the commit point: what makes the kept release's record whole. */
  onInterruptedCommit: Step[];
  warnings: string[];
}

export interface Plan {
  action: 'deploy' | 'rollback';
  env: string;
  ref: string | null;
  sha: string | null;
  hosts: HostPlan[];
  /** The release the operation makes live (a rollback's load balancers keep their own `to`); unset: the first host's. */
  release?: string;
  /** Host indices switched together, batch after batch (several hosts); unset: all at once. */
  batches?: number[][];
  /** Per batch: steps on load balancers around its switch (a restart taken out of rotation and back). */
  guards?: BatchGuard[][];
  /** What the plan decided across hosts (where singletons run), shown with the plan. */
  notes?: string[];
  /** Singletons to stop on servers no longer in the config, before anything switches. */
  moves?: SingletonMove[];
}


/** The release a plan makes live, as the summary and the plan's headline name it. */
export const liveRelease = (plan: Pick<Plan, 'release' | 'hosts'>): string => plan.release ?? plan.hosts[0]?.to ?? '';

/** Steps on a load balancer around one batch of a rolling restart. */
export interface BatchGuard {
  /** Index of the load balancer in the plan's hosts. */
  host: number;
  /** Take the batch's servers out of rotation, and wait until requests already sent to them are answered. */
  before: Step[];
  /** Put them back, once they passed their health check (or were switched back). */
  after: Step[];
}
