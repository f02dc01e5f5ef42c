// executePlan with switch batches, over fake connections: every host is prepared first, batches switch one
// after another, and a failing batch sends every switched host back while the rest only undo their preparation.
import { describe, expect, it } from 'vitest';
import type { Step } from '../../src/ops/command.js';
import type { AgentSession, ScriptResult } from '../../src/execute/agent-session.js';
import type { HostConnection } from '../../src/execute/connection.js';
import { executePlan } from '../../src/execute/operation.js';
import { layoutFor } from '../../src/plan/layout.js';
import type { HostPlan, Plan } from '../../src/plan/types.js';
import { sshTarget, testConfig } from './fixtures/config.js';
import type { Target } from '../../src/plan/target.js';

const layout = layoutFor(testConfig(), 'main');
const step = (id: string): Step => ({ id, title: id, commands: [{ argv: ['true'] }] });

function hostPlan(label: string): HostPlan {
  return {
    target: { ...sshTarget, label } as Target,
    layout,
    from: 'R1',
    to: 'R2',
    steps: [step('release'), step('switch'), step('health'), step('finish')],
    switchIndex: 1,
    commitIndex: 3,
    onFailureBeforeSwitch: [step('mark-failed')],
    onFailureAfterSwitch: [step('switch-back')],
    onInterruptedCommit: [],
    warnings: [],
  };
}

/** Each script's step ids in the order the hosts ran them; `failing` fails its health step (and recovers). */
function fakeHosts(labels: string[], failing: string, ran: string[]): HostConnection[] {
  return labels.map((label) => {
    const session = {
      run: (script: string): Promise<ScriptResult> => {
        const ids = [...script.matchAll(/^echo '##slipway-step ([^']+)'$/gm)].map((m) => m[1]!);
        ran.push(`${label}: ${ids.join(' ')}`);
        const fails = label === failing && ids.includes('health');
        return Promise.resolve({ code: fails ? 1 : 0, lines: [], byStep: new Map(), recovered: fails ? ['switch-back'] : [], ...(fails ? { lastStep: 'health' } : {}) });
      },
    } as unknown as AgentSession;
    return { target: { ...sshTarget, label } as Target, session, deployerEnv: {}, close: () => Promise.resolve() };
  });
}

const plan = (labels: string[], batches: number[][]): Plan => ({ action: 'deploy', env: 'prod', ref: 'main', sha: null, hosts: labels.map(hostPlan), batches });
const observer = { onStep: () => undefined };

describe('a rolling switch', () => {
  const labels = ['web1', 'web2', 'web3'];

  it('switches one batch after another, and commits only after every batch passed', async () => {
    const ran: string[] = [];
    const results = await executePlan(fakeHosts(labels, 'none', ran), plan(labels, [[0], [1, 2]]), 10, observer);
    expect(ran).toEqual(['web1: release', 'web2: release', 'web3: release', 'web1: switch health', 'web2: switch health', 'web3: switch health', 'web1: finish', 'web2: finish', 'web3: finish']);
    expect(results.map((r) => r.outcome.ok)).toEqual([true, true, true]);
  });

  it('stops at a failing batch: switched hosts go back, later ones only undo their preparation', async () => {
    const ran: string[] = [];
    const results = await executePlan(fakeHosts(labels, 'web2', ran), plan(labels, [[0], [1], [2]]), 10, observer);
    expect(ran).toEqual(['web1: release', 'web2: release', 'web3: release', 'web1: switch health', 'web2: switch health', 'web1: switch-back disarm', 'web3: mark-failed']);
    expect(results.map((r) => [r.host, r.outcome.ok, r.switchedBack])).toEqual([
      ['web1', true, true],
      ['web2', false, true],
      ['web3', true, false],
    ]);
    expect(results[1]!.outcome.error?.step).toBe('health');
  });

  it('runs the load balancer guards around each batch (the next batch\'s putting the previous one back), and puts a failing batch back once it switched back', async () => {
    const four = ['web1', 'web2', 'web3', 'lb1'];
    const guards = [0, 1, 2].map((i) => [{ host: 3, before: [step(`out-web${i + 1}`)], after: [step(`in-web${i + 1}`)] }]);
    const guarded = (): Plan => ({ ...plan(four, [[0], [1], [2], [3]]), guards: [...guards, []] });
    const ran: string[] = [];
    await executePlan(fakeHosts(four, 'none', ran), guarded(), 10, observer);
    // The next batch's rewrite puts the previous one back: one reload between batches, not two.
    expect(ran.slice(4, 12)).toEqual(['lb1: out-web1', 'web1: switch health', 'lb1: out-web2', 'web2: switch health', 'lb1: out-web3', 'web3: switch health', 'lb1: in-web3', 'lb1: switch health']);

    const failed: string[] = [];
    const results = await executePlan(fakeHosts(four, 'web2', failed), guarded(), 10, observer);
    expect(failed.slice(4)).toEqual(['lb1: out-web1', 'web1: switch health', 'lb1: out-web2', 'web2: switch health', 'web1: switch-back disarm', 'web3: mark-failed', 'lb1: mark-failed', 'lb1: in-web2']);
    expect(results.map((r) => r.outcome.ok)).toEqual([true, false, true, true]);
  });
});
