// The nginx site of an app, as pure text: the upstream (rewritten on every switch) and the site itself.
import type { Config } from '../config/types.js';

export interface SitePaths {
  /** /etc/nginx/sites-available/<prefix>.conf */
  site: string;
  /** /etc/nginx/sites-enabled/<prefix>.conf */
  enabled: string;
  /** /etc/nginx/slipway/<prefix>.upstream.conf: the one line a switch changes. */
  upstream: string;
  /** Where certbot's HTTP-01 challenges are served from. */
  acmeRoot: string;
  certificate?: { fullchain: string; key: string };
}

export interface SiteInput {
  http: Pick<Config['http'], 'domain' | 'aliases' | 'default_server' | 'tls' | 'client_max_body_size' | 'proxy_read_timeout' | 'frame_options'>;
  /** The app's unit prefix, also used (encoded) in nginx names. */
  prefix: string;
  paths: SitePaths;
  /** Absolute directory served at /static/ (through `current`), if any. */
  staticDir?: string;
  /** Absolute directory served at /media/, if any. */
  mediaDir?: string;
  /** Only the HTTP part, for a first certificate request (the certificate files do not exist yet). */
  httpOnly?: boolean;
  /** Where the site stands: the public site (default), a load balancer over web servers, or a web server behind one. */
  place?: SitePlace;
}

/**
 * `public`: the one site clients reach. `balancer`: the public site, proxying everything (static files too) to
 * the load balancer's balancing tier (render/balancer.ts), which balances over the web servers' private sites. `behind`: a web server's site, on its private address only, for the load
 * balancers alone, trusting their headers for the client's address and scheme.
 */
export type SitePlace = { kind: 'public' } | { kind: 'balancer' } | { kind: 'behind'; listen: string; balancers: readonly string[] };

/** nginx names allow letters, digits and _: other characters become _<hex>, so distinct prefixes stay distinct. */
export const variable = (prefix: string) => prefix.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);

/** Where a web server's nginx sends the app's traffic: the web process's TCP port, or its Unix socket link. */
export type UpstreamTarget = { port: number } | { socket: string };

/**
 * The app's upstream. To a port: rewritten (and nginx reloaded) on every blue/green switch. To the socket link:
 * the same text for good, since a switch re-points the link; no keep-alive, so each request connects anew and
 * follows the link at once (a connect over a Unix socket costs microseconds), and none stays pinned to a
 * draining slot.
 */
export function renderUpstream(prefix: string, target: UpstreamTarget): string {
  if ('socket' in target) {
    return ['# Written by slipway: the web process\'s socket link, which a switch re-points (no reload).', `upstream ${variable(prefix)}_app {`, `    server unix:${target.socket};`, '}', ''].join('\n');
  }
  return [
    '# Written by slipway on every switch: the slot that serves traffic.',
    `upstream ${variable(prefix)}_app {`,
    `    server 127.0.0.1:${target.port};`,
    '    keepalive 16;',
    '}',
    '',
  ].join('\n');
}

/**
 * Who may reach a web server's private site: the load balancers and the server itself, told apart by the
 * connection's own address (`$realip_remote_addr`: `$remote_addr` is already the client's, from the header).
 */
function balancerGeo(v: string, place: Extract<SitePlace, { kind: 'behind' }>): string[] {
  return ['# Only the load balancers (and this server itself) reach this site.', `geo $realip_remote_addr $${v}_balancer {`, '    default 0;', '    127.0.0.1 1;', ...place.balancers.map((address) => `    ${address} 1;`), '}', ''];
}

/** A web server behind load balancers takes the client's address and scheme from their headers, and no one else's. */
function behindLines(v: string, place: Extract<SitePlace, { kind: 'behind' }>): string[] {
  return [
    `    if ($${v}_balancer = 0) {`,
    '        return 403;',
    '    }',
    ...place.balancers.map((address) => `    set_real_ip_from ${address};`),
    '    real_ip_header X-Forwarded-For;',
    '    real_ip_recursive on;',
    '',
  ];
}

