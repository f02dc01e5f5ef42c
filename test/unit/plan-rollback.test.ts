// The rollback planner: which release it goes back to, and what it runs.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import type { Step } from '../../src/ops/command.js';
import { renderCmd } from '../../src/ops/shell.js';
import { healthProbe } from '../../src/ops/health.js';
import type { HostFacts, ReleaseManifest } from '../../src/plan/facts.js';
import { layoutFor } from '../../src/plan/layout.js';
import { chooseRollbackTarget, planRollbackHost } from '../../src/plan/rollback.js';
import { fakeFacts, rid, sshTarget, testConfig } from './fixtures/config.js';

const choose = (facts: HostFacts, requested?: string) => chooseRollbackTarget(facts, requested, 'web1');
const failure = (facts: HostFacts, requested?: string): { message: string; hint: string | undefined } => {
  try {
    choose(facts, requested);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return { message: (error as UserError).message, hint: (error as UserError).hint };
  }
  throw new Error('expected a UserError');
};

describe('choosing the release', () => {
  it('goes to the newest good release older than current', () => {
    expect(choose(fakeFacts({ current: rid(3), releases: [rid(1), rid(2), rid(3)] }))).toBe(rid(2));
  });

  it('skips bad, failed, prepared and unknown releases', () => {
    const releases = [`${rid(1)}:ok`, `${rid(2)}:bad`, `${rid(3)}:failed`, `${rid(4)}:prepared`, `${rid(5)}:unknown`, `${rid(6)}:ok`];
    expect(choose(fakeFacts({ current: rid(6), releases }))).toBe(rid(1));
  });

  it('never goes forward to a release newer than current', () => {
    // After a rollback from 3 to 2, release 3 is bad; an ok release newer than current is not "previous".
    expect(choose(fakeFacts({ current: rid(2), releases: [rid(1), rid(2), `${rid(3)}:ok`] }))).toBe(rid(1));
  });

  it('picks the newest good release when nothing is current', () => {
    expect(choose(fakeFacts({ releases: [rid(1), rid(2), `${rid(3)}:failed`] }))).toBe(rid(2));
  });

  it('fails with a hint when there is nothing to go back to', () => {
    expect(failure(fakeFacts({ current: rid(1), releases: [rid(1)] }))).toEqual({
      message: 'web1: no earlier good release to roll back to',
      hint: 'name one: `slipway rollback <env> <release>`',
    });
    expect(failure(fakeFacts({ current: rid(2), releases: [`${rid(1)}:bad`, rid(2)] })).message).toBe('web1: no earlier good release to roll back to');
    expect(failure(fakeFacts()).message).toBe('web1: no earlier good release to roll back to');
  });

  it('takes a named release by full id, unique prefix or sha7, even a bad one', () => {
    const facts = fakeFacts({ current: rid(3), releases: [rid(1, 'aaa1111'), `${rid(2, 'bbb2222')}:bad`, rid(3, 'ccc3333')] });
    expect(choose(facts, rid(1, 'aaa1111'))).toBe(rid(1, 'aaa1111'));
    expect(choose(facts, '20240101T000002')).toBe(rid(2, 'bbb2222'));
    expect(choose(facts, 'aaa1111')).toBe(rid(1, 'aaa1111'));
    expect(choose(facts, 'bbb2222')).toBe(rid(2, 'bbb2222'));
  });

  it('takes an exact id even when a redeploy of the same commit extends it', () => {
    const facts = fakeFacts({ current: rid(3), releases: [rid(1, 'aaa1111'), `${rid(1, 'aaa1111')}-2`, rid(3)] });
    expect(choose(facts, rid(1, 'aaa1111'))).toBe(rid(1, 'aaa1111'));
    expect(choose(facts, `${rid(1, 'aaa1111')}-2`)).toBe(`${rid(1, 'aaa1111')}-2`);
  });

  it('refuses unknown, ambiguous and current releases', () => {
    const facts = fakeFacts({ current: rid(3), releases: [rid(1), rid(2), rid(3)] });
    expect(failure(facts, 'nope')).toEqual({ message: 'web1: no release nope', hint: 'see `slipway releases <env>`' });
    expect(failure(facts, '2024').message).toBe(`web1: 2024 matches 3 releases: ${rid(1)}, ${rid(2)}, ${rid(3)}`);
    expect(failure(facts, rid(3)).message).toBe(`web1: ${rid(3)} is already current`);
  });
});

