// Builders for the web tier: nginx site and upstream, certificates, and the blue/green slots.
import { cmd, unless, type Cmd, type Snippet } from './command.js';
import { quote } from './shell.js';
import { managerOf } from './managers.js';
import type { ProcessManager } from './process-manager.js';
import { keepPrevious, previousOf, restorePrevious, writeFile } from './files.js';
import type { Layout } from '../plan/layout.js';
import type { SitePaths } from '../render/nginx.js';

export type Slot = 'blue' | 'green';
export const otherSlot = (slot: Slot): Slot => (slot === 'blue' ? 'green' : 'blue');

export const slotUnit = (layout: Layout, process: string, slot: Slot) => `${layout.unitPrefix}-${process}@${slot}.service`;
export const drainUnit = (layout: Layout, slot: Slot) => `${layout.unitPrefix}-drain-${slot}`;

/** A command that listens on the socket slipway names it: `$SLIPWAY_SOCKET` or `${SLIPWAY_SOCKET}`. */
export const listensOnSocket = (command: string | undefined) => /\$\{?SLIPWAY_SOCKET\b/.test(command ?? '');
/** Whether the web process takes a TCP port: any command that does not listen on its socket alone (`$PORT` unnamed). */
export const listensOnPort = (command: string | undefined) => !listensOnSocket(command) || /\$\{?PORT\b/.test(command ?? '');

/** The link nginx proxies to (http.switch socket), and the socket each slot's web process listens on. */
export const socketLink = (layout: Pick<Layout, 'sockets'>, process: string) => `${layout.sockets}/${process}.sock`;
const slotSocketName = (process: string, slot: Slot) => `${process}-${slot}.sock`;
export const slotSocket = (layout: Pick<Layout, 'sockets'>, process: string, slot: Slot) => `${layout.sockets}/${slotSocketName(process, slot)}`;

/**
 * The sockets' directory: the app user creates its sockets there and nginx (group www-data) may reach them; no
 * one else may (gunicorn and uvicorn make the socket itself writable by all: the directory is the gate). Without
 * nginx on the server, the app's own group.
 */
export function socketDirectory(layout: Pick<Layout, 'sockets' | 'appUser'>, nginx: boolean): Cmd {
  return cmd('install', '-d', '-o', layout.appUser, '-g', nginx ? 'www-data' : layout.appUser, '-m', '750', layout.sockets);
}

/**
 * Re-point the socket link at a slot's socket: one rename, so every connection nginx opens from then on reaches
 * that slot, and none is refused in between. Requests already in flight finish on the slot they reached.
 */
export function pointSocket(layout: Pick<Layout, 'sockets'>, process: string, slot: Slot): Cmd[] {
  const link = socketLink(layout, process);
  // Relative: the link stays right if the app's directory moves.
  return [cmd('ln', '-sfn', slotSocketName(process, slot), `${link}.slipway-new`), cmd('mv', '-T', `${link}.slipway-new`, link)];
}

export function sitePaths(layout: Layout, certificate?: SitePaths['certificate']): SitePaths {
  return {
    site: `/etc/nginx/sites-available/${layout.unitPrefix}.conf`,
    enabled: `/etc/nginx/sites-enabled/${layout.unitPrefix}.conf`,
    upstream: `/etc/nginx/slipway/${layout.unitPrefix}.upstream.conf`,
    acmeRoot: '/var/www/slipway-acme',
    ...(certificate ? { certificate } : {}),
  };
}

/** An nginx master slipway reloads: the system's, or a load balancer's balancing tier (render/balancer.ts). */
export interface NginxInstance {
  unit: string;
  /** Checks the whole configuration that instance would load. */
  test: readonly string[];
  pidFile: string;
}

export const SYSTEM_NGINX: NginxInstance = { unit: 'nginx', test: ['nginx', '-t', '-q'], pidFile: '/run/nginx.pid' };

/**
 * Reload nginx only if its whole configuration passes `nginx -t`; otherwise put the previous files back.
 * `ownSocket` (`10.0.1.11:80`): a socket the new configuration listens on with no wildcard of that port beside it.
 * A reload cannot bind it while the running configuration holds the port's wildcard (Debian's stock site, the
 * public site before): nginx only logs the bind error and keeps serving the old configuration, and the reload
 * still succeeds. So nginx restarts until it holds that socket itself.
 */
export function checkAndReload(restore: Cmd[], ownSocket?: string, ownSite?: string, nginx: NginxInstance = SYSTEM_NGINX): Cmd {
  const reload = cmd('systemctl', 'reload-or-restart', nginx.unit);
  // grep reads all of ss's output (no -q): an early exit could fail the pipeline with SIGPIPE.
  const apply: Cmd = ownSocket ? { if: { pipe: [cmd('ss', '-Hltn'), { argv: ['grep', '-F', ` ${ownSocket} `], quiet: true }] }, then: [reload], else: [cmd('systemctl', 'restart', 'nginx')] } : reload;
  return {
    if: { argv: [...nginx.test] },
    then: [workersBefore(nginx), apply, configurationApplied],
    else: [...restore, cmd('echo', 'nginx -t refused the new configuration: the previous one was restored and nginx keeps serving it'), ...(ownSite ? [otherDefaultSites(ownSite)] : []), cmd('false')],
  };
}

/**
 * nginx refuses a second `default_server` on a port naming only the file it read second: name the enabled sites
 * (those beside `ownSite`, the app's link in sites-enabled, not it) that claim it, and the fix.
 */
export function otherDefaultSites(ownSite: string): Snippet {
  const enabled = ownSite.slice(0, ownSite.lastIndexOf('/'));
  return {
    shell: [
      `slipway_others=$(grep -lE '^[^#]*listen[^;]*default_server' ${quote(enabled)}/* 2>/dev/null | grep -vxF ${quote(ownSite)} | tr '\\n' ' ' || true)`,
      `if [ -n "$slipway_others" ]; then echo "other enabled nginx sites claim default_server: $slipway_others(remove default_server from their listen lines, or disable them with rm; or set http.default_server: false)"; fi`,
    ].join('\n'),
  };
}

/**
 * The nginx master's children before a reload, in a shell variable of the script: what configurationApplied
 * and workersRetired (a switch's settle) wait on after it.
 */
const workersBefore = (nginx: NginxInstance): Snippet => ({ shell: `slipway_nginx_workers=$(pgrep -P "$(cat ${quote(nginx.pidFile)} 2>/dev/null)" 2>/dev/null || true)` });

/**
 * `systemctl reload nginx` returns once nginx got the signal, before the master has read the new configuration:
 * a request right after it could still get the old site (a first deploy's page answered by Debian's stock site).
 * Each old worker stops taking connections when it starts shutting down (its title says so) or has exited: wait
 * for that, bounded (a master that cannot apply the configuration keeps its workers: a warning, not a hang).
 */
const configurationApplied: Snippet = {
  shell: [
    '( n=0; while [ "$n" -lt 250 ]; do busy=; for p in $slipway_nginx_workers; do t=$(tr -d \'\\0\' < "/proc/$p/cmdline" 2>/dev/null) || continue; case "$t" in *"shutting down"*) ;; *) busy=1 ;; esac; done',
    '  [ -z "$busy" ] && break; sleep 0.02; n=$((n + 1)); done',
    '  [ -z "$busy" ] || echo "warning: nginx still runs workers of its previous configuration 5s after the reload" )',
  ].join('\n'),
};

/**
 * Install a changed site: keep the old file, write the new one, check, reload, or restore the old one.
 * `dropStock`: remove Debian's stock site (it claims default_server, which nginx refuses twice).
 */
export function installSite(paths: SitePaths, text: string, upstream: string | undefined, dropStock: boolean, ownSocket?: string): Cmd[] {
  return [
    cmd('mkdir', '-p', paths.acmeRoot, paths.upstream.slice(0, paths.upstream.lastIndexOf('/'))),
    ...(upstream ? writeFile({ path: paths.upstream, text: upstream }) : []),
    keepPrevious(paths.site),
    ...(dropStock ? [cmd('rm', '-f', '/etc/nginx/sites-enabled/default')] : []),
    ...writeFile({ path: paths.site, text }),
    cmd('ln', '-sfn', paths.site, paths.enabled),
    checkAndReload([restorePrevious(paths.site, paths.enabled)], ownSocket, paths.enabled),
  ];
}

export function selfSignedCertificate(cert: { fullchain: string; key: string }, names: string[]): Cmd {
  const dir = cert.key.slice(0, cert.key.lastIndexOf('/'));
  const san = names.map((n) => `DNS:${n}`).join(',');
  return unless({ argv: ['test', '-s', cert.fullchain] }, {
    if: cmd('install', '-d', '-m', '700', dir),
    then: [cmd('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '825', '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`, '-keyout', cert.key, '-out', cert.fullchain)],
    else: [cmd('false')],
  });
}

export interface AcmeRequest {
  names: string[];
  server: string;
  email?: string;
  caBundle?: string;
  webroot: string;
}

/** certbot through the webroot nginx already serves; renewals run from certbot's timer and reload nginx. */
export function letsencryptCertificate(req: AcmeRequest): Cmd[] {
  return [
    {
      argv: [
        'certbot', 'certonly', '--webroot', '-w', req.webroot, '--non-interactive', '--agree-tos', '--keep-until-expiring',
        ...(req.email ? ['-m', req.email] : ['--register-unsafely-without-email']),
        '--server', req.server,
        '--cert-name', req.names[0]!,
        '--deploy-hook', 'systemctl reload nginx',
        ...req.names.flatMap((n) => ['-d', n]),
      ],
      ...(req.caBundle ? { env: { REQUESTS_CA_BUNDLE: req.caBundle } } : {}),
    },
    unless({ argv: ['systemctl', 'enable', '--now', '--quiet', 'certbot.timer'], quiet: true }, cmd('echo', 'warning: certbot.timer could not be enabled: renew certificates with `certbot renew`')),
  ];
}

/** Start a slot on a release: cancel its pending drain, point it at the release, (re)start it. */
export function startSlot(layout: Layout, process: string, slot: Slot, release: string): Cmd[] {
  const link = `${layout.slots}/${slot}`;
  return [
    ...cancelDrain(layout, slot),
    cmd('mkdir', '-p', layout.slots),
    cmd('ln', '-sfn', release, `${link}.slipway-new`),
    cmd('mv', '-T', `${link}.slipway-new`, link),
    ...managerOf(layout).restartSlot(slotUnit(layout, process, slot)),
  ];
}

export const cancelDrain = (layout: Layout, slot: Slot, manager: ProcessManager = managerOf(layout)): Cmd[] => manager.cancelLater(drainUnit(layout, slot));

/**
 * Point nginx's upstream elsewhere: the previous file comes back if nginx refuses the new one. An upstream that
 * already says this (a recovery before traffic moved) is left alone: a reload would only make clients reconnect.
 */
export function rewriteUpstream(paths: Pick<SitePaths, 'upstream'>, upstream: string, settle?: { seconds: number }, nginx: NginxInstance = SYSTEM_NGINX): Cmd[] {
  const backup = previousOf(paths.upstream);
  return [
    {
      if: { argv: ['cmp', '-s', '-', paths.upstream], stdin: { text: upstream } },
      then: [cmd('echo', 'nginx already sends traffic there')],
      else: [
        { if: { argv: ['test', '-f', paths.upstream] }, then: [cmd('cp', '-p', paths.upstream, backup)], else: [] },
        ...writeFile({ path: paths.upstream, text: upstream }),
        checkAndReload([{ either: cmd('mv', '-f', backup, paths.upstream), orElse: cmd('true') }], undefined, undefined, nginx),
        // Reloaded: the backup has served its purpose (left behind, it is an orphan of every switch).
        cmd('rm', '-f', backup),
        ...(settle ? [workersRetired(settle.seconds)] : []),
      ],
    },
  ];
}

/**
 * A reload returns once nginx got the signal; the workers that ran the old configuration (checkAndReload noted
 * them) go on with requests they already had. Once every one of them has exited, no request the old
 * configuration routed is in flight. Bounded (a request may take up to proxy_read_timeout): past it, a warning and the deploy goes on.
 */
function workersRetired(seconds: number): Snippet {
  return {
    shell: [
      `( n=0; while [ "$n" -lt ${seconds * 10} ]; do alive=; for p in $slipway_nginx_workers; do [ -d "/proc/$p" ] && alive=1; done; [ -z "$alive" ] && break; sleep 0.1; n=$((n + 1)); done`,
      `  [ -z "$alive" ] || echo "warning: nginx workers of the previous configuration still run after ${seconds}s" )`,
    ].join('\n'),
  };
}

/**
 * Send traffic to a slot, and have it start at boot from now on. Through the socket link, the rename moves the
 * traffic and the upstream stays as it is (written once: no reload); to a port, the upstream is rewritten and
 * nginx reloaded gracefully.
 */
export function routeTo(layout: Layout, paths: SitePaths, process: string, slot: Slot, upstream: string, viaSocket: boolean, manager: ProcessManager = managerOf(layout)): Cmd[] {
  return [
    ...(viaSocket ? pointSocket(layout, process, slot) : []),
    ...rewriteUpstream(paths, upstream),
    { argv: ['printf', '%s\\n', slot], stdoutTo: layout.liveSlotFile },
    ...manager.bootSlot(slotUnit(layout, process, slot), slotUnit(layout, process, otherSlot(slot))),
  ];
}

/** Stop the old slot once in-flight requests had time to finish, without keeping the deploy waiting. */
export function drainSlot(layout: Layout, process: string, slot: Slot, seconds: number, manager: ProcessManager = managerOf(layout), forget = false): Cmd[] {
  const unit = slotUnit(layout, process, slot);
  if (seconds === 0) return [...manager.stop([unit]), ...(forget ? manager.removeFiles([unit]) : [])];
  return [...cancelDrain(layout, slot, manager), ...manager.stopLater(drainUnit(layout, slot), seconds, unit, forget)];
}

/**
 * For a switch back: the slot that served before is running and answering (started again if its drain already
 * stopped it: the unit still points at its release). The condition under which traffic may go back to it.
 */
export function slotAnswers(layout: Layout, process: string, slot: Slot, probe: Snippet, manager: ProcessManager = managerOf(layout)): Snippet {
  return { shell: `{ ${manager.startShell(slotUnit(layout, process, slot))} && {\n${probe.shell}\n}; }` };
}
