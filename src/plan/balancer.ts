// Load balancers (servers with role lb): the public site on them, an upstream over every configured web server's
// private site, and how a rolling restart takes each batch of web servers out of rotation and back. Pure: from
// the config's servers and what the load balancers' upstreams name now.
import type { Config } from '../config/types.js';
import { UserError } from '../errors.js';
import { cmd, type Cmd, type Step } from '../ops/command.js';
import { sitePaths, rewriteUpstream } from '../ops/web.js';
import { renderSite, type SitePlace } from '../render/nginx.js';
import {
  BALANCER_HEADER,
  balancerTierPaths,
  parseBalancerUpstream,
  renderBalancerMain,
  renderBalancerSite,
  renderBalancerUnit,
  renderBalancerUpstream,
  renderPublicUpstream,
  type BalancedServer,
} from '../render/balancer.js';
import { BALANCER_NGINX, BALANCER_STATE_MARK, installBalancerTier } from '../ops/balancer.js';
import type { Layout } from './layout.js';
import type { Peer } from './data-servers.js';
import type { Target } from './target.js';
import type { BatchGuard, HostPlan } from './types.js';
import type { Placement } from './topology.js';
import { processesOn, type Processes } from './processes.js';
import { certificateFor, certificateSteps, listenSocket, type SiteFacts } from './web.js';
import { installSite } from '../ops/web.js';
import { sha256 } from '../ops/services.js';

export const BALANCER_ROLE = 'lb';

/** Web servers' private sites listen on this port; the load balancer's upstream names it. */
export const PRIVATE_SITE_PORT = 80;

export interface Balancing {
  /** The load balancers, in config order. */
  balancers: Peer[];
  /** Every configured server that runs the web process, in config order: the upstream when all serve. */
  webServers: Peer[];
}

export const isBalancer = (target: Pick<Target, 'roles'>) => target.roles.includes(BALANCER_ROLE);

function peer(target: Target, why: string): Peer {
  if (target.privateAddress) return { label: target.label, address: target.privateAddress };
  throw new UserError(`${target.label}: ${why}, but its private address is not known`, 'give the server `private_address` (the address the other servers reach it by)');
}

/** From every configured server (never only those one run reaches): `--host web2` still balances over web1. */
export function balancingOf(config: Pick<Config, 'health'>, processes: Processes, targets: readonly Target[], placement: Placement): Balancing | undefined {
  const balancers = targets.filter(isBalancer);
  if (balancers.length === 0) return undefined;
  const web = targets.filter((t) => processesOn(processes, t, placement).includes(config.health.process));
  return {
    balancers: balancers.map((t) => peer(t, 'it is a load balancer the web servers let in')),
    webServers: web.map((t) => peer(t, 'it is a web server behind the load balancer')),
  };
}

/** Where a host's own site stands: behind the load balancers when there are some, otherwise the public site. */
export function placeOf(balancing: Balancing | undefined, label: string): SitePlace {
  const self = balancing?.webServers.find((w) => w.label === label);
  if (!balancing || !self) return { kind: 'public' };
  return { kind: 'behind', listen: self.address, balancers: balancing.balancers.map((b) => b.address) };
}

const upstreamOf = (servers: readonly Peer[]): BalancedServer[] => servers.map((s) => ({ address: s.address, port: PRIVATE_SITE_PORT }));

/** A load balancer as its state probe (ops/balancer.ts balancerStateProbe) found it. */
export interface BalancerState {
  /** The upstream it balances over now (undefined: none yet). */
  upstream: string | undefined;
  /** Its public site proxies to the balancing tier already (false: no site yet, or one from before the tier). */
  tierLive: boolean;
  /** sha256 of each of the tier's files that exists. */
  files: Record<string, string>;
}

export const NO_BALANCER_STATE: BalancerState = { upstream: undefined, tierLive: false, files: {} };

const asFile = (lines: readonly string[]) => {
  const text = lines.join('\n').replace(/\n*$/, '');
  return text.trim() === '' ? undefined : `${text}\n`;
};