describe('the rollback plan', () => {
  const config = testConfig({ hooks: { build: ['never'], before_switch: ['never'], after_switch: ['./notify'] } });
  const layout = layoutFor(config, 'main');
  const health = { url: 'http://127.0.0.1:8000/up', expectedStatus: 200, timeoutSeconds: 2, retries: 3 };
  const manifest = (id: string, extra: Partial<ReleaseManifest> = {}): ReleaseManifest => ({ id, sha: 'a'.repeat(40), ref: 'main', config_hash: 'h', deployed_by: 'me', created_at: 't', ...extra });
  const rollback = (facts: HostFacts, requested?: string, hooks = config.hooks) => planRollbackHost({ config: { hooks, http: config.http, processes: config.processes, project: config.project }, layout, target: sshTarget, facts, requested });
  const shell = (s: Step | undefined) => (s?.commands ?? []).map((c) => renderCmd(c));
  const web = { units: ['shop-web.service'], health };

  it('restarts and checks what the target release ran, marks the abandoned release bad and the target ok', () => {
    const p = rollback(fakeFacts({ current: rid(2), releases: [{ id: rid(1), status: 'ok', manifest: manifest(rid(1), web) }, rid(2)] }));
    expect(p.steps.map((s) => s.id)).toEqual(['switch', 'restart', 'after-switch', 'health', 'finish']);
    expect(p.switchIndex).toBe(0);
    expect(p.from).toBe(rid(2));
    expect(p.to).toBe(rid(1));
    expect(shell(p.steps[0])).toEqual([`ln -sfn /opt/shop/releases/${rid(1)} /opt/shop/.current-next`, 'mv -T /opt/shop/.current-next /opt/shop/current']);
    expect(shell(p.steps[1])).toEqual(['systemctl reset-failed shop-web.service', 'systemctl restart shop-web.service']);
    expect(shell(p.steps[2])).toEqual([`(cd /opt/shop/releases/${rid(1)} && sudo -n -H -u shop -- sh -c 'set -a; if [ -f .env ]; then . ./.env; fi; if [ -f .slipway-release.env ]; then . ./.slipway-release.env; fi; set +a; ./notify')`]);
    expect(p.steps[3]?.title).toBe('Check health: http://127.0.0.1:8000/up');
    expect(shell(p.steps[3])).toEqual([healthProbe(health).shell]);
    expect(p.steps[4]?.title).toBe(`Mark ${rid(2)} bad so the next rollback skips it`);
    expect(shell(p.steps[4])).toEqual([
      `printf '%s\\n' bad > /opt/shop/.slipway/releases/${rid(2)}/status`,
      `printf '%s\\n' ok > /opt/shop/.slipway/releases/${rid(1)}/status`,
    ]);
    expect(p.onFailureBeforeSwitch).toEqual([]);
  });

  it('falls back to the installed units for a release without them in its manifest', () => {
    const p = rollback(fakeFacts({ current: rid(2), releases: [rid(1), rid(2)], units: { 'shop.target': 'x', 'shop-web.service': 'y', 'shop-worker.service': 'z' } }), undefined, { build: [], before_switch: [], after_switch: [] });
    expect(p.steps.map((s) => s.id)).toEqual(['switch', 'restart', 'finish']);
    expect(shell(p.steps[1])).toEqual(['systemctl reset-failed shop-web.service shop-worker.service', 'systemctl restart shop-web.service shop-worker.service']);
  });

  it('switches back to the abandoned release on failure, waits for it, and does not mark the target bad', () => {
    const abandonedHealth = { ...health, url: 'http://127.0.0.1:8000/health' };
    const p = rollback(
      fakeFacts({
        current: rid(2),
        releases: [
          { id: rid(1), status: 'ok', manifest: manifest(rid(1), web) },
          { id: rid(2), status: 'ok', manifest: manifest(rid(2), { units: ['shop-web.service'], health: abandonedHealth }) },
        ],
      }),
    );
    expect(p.onFailureAfterSwitch.map((s) => [s.id, s.title, ...shell(s)])).toEqual([
      [
        'switch-back',
        `Switch back to ${rid(2)}`,
        `ln -sfn /opt/shop/releases/${rid(2)} /opt/shop/.current-next`,
        'mv -T /opt/shop/.current-next /opt/shop/current',
        'systemctl reset-failed shop-web.service',
        'systemctl restart shop-web.service',
        healthProbe(abandonedHealth).shell,
      ],
    ]);
  });

  it('without processes it is only the switch and the marks, hooks run as the connecting user', () => {
    const p = rollback(fakeFacts({ current: rid(2), releases: [rid(1), rid(2)] }));
    expect(p.steps.map((s) => s.id)).toEqual(['switch', 'after-switch', 'finish']);
    expect(shell(p.steps[1])).toEqual([`(cd /opt/shop/releases/${rid(1)} && sh -c 'set -a; if [ -f .env ]; then . ./.env; fi; if [ -f .slipway-release.env ]; then . ./.slipway-release.env; fi; set +a; ./notify')`]);
  });

  it('with nothing current it marks the target good and has nothing to mark bad', () => {
    const p = rollback(fakeFacts({ releases: [rid(1)] }), rid(1), { build: [], before_switch: [], after_switch: [] });
    expect(p.from).toBeUndefined();
    expect(p.steps[1]?.title).toBe(`Mark ${rid(1)} good`);
    expect(shell(p.steps[1])).toEqual([`printf '%s\\n' ok > /opt/shop/.slipway/releases/${rid(1)}/status`]);
    expect(shell(p.onFailureAfterSwitch[0])).toEqual(['rm -f /opt/shop/current']);
  });
});
