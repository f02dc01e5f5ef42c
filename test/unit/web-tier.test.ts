import { describe, expect, it } from 'vitest';
import { renderSite, renderUpstream } from '../../src/render/nginx.js';
import { blueGreenSteps, siteSteps, slotsOf, webTierFor, type WebTier } from '../../src/plan/web.js';
import { rewriteUpstream, sitePaths } from '../../src/ops/web.js';
import { renderCmd } from '../../src/ops/shell.js';
import { layoutFor } from '../../src/plan/layout.js';
import { parseFacts, type HostFacts } from '../../src/plan/facts.js';
import { sha256 } from '../../src/ops/services.js';
import type { Config } from '../../src/config/types.js';
import type { Step } from '../../src/ops/command.js';

const layout = layoutFor({ project: { name: 'shop' }, environment: 'prod', per_branch: false, base_path: '/opt' } as Config, 'main');

const http = (over: Partial<Config['http']> = {}): Config['http'] => ({
  domain: 'shop.example.com',
  aliases: ['www.shop.example.com'],
  default_server: false,
  tls: 'none',
  acme_server: 'https://acme.test/dir',
  strategy: 'blue-green',
  switch: 'auto',
  drain_seconds: 30,
  client_max_body_size: '10m',
  proxy_read_timeout: 60,
  frame_options: 'DENY',
  ...over,
});

const web = { web: { command: 'python -m gunicorn shop.wsgi', port: 8000, roles: ['web'] } };
const health = { process: 'web', expected_status: 200, timeout: 5, retries: 10 };
const text = (steps: Step[]) => steps.map((s) => `## ${s.id}\n${s.commands.map((c) => renderCmd(c)).join('\n')}`).join('\n');

describe('the nginx site', () => {
  it('writes an upstream the switch rewrites', () => {
    expect(renderUpstream('shop', { port: 8001 })).toBe(
      '# Written by slipway on every switch: the slot that serves traffic.\nupstream shop_app {\n    server 127.0.0.1:8001;\n    keepalive 16;\n}\n',
    );
  });

  it('serves HTTP with the proxy, WebSocket upgrade, static and media files and security headers', () => {
    const site = renderSite({ http: http(), prefix: 'shop', paths: sitePaths(layout), staticDir: '/opt/shop/current/staticfiles', mediaDir: '/opt/shop/shared/media' });
    expect(site).toContain('include /etc/nginx/slipway/shop.upstream.conf;');
    expect(site).toContain('map $http_upgrade $shop_connection {');
    expect(site).toContain('    server_name shop.example.com www.shop.example.com;');
    expect(site).toContain('    location /static/ {\n        alias /opt/shop/current/staticfiles/;\n        expires 30d;');
    expect(site).toContain('    location /media/ {\n        alias /opt/shop/shared/media/;');
    expect(site).toContain('        proxy_pass http://shop_app;');
    expect(site).toContain('        proxy_set_header Upgrade $http_upgrade;\n        proxy_set_header Connection $shop_connection;');
    expect(site).toContain('    add_header X-Frame-Options DENY always;');
    expect(site).not.toContain('Strict-Transport-Security "');
    expect(site).not.toContain('listen 443');
  });

  it('redirects HTTP to HTTPS and adds HSTS when TLS is on, but keeps the ACME challenge on port 80', () => {
    const paths = sitePaths(layout, { fullchain: '/etc/letsencrypt/live/shop.example.com/fullchain.pem', key: '/etc/letsencrypt/live/shop.example.com/privkey.pem' });
    const site = renderSite({ http: http({ tls: 'letsencrypt', default_server: true }), prefix: 'shop', paths });
    expect(site).toContain('    listen 80 default_server;');
    expect(site).toContain('    location /.well-known/acme-challenge/ {\n        root /var/www/slipway-acme;\n    }');
    expect(site).toContain('        return 301 https://$host$request_uri;');
    expect(site).toContain('    listen 443 ssl http2 default_server;');
    expect(site).toContain('    ssl_certificate /etc/letsencrypt/live/shop.example.com/fullchain.pem;');
    expect(site).toContain('Strict-Transport-Security "max-age=31536000; includeSubDomains" always;');
    const first = renderSite({ http: http({ tls: 'letsencrypt' }), prefix: 'shop', paths, httpOnly: true });
    expect(first).not.toContain('listen 443');
    expect(first).not.toContain('return 301');
  });
});

