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
}

/** nginx names allow letters, digits and _: other characters become _<hex>, so distinct prefixes stay distinct. */
const variable = (prefix: string) => prefix.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);

export function renderUpstream(prefix: string, port: number): string {
  return [
    '# Written by slipway on every switch: the slot that serves traffic.',
    `upstream ${variable(prefix)}_app {`,
    `    server 127.0.0.1:${port};`,
    '    keepalive 16;',
    '}',
    '',
  ].join('\n');
}

function appLocations(input: SiteInput, tls: boolean): string[] {
  const v = variable(input.prefix);
  const lines = [
    `    client_max_body_size ${input.http.client_max_body_size};`,
    '    add_header X-Content-Type-Options nosniff always;',
    `    add_header X-Frame-Options ${input.http.frame_options} always;`,
    '    add_header Referrer-Policy strict-origin-when-cross-origin always;',
    ...(tls ? ['    add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'] : []),
    '',
  ];
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
    '        proxy_set_header X-Forwarded-Proto $scheme;',
    '        proxy_set_header Upgrade $http_upgrade;',
    `        proxy_set_header Connection $${v}_connection;`,
    '        proxy_connect_timeout 5s;',
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
  const tls = http.tls !== 'none' && !input.httpOnly && paths.certificate !== undefined;
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
    'server {',
    `    listen 80${defaultServer};`,
    `    listen [::]:80${defaultServer};`,
    `    server_name ${names};`,
    '',
    '    location /.well-known/acme-challenge/ {',
    `        root ${paths.acmeRoot};`,
    '    }',
    '',
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
