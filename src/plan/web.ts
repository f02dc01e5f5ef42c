// The web tier of a host: nginx in front of the web process, certificates, and how traffic moves to a new
// release: blue/green slots (start, check, route, drain) or a restart in place.
import type { Config, ProcessConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import { cmd, type Cmd, type Step } from '../ops/command.js';
import { healthProbe, keptBy, type HealthCheck } from '../ops/health.js';
import { setStatus, switchCurrent } from '../ops/release.js';
import { sha256 } from '../ops/services.js';
import { managerOf } from '../ops/managers.js';
import { previousManagerKind, stopPreviousWorkers, workersBack, type ManagerChange } from './manager-change.js';
import { cancelDrain, installSite, listensOnSocket, slotAnswers, letsencryptCertificate, otherSlot, rewriteUpstream, routeTo, selfSignedCertificate, sitePaths, slotSocket, slotUnit, socketLink, startSlot, drainSlot, type Slot } from '../ops/web.js';
import { healthTarget } from '../ops/health.js';
import { renderSite, renderUpstream, type SitePaths, type SitePlace, type UpstreamTarget } from '../render/nginx.js';
import { slotEnvFile, unitName } from '../render/systemd.js';
import type { HostFacts, ReleaseManifest } from './facts.js';
import { releaseDir, type Layout } from './layout.js';

export interface WebTier {
  strategy: 'blue-green' | 'restart';
  /** The web process (health.process) and the port it listens on; slots use port and port + 1. */
  process: string;
  port: number;
  paths: SitePaths;
  http: Config['http'];
  /** The public site (unset), or a web server's private site behind load balancers. */
  place?: SitePlace;
  /** http.switch socket: the link nginx proxies to (`run/<process>.sock`); unset: nginx proxies to the port. */
  socket?: string;
}

export const slotPort = (tier: Pick<WebTier, 'port'>, slot: Slot) => (slot === 'blue' ? tier.port : tier.port + 1);

/** Where nginx sends the app's traffic: the socket link, or the port of a slot (of the process, in place). */
export function upstreamTarget(tier: Pick<WebTier, 'port' | 'socket'>, slot?: Slot): UpstreamTarget {
  if (tier.socket) return { socket: tier.socket };
  return { port: slot ? slotPort(tier, slot) : tier.port };
}

/** The blue/green tier a release was deployed with, from its manifest (a rollback, an `env set`). */
export function recordedTier(web: NonNullable<ReleaseManifest['web']>, layout: Layout, http: Config['http']): WebTier {
  return { strategy: 'blue-green', process: web.process, port: web.port, paths: sitePaths(layout), http, ...(web.socket ? { socket: web.socket } : {}) };
}

/** nginx is in front when `http.domain` is set or `http.enabled` is true. */
export function webTierFor(config: Pick<Config, 'http' | 'health'>, processes: Record<string, ProcessConfig>, layout: Layout, place: SitePlace = { kind: 'public' }): WebTier | undefined {
  const http = config.http;
  if (!(http.enabled ?? http.domain !== undefined)) return undefined;
  const name = config.health.process;
  const web = processes[name];
  const port = web?.port;
  if (port === undefined) throw new UserError(`http: nginx needs a web process with a port (processes.${name}.port)`);
  if (http.tls !== 'none' && !http.domain) throw new UserError(`http.tls ${http.tls} needs http.domain`);
  if (http.strategy === 'blue-green') {
    const clash = Object.entries(processes).find(([other, p]) => other !== name && p.port === port + 1);
    if (clash) throw new UserError(`processes.${clash[0]}.port ${port + 1}: blue/green runs the ${name} process on ${port} and ${port + 1}`, 'give the other process another port');
  }
  const listens = listensOnSocket(web?.command);
  if (http.switch === 'socket' && !listens) {
    throw new UserError(`http.switch socket: processes.${name}.command does not listen on $SLIPWAY_SOCKET`, 'add e.g. gunicorn --bind unix:$SLIPWAY_SOCKET or uvicorn --uds $SLIPWAY_SOCKET, or set http.switch: port');
  }
  const viaSocket = http.switch === 'socket' || (http.switch === 'auto' && listens);
  // sun_path holds 108 bytes with its terminating NUL: a longer path cannot be bound at all.
  const longest = slotSocket(layout, name, 'green');
  if (viaSocket && Buffer.byteLength(longest) > 107) {
    throw new UserError(`http.switch socket: ${longest} is longer than a Unix socket path may be (107 bytes)`, 'use a shorter base_path, project name or process name, or set http.switch: port');
  }
  // Behind a load balancer, TLS ends there: the private site has no certificate.
  const certificate = place.kind === 'behind' ? undefined : certificateFor(http, layout);
  return { strategy: http.strategy, process: name, port, paths: sitePaths(layout, certificate), http, place, ...(viaSocket ? { socket: socketLink(layout, name) } : {}) };
}

const siteNames = (http: Pick<Config['http'], 'domain' | 'aliases'>) => [http.domain ?? '', ...http.aliases].filter(Boolean);

/** Where the public site's certificate lives, per http.tls. */
export function certificateFor(http: Pick<Config['http'], 'tls' | 'domain' | 'aliases'>, layout: Layout): SitePaths['certificate'] {
  const names = siteNames(http);
  if (http.tls === 'self-signed') return { fullchain: `/etc/slipway/tls/${layout.unitPrefix}/fullchain.pem`, key: `/etc/slipway/tls/${layout.unitPrefix}/privkey.pem` };
  if (http.tls === 'letsencrypt') return { fullchain: `/etc/letsencrypt/live/${names[0]}/fullchain.pem`, key: `/etc/letsencrypt/live/${names[0]}/privkey.pem` };
  return undefined;
}

/** Files the planner compares with what it would write (a load balancer's site and certificate too). */
export function siteFiles(http: Config['http'], layout: Layout, place: SitePlace): string[] {
  const paths = sitePaths(layout, place.kind === 'behind' ? undefined : certificateFor(http, layout));
  return [paths.site, ...(paths.certificate ? [paths.certificate.fullchain] : [])];
}

/** nginx, and what the site's certificate needs (nothing behind a load balancer, where TLS ends). */
export function sitePackages(http: Pick<Config['http'], 'tls'>, place: SitePlace): string[] {
  if (place.kind === 'behind') return ['nginx'];
  return http.tls === 'letsencrypt' ? ['nginx', 'certbot'] : http.tls === 'self-signed' ? ['nginx', 'openssl'] : ['nginx'];
}

export const webPackages = (tier: WebTier | undefined): string[] => (tier ? sitePackages(tier.http, tier.place ?? { kind: 'public' }) : []);

/** The slot that serves now, and the one a deploy starts the new release in. */
export function slotsOf(facts: HostFacts): { live: Slot | undefined; idle: Slot } {
  const live = facts.liveSlot && facts.slots[facts.liveSlot]?.active ? facts.liveSlot : undefined;
  return { live, idle: live ? otherSlot(live) : 'blue' };
}

export interface SiteInput {
  tier: WebTier;
  layout: Layout;
  facts: HostFacts;
  staticDir: string | undefined;
  mediaDir: string | undefined;
  /** Where nginx sends traffic when the site is first written. */
  upstream: UpstreamTarget;
}

/** What a site's steps look at on the host: which files exist, and their hashes. */
export type SiteFacts = Pick<HostFacts, 'files'>;

export interface CertificateInput {
  http: Config['http'];
  paths: SitePaths;
  facts: SiteFacts;
  /** The site's text; `httpOnly` for the ACME challenge before the certificate exists. */
  render: (httpOnly: boolean) => string;
  /** The upstream written with a site that has none yet. */
  upstream: string | undefined;
}

/**
 * The socket a site's nginx must hold on port 80. Behind load balancers, the private address alone: a reload
 * cannot take it over from a wildcard the old configuration holds (the stock site's), nor the wildcard back from
 * it when the server serves the public site again; nginx would only log the bind error and keep the old one.
 */
export function listenSocket(place: SitePlace | undefined): string {
  return place?.kind === 'behind' ? `${place.listen.includes(':') ? `[${place.listen}]` : place.listen}:80` : '0.0.0.0:80';
}

/** A certificate the site still lacks: self-signed, or from ACME through an HTTP-only site on port 80 first. */
export function certificateSteps({ http, paths, facts, render, upstream }: CertificateInput): Step[] {
  const certificate = paths.certificate;
  if (!certificate || facts.files[certificate.fullchain]) return [];
  const names = siteNames(http);
  if (http.tls === 'self-signed') return [{ id: 'certificate', title: `Create a self-signed certificate for ${names.join(', ')}`, commands: [selfSignedCertificate(certificate, names)] }];
  // HTTP-01 needs the site on port 80 before the certificate exists; the TLS site follows once it does.
  return [
    { id: 'site-http', title: 'Serve the ACME challenge over HTTP', commands: installSite(paths, render(true), upstream, http.default_server, listenSocket(undefined)) },
    {
      id: 'certificate',
      title: `Obtain a certificate for ${names.join(', ')} from ${http.acme_server}`,
      commands: letsencryptCertificate({ names, server: http.acme_server, webroot: paths.acmeRoot, ...(http.acme_email ? { email: http.acme_email } : {}), ...(http.acme_ca_bundle ? { caBundle: http.acme_ca_bundle } : {}) }),
    },
  ];
}

/** The site (and certificate) before anything switches: written only when it changed, checked by nginx -t. */
export function siteSteps({ tier, layout, facts, staticDir, mediaDir, upstream: target }: SiteInput): Step[] {
  const { paths, http } = tier;
  const render = (httpOnly: boolean) =>
    renderSite({ http, prefix: layout.unitPrefix, paths, httpOnly, ...(tier.place ? { place: tier.place } : {}), ...(staticDir ? { staticDir: `${layout.current}/${staticDir}` } : {}), ...(mediaDir ? { mediaDir: `${layout.shared}/${mediaDir}` } : {}) });
  const upstream = facts.files[paths.site] ? undefined : renderUpstream(layout.unitPrefix, target);
  const steps = certificateSteps({ http, paths, facts, render, upstream });
  const text = render(false);
  if (facts.files[paths.site] !== sha256(text) || steps.length > 0) {
    // Behind load balancers, Debian's stock site goes too: nothing of this server's nginx answers on its public address.
    const place = tier.place;
    const dropStock = http.default_server || place?.kind === 'behind';
    steps.push({ id: 'site', title: `Install the nginx site ${paths.site}`, commands: installSite(paths, text, steps.some((s) => s.id === 'site-http') ? undefined : upstream, dropStock, listenSocket(place)) });
  }
  return steps;
}

export interface BlueGreenInput {
  tier: WebTier;
  layout: Layout;
  facts: HostFacts;
  /** Release to serve. */
  to: string;
  /** Release `current` points at now (switched back to on failure). */
  from: string | undefined;
  /** Other units (workers, scheduler): restarted gracefully after the switch. */
  workers: string[];
  afterSwitch: Step['commands'];
  /** Health path, expected status and patience; the URL's port is the slot's. */
  health: Omit<HealthCheck, 'url'> & { path: string };
  /** Mark `to` bad if traffic has to go back (deploy: yes; rollback: no). */
  markBad: boolean;
  /** Start the idle slot even if it already runs `to` (its environment changed: `env set`). */
  freshStart?: boolean;
  /** Steps between the new slot's check and the route (a first deploy's nginx site). */
  beforeRoute?: Step[];
  /** The app moves here from the other process manager, which runs the live slot and the workers now. */
  change?: ManagerChange;
}

const slotHealth = (input: BlueGreenInput, slot: Slot, kind = input.layout.processManager): HealthCheck => ({
  url: `http://127.0.0.1:${slotPort(input.tier, slot)}${input.health.path}`,
  expectedStatus: input.health.expectedStatus,
  timeoutSeconds: input.health.timeoutSeconds,
  retries: input.health.retries,
  unit: slotUnit(input.layout, input.tier.process, slot),
  ...keptBy(kind),
  ...(input.tier.socket ? { socket: slotSocket(input.layout, input.tier.process, slot) } : {}),
});

/** What a slot's process is told: its port, and the socket it listens on when nginx reaches it through one. */
function slotEnvironment(tier: WebTier, layout: Layout, slot: Slot): Cmd {
  return { argv: ['printf', 'PORT=%s\\nSLIPWAY_SOCKET=%s\\n', String(slotPort(tier, slot)), slotSocket(layout, tier.process, slot)], stdoutTo: slotEnvFile(layout, slot) };
}

/**
 * The other process manager's slot that holds `slot`, the one to start: a slot it left draining, at the deploy
 * that moved the app to this manager (the next deploy needs that slot), or at its own last deploy (a move within
 * that drain needs it). It serves nothing since that switch, and it holds the slot's port and socket: it stops
 * now and the old manager forgets it, as its drain would have done (this manager's own draining slot is stopped
 * by its restart in the same way).
 */
function vacateOtherManagers(input: BlueGreenInput, slot: Slot): Cmd[] {
  const { layout, facts, tier } = input;
  const kind = previousManagerKind(layout, facts, input.change);
  if (!kind || !facts.otherSlots?.[slot]) return [];
  const other = managerOf(layout, kind);
  return [...cancelDrain(layout, slot, other), ...drainSlot(layout, tier.process, slot, 0, other, true)];
}

/**
 * Traffic to `to` without dropping a request: the idle slot starts on it (unless it already runs it, as in a
 * rollback within the drain period), is checked directly, nginx moves to it with a graceful reload, and the old
 * slot drains. Recovery moves traffic back and stops the new slot: a failed check never receives traffic.
 */
export function blueGreenSteps(input: BlueGreenInput): { steps: Step[]; recovery: Step[] } {
  const { tier, layout, facts, to } = input;
  const manager = managerOf(layout);
  const { change } = input;
  // The live slot and the workers are the old manager's while the app moves to this one.
  const old = change?.previous ?? manager;
  const { live, idle } = slotsOf(facts);
  const upstream = (slot: Slot) => renderUpstream(layout.unitPrefix, upstreamTarget(tier, slot));
  const viaSocket = tier.socket !== undefined;
  const ready = !input.freshStart && facts.slots[idle]?.active && facts.slots[idle]?.release === to;
  const steps: Step[] = [];
  if (!ready) {
    steps.push({
      id: 'slot',
      title: `Start ${to} in the ${idle} slot (${viaSocket ? slotSocket(layout, tier.process, idle) : `port ${slotPort(tier, idle)}`})`,
      commands: [slotEnvironment(tier, layout, idle), ...vacateOtherManagers(input, idle), ...startSlot(layout, tier.process, idle, releaseDir(layout, to))],
    });
    steps.push({ id: 'slot-health', title: `Check the ${idle} slot: ${healthTarget(slotHealth(input, idle))}`, commands: [healthProbe(slotHealth(input, idle))] });
  }
  if (ready) {
    // A slot reused as it runs (a rollback within the drain period) must not be stopped by its pending drain. The
    // drain may fire between the facts and this step: once it is cancelled, the slot must still answer (started
    // again if the drain just stopped it) before any request goes to it.
    steps.push({
      id: 'slot-health',
      title: `Keep the ${idle} slot, still running ${to}, and check it: ${healthTarget(slotHealth(input, idle))}`,
      commands: [...cancelDrain(layout, idle), slotAnswers(layout, tier.process, idle, healthProbe(slotHealth(input, idle)))],
    });
  }
  steps.push(...(input.beforeRoute ?? []));
  const how = viaSocket ? ' (socket link, no reload)' : '';
  steps.push({ id: 'route', title: `Send traffic to the ${idle} slot${ready ? ' (still running: instant)' : how}`, commands: routeTo(layout, tier.paths, tier.process, idle, upstream(idle), viaSocket) });
  steps.push({ id: 'switch', title: `Point current at ${to}`, commands: switchCurrent(layout, to) });
  if (input.workers.length > 0) steps.push({ id: 'restart', title: 'Restart workers gracefully', commands: [...(change ? stopPreviousWorkers(change, input.workers) : []), ...manager.restart(input.workers)] });
  if (input.afterSwitch.length > 0) steps.push({ id: 'after-switch', title: 'Run after_switch hooks', commands: input.afterSwitch });
  if (live) {
    const drain = tier.http.drain_seconds;
    steps.push({ id: 'drain', title: drain > 0 ? `Stop the ${live} slot after ${drain}s of draining` : `Stop the ${live} slot`, commands: drainSlot(layout, tier.process, live, drain, old, change !== undefined) });
  }

  const mark = input.markBad ? [setStatus(layout, to, 'bad')] : [];
  // A slot started here stops; one that already ran (a rollback within the drain period) drains as it was going to.
  const leaveIdle = ready ? drainSlot(layout, tier.process, idle, tier.http.drain_seconds) : manager.stop([slotUnit(layout, tier.process, idle)]);
  const workersBackCmds = change ? workersBack(manager, change, input.workers) : manager.restart(input.workers);
  const undo = [...(input.from ? switchCurrent(layout, input.from) : []), ...workersBackCmds, ...leaveIdle, ...(change ? manager.disable([slotUnit(layout, tier.process, idle)], false) : []), ...mark];
  if (!live) return { steps, recovery: [{ id: 'switch-back', title: 'Stop the new slot', commands: undo }] };
  const back: Cmd[] = [
    // The drain this run armed for the live slot must not stop it once it serves again.
    ...cancelDrain(layout, live, old),
    {
      // Traffic goes back only to a slot that answers: never to a stopped process.
      if: slotAnswers(layout, tier.process, live, healthProbe(slotHealth(input, live, old.kind)), old),
      then: [...routeTo(layout, tier.paths, tier.process, live, upstream(live), viaSocket, old), ...undo],
      else: [cmd('echo', `the ${live} slot does not answer: the ${idle} slot keeps running and nginx is left as it is`), ...mark],
    },
  ];
  return { steps, recovery: [{ id: 'switch-back', title: `Send traffic back to the ${live} slot`, commands: back }] };
}

/**
 * A change of http.strategy finds the other strategy's web service holding the port. restart → blue-green: the
 * in-place service stops before the blue slot starts on its port (and starts again if the deploy fails);
 * blue-green → restart: both slots stop and nginx goes back to the process's port. Requests drop once, while the
 * new service starts. Without this the new service could not bind, and the old code passed the health check.
 */
export function strategyChange(tier: WebTier, layout: Layout, facts: HostFacts): { steps: Step[]; recovery: Cmd[] } {
  const manager = managerOf(layout);
  if (tier.strategy === 'blue-green') {
    const inPlace = unitName(layout, tier.process);
    // Once a slot has gone live the in-place service was stopped; until then a failed deploy tries again.
    if (facts.units[inPlace] === undefined || facts.liveSlot !== undefined) return { steps: [], recovery: [] };
    return {
      steps: [{ id: 'strategy', title: `Stop ${inPlace}: the ${tier.process} process moves to blue/green slots`, commands: manager.disable([inPlace], true) }],
      recovery: manager.enable([inPlace], true),
    };
  }
  const slots = (['blue', 'green'] as const).filter((slot) => facts.slots[slot]?.active);
  if (slots.length === 0 && facts.liveSlot === undefined) return { steps: [], recovery: [] };
  const commands: Cmd[] = [
    ...cancelDrain(layout, 'blue'),
    ...cancelDrain(layout, 'green'),
    ...manager.disable([slotUnit(layout, tier.process, 'blue'), slotUnit(layout, tier.process, 'green')], true),
    cmd('rm', '-f', layout.liveSlotFile),
    // The in-place process binds the link's path itself: a link left there would make it fail to bind.
    ...(tier.socket ? [cmd('rm', '-f', tier.socket)] : []),
    ...rewriteUpstream(tier.paths, renderUpstream(layout.unitPrefix, upstreamTarget(tier))),
  ];
  const where = tier.socket ? `on ${tier.socket}` : `on port ${tier.port}`;
  return { steps: [{ id: 'strategy', title: `Stop the blue/green slots: the ${tier.process} process restarts in place ${where}`, commands }], recovery: [] };
}