describe('the web tier', () => {
  it('is off without a domain, and needs a web process with a port', () => {
    expect(webTierFor({ http: http({ domain: undefined, aliases: [] }), health }, web, layout)).toBeUndefined();
    expect(() => webTierFor({ http: http(), health }, { web: { command: 'x', roles: ['web'] } }, layout)).toThrow(/needs a web process with a port/);
  });

  it('refuses a process on the second slot port', () => {
    expect(() => webTierFor({ http: http(), health }, { ...web, worker: { command: 'x', port: 8001, roles: ['web'] } }, layout)).toThrow(/processes.worker.port 8001/);
  });

  it('writes the site only when it changed', () => {
    const tier = webTierFor({ http: http(), health }, web, layout)!;
    const first = siteSteps({ tier, layout, facts: parseFacts(''), staticDir: 'staticfiles', mediaDir: undefined, upstream: { port: 8000 } });
    expect(first.map((s) => s.id)).toEqual(['site']);
    expect(text(first)).toContain("if nginx -t -q; then\nslipway_nginx_workers=$(pgrep -P \"$(cat /run/nginx.pid 2>/dev/null)\" 2>/dev/null || true)\nif ss -Hltn | grep -F ' 0.0.0.0:80 ' >/dev/null 2>&1; then\nsystemctl reload-or-restart nginx\nelse\nsystemctl restart nginx\nfi\n");
    // The step ends once nginx runs the new configuration: every old worker shutting down or gone.
    expect(text(first)).toContain('case "$t" in *"shutting down"*) ;; *) busy=1 ;; esac');
    const installed = renderSite({ http: http(), prefix: 'shop', paths: tier.paths, staticDir: '/opt/shop/current/staticfiles' });
    const facts = parseFacts(`file /etc/nginx/sites-available/shop.conf ${sha256(installed)}`);
    expect(siteSteps({ tier, layout, facts, staticDir: 'staticfiles', mediaDir: undefined, upstream: { port: 8000 } })).toEqual([]);
  });

  it('behind load balancers, restarts nginx until it holds its private address: a reload cannot take it from the stock site', () => {
    const tier = webTierFor({ http: http(), health }, web, layout, { kind: 'behind', listen: '10.9.0.3', balancers: ['10.9.0.2'] })!;
    const steps = siteSteps({ tier, layout, facts: parseFacts(''), staticDir: undefined, mediaDir: undefined, upstream: { port: 8000 } });
    expect(text(steps)).toContain("rm -f /etc/nginx/sites-enabled/default\n");
    expect(text(steps)).toContain("if nginx -t -q; then\nslipway_nginx_workers=$(pgrep -P \"$(cat /run/nginx.pid 2>/dev/null)\" 2>/dev/null || true)\nif ss -Hltn | grep -F ' 10.9.0.3:80 ' >/dev/null 2>&1; then\nsystemctl reload-or-restart nginx\nelse\nsystemctl restart nginx\nfi\n");
  });

  it('asks for a first certificate over HTTP before writing the TLS site', () => {
    const tier = webTierFor({ http: http({ tls: 'letsencrypt', acme_email: 'ops@example.com' }), health }, web, layout)!;
    const steps = siteSteps({ tier, layout, facts: parseFacts(''), staticDir: undefined, mediaDir: undefined, upstream: { port: 8000 } });
    expect(steps.map((s) => s.id)).toEqual(['site-http', 'certificate', 'site']);
    expect(text(steps)).toContain(
      "certbot certonly --webroot -w /var/www/slipway-acme --non-interactive --agree-tos --keep-until-expiring -m ops@example.com --server https://acme.test/dir --cert-name shop.example.com --deploy-hook 'systemctl reload nginx' -d shop.example.com -d www.shop.example.com",
    );
  });
});

