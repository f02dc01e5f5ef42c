// Load balancers (role lb): the upstream over the web servers and its parsing, the sites on both sides, the
// steps that take a rolling restart's batch out of rotation and back, the order of batches, and the config
// rules that refuse a load balancer that cannot work.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { renderScript } from '../../src/ops/shell.js';
import { sitePaths } from '../../src/ops/web.js';
import { balancerHostSteps, balancerRollbackPlan, balancingOf, batchGuards, NO_BALANCER_STATE, parseBalancerState, placeOf, servingNow, withBalancersLast, type Balancing, type BalancerState } from '../../src/plan/balancer.js';
import { layoutFor } from '../../src/plan/layout.js';
import type { Target } from '../../src/plan/target.js';
import { renderSite, renderUpstream } from '../../src/render/nginx.js';
import { balancerTierPaths, parseBalancerUpstream, renderBalancerMain, renderBalancerSite, renderBalancerUnit, renderBalancerUpstream, renderPublicUpstream } from '../../src/render/balancer.js';
import { balancerStateProbe, BALANCER_STATE_MARK } from '../../src/ops/balancer.js';
import { sha256 } from '../../src/ops/services.js';
import { sshTarget, testConfig } from './fixtures/config.js';
import { planText } from '../../src/render/plan.js';

const layout = layoutFor(testConfig(), 'main');
const http = testConfig().http;
const target = (label: string, address: string, roles: string[]) => ({ ...sshTarget, label, roles, privateAddress: address }) as Target;
const processes = { web: { command: 'serve', port: 8000, roles: ['web'], stop_timeout: 35, singleton: false } };
const servers = [target('lb1', '10.9.0.2', ['lb']), target('web1', '10.9.0.3', ['web']), target('web2', '10.9.0.4', ['web']), target('db1', '10.9.0.5', ['db'])];
const balancing = balancingOf({ health: { process: 'web', expected_status: 200, timeout: 5, retries: 10 } }, processes, servers, {})!;

describe('the load balancer upstream', () => {
  it('names every configured web server at its private site, with passive health', () => {
    expect(balancing).toEqual({ balancers: [{ label: 'lb1', address: '10.9.0.2' }], webServers: [{ label: 'web1', address: '10.9.0.3' }, { label: 'web2', address: '10.9.0.4' }] });
    const text = renderBalancerUpstream('shop', [{ address: '10.9.0.3', port: 80 }, { address: 'fd00::4', port: 80, down: true }]);
    expect(text).toBe(
      [
        '# Written by slipway on every deploy: the web servers this load balancer sends traffic to.',
        'upstream shop_app {',
        '    server 10.9.0.3:80 max_fails=3 fail_timeout=10s;',
        '    server [fd00::4]:80 max_fails=3 fail_timeout=10s down;',
        '}',
        '',
      ].join('\n'),
    );
    expect(parseBalancerUpstream(text)).toEqual([{ address: '10.9.0.3', port: 80 }, { address: 'fd00::4', port: 80, down: true }]);
    const state = (upstream: string | undefined): BalancerState => ({ ...NO_BALANCER_STATE, upstream });
    expect(servingNow([state(text), NO_BALANCER_STATE, state(renderBalancerUpstream('shop', [{ address: '10.9.0.9', port: 80 }]))]).map((s) => s.address)).toEqual(['10.9.0.3', 'fd00::4', '10.9.0.9']);
  });

  it("reads a load balancer's state: the tier's upstream, whether the public site proxies to the tier, the tier's files", () => {
    const tier = balancerTierPaths('shop');
    const upstream = renderBalancerUpstream('shop', [{ address: '10.9.0.3', port: 80 }]);
    const section = (text: string) => text.replace(/\n$/, '').split('\n');
    const lines = (tierText: string, publicText: string, files: string[]) => [...section(tierText), '', BALANCER_STATE_MARK.public, ...section(publicText), '', BALANCER_STATE_MARK.files, ...files];
    const live = parseBalancerState(lines(upstream, renderPublicUpstream('shop', tier), [`${'a'.repeat(64)}  ${tier.main}`, 'junk']), 'shop');
    expect(live).toEqual({ upstream, tierLive: true, files: { [tier.main]: 'a'.repeat(64) } });
    // A load balancer from before the tier: its public site's upstream named the web servers.
    expect(parseBalancerState(lines('', upstream, []), 'shop')).toEqual({ upstream, tierLive: false, files: {} });
    // A server that was a web server before it became the load balancer still has its slot's upstream: it balances nothing.
    expect(parseBalancerState(lines('', renderUpstream('shop', { port: 8000 }), []), 'shop')).toEqual({ upstream: undefined, tierLive: false, files: {} });
    // Output cut short says nothing.
    expect(parseBalancerState(['server 10.9.0.3:80;'], 'shop')).toEqual(NO_BALANCER_STATE);
    const probe = balancerStateProbe(tier, sitePaths(layout).upstream).shell;
    expect(probe).toContain(`head -c 65536 ${tier.upstream} 2>/dev/null`);
    expect(probe).toContain('sha256sum "$f"');
  });

  it('refuses a web server or load balancer whose private address is unknown', () => {
    const noAddress = { ...sshTarget, label: 'web3', roles: ['web'] } as Target;
    expect(() => balancingOf({ health: { process: 'web', expected_status: 200, timeout: 5, retries: 10 } }, processes, [...servers, noAddress], {})).toThrow(/web3: it is a web server behind the load balancer, but its private address is not known/);
  });
});

