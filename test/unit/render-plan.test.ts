// `slipway plan` as text, Markdown runbook and JSON: the executor's exact commands, secrets redacted.
import { NO_BALANCER_STATE } from '../../src/plan/balancer.js';
import { describe, expect, it } from 'vitest';
import { renderCmd } from '../../src/ops/shell.js';
import { planDeployHost } from '../../src/plan/deploy.js';
import { layoutFor } from '../../src/plan/layout.js';
import { planRollbackHost } from '../../src/plan/rollback.js';
import type { Target } from '../../src/plan/target.js';
import type { Plan } from '../../src/plan/types.js';
import { planJson, planMarkdown, planText } from '../../src/render/plan.js';
import { fakeFacts, localTarget, testConfig, testProfile } from './fixtures/config.js';

const SHA = 'a'.repeat(40);
const SECRET = 'hunter2-secret-value';
const config = testConfig({ env_vars: { SECRET_KEY: SECRET } });
const layout = layoutFor(config, 'main');
const target: Target = { kind: 'ssh', label: 'web1', host: 'web1', user: 'deploy', port: 2222, roles: ['web'], hostKeyChecking: 'yes', connectTimeout: 10 };

const deployPlan = (hostTarget: Target = target): Plan => ({
  action: 'deploy',
  env: 'prod',
  ref: 'main',
  sha: SHA,
  hosts: [
    planDeployHost({
      config,
      configHash: 'h',
      profile: testProfile(config),
      venvKey: undefined,
      stepInputs: {},
      full: false,
      hostsDatabase: false,
      runsMigrations: false,
      topology: { placement: {}, record: '' },
      balancing: undefined,
      balancerState: NO_BALANCER_STATE,
      runsApp: true,
      layout,
      target: hostTarget,
      facts: fakeFacts({ current: 'R1', releases: ['R1'] }),
      source: { mode: 'push', gitDir: '/g' },
      sha: SHA,
      ref: 'main',
      releaseId: 'NEW',
      deployedBy: 'me',
      now: new Date(0),
    }),
  ],
});

const MANIFEST = [
  "tee /opt/shop/.slipway/releases/NEW/manifest.json > /dev/null <<'SLIPWAY_EOF_0'",
  '{',
  '  "id": "NEW",',
  `  "sha": "${SHA}",`,
  '  "ref": "main",',
  '  "config_hash": "h",',
  '  "deployed_by": "me",',
  '  "created_at": "1970-01-01T00:00:00.000Z",',
  '  "units": []',
  '}',
  'SLIPWAY_EOF_0',
];
const RELEASE = [
  'mkdir -p /opt/shop/.slipway/releases/NEW',
  ...MANIFEST,
  'mkdir /opt/shop/releases/NEW',
  `git --git-dir=/opt/shop/.slipway/repo.git archive --format=tar ${SHA} | tar -x -C /opt/shop/releases/NEW`,
  `[ -e /opt/shop/releases/NEW/REVISION ] || printf '%s\\n' ${SHA} > /opt/shop/releases/NEW/REVISION`,
  `printf '%s\\n' 'SLIPWAY_RELEASE="NEW"`,
  `SLIPWAY_SHA="${SHA}"`,
  `SLIPWAY_REF="main"' > /opt/shop/releases/NEW/.slipway-release.env`,
  'install -m 600 /dev/null /opt/shop/shared/.env.slipway-new',
  "tee /opt/shop/shared/.env.slipway-new > /dev/null <<'SLIPWAY_EOF_0'",
  '<redacted: secret values>',
  'SLIPWAY_EOF_0',
  'mv -f /opt/shop/shared/.env.slipway-new /opt/shop/shared/.env',
  'ln -sfn /opt/shop/shared/.env /opt/shop/releases/NEW/.env',
  "find /opt/shop/releases/NEW -maxdepth 1 -type f '(' -name 'requirements*.txt' -o -name package-lock.json -o -name poetry.lock -o -name Pipfile.lock -o -name yarn.lock ')' -exec sha256sum '{}' + > /opt/shop/.slipway/releases/NEW/lockfiles.sha256",
  "printf '%s\\n' prepared > /opt/shop/.slipway/releases/NEW/status",
];

