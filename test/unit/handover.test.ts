// Units a deploy or rollback stops running on a host (retired before the switch, back on failure, removed at
// commit) and singletons taken over only at commit: planned from fake facts.
import { NO_BALANCER_STATE } from '../../src/plan/balancer.js';
import { describe, expect, it } from 'vitest';
import type { Step } from '../../src/ops/command.js';
import { sha256 } from '../../src/ops/services.js';
import { renderCmd } from '../../src/ops/shell.js';
import { planDeployHost } from '../../src/plan/deploy.js';
import { parseFacts, type ReleaseFact } from '../../src/plan/facts.js';
import { singletonRecord } from '../../src/plan/handover.js';
import { layoutFor } from '../../src/plan/layout.js';
import { planRollbackHost } from '../../src/plan/rollback.js';
import type { Target } from '../../src/plan/target.js';
import { fakeFacts, rid, sshTarget, testConfig, testProfile } from './fixtures/config.js';

const SHA = 'abc1234def5678abc1234def5678abc1234def56';
const NEW = '20240301T120000.000Z-abc1234';
const config = testConfig({
  servers: [{ host: 'web1', roles: ['web', 'worker'], host_key_checking: 'yes' }, { host: 'web2', roles: ['web', 'worker'], host_key_checking: 'yes' }],
  processes: {
    web: { command: 'serve', port: 8000, roles: ['web'] },
    scheduler: { command: 'tick', roles: ['worker'], singleton: true },
  },
});
const layout = layoutFor(config, 'main');
const placement = { scheduler: 'web1' };
const record = singletonRecord(placement, config.servers);
const target = (label: string): Target => ({ ...sshTarget, label, host: label, roles: ['web', 'worker'] }) as Target;
const release = (id: string, units: string[]): ReleaseFact => ({ id, status: 'ok', manifest: { id, sha: SHA, ref: 'main', config_hash: 'h', deployed_by: 'me', created_at: 't', units } });
const installed = (...units: string[]) => Object.fromEntries(units.map((u) => [u, 'old']));

const deploy = (label: string, facts = fakeFacts()) =>
  planDeployHost({
    config,
    configHash: 'h',
    profile: testProfile(config),
    venvKey: undefined,
    stepInputs: {},
    full: false,
    hostsDatabase: false,
    runsMigrations: false,
    topology: { placement, record },
    balancing: undefined,
    balancerState: NO_BALANCER_STATE,
    runsApp: true,
    layout,
    target: target(label),
    facts,
    source: { mode: 'push', gitDir: '/g' },
    sha: SHA,
    ref: 'main',
    releaseId: NEW,
    deployedBy: 'me',
    now: new Date(0),
  });

const ids = (steps: Step[]) => steps.map((s) => s.id);
const shell = (steps: Step[], id: string) => (steps.find((s) => s.id === id)?.commands ?? []).map((c) => renderCmd(c));

describe('a deploy that moves a singleton away from this host', () => {
  const R1 = rid(1);
  const p = deploy('web2', fakeFacts({ current: R1, releases: [release(R1, ['shop-web.service', 'shop-scheduler.service'])], units: installed('shop.target', 'shop-web.service', 'shop-scheduler.service'), hasCommit: true }));

  it('stops and disables it in a step before the switch', () => {
    const retire = p.steps.findIndex((s) => s.id === 'retire');
    expect(retire).toBe(p.switchIndex - 1);
    expect(p.steps[retire]!.title).toBe('Stop shop-scheduler.service (the scheduler process (singleton) moves to web1)');
    expect(shell(p.steps, 'retire')).toEqual(['systemctl disable --now --quiet shop-scheduler.service']);
    expect(shell(p.steps, 'restart')).toEqual(['systemctl reset-failed shop-web.service', 'systemctl restart shop-web.service']);
  });

  it('starts it again if anything fails, before or after the switch', () => {
    expect(ids(p.onFailureBeforeSwitch)).toEqual(['mark-failed', 'unretire']);
    expect(ids(p.onFailureAfterSwitch)).toEqual(['switch-back', 'unretire']);
    expect(shell(p.onFailureAfterSwitch, 'unretire')).toEqual(['systemctl enable --now --quiet shop-scheduler.service']);
    expect(shell(p.onFailureAfterSwitch, 'switch-back')).toContain('systemctl restart shop-web.service');
  });

  it('removes its unit file and records the placement at commit', () => {
    expect(ids(p.steps.slice(p.commitIndex))).toEqual(['finish', 'remove-units', 'singletons']);
    expect(shell(p.steps, 'remove-units')).toEqual(['rm -f /etc/systemd/system/shop-scheduler.service', 'systemctl daemon-reload']);
    expect(p.steps.find((s) => s.id === 'singletons')?.title).toBe('Record where singletons run: scheduler on web1');
    expect(shell(p.steps, 'singletons')[1]).toBe(`tee /opt/shop/.slipway/singletons.slipway-new > /dev/null <<'SLIPWAY_EOF_0'\nscheduler {"server":"web1","host":"web1"}\nSLIPWAY_EOF_0`);
  });
});