describe('the sites on both sides', () => {
  it('a web server behind load balancers listens on its private address for them only, and trusts their headers', () => {
    const place = placeOf(balancing, 'web1');
    expect(place).toEqual({ kind: 'behind', listen: '10.9.0.3', balancers: ['10.9.0.2'] });
    expect(placeOf(balancing, 'lb1')).toEqual({ kind: 'public' });
    expect(placeOf(undefined, 'web1')).toEqual({ kind: 'public' });
    const site = renderSite({ http: { ...http, domain: 'shop.example.com', tls: 'self-signed' }, prefix: 'shop', paths: sitePaths(layout), staticDir: '/opt/shop/current/staticfiles', place });
    expect(site).toContain('    listen 10.9.0.3:80;\n');
    expect(site).not.toMatch(/listen 80|listen \[::\]|443|ssl_certificate|acme-challenge|add_header Strict-Transport-Security/);
    expect(site).toContain('geo $realip_remote_addr $shop_balancer {\n    default 0;\n    127.0.0.1 1;\n    10.9.0.2 1;\n}\n');
    expect(site).toContain('    if ($shop_balancer = 0) {\n        return 403;\n    }\n    set_real_ip_from 10.9.0.2;\n    real_ip_header X-Forwarded-For;\n');
    expect(site).toContain('proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;');
    expect(site).toContain('alias /opt/shop/current/staticfiles/;');
  });

  it('the load balancer terminates TLS and proxies everything to its balancing tier, which retries idempotent requests on the next server', () => {
    const paths = sitePaths(layout, { fullchain: '/etc/slipway/tls/shop/fullchain.pem', key: '/etc/slipway/tls/shop/privkey.pem' });
    const site = renderSite({ http: { ...http, domain: 'shop.example.com', tls: 'self-signed' }, prefix: 'shop', paths, place: { kind: 'balancer' } });
    expect(site).toContain('listen 443 ssl http2;');
    expect(site).toContain('proxy_set_header X-Forwarded-Proto $scheme;');
    expect(site).toContain('proxy_next_upstream off;');
    expect(site).not.toContain('alias ');
    const tier = balancerTierPaths('shop');
    expect(renderPublicUpstream('shop', tier)).toContain('    server unix:/run/slipway-balancer/shop.sock;\n}');
    expect(renderPublicUpstream('shop', tier)).not.toContain('keepalive');
    const tierSite = renderBalancerSite('shop', http, tier);
    expect(tierSite).toContain('include /etc/slipway/balancer/shop.upstream.conf;');
    expect(tierSite).toContain('    listen unix:/run/slipway-balancer/shop.sock;\n');
    expect(tierSite).toContain('proxy_next_upstream error timeout http_502 http_503 http_504;');
    // The public tier's headers pass on unchanged: the web servers take the client's address and scheme from them.
    expect(tierSite).toContain('proxy_set_header X-Forwarded-For $http_x_forwarded_for;');
    expect(tierSite).toContain('proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;');
    expect(renderBalancerMain()).toContain('pid /run/slipway-balancer.pid;');
    expect(renderBalancerMain()).toContain('keepalive_timeout 0;');
    expect(renderBalancerUnit()).toContain('Type=forking');
    expect(renderBalancerUnit()).toContain('ExecReload=/usr/sbin/nginx -c /etc/slipway/balancer/nginx.conf -s reload');
  });

  it("the load balancer's deploy: certificate before the switch; the tier, its upstream and the public site at it; the old upstream back on failure", () => {
    const old = renderBalancerUpstream('shop', [{ address: '10.9.0.3', port: 80 }]);
    const tls = { http: { ...http, domain: 'shop.example.com', tls: 'self-signed' as const } };
    const steps = balancerHostSteps({ config: tls, layout, balancing, facts: { files: {} }, state: { upstream: old, tierLive: false, files: {} } });
    expect(steps.prepare.map((s) => s.id)).toEqual(['certificate']);
    expect(steps.switch.map((s) => s.title)).toEqual(['Balance over the web servers: web1, web2']);
    const script = renderScript(steps.switch);
    // The tier's files, its first upstream, checked with its own configuration and reloaded (started) as its own unit.
    for (const path of ['/etc/slipway/balancer/nginx.conf', '/etc/systemd/system/slipway-balancer.service', '/etc/slipway/balancer/sites/shop.conf', '/etc/slipway/balancer/shop.upstream.conf']) expect(script).toContain(`tee ${path}.slipway-new`);
    expect(script).toContain('server 10.9.0.4:80 max_fails=3');
    expect(script).toContain('nginx -t -q -c /etc/slipway/balancer/nginx.conf');
    expect(script).toContain('systemctl reload-or-restart slipway-balancer.service');
    expect(script.indexOf('slipway-balancer.service')).toBeLessThan(script.indexOf('tee /etc/nginx/sites-available/shop.conf'));
    expect(renderScript(steps.recovery)).toContain('server 10.9.0.3:80 max_fails=3 fail_timeout=10s;');
    expect(renderScript(steps.recovery)).toContain('/etc/slipway/balancer/shop.upstream.conf');
    // A first deploy has no upstream to go back to.
    expect(balancerHostSteps({ config: { http }, layout, balancing, facts: { files: {} }, state: NO_BALANCER_STATE }).recovery).toEqual([]);
    // The tier in place and unchanged: only started if it is not running; the upstream rewritten (only the tier reloads).
    const tier = balancerTierPaths('shop');
    const files = Object.fromEntries([[tier.main, renderBalancerMain()], [tier.unit, renderBalancerUnit()], [tier.site, renderBalancerSite('shop', tls.http, tier)]].map(([p, t]) => [p!, sha256(t!)]));
    const again = renderScript(balancerHostSteps({ config: tls, layout, balancing, facts: { files: {} }, state: { upstream: old, tierLive: true, files } }).switch);
    expect(again).not.toContain('tee /etc/slipway/balancer/nginx.conf');
    expect(again).toContain('systemctl is-active --quiet slipway-balancer.service || systemctl start slipway-balancer.service');
    expect(again).toContain('tee /etc/slipway/balancer/shop.upstream.conf.slipway-new');
  });
});