function appLocations(input: SiteInput, tls: boolean): string[] {
  const v = variable(input.prefix);
  const place = input.place ?? { kind: 'public' };
  // Behind a load balancer the scheme is the one the client used there, not this hop's http.
  const scheme = place.kind === 'behind' ? '$http_x_forwarded_proto' : '$scheme';
  const lines = [
    `    client_max_body_size ${input.http.client_max_body_size};`,
    '    add_header X-Content-Type-Options nosniff always;',
    `    add_header X-Frame-Options ${input.http.frame_options} always;`,
    '    add_header Referrer-Policy strict-origin-when-cross-origin always;',
    ...(tls ? ['    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'] : []),
    '',
  ];
  if (place.kind === 'behind') lines.push(...behindLines(v, place));
  // `expires` (not add_header) in these locations, so the server-level security headers still apply.
  if (input.staticDir) lines.push('    location /static/ {', `        alias ${input.staticDir}/;`, '        expires 30d;', '        access_log off;', '    }', '');
  if (input.mediaDir) lines.push('    location /media/ {', `        alias ${input.mediaDir}/;`, '        expires 7d;', '    }', '');
  lines.push(
    '    location / {',
    `        proxy_pass http://${v}_app;`,
    '        proxy_http_version 1.1;',
    '        proxy_set_header Host $host;',
    '        proxy_set_header X-Real-IP $remote_addr;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    `        proxy_set_header X-Forwarded-Proto ${scheme};`,
    '        proxy_set_header Upgrade $http_upgrade;',
    `        proxy_set_header Connection $${v}_connection;`,
    '        proxy_connect_timeout 5s;',
    // On a load balancer the one upstream is the balancing tier, which tries the next web server itself.
    ...(place.kind === 'balancer' ? ['        proxy_next_upstream off;'] : []),
    // The security headers come from the site (http.frame_options...), once, not twice.
    '        proxy_hide_header X-Frame-Options;',
    '        proxy_hide_header X-Content-Type-Options;',
    '        proxy_hide_header Referrer-Policy;',
    '        proxy_hide_header Strict-Transport-Security;',
    `        proxy_read_timeout ${input.http.proxy_read_timeout}s;`,
    '    }',
  );
  return lines;
}

export function renderSite(input: SiteInput): string {
  const { http, paths } = input;
  const v = variable(input.prefix);
  const names = [http.domain ?? '_', ...http.aliases].join(' ');
  const defaultServer = http.default_server ? ' default_server' : '';
  const place = input.place ?? { kind: 'public' };
  const behind = place.kind === 'behind';
  // Behind a load balancer: the private address only, plain HTTP (TLS ends at the balancer), no ACME challenge.
  const tls = !behind && http.tls !== 'none' && !input.httpOnly && paths.certificate !== undefined;
  const listen = place.kind === 'behind' ? [`    listen ${place.listen.includes(':') ? `[${place.listen}]` : place.listen}:80;`] : [`    listen 80${defaultServer};`, `    listen [::]:80${defaultServer};`];
  const acme = behind ? [] : ['    location /.well-known/acme-challenge/ {', `        root ${paths.acmeRoot};`, '    }', ''];
  const lines = [
    '# Written by slipway: changes here are replaced on the next deploy.',
    `include ${paths.upstream};`,
    '',
    '# WebSocket upgrades pass through; other requests keep the upstream connection alive.',
    `map $http_upgrade $${v}_connection {`,
    '    default upgrade;',
    "    ''      '';",
    '}',
    '',
    ...(place.kind === 'behind' ? balancerGeo(v, place) : []),
    'server {',
    ...listen,
    `    server_name ${names};`,
    '',
    ...acme,
  ];
  if (tls) {
    lines.push('    location / {', '        return 301 https://$host$request_uri;', '    }', '}', '');
    lines.push(
      'server {',
      `    listen 443 ssl http2${defaultServer};`,
      `    listen [::]:443 ssl http2${defaultServer};`,
      `    server_name ${names};`,
      `    ssl_certificate ${paths.certificate!.fullchain};`,
      `    ssl_certificate_key ${paths.certificate!.key};`,
      '    ssl_protocols TLSv1.2 TLSv1.3;',
      '    ssl_session_cache shared:SSL:10m;',
      '',
      ...appLocations(input, true),
      '}',
      '',
    );
  } else {
    lines.push(...appLocations(input, false), '}', '');
  }
  return lines.join('\n');
}