describe('a deploy that places a singleton on this host', () => {
  const R1 = rid(1);
  const p = deploy('web1', fakeFacts({ current: R1, releases: [release(R1, ['shop-web.service'])], units: installed('shop.target', 'shop-web.service'), hasCommit: true }));

  it('installs it before the switch but starts it only at commit, once every host passed', () => {
    expect(shell(p.steps, 'units')).toContain('systemctl enable --quiet shop.target shop-web.service shop-scheduler.service shop-boot-recovery.service');
    expect(shell(p.steps, 'restart')).toEqual(['systemctl reset-failed shop-web.service', 'systemctl restart shop-web.service']);
    expect(ids(p.steps.slice(p.commitIndex))).toEqual(['finish', 'singleton', 'singletons']);
    expect(p.steps.find((s) => s.id === 'singleton')?.title).toBe('Start shop-scheduler.service: the scheduler process (singleton) runs on web1');
    expect(shell(p.steps, 'singleton')).toEqual(['systemctl enable --now --quiet shop-scheduler.service']);
  });

  it('disables it again on a failure, and starts it when the host stops after the commit point', () => {
    expect(ids(p.onFailureBeforeSwitch)).toEqual(['mark-failed', 'singleton-off']);
    expect(shell(p.onFailureAfterSwitch, 'singleton-off')).toEqual(['systemctl disable --quiet shop-scheduler.service']);
    expect(p.onInterruptedCommit[0]!.commands.map((c) => renderCmd(c))).toContain('systemctl enable --now --quiet shop-scheduler.service');
  });

  it('keeps restarting it on the next deploy, where it already ran', () => {
    const next = deploy('web1', fakeFacts({ current: R1, releases: [release(R1, ['shop-web.service', 'shop-scheduler.service'])], units: installed('shop.target', 'shop-web.service', 'shop-scheduler.service'), hasCommit: true }));
    expect(shell(next.steps, 'restart')).toEqual(['systemctl reset-failed shop-web.service shop-scheduler.service', 'systemctl restart shop-web.service shop-scheduler.service']);
    expect(ids(next.steps).filter((id) => ['retire', 'singleton'].includes(id))).toEqual([]);
  });
});

describe('retiring units', () => {
  it('stops a process removed from the config, and never touches units no release of this app ran', () => {
    const R1 = rid(1);
    const facts = fakeFacts({ current: R1, releases: [release(R1, ['shop-web.service', 'shop-old.service'])], units: installed('shop.target', 'shop-web.service', 'shop-old.service', 'shop-web@.service', 'shop-staging-x-web.service'), hasCommit: true });
    const p = deploy('web2', facts);
    expect(p.steps.find((s) => s.id === 'retire')?.title).toBe('Stop shop-old.service (no longer in the config)');
    expect(shell(p.steps, 'remove-units')).toEqual(['rm -f /etc/systemd/system/shop-old.service', 'systemctl daemon-reload']);
  });
});

describe('a rollback', () => {
  const [R1, R2] = [rid(1), rid(2)];
  const rollback = (facts: ReturnType<typeof fakeFacts>) => planRollbackHost({ config, layout, target: target('web2'), facts, requested: undefined });

  it('stops a unit running now that the target release did not run here, before the switch', () => {
    const p = rollback(fakeFacts({ current: R2, releases: [release(R1, ['shop-web.service']), release(R2, ['shop-web.service', 'shop-scheduler.service'])], units: installed('shop-web.service', 'shop-scheduler.service') }));
    expect(ids(p.steps)).toEqual(['retire', 'switch', 'restart', 'finish']);
    expect(p.switchIndex).toBe(1);
    expect(p.steps[0]!.title).toBe(`Stop shop-scheduler.service (${R1} did not run it here)`);
    expect(ids(p.onFailureBeforeSwitch)).toEqual(['unretire']);
    expect(ids(p.onFailureAfterSwitch)).toEqual(['switch-back', 'unretire']);
  });

  it('brings back a singleton whose file a later deploy removed, started only at commit', () => {
    const p = rollback(fakeFacts({ current: R2, releases: [release(R1, ['shop-web.service', 'shop-scheduler.service']), release(R2, ['shop-web.service'])], units: { 'shop-web.service': sha256('x') } }));
    expect(ids(p.steps)).toEqual(['units', 'switch', 'restart', 'finish', 'singleton']);
    expect(p.steps[0]!.title).toBe(`Install shop-scheduler.service again: ${R1} ran it here`);
    expect(shell(p.steps, 'restart')).toEqual(['systemctl reset-failed shop-web.service', 'systemctl restart shop-web.service']);
    expect(shell(p.steps, 'singleton')).toEqual(['systemctl enable --now --quiet shop-scheduler.service']);
    expect(ids(p.onFailureAfterSwitch)).toEqual(['switch-back', 'singleton-off']);
  });
});

describe('recorded singletons in the facts', () => {
  it('are read with their connection details, and a record without its form is dropped', () => {
    const facts = parseFacts(['singleton scheduler {"server":"web3","host":"10.0.0.3","user":"deploy","port":2222}', 'singleton mailer {"server":"web3","host":"-oProxyCommand=x"}', 'singleton beat not-json'].join('\n'));
    expect(facts.singletons).toEqual({ scheduler: { server: 'web3', host: '10.0.0.3', user: 'deploy', port: 2222 } });
  });
});