describe('a rolling restart behind a load balancer', () => {
  const labels = ['web1', 'web2', 'web3', 'lb1'];
  const three: Balancing = { ...balancing, webServers: [...balancing.webServers, { label: 'web3', address: '10.9.0.6' }] };
  const serving = [{ address: '10.9.0.3', port: 80 }, { address: '10.9.0.4', port: 80 }];
  const live: BalancerState = { upstream: undefined, tierLive: true, files: {} };
  const states = [NO_BALANCER_STATE, NO_BALANCER_STATE, NO_BALANCER_STATE, live];
  const guardsFor = (batches: number[][], now = serving, at = states) => batchGuards({ layout, http: { proxy_read_timeout: 60 }, balancing: three, labels, batches, balancerHosts: [3], serving: now, states: at });

  it("takes each batch's servers out of rotation before they restart, and puts them back after", () => {
    const { guards, notes } = guardsFor([[0], [1], [2], [3]]);
    expect(notes).toEqual([]);
    expect(guards.map((g) => g.map((x) => [x.host, x.before[0]!.title, x.after[0]!.title]))).toEqual([[[3, 'Take web1 out of rotation', 'Put web1 back in rotation']], [[3, 'Take web2 out of rotation', 'Put web2 back in rotation']], [], []]);
    const out = renderScript(guards[0]![0]!.before);
    expect(out).toContain('server 10.9.0.3:80 max_fails=3 fail_timeout=10s down;');
    expect(out).toContain('server 10.9.0.4:80 max_fails=3 fail_timeout=10s;');
    // Only the balancing tier reloads, and it is waited for: its old workers exit once their requests are answered.
    expect(out).toContain('/etc/slipway/balancer/shop.upstream.conf');
    expect(out).toContain('systemctl reload-or-restart slipway-balancer.service');
    expect(out).not.toMatch(/reload-or-restart nginx\b/);
    expect(out).toContain('pgrep -P "$(cat /run/slipway-balancer.pid 2>/dev/null)"');
    expect(out).toContain('while [ "$n" -lt 650 ]');
    // A load balancer from before the tier: its public nginx, once more.
    const before = renderScript(guardsFor([[0], [1], [2], [3]], serving, [...states.slice(0, 3), NO_BALANCER_STATE]).guards[0]![0]!.before);
    expect(before).toContain('/etc/nginx/slipway/shop.upstream.conf');
    expect(before).toContain('pgrep -P "$(cat /run/nginx.pid 2>/dev/null)"');
    // web3 is new: not in rotation until the load balancer's own switch, so nothing is taken out for it.
    expect(renderScript(guards[0]![0]!.after)).not.toContain('10.9.0.6');
  });

  it('plan shows each guard where it runs, the merged put-backs as what runs only on a failure', () => {
    const { guards } = guardsFor([[0], [1], [2], [3]]);
    const host = (label: string) => ({ target: target(label, '10.9.0.9', ['web']), layout, to: 'R2', steps: [], switchIndex: 0, commitIndex: 0, onFailureBeforeSwitch: [], onFailureAfterSwitch: [], onInterruptedCommit: [], warnings: [] });
    const text = planText({ action: 'deploy', env: 'prod', ref: 'main', sha: 'a'.repeat(40), hosts: labels.map(host), batches: [[0], [1], [2], [3]], guards });
    expect(text.split('\n').filter((l) => l.startsWith('== lb1,'))).toEqual([
      '== lb1, before batch 1 switches (web1) ==',
      "== lb1, if batch 1 fails (otherwise batch 2's step puts them back) (web1) ==",
      '== lb1, before batch 2 switches (web2) ==',
      '== lb1, after batch 2 switches (web2) ==',
    ]);
  });

  it('does not take out a batch that would leave no server up, and says the restart drops requests', () => {
    const { guards, notes } = guardsFor([[0, 1], [2], [3]]);
    expect(guards).toEqual([[], [], []]);
    expect(notes).toEqual(['web1, web2 restart with no other web server in rotation: requests drop meanwhile']);
    expect(guardsFor([[0], [1], [2], [3]], []).guards.flat()).toEqual([]);
  });

  it('a rollback leaves a load balancer as it is: its upstream names servers, not a release', () => {
    const plan = balancerRollbackPlan(servers[0]!, layout, 'R2');
    expect([plan.from, plan.to, plan.steps.map((s) => s.id), plan.onFailureAfterSwitch]).toEqual(['R2', 'R2', ['balance-stays'], []]);
  });

  it('switches the load balancers last, together', () => {
    expect(withBalancersLast([[0, 1], [2]], [3])).toEqual([[0, 1], [2], [3]]);
    expect(withBalancersLast([[0, 3], [1]], [3])).toEqual([[0], [1], [3]]);
    expect(withBalancersLast([[0, 1]], [])).toEqual([[0, 1]]);
  });
});

