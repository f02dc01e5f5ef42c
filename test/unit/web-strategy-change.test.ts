// A change of http.strategy on a host where the other strategy's web service still holds the port.
import { describe, expect, it } from 'vitest';
import { strategyChange, webTierFor } from '../../src/plan/web.js';
import { renderCmd } from '../../src/ops/shell.js';
import { layoutFor } from '../../src/plan/layout.js';
import { parseFacts } from '../../src/plan/facts.js';
import type { Config } from '../../src/config/types.js';

const layout = layoutFor({ project: { name: 'shop' }, environment: 'prod', per_branch: false, base_path: '/opt' } as Config, 'main');
const http = (strategy: 'blue-green' | 'restart'): Config['http'] => ({
  domain: 'shop.example.com',
  aliases: [],
  default_server: false,
  tls: 'none',
  acme_server: 'https://acme.test/dir',
  switch: 'auto',
  strategy,
  drain_seconds: 30,
  client_max_body_size: '10m',
  proxy_read_timeout: 60,
  frame_options: 'DENY',
});
const tier = (strategy: 'blue-green' | 'restart') =>
  webTierFor({ http: http(strategy), health: { process: 'web', expected_status: 200, timeout: 5, retries: 10 } }, { web: { command: 'gunicorn', port: 8000, roles: ['web'] } }, layout)!;

describe('a change of strategy', () => {
  it('restart → blue-green stops the in-place service before the blue slot takes its port, and starts it again on failure', () => {
    const change = strategyChange(tier('blue-green'), layout, parseFacts('unit shop-web.service abc'));
    expect(change.steps.map((s) => [s.title, s.commands.map((c) => renderCmd(c))])).toEqual([
      ['Stop shop-web.service: the web process moves to blue/green slots', ['systemctl disable --now --quiet shop-web.service']],
    ]);
    expect(change.recovery.map((c) => renderCmd(c))).toEqual(['systemctl enable --now --quiet shop-web.service']);
  });

  it('blue-green → restart stops both slots and points nginx back at the process port', () => {
    const change = strategyChange(tier('restart'), layout, parseFacts(['slot blue r1 inactive', 'slot green r2 active', 'live green'].join('\n')));
    expect(change.steps.map((s) => s.title)).toEqual(['Stop the blue/green slots: the web process restarts in place on port 8000']);
    const text = change.steps[0]!.commands.map((c) => renderCmd(c)).join('\n');
    expect(text).toContain('systemctl disable --now --quiet shop-web@blue.service shop-web@green.service');
    expect(text).toContain('rm -f /opt/shop/.slipway/live-slot');
    expect(text).toContain('server 127.0.0.1:8000;');
    expect(text).toContain('nginx -t -q');
    expect(change.recovery).toEqual([]);
  });

  it('nothing to do once the strategy is in place', () => {
    expect(strategyChange(tier('blue-green'), layout, parseFacts(['unit shop-web.service abc', 'slot blue r1 active', 'live blue'].join('\n'))).steps).toEqual([]);
    expect(strategyChange(tier('blue-green'), layout, parseFacts('')).steps).toEqual([]);
    expect(strategyChange(tier('restart'), layout, parseFacts('unit shop-web.service abc')).steps).toEqual([]);
  });
});