describe('blue/green steps', () => {
  const tier: WebTier = webTierFor({ http: http({ drain_seconds: 30 }), health }, web, layout)!;
  const input = (facts: HostFacts, to = 'r2') => ({
    tier,
    layout,
    facts,
    to,
    from: 'r1',
    workers: ['shop-worker.service'],
    afterSwitch: [],
    health: { path: '/health/', expectedStatus: 200, timeoutSeconds: 5, retries: 3 },
    markBad: true,
  });

  it('starts the idle slot, checks it, routes to it, switches current, restarts workers, drains the old slot', () => {
    const facts = parseFacts(['slot blue r1 active', 'slot green - inactive', 'live blue'].join('\n'));
    expect(slotsOf(facts)).toEqual({ live: 'blue', idle: 'green' });
    const { steps, recovery } = blueGreenSteps(input(facts));
    expect(steps.map((s) => s.id)).toEqual(['slot', 'slot-health', 'route', 'switch', 'restart', 'drain']);
    const all = text(steps);
    expect(all).toContain("printf 'PORT=%s\\nSLIPWAY_SOCKET=%s\\n' 8001 /opt/shop/run/web-green.sock > /opt/shop/.slipway/slot-green.env");
    expect(all).toContain('ln -sfn /opt/shop/releases/r2 /opt/shop/slots/green.slipway-new\nmv -T /opt/shop/slots/green.slipway-new /opt/shop/slots/green');
    expect(all).toContain('systemctl restart shop-web@green.service');
    expect(all).toContain('http://127.0.0.1:8001/health/');
    expect(all).toContain('systemctl enable --no-reload --quiet shop-web@green.service');
    expect(all).toContain('systemd-run --quiet --unit=shop-drain-blue --on-active=30s --timer-property=AccuracySec=1s systemctl stop shop-web@blue.service');
    const back = text(recovery);
    expect(back).toContain('server 127.0.0.1:8000;');
    expect(back).toContain('systemctl stop shop-web@green.service');
    expect(back).toContain("printf '%s\\n' bad > /opt/shop/.slipway/releases/r2/status");
  });

  it('moves traffic back instantly to a slot that still runs the release, cancelling its pending drain', () => {
    const facts = parseFacts(['slot blue r1 active', 'slot green r2 active', 'live green'].join('\n'));
    const { steps, recovery } = blueGreenSteps({ ...input(facts, 'r1'), markBad: false });
    expect(steps.map((s) => s.id)).toEqual(['slot-health', 'route', 'switch', 'restart', 'drain']);
    expect(steps[1]!.title).toBe('Send traffic to the blue slot (still running: instant)');
    // The drain cancelled first, then the slot must answer before traffic goes to it: the drain may have fired
    // since the facts were read, and a slot it stopped is started again.
    expect(steps[0]!.title).toBe('Keep the blue slot, still running r1, and check it: http://127.0.0.1:8000/health/');
    expect(text([steps[0]!]).split('\n').slice(0, 4)).toEqual([
      '## slot-health',
      '{ systemctl stop shop-drain-blue.timer shop-drain-blue.service >/dev/null 2>&1 || true; }',
      '{ systemctl reset-failed shop-web@blue.service >/dev/null 2>&1; systemctl start shop-web@blue.service && {',
      "rc=0; status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:8000/health/) || rc=$?",
    ]);
    // A drain is armed under a name reset first (a failed one keeps it); cancelling one is a stop alone.
    expect(text([steps[4]!]).split('\n').slice(1)).toEqual([
      '{ systemctl stop shop-drain-green.timer shop-drain-green.service >/dev/null 2>&1 || true; }',
      '{ systemctl reset-failed shop-drain-green.timer shop-drain-green.service >/dev/null 2>&1 || true; }',
      'systemd-run --quiet --unit=shop-drain-green --on-active=30s --timer-property=AccuracySec=1s systemctl stop shop-web@green.service',
    ]);
    // Recovery never stops at once a slot it did not start: blue drains again, as it was going to.
    expect(text(recovery)).not.toMatch(/^systemctl stop shop-web@blue.service/m);
    expect(text(recovery)).toContain('systemd-run --quiet --unit=shop-drain-blue --on-active=30s --timer-property=AccuracySec=1s systemctl stop shop-web@blue.service');
  });

  it('switches back only to a slot that answers, after disarming its drain (started again if the drain stopped it)', () => {
    const facts = parseFacts(['slot blue r1 active', 'live blue'].join('\n'));
    const { recovery } = blueGreenSteps(input(facts));
    const lines = text(recovery).split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '## switch-back',
      '{ systemctl stop shop-drain-blue.timer shop-drain-blue.service >/dev/null 2>&1 || true; }',
      'if { systemctl reset-failed shop-web@blue.service >/dev/null 2>&1; systemctl start shop-web@blue.service && {',
      "rc=0; status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:8000/health/) || rc=$?",
    ]);
    const otherwise = lines.slice(lines.lastIndexOf('else'));
    expect(otherwise).toEqual(['else', "echo 'the blue slot does not answer: the green slot keeps running and nginx is left as it is'", "printf '%s\\n' bad > /opt/shop/.slipway/releases/r2/status", 'fi']);
    const then = lines.slice(0, lines.lastIndexOf('else')).join('\n');
    expect(then).toContain('systemctl stop shop-web@green.service');
    expect(then).toContain('ln -sfn /opt/shop/releases/r1');
  });

  it('through the socket link: the slot checked on its own socket, traffic moved by one rename, nginx left alone', () => {
    const socketWeb = { web: { command: 'python -m gunicorn shop.wsgi --bind unix:$SLIPWAY_SOCKET', port: 8000, roles: ['web'] } };
    const viaSocket = webTierFor({ http: http(), health }, socketWeb, layout)!;
    expect(viaSocket.socket).toBe('/opt/shop/run/web.sock');
    const facts = parseFacts(['slot blue r1 active', 'slot green - inactive', 'live blue'].join('\n'));
    const { steps, recovery } = blueGreenSteps({ ...input(facts), tier: viaSocket });
    expect(steps.find((s) => s.id === 'slot-health')!.title).toBe('Check the green slot: http://127.0.0.1:8001/health/ through /opt/shop/run/web-green.sock');
    const probe = text(steps.filter((s) => s.id === 'slot-health'));
    expect(probe).toContain("curl -s -o /dev/null -w '%{http_code}' --unix-socket /opt/shop/run/web-green.sock --max-time 5 http://127.0.0.1:8001/health/");
    // The listener of that socket must be the slot's own process.
    expect(probe).toContain("ss -Hxlp src /opt/shop/run/web-green.sock");
    const route = steps.find((s) => s.id === 'route')!;
    expect(route.title).toBe('Send traffic to the green slot (socket link, no reload)');
    const lines = text([route]).split('\n');
    // The rename comes first: it is what moves the traffic; the upstream already names the link (cmp: no reload).
    expect(lines.slice(1, 3)).toEqual(['ln -sfn web-green.sock /opt/shop/run/web.sock.slipway-new', 'mv -T /opt/shop/run/web.sock.slipway-new /opt/shop/run/web.sock']);
    expect(lines[3]).toBe("if cmp -s - /etc/nginx/slipway/shop.upstream.conf <<'SLIPWAY_EOF_0'; then");
    expect(text([route])).toContain('    server unix:/opt/shop/run/web.sock;');
    expect(text([route])).not.toContain('keepalive');
    // Back: the same rename to the old slot's socket.
    expect(text(recovery)).toContain('ln -sfn web-blue.sock /opt/shop/run/web.sock.slipway-new');
  });

  it('refuses http.switch socket for a web command that does not listen on $SLIPWAY_SOCKET, and picks the port otherwise', () => {
    expect(() => webTierFor({ http: http({ switch: 'socket' }), health }, web, layout)).toThrow(/http.switch socket: processes.web.command does not listen on \$SLIPWAY_SOCKET/);
    expect(webTierFor({ http: http(), health }, web, layout)!.socket).toBeUndefined();
    const socketWeb = { web: { command: 'uvicorn main:app --uds ${SLIPWAY_SOCKET}', port: 8000, roles: ['web'] } };
    expect(webTierFor({ http: http({ switch: 'port' }), health }, socketWeb, layout)!.socket).toBeUndefined();
    const deep = layoutFor({ project: { name: 'shop' }, environment: 'prod', per_branch: false, base_path: `/srv/${'d'.repeat(90)}` } as Config, 'main');
    expect(() => webTierFor({ http: http(), health }, socketWeb, deep)).toThrow(/is longer than a Unix socket path may be \(107 bytes\)/);
    expect(renderUpstream('shop', { socket: '/opt/shop/run/web.sock' })).toBe(
      "# Written by slipway: the web process's socket link, which a switch re-points (no reload).\nupstream shop_app {\n    server unix:/opt/shop/run/web.sock;\n}\n",
    );
  });

  it('starts the first slot as blue when nothing serves yet, with nothing to drain', () => {
    const { steps } = blueGreenSteps({ ...input(parseFacts('')), from: undefined });
    expect(steps.map((s) => s.id)).toEqual(['slot', 'slot-health', 'route', 'switch', 'restart']);
    expect(text(steps)).toContain('shop-web@blue.service');
  });
});