describe('load balancer rules', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  async function errors(servers: string, extra = 'http:\n  domain: shop.example.com\n') {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-lb-'));
    dirs.push(dir);
    await writeFile(join(dir, 'deploy-prod.yml'), `project:\n  name: shop\nservers:\n${servers}${extra}`);
    return loadConfig({ dir, env: 'prod', processEnv: {} }).then(
      () => [] as string[],
      (error: unknown) => (error as Error).message.replaceAll(dir, '<dir>').split('\n'),
    );
  }

  it('accepts a load balancer in front of web servers', async () => {
    expect(await errors('  - { sandbox: lb1, roles: [lb] }\n  - { sandbox: web1, roles: [web] }\n  - { host: 10.0.0.3, roles: [web] }\n')).toEqual([]);
  });

  it('refuses one with no web server, without the public site, or that runs the web process itself', async () => {
    expect(await errors('  - { sandbox: lb1, roles: [lb] }\n  - { sandbox: db1, roles: [db] }\n')).toEqual([
      '<dir>/deploy-prod.yml:4:28: servers[0].roles: role lb balances over the web servers, but no other server has a role of the web process (web)',
    ]);
    expect(await errors('  - { sandbox: lb1, roles: [lb] }\n  - { sandbox: web1 }\n', '')).toEqual(['<dir>/deploy-prod.yml:4:28: servers[0].roles: role lb holds the public site, which is off: set http.domain (or http.enabled: true)']);
    expect(await errors('  - { sandbox: lb1, roles: [lb, web] }\n  - { sandbox: web1 }\n')).toEqual([
      '<dir>/deploy-prod.yml:4:28: servers[0].roles: a load balancer runs no web process: give this server role lb or web, not both',
    ]);
  });

  it('refuses a web server it could not reach by address', async () => {
    expect(await errors('  - { sandbox: lb1, roles: [lb] }\n  - { host: web1.example.com }\n')).toEqual([
      '<dir>/deploy-prod.yml:5:13: servers[1].private_address: "web1.example.com" is a name: give private_address, the IP address the load balancer and the web servers use for each other',
    ]);
  });
});