describe('plan as text', () => {
  it('lists each host, its steps and commands, and what happens on failure', () => {
    expect(planText(deployPlan())).toBe(
      [
        'Plan: deploy prod: main (aaaaaaa) as release NEW',
        '',
        '== web1 (ssh deploy@web1 -p 2222) ==',
        '# holds /opt/shop/.slipway/deploy.lock from connect to finish',
        '## 1. Prepare /opt/shop',
        'mkdir -p /opt/shop/releases /opt/shop/shared /opt/shop/.slipway/releases',
        '{ test -d /opt/shop/.slipway/repo.git || git init --bare --quiet /opt/shop/.slipway/repo.git; }',
        '## 2. Send aaaaaaa to the host (the whole commit)',
        '# on this machine, its output sent with the script to /opt/shop/.slipway/incoming.pack:',
        "#   git --git-dir=/g pack-objects --revs --thin --stdout --delta-base-offset -q <<'SLIPWAY_EOF_0'",
        `#   ${SHA}`,
        '#   SLIPWAY_EOF_0',
        'git --git-dir=/opt/shop/.slipway/repo.git index-pack --stdin --fix-thin > /dev/null < /opt/shop/.slipway/incoming.pack',
        'rm -f /opt/shop/.slipway/incoming.pack',
        `git --git-dir=/opt/shop/.slipway/repo.git update-ref refs/slipway/NEW ${SHA}`,
        '## 3. Create release NEW',
        ...RELEASE,
        '## 4. Point current at NEW',
        'ln -sfn /opt/shop/releases/NEW /opt/shop/.current-next',
        'mv -T /opt/shop/.current-next /opt/shop/current',
        '## 5. Mark the release good and remove old releases',
        "printf '%s\\n' ok > /opt/shop/.slipway/releases/NEW/status",
        'git --git-dir=/opt/shop/.slipway/repo.git gc --auto --quiet',
        '# if a step before the switch fails:',
        `df -Pk /opt/shop 2>/dev/null | awk 'NR == 2 && $4 < 10240 { printf "No space left on device: %s has %d KiB free\\n", $6, $4 }' || true`,
        `df -Pi /opt/shop 2>/dev/null | awk 'NR == 2 && $2 > 0 && $4 < 100 { printf "No space left on device: %s has %d inodes free\\n", $6, $4 }' || true`,
        "{ test '!' -d /opt/shop/.slipway/releases/NEW || printf '%s\\n' failed > /opt/shop/.slipway/releases/NEW/status; }",
        'rm -f /opt/shop/shared/.env.slipway-new',
        '# if a step from the switch to step 4 fails (or the server stops then: run at its next boot):',
        'ln -sfn /opt/shop/releases/R1 /opt/shop/.current-next',
        'mv -T /opt/shop/.current-next /opt/shop/current',
        "printf '%s\\n' bad > /opt/shop/.slipway/releases/NEW/status",
        '# if step 5 or a later one fails, the new release stays (it passed its checks):',
        "printf '%s\\n' ok > /opt/shop/.slipway/releases/NEW/status",
        '',
      ].join('\n'),
    );
  });

  it('shows every command the executor renders, in order (only the secret text differs)', () => {
    const plan = deployPlan();
    const text = planText(plan);
    let at = 0;
    for (const step of plan.hosts[0]!.steps) {
      for (const command of step.commands) {
        const shown = renderCmd(command, { redact: true });
        const found = text.indexOf(shown, at);
        expect(found, shown).toBeGreaterThanOrEqual(at);
        at = found + shown.length;
      }
    }
  });

  it('names a local target and a rollback', () => {
    expect(planText(deployPlan(localTarget)).split('\n')[2]).toBe('== local (this machine) ==');
    const rollback: Plan = {
      action: 'rollback',
      env: 'prod',
      ref: null,
      sha: null,
      hosts: [planRollbackHost({ config, layout, target, facts: fakeFacts({ current: 'R2', releases: ['R1', 'R2'] }), requested: undefined })],
    };
    expect(planText(rollback)).toBe(
      [
        'Plan: rollback prod to R1',
        '',
        '== web1 (ssh deploy@web1 -p 2222) ==',
        '# holds /opt/shop/.slipway/deploy.lock from connect to finish',
        '## 1. Point current at R1',
        'ln -sfn /opt/shop/releases/R1 /opt/shop/.current-next',
        'mv -T /opt/shop/.current-next /opt/shop/current',
        '## 2. Mark R2 bad so the next rollback skips it',
        "printf '%s\\n' bad > /opt/shop/.slipway/releases/R2/status",
        "printf '%s\\n' ok > /opt/shop/.slipway/releases/R1/status",
        '# if a step from the switch to step 1 fails (or the server stops then: run at its next boot):',
        'ln -sfn /opt/shop/releases/R2 /opt/shop/.current-next',
        'mv -T /opt/shop/.current-next /opt/shop/current',
        '# if step 2 or a later one fails, the new release stays (it passed its checks):',
        "printf '%s\\n' bad > /opt/shop/.slipway/releases/R2/status",
        "printf '%s\\n' ok > /opt/shop/.slipway/releases/R1/status",
        '',
      ].join('\n'),
    );
  });
});