describe('rollback across a change of http.strategy', () => {
  it('is refused with the deploy to run instead, before anything changes', async () => {
    const { planRollbackHost } = await import('../../src/plan/rollback.js');
    const manifest = (id: string, strategy: 'blue-green' | 'restart') => ({ id, sha: `${id}${'0'.repeat(39)}`, ref: 'main', config_hash: 'h', deployed_by: 'me', created_at: 't', web: { process: 'web', port: 8000, strategy } });
    const facts = parseFacts(
      [`release r1 ok`, `manifest r1 ${JSON.stringify(manifest('1', 'restart'))}`, `release r2 ok`, `manifest r2 ${JSON.stringify(manifest('2', 'blue-green'))}`, 'current /opt/shop/releases/r2'].join('\n'),
    );
    const target: { kind: 'local'; label: string; roles: string[] } = { kind: 'local', label: 'web1', roles: ['web'] };
    expect(() => planRollbackHost({ config: { hooks: { build: [], before_switch: [], after_switch: [] }, http: http(), processes: {}, project: { name: 'shop', branch: 'main', source: 'auto', framework: 'auto' } }, layout, target, facts, requested: undefined })).toThrow(
      /deployed with http.strategy restart, r2 with blue-green: a rollback cannot change the strategy/,
    );
  });
});

describe('an upstream rewrite that settles (a load balancer taking servers out of rotation)', () => {
  it('waits for the workers noted before the reload, the same ones the reload check waited on', () => {
    const text = rewriteUpstream(sitePaths(layout), 'upstream x {}\n', { seconds: 2 }).map((c) => renderCmd(c)).join('\n');
    const noted = text.indexOf('slipway_nginx_workers=$(pgrep -P');
    const reload = text.indexOf('systemctl reload-or-restart nginx');
    const retired = text.indexOf('for p in $slipway_nginx_workers; do [ -d "/proc/$p" ] && alive=1; done');
    expect(noted).toBeGreaterThan(0);
    expect(noted).toBeLessThan(reload);
    expect(retired).toBeGreaterThan(reload);
  });
});
