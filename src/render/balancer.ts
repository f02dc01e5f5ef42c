// A load balancer's nginx, as pure text. It runs in two tiers: the system nginx holds the public site (TLS, the
// clients' connections) and proxies to a second nginx, slipway-balancer, over a Unix socket; that one balances
// over the web servers. Taking a web server out of rotation (or adding one) rewrites the balancing tier's upstream
// and reloads that nginx alone: a reload closes its workers' idle connections, and the only connections it has
// are the public tier's, one per request, none idle. The clients' keep-alive connections are never closed by a
// deploy, so a client that never retries sees no reset (one reload of the public nginx closed 2-3 of them).
import type { Config } from '../config/types.js';
import { variable } from './nginx.js';

/** Where the balancing tier lives on a load balancer; one nginx for every app the server balances. */
export interface BalancerTierPaths {
  /** The tier's own nginx.conf. */
  main: string;
  /** Its systemd unit. */
  unit: string;
  /** The app's server block (the socket it listens on, how it proxies). */
  site: string;
  /** The app's upstream: the web servers in rotation, rewritten by each deploy and each rolling restart. */
  upstream: string;
  /** The Unix socket the public site proxies to. */
  socket: string;
}

export const BALANCER_UNIT = 'slipway-balancer.service';
export const BALANCER_PID_FILE = '/run/slipway-balancer.pid';
const BALANCER_DIR = '/etc/slipway/balancer';
/** The tier's own nginx.conf: what its master loads and `nginx -t -c` checks. */
export const BALANCER_MAIN = `${BALANCER_DIR}/nginx.conf`;
/** The tier's sockets: root's, entered by the public nginx's workers (group www-data) alone. */
export const BALANCER_SOCKET_DIR = '/run/slipway-balancer';

export function balancerTierPaths(prefix: string): BalancerTierPaths {
  return {
    main: BALANCER_MAIN,
    unit: `/etc/systemd/system/${BALANCER_UNIT}`,
    site: `${BALANCER_DIR}/sites/${prefix}.conf`,
    upstream: `${BALANCER_DIR}/${prefix}.upstream.conf`,
    socket: `${BALANCER_SOCKET_DIR}/${prefix}.sock`,
  };
}

/** One server of a load balancer's upstream: a web server's private site. */
export interface BalancedServer {
  address: string;
  port: number;
  /** Taken out of rotation (its restart is under way): nginx sends it nothing. */
  down?: boolean;
}

/** Passive health on the load balancer: a server failing this often is left alone for this long. */
export const PASSIVE_HEALTH = { maxFails: 3, failTimeoutSeconds: 10 };

/** A bracketed IPv6 literal, as nginx's `server` wants an address with a port. */
const hostPort = (address: string, port: number) => `${address.includes(':') ? `[${address}]` : address}:${port}`;

/** The first line of a load balancer's upstream: what tells it from a web server's own (its slot on 127.0.0.1). */
export const BALANCER_HEADER = '# Written by slipway on every deploy: the web servers this load balancer sends traffic to.';

/**
 * The balancing tier's upstream: every web server in rotation, in config order. No keep-alive to the web
 * servers: each switch reloads a web server's nginx, which closes its idle connections, and nginx counts a request
 * that meets one as a failure of that server; with every server switching at once, max_fails took all of them out
 * together (hundreds of 502s per deploy in a trial). A new connection over the private network costs well under a
 * millisecond.
 */
export function renderBalancerUpstream(prefix: string, servers: readonly BalancedServer[]): string {
  const health = `max_fails=${PASSIVE_HEALTH.maxFails} fail_timeout=${PASSIVE_HEALTH.failTimeoutSeconds}s`;
  return [
    BALANCER_HEADER,
    `upstream ${variable(prefix)}_app {`,
    ...servers.map((s) => `    server ${hostPort(s.address, s.port)} ${health}${s.down ? ' down' : ''};`),
    '}',
    '',
  ].join('\n');
}

/** The servers a balancer upstream names, from its text (the load balancer's facts). */
export function parseBalancerUpstream(text: string): BalancedServer[] {
  const servers: BalancedServer[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*server\s+(\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d{1,5})\b[^;]*?(\sdown)?;\s*$/.exec(line);
    if (m) servers.push({ address: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]), ...(m[3] ? { down: true } : {}) });
  }
  return servers;
}

/**
 * The public site's upstream on a load balancer: the balancing tier's socket, for good. No keep-alive: each
 * request connects anew (microseconds over a Unix socket), so no connection sits idle for a reload of the tier to
 * close under a request.
 */