describe('plan as a Markdown runbook', () => {
  const md = planMarkdown(deployPlan());

  it('starts with the headline and how to use it, then the lock', () => {
    expect(md.split('\n').slice(0, 14)).toEqual([
      '# Runbook: deploy prod: main (aaaaaaa) as release NEW',
      '',
      'Generated by `slipway plan --format md` from the same plan `slipway deploy` runs. Run each block in order,',
      'as a user who can write the app directory and run systemctl; stop at the first error. Secret values are',
      'shown as `<redacted: secret values>`: take them from your secrets store.',
      '',
      '## web1',
      '',
      'Connect: `ssh deploy@web1 -p 2222`. Take the deploy lock first so no automated deploy runs meanwhile:',
      '',
      '```sh',
      'exec 9>>/opt/shop/.slipway/deploy.lock && flock -n 9',
      '```',
      '',
    ]);
  });

  it('gives each step a fenced block, marks the switch and the deployer step, and ends with the recovery', () => {
    expect(md).toContain(['### 3. Create release NEW', '', '```sh', ...RELEASE, '```', ''].join('\n'));
    expect(md).toContain(
      [
        '### 2. Send aaaaaaa to the host (the whole commit)',
        '',
        'On your own machine, in the repository: make the file, then copy it to the server as `/opt/shop/.slipway/incoming.pack` (scp):',
        '',
        '```sh',
        `git --git-dir=/g pack-objects --revs --thin --stdout --delta-base-offset -q > incoming.pack <<'SLIPWAY_EOF_0'`,
        SHA,
        'SLIPWAY_EOF_0',
        '```',
        '',
        'Then on the server:',
        '',
        '```sh',
        'git --git-dir=/opt/shop/.slipway/repo.git index-pack --stdin --fix-thin > /dev/null < /opt/shop/.slipway/incoming.pack',
      ].join('\n'),
    );
    expect(md).toContain('From here on, traffic moves to the new release. If a step fails, switch back (below).\n\n### 4. Point current at NEW\n');
    expect(md.endsWith(
      [
        '### If a step after the switch failed',
        '',
        '```sh',
        'ln -sfn /opt/shop/releases/R1 /opt/shop/.current-next',
        'mv -T /opt/shop/.current-next /opt/shop/current',
        "printf '%s\\n' bad > /opt/shop/.slipway/releases/NEW/status",
        '```',
        '',
        '',
      ].join('\n'),
    )).toBe(true);
    expect(md.match(/^```sh$/gm)).toHaveLength(1 + 5 + 1 + 2);
  });
});

describe('plan as JSON', () => {
  it('carries every step with its rendered commands', () => {
    const json = JSON.parse(planJson(deployPlan())) as {
      action: string;
      hosts: { host: string; root: string; from: string; to: string; switch_index: number; steps: { id: string; runs_on: string; commands: string[] }[]; on_failure_before_switch: { id: string }[]; on_failure_after_switch: { id: string; commands: string[] }[] }[];
    };
    expect(json.action).toBe('deploy');
    const [host] = json.hosts;
    expect(host).toMatchObject({ host: 'web1', root: '/opt/shop', from: 'R1', to: 'NEW', switch_index: 3 });
    expect(host!.steps.map((s) => `${s.id}@${s.runs_on}`)).toEqual(['prepare@host', 'push@host', 'release@host', 'switch@host', 'finish@host']);
    const rest = RELEASE.slice(1 + MANIFEST.length);
    // Multi-line commands are one entry each: the manifest, the release's identity files, the .env heredoc.
    expect(host!.steps[2]!.commands).toEqual([RELEASE[0], MANIFEST.join('\n'), ...rest.slice(0, 2), rest.slice(2, 6).join('\n'), rest[6], rest.slice(7, 10).join('\n'), ...rest.slice(10)]);
    expect(host).toMatchObject({ commit_index: 4, on_interrupted_commit: [{ id: 'keep' }] });
    expect(host!.on_failure_before_switch.map((s) => s.id)).toEqual(['mark-failed']);
    expect(host!.on_failure_after_switch[0]!.commands).toHaveLength(3);
  });

  it('says null for a first deploy and for a rollback\'s ref and sha', () => {
    const first = JSON.parse(planJson({ ...deployPlan(), hosts: [{ ...deployPlan().hosts[0]!, from: undefined }] })) as { hosts: { from: unknown }[] };
    expect(first.hosts[0]!.from).toBeNull();
    const rollback = JSON.parse(planJson({ action: 'rollback', env: 'prod', ref: null, sha: null, hosts: [] })) as Record<string, unknown>;
    expect(rollback).toEqual({ action: 'rollback', env: 'prod', ref: null, sha: null, hosts: [] });
  });
});

describe('secrets', () => {
  it('never appear in any format, though the executor gets them', () => {
    const plan = deployPlan();
    for (const text of [planText(plan), planMarkdown(plan), planJson(plan)]) expect(text).not.toContain(SECRET);
    const unredacted = plan.hosts[0]!.steps.flatMap((s) => s.commands.map((c) => renderCmd(c))).join('\n');
    expect(unredacted).toContain(`SECRET_KEY="${SECRET}"`);
  });
});