export function parseBalancerState(lines: readonly string[], prefix: string): BalancerState {
  const publicAt = lines.indexOf(BALANCER_STATE_MARK.public);
  const filesAt = lines.indexOf(BALANCER_STATE_MARK.files);
  if (publicAt < 0 || filesAt < publicAt) return NO_BALANCER_STATE;
  const tier = asFile(lines.slice(0, publicAt));
  const publicUpstream = asFile(lines.slice(publicAt + 1, filesAt));
  const files: Record<string, string> = {};
  for (const line of lines.slice(filesAt + 1)) {
    const m = /^([0-9a-f]{64}) {2}(\/\S+)$/.exec(line);
    if (m) files[m[2]!] = m[1]!;
  }
  // A load balancer from before the tier: its public site's upstream named the web servers.
  const upstream = [tier, publicUpstream].find((text) => text?.startsWith(BALANCER_HEADER));
  return { upstream, tierLive: publicUpstream === renderPublicUpstream(prefix, balancerTierPaths(prefix)), files };
}

export interface BalancerHostInput {
  config: Pick<Config, 'http'>;
  layout: Layout;
  balancing: Balancing;
  facts: SiteFacts;
  state: BalancerState;
}

/**
 * A load balancer's part of a deploy. Before the switch: its certificate. At the switch (after every web server
 * switched): the balancing tier and its upstream over the configured web servers (so an added server serves before
 * it gets traffic and a removed one stops getting it; only the tier reloads), then the public site over the tier.
 * Recovery puts the previous upstream back.
 */
export function balancerHostSteps(input: BalancerHostInput): { prepare: Step[]; switch: Step[]; recovery: Step[] } {
  const { config, layout, balancing, facts, state } = input;
  const http = config.http;
  const paths = sitePaths(layout, certificateFor(http, layout));
  const tier = balancerTierPaths(layout.unitPrefix);
  const upstream = renderBalancerUpstream(layout.unitPrefix, upstreamOf(balancing.webServers));
  const publicUpstream = renderPublicUpstream(layout.unitPrefix, tier);
  const render = (httpOnly: boolean) => renderSite({ http, prefix: layout.unitPrefix, paths, httpOnly, place: { kind: 'balancer' } });
  const tierFiles = [
    { path: tier.main, text: renderBalancerMain() },
    { path: tier.unit, text: renderBalancerUnit() },
    { path: tier.site, text: renderBalancerSite(layout.unitPrefix, http, tier) },
  ].filter((f) => state.files[f.path] !== sha256(f.text));
  // The tier's first upstream is the one this deploy ends with; until the public site proxies to it, it serves nothing.
  const tierSteps = [...installBalancerTier(tier, tierFiles, state.tierLive ? undefined : upstream), ...rewriteUpstream(tier, upstream, undefined, BALANCER_NGINX)];
  // A first certificate is requested through a site with no app yet: its upstream can already be the tier's socket.
  const certificate = certificateSteps({ http, paths, facts, render, upstream: publicUpstream });
  const text = render(false);
  const site: Cmd[] = facts.files[paths.site] !== sha256(text) || certificate.length > 0 ? installSite(paths, text, publicUpstream, http.default_server, listenSocket({ kind: 'balancer' })) : [];
  const names = balancing.webServers.map((w) => w.label).join(', ');
  return {
    prepare: certificate,
    switch: [{ id: 'balance', title: `Balance over the web servers: ${names}`, commands: [...tierSteps, ...site, ...rewriteUpstream(paths, publicUpstream)] }],
    recovery: state.upstream ? [{ id: 'balance-back', title: 'Put the previous upstream back', commands: rewriteUpstream(tier, state.upstream, undefined, BALANCER_NGINX) }] : [],
  };
}

export interface GuardInput {
  layout: Layout;
  http: Pick<Config['http'], 'proxy_read_timeout'>;
  balancing: Balancing;
  /** Label of each host of the plan, and the batches of host indices. */
  labels: readonly string[];
  batches: readonly number[][];
  /** Plan indices of the load balancers this run reaches. */
  balancerHosts: readonly number[];
  /** What the load balancers send traffic to now (their upstreams): servers removed from the config included. */
  serving: readonly BalancedServer[];
  /** Each plan host's balancer state (by plan index; only the load balancers' matter). */
  states: readonly BalancerState[];
}

/**
 * For `strategy: restart` behind load balancers: before each batch restarts, every load balancer's balancing tier
 * marks the batch's web servers `down` (they get no new request, and the reload waits for the tier's old workers,
 * so none is in flight either); after it, they come back. Only the tier reloads: no client connection closes. A
 * load balancer from before the tier (its first deploy since) reloads its public nginx instead, once more. Rotation stays what it was before the deploy until the load
 * balancers' own switch at the end: a server new to the config is not in it (nothing to take out), a removed
 * one keeps serving. A batch that would leave no server up is not taken out (the restart drops requests, as on
 * one server), and `notes` says so.
 */