export function renderPublicUpstream(prefix: string, paths: Pick<BalancerTierPaths, 'socket'>): string {
  return ['# Written by slipway: the load balancer\'s balancing tier (slipway-balancer), which balances over the web servers.', `upstream ${variable(prefix)}_app {`, `    server unix:${paths.socket};`, '}', ''].join('\n');
}

/**
 * The tier's nginx.conf: its own master (pid file, workers), errors to the journal (`journalctl -t
 * slipway-balancer`), no access log (the public site logs each request once), and every app's server block.
 */
export function renderBalancerMain(): string {
  return [
    '# Written by slipway: the balancing tier of this load balancer (see the public sites in /etc/nginx).',
    'user www-data;',
    'worker_processes auto;',
    // A service's open-file limit is 1024: raised for the workers, each of whose requests holds two connections.
    'worker_rlimit_nofile 8192;',
    `pid ${BALANCER_PID_FILE};`,
    'error_log syslog:server=unix:/dev/log,tag=slipway_balancer warn;',
    '',
    'events {',
    '    worker_connections 4096;',
    '}',
    '',
    'http {',
    '    access_log off;',
    '    server_tokens off;',
    // The public tier opens one connection per request: none stays open for a reload to close.
    '    keepalive_timeout 0;',
    `    include ${BALANCER_DIR}/sites/*.conf;`,
    '}',
    '',
  ].join('\n');
}

/**
 * The app's server block in the tier: on the socket the public site proxies to, passing the public tier's headers
 * on unchanged (the client's address and scheme, the host asked for), with passive health and retries over the
 * web servers. Responses stream through: the public tier already buffers them.
 */
export function renderBalancerSite(prefix: string, http: Pick<Config['http'], 'client_max_body_size' | 'proxy_read_timeout'>, paths: Pick<BalancerTierPaths, 'socket' | 'upstream'>): string {
  const v = variable(prefix);
  return [
    '# Written by slipway: changes here are replaced on the next deploy.',
    `include ${paths.upstream};`,
    '',
    `map $http_upgrade $${v}_connection {`,
    '    default upgrade;',
    "    ''      '';",
    '}',
    '',
    'server {',
    `    listen unix:${paths.socket};`,
    `    client_max_body_size ${http.client_max_body_size};`,
    '',
    '    location / {',
    `        proxy_pass http://${v}_app;`,
    '        proxy_http_version 1.1;',
    '        proxy_set_header Host $host;',
    '        proxy_set_header X-Real-IP $http_x_real_ip;',
    '        proxy_set_header X-Forwarded-For $http_x_forwarded_for;',
    '        proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;',
    '        proxy_set_header Upgrade $http_upgrade;',
    `        proxy_set_header Connection $${v}_connection;`,
    '        proxy_connect_timeout 5s;',
    // A web server that fails or is restarting: idempotent requests go to the next one (POSTs never twice).
    '        proxy_next_upstream error timeout http_502 http_503 http_504;',
    '        proxy_next_upstream_tries 3;',
    '        proxy_buffering off;',
    `        proxy_read_timeout ${http.proxy_read_timeout}s;`,
    '    }',
    '}',
    '',
  ].join('\n');
}

/**
 * The tier's unit. Forking, as Debian's nginx unit: `start` returns once the master holds its sockets, so the
 * public site never proxies to a socket not yet listening. A socket left by a master that was killed would stop
 * the next one binding it: the directory starts empty. Stopped gracefully (QUIT): in-flight requests finish.
 * Started before nginx at boot, so the public site's first request finds it.
 */
export function renderBalancerUnit(): string {
  const nginx = `/usr/sbin/nginx -c ${BALANCER_MAIN}`;
  return [
    '# Written by slipway: the balancing tier of this load balancer.',
    '[Unit]',
    'Description=slipway load balancer: nginx balancing over the web servers',
    'After=network-online.target',
    'Wants=network-online.target',
    'Before=nginx.service',
    '',
    '[Service]',
    'Type=forking',
    `PIDFile=${BALANCER_PID_FILE}`,
    `ExecStartPre=/bin/rm -rf ${BALANCER_SOCKET_DIR}`,
    `ExecStartPre=/usr/bin/install -d -o root -g www-data -m 750 ${BALANCER_SOCKET_DIR}`,
    `ExecStartPre=${nginx} -t -q`,
    `ExecStart=${nginx}`,
    `ExecReload=${nginx} -t -q`,
    `ExecReload=${nginx} -s reload`,
    'KillSignal=SIGQUIT',
    'KillMode=mixed',
    'TimeoutStopSec=5',
    'Restart=on-failure',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
