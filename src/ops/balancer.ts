// Builders for a load balancer's balancing tier (render/balancer.ts): its files, its nginx, what it balances over.
import { cmd, unless, type Cmd, type Snippet } from './command.js';
import { keepPrevious, previousOf, restorePrevious, writeFile } from './files.js';
import { quote } from './shell.js';
import { checkAndReload, type NginxInstance } from './web.js';
import { BALANCER_MAIN, BALANCER_PID_FILE, BALANCER_SOCKET_DIR, BALANCER_UNIT, type BalancerTierPaths } from '../render/balancer.js';

export const BALANCER_NGINX: NginxInstance = { unit: BALANCER_UNIT, test: ['nginx', '-t', '-q', '-c', BALANCER_MAIN], pidFile: BALANCER_PID_FILE };

export interface TierFile {
  path: string;
  text: string;
}

/**
 * Install the tier's files that changed (`changed`: its nginx.conf, unit, the app's server block; `upstream`: the
 * first upstream, when it has none), then check its whole configuration and reload it (started if it is not
 * running); a configuration nginx refuses puts every previous file back. Nothing changed: only started if it is
 * not running (the public site would answer 502 without it).
 */
export function installBalancerTier(paths: BalancerTierPaths, changed: readonly TierFile[], upstream: string | undefined): Cmd[] {
  const start = unless(cmd('systemctl', 'is-active', '--quiet', BALANCER_UNIT), cmd('systemctl', 'start', BALANCER_UNIT));
  const files = [...changed, ...(upstream === undefined ? [] : [{ path: paths.upstream, text: upstream }])];
  if (files.length === 0) return [start];
  const unitChanged = changed.some((f) => f.path === paths.unit);
  return [
    cmd('mkdir', '-p', ...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf('/'))))),
    ...files.flatMap((f) => [keepPrevious(f.path), ...writeFile(f)]),
    ...(unitChanged ? [cmd('systemctl', 'daemon-reload'), cmd('systemctl', 'enable', '--quiet', BALANCER_UNIT)] : []),
    // `nginx -t` binds the socket to try it: its directory must exist before the tier's first start makes it.
    cmd('install', '-d', '-o', 'root', '-g', 'www-data', '-m', '750', BALANCER_SOCKET_DIR),
    checkAndReload(files.map((f) => restorePrevious(f.path)), undefined, undefined, BALANCER_NGINX),
    cmd('rm', '-f', ...files.map((f) => previousOf(f.path))),
  ];
}

/** Separates the sections of balancerStateProbe's output. */
export const BALANCER_STATE_MARK = { public: '--slipway: the public site\'s upstream--', files: '--slipway: the tier\'s files--' };

/**
 * A load balancer's state, in three sections: the tier's upstream (at most 64 KiB; empty without one), the public
 * site's upstream (the balancing tier's socket, or on a load balancer from before the tier, the web servers), and
 * the sha256 of each of the tier's files that exists.
 */
export function balancerStateProbe(tier: BalancerTierPaths, publicUpstream: string): Snippet {
  return {
    shell: [
      `head -c 65536 ${quote(tier.upstream)} 2>/dev/null; echo; echo ${quote(BALANCER_STATE_MARK.public)}`,
      `head -c 65536 ${quote(publicUpstream)} 2>/dev/null; echo; echo ${quote(BALANCER_STATE_MARK.files)}`,
      `for f in ${[tier.main, tier.unit, tier.site].map(quote).join(' ')}; do [ -f "$f" ] && sha256sum "$f"; done; true`,
    ].join('\n'),
  };
}