export function batchGuards(input: GuardInput): { guards: BatchGuard[][]; notes: string[] } {
  const { layout, balancing } = input;
  const rewrite = (host: number, upstream: string, settle?: { seconds: number }) =>
    input.states[host]?.tierLive ? rewriteUpstream(balancerTierPaths(layout.unitPrefix), upstream, settle, BALANCER_NGINX) : rewriteUpstream(sitePaths(layout), upstream, settle);
  const byLabel = new Map(balancing.webServers.map((w) => [w.label, w]));
  const rotation = input.serving.map((s) => ({ address: s.address, port: s.port }));
  const notes: string[] = [];
  const settle = { seconds: input.http.proxy_read_timeout + 5 };
  const guards = input.batches.map((batch) => {
    const web = batch.flatMap((i) => byLabel.get(input.labels[i]!) ?? []);
    const taken = web.filter((w) => rotation.some((s) => s.address === w.address));
    if (taken.length === 0) return [];
    const out = new Set(taken.map((w) => w.address));
    if (rotation.every((s) => out.has(s.address))) {
      notes.push(`${taken.map((w) => w.label).join(', ')} restart${taken.length === 1 ? 's' : ''} with no other web server in rotation: requests drop meanwhile`);
      return [];
    }
    const during = renderBalancerUpstream(layout.unitPrefix, rotation.map((s) => (out.has(s.address) ? { ...s, down: true } : s)));
    const after = renderBalancerUpstream(layout.unitPrefix, rotation);
    const names = taken.map((w) => w.label).join(', ');
    return input.balancerHosts.map((host) => ({
      host,
      before: [{ id: 'rotate-out', title: `Take ${names} out of rotation`, commands: rewrite(host, during, settle) }],
      after: [{ id: 'rotate-in', title: `Put ${names} back in rotation`, commands: rewrite(host, after) }],
    }));
  });
  return { guards, notes };
}

/** Batches for a topology with load balancers: the other servers as configured, the load balancers last, together. */
export function withBalancersLast(batches: readonly number[][], balancerHosts: readonly number[]): number[][] {
  if (balancerHosts.length === 0) return batches.map((b) => [...b]);
  const rest = batches.map((b) => b.filter((i) => !balancerHosts.includes(i))).filter((b) => b.length > 0);
  return [...rest, [...balancerHosts]];
}

/** What the load balancers send traffic to now: every server their upstreams name, once, in order. */
export function servingNow(states: readonly BalancerState[]): BalancedServer[] {
  const serving: BalancedServer[] = [];
  for (const { upstream } of states) for (const s of parseBalancerUpstream(upstream ?? '')) if (!serving.some((o) => o.address === s.address)) serving.push(s);
  return serving;
}

/** The plan's lines about balancing: where traffic goes, and servers the load balancers stop sending it to. */
export function balancingNotes(balancing: Balancing | undefined, states: readonly BalancerState[]): string[] {
  if (!balancing) return [];
  const lbs = balancing.balancers.map((b) => b.label).join(', ');
  const notes = [`${lbs} balance${balancing.balancers.length === 1 ? 's' : ''} over ${balancing.webServers.map((w) => `${w.label} (${w.address})`).join(', ')}, updated after the web servers switched`];
  for (const gone of servingNow(states).filter((s) => !balancing.webServers.some((w) => w.address === s.address))) {
    notes.push(`${gone.address} is no longer a web server in the config: the load balancers stop sending it traffic at the end of this deploy (it keeps running until you stop it)`);
  }
  return notes;
}

/**
 * A load balancer's part of a rollback: nothing. What it serves is its upstream, which names the web servers, not
 * a release; its own release (the code it never runs) stays, so a load balancer added since the release rolled
 * back to does not stop the rollback for lack of an older release.
 */
export function balancerRollbackPlan(target: Target, layout: Layout, current: string | undefined): HostPlan {
  const keep: Step = { id: 'balance-stays', title: 'Keep the upstream over the web servers (a load balancer has nothing to roll back)', commands: [cmd('true')] };
  return {
    target,
    layout,
    ...(current ? { from: current } : {}),
    to: current ?? '',
    steps: [keep],
    switchIndex: 1,
    commitIndex: 1,
    onFailureBeforeSwitch: [],
    onFailureAfterSwitch: [],
    onInterruptedCommit: [],
    warnings: [],
  };
}
