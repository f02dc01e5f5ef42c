// The deploy planner from small fake facts: which steps, in which order, with which commands.
import { NO_BALANCER_STATE } from '../../src/plan/balancer.js';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { UserError } from '../../src/errors.js';
import type { Cmd, Step } from '../../src/ops/command.js';
import { sha256 } from '../../src/ops/services.js';
import { systemdManager } from '../../src/ops/systemd-manager.js';
import { fullDiskNote, packSource, receivePack, writeReleaseIdentity } from '../../src/ops/release.js';
import { renderCmd } from '../../src/ops/shell.js';
import { releasesToRemove } from '../../src/plan/cleanup.js';
import { planDeployHost, type DeployInput, type Source } from '../../src/plan/deploy.js';
import { goodReleases, parseFacts } from '../../src/plan/facts.js';
import { layoutFor } from '../../src/plan/layout.js';
import { bootRecoveryUnit, healthCheckFor, processesOn, unitFiles } from '../../src/plan/processes.js';
import { releaseId } from '../../src/plan/release-id.js';
import type { Target } from '../../src/plan/target.js';
import type { HostFacts } from '../../src/plan/facts.js';
import { fakeFacts, localTarget, rid, sshTarget, testConfig, testProfile } from './fixtures/config.js';

const SHA = 'abc1234def5678abc1234def5678abc1234def56';
const NEW = '20240301T120000.000Z-abc1234';
const push: Source = { mode: 'push', gitDir: '/home/me/shop/.git' };

function plan(options: { config?: Config; facts?: HostFacts; source?: Source; target?: Target; branch?: string; topology?: DeployInput['topology'] } = {}) {
  const config = options.config ?? testConfig();
  const input: DeployInput = {
    config,
    configHash: '0123456789abcdef',
    profile: testProfile(config),
    venvKey: undefined,
    stepInputs: {},
    full: false,
    hostsDatabase: false,
    runsMigrations: false,
    topology: options.topology ?? { placement: {}, record: '' },
    balancing: undefined,
    balancerState: NO_BALANCER_STATE,
    runsApp: true,
    layout: layoutFor(config, options.branch ?? 'main'),
    target: options.target ?? sshTarget,
    facts: options.facts ?? fakeFacts(),
    source: options.source ?? push,
    sha: SHA,
    ref: options.branch ?? 'main',
    releaseId: NEW,
    deployedBy: 'me@laptop',
    now: new Date('2024-03-01T12:00:00.000Z'),
  };
  return planDeployHost(input);
}

const ids = (steps: Step[]) => steps.map((s) => s.id);
const shell = (step: Step | undefined) => (step?.commands ?? []).map((c: Cmd) => renderCmd(c));
const step = (steps: Step[], id: string) => steps.find((s) => s.id === id);

/** A config line as the app runs it: in the release, with its .env loaded. */
const hookLine = (line: string, user?: string) =>
  `(cd /opt/shop/releases/${NEW} && ${user ? `sudo -n -H -u ${user} -- ` : ''}sh -c 'set -a; if [ -f .env ]; then . ./.env; fi; if [ -f .slipway-release.env ]; then . ./.slipway-release.env; fi; set +a; ${line}')`;

const withWeb = (overrides: Partial<Config> = {}) =>
  testConfig({ processes: { web: { command: 'gunicorn app:app --bind 127.0.0.1:$PORT', port: 8000, roles: ['web'] } }, ...overrides });

describe('a first deploy without processes', () => {
  const p = plan();

  it('prepares, pushes, creates the release, switches and finishes, in that order', () => {
    expect(ids(p.steps)).toEqual(['prepare', 'push', 'release', 'switch', 'finish']);
    expect(p.switchIndex).toBe(3);
    expect(p.from).toBeUndefined();
    expect(p.to).toBe(NEW);
    expect(p.target).toBe(sshTarget);
    expect(p.layout.root).toBe('/opt/shop');
  });

  it('has exactly these commands', () => {
    const R = `/opt/shop/releases/${NEW}`;
    const M = `/opt/shop/.slipway/releases/${NEW}`;
    expect(shell(p.steps[0])).toEqual([
      'mkdir -p /opt/shop/releases /opt/shop/shared /opt/shop/.slipway/releases',
      '{ test -d /opt/shop/.slipway/repo.git || git init --bare --quiet /opt/shop/.slipway/repo.git; }',
    ]);
    expect(p.steps[1]).toMatchObject({ title: 'Send abc1234 to the host (the whole commit)', carries: { make: packSource('/home/me/shop/.git', SHA, []), into: '/opt/shop/.slipway/incoming.pack' } });
    expect(p.steps[1]!.runsOn).toBeUndefined();
    expect(shell(p.steps[1])).toEqual(receivePack(layoutFor(testConfig(), 'main'), SHA, NEW).map((c) => renderCmd(c)));
    expect(shell(p.steps[2])).toEqual([
      `mkdir -p ${M}`,
      `tee ${M}/manifest.json > /dev/null <<'SLIPWAY_EOF_0'\n${JSON.stringify(
        { id: NEW, sha: SHA, ref: 'main', config_hash: '0123456789abcdef', deployed_by: 'me@laptop', created_at: '2024-03-01T12:00:00.000Z', units: [] },
        null,
        2,
      )}\nSLIPWAY_EOF_0`,
      `mkdir ${R}`,
      `git --git-dir=/opt/shop/.slipway/repo.git archive --format=tar ${SHA} | tar -x -C ${R}`,
      renderCmd(writeReleaseIdentity(layoutFor(testConfig(), 'main'), { id: NEW, sha: SHA, ref: 'main' })),
      `find ${R} -maxdepth 1 -type f '(' -name 'requirements*.txt' -o -name package-lock.json -o -name poetry.lock -o -name Pipfile.lock -o -name yarn.lock ')' -exec sha256sum '{}' + > ${M}/lockfiles.sha256`,
      `printf '%s\\n' prepared > ${M}/status`,
    ]);
    expect(shell(p.steps[3])).toEqual([`ln -sfn ${R} /opt/shop/.current-next`, 'mv -T /opt/shop/.current-next /opt/shop/current']);
    expect(shell(p.steps[4])).toEqual([`printf '%s\\n' ok > ${M}/status`, 'git --git-dir=/opt/shop/.slipway/repo.git gc --auto --quiet']);
  });

  it('marks the release failed before the switch, and stops the first release after it', () => {
    expect(p.onFailureBeforeSwitch.map((s) => [s.id, ...shell(s)])).toEqual([
      ['mark-failed', renderCmd(fullDiskNote('/opt/shop')), `{ test '!' -d /opt/shop/.slipway/releases/${NEW} || printf '%s\\n' failed > /opt/shop/.slipway/releases/${NEW}/status; }`],
    ]);
    expect(p.onFailureAfterSwitch.map((s) => [s.id, s.title, ...shell(s)])).toEqual([
      ['switch-back', 'Stop the failed first release', 'rm -f /opt/shop/current', `printf '%s\\n' bad > /opt/shop/.slipway/releases/${NEW}/status`],
    ]);
  });
});

describe('code transport', () => {
  it('skips the push when the host already has the commit', () => {
    expect(ids(plan({ facts: fakeFacts({ hasCommit: true }) }).steps)).toEqual(['prepare', 'release', 'switch', 'finish']);
  });

  it('sends a pack without what the releases on the host and the deployer both have, sorted, the commit itself never among them', () => {
    const [old1, old2, elsewhere] = ['1'.repeat(40), '2'.repeat(40), '3'.repeat(40)];
    const facts = fakeFacts({ releases: ['r1', 'r2', 'r3'] });
    facts.commits = [SHA, old2, old1, elsewhere];
    const p = plan({ facts, source: { mode: 'push', gitDir: '/g', known: [old1, old2, SHA] } });
    const step = p.steps.find((s) => s.id === 'push')!;
    expect(step.title).toBe('Send abc1234 to the host (what its 2 releases lack)');
    expect(step.carries?.make.stdin?.text).toBe(`${SHA}\n^${old1}\n^${old2}`);
    // A local target carries its pack the same way.
    expect(plan({ target: localTarget }).steps.find((s) => s.id === 'push')?.carries?.into).toBe('/opt/shop/.slipway/incoming.pack');
  });

  it('tidies the cached repo after the commit only when a pack came', () => {
    const finish = (hasCommit: boolean) => shell(plan({ facts: fakeFacts({ hasCommit }) }).steps.find((s) => s.id === 'finish'));
    expect(finish(false)).toContain('git --git-dir=/opt/shop/.slipway/repo.git gc --auto --quiet');
    expect(finish(true).join('\n')).not.toContain(' gc ');
  });

  it('fetches on the host in fetch mode, whatever the host has', () => {
    const p = plan({ source: { mode: 'fetch', url: 'https://github.com/acme/shop.git' }, facts: fakeFacts({ hasCommit: true }) });
    expect(ids(p.steps)).toEqual(['prepare', 'fetch', 'release', 'switch', 'finish']);
    expect(p.steps[1]?.title).toBe('Fetch main on the host');
    expect(p.steps[1]?.runsOn).toBeUndefined();
    expect(shell(p.steps[1])).toEqual([
      "git --git-dir=/opt/shop/.slipway/repo.git fetch --quiet --force --prune --tags -- https://github.com/acme/shop.git '+refs/heads/*:refs/heads/*'",
      `git --git-dir=/opt/shop/.slipway/repo.git cat-file -e '${SHA}^{commit}'`,
    ]);
  });
});

describe('with processes', () => {
  it('creates the app user, owns shared/, installs units, restarts and checks health', () => {
    const p = plan({ config: withWeb() });
    expect(ids(p.steps)).toEqual(['prepare', 'push', 'release', 'units', 'port', 'switch', 'restart', 'health', 'finish']);
    expect(p.switchIndex).toBe(5);
    expect(p.commitIndex).toBe(8);
    expect(step(p.steps, 'port')?.title).toBe('Check that port 8000 is free for the web process');
    expect(shell(step(p.steps, 'port')).join('\n')).toContain('[[ $slipway_cgroup == */shop-web.service* || $slipway_cgroup == */shop-web@blue.service* || $slipway_cgroup == */shop-web@green.service* ]]');
    expect(shell(step(p.steps, 'health')).join('\n')).toContain("printf 'nothing of %s listens on %s\\n' shop-web.service 'port 8000'");
    expect(shell(p.steps[0]).slice(-3)).toEqual([
      '{ id -u shop >/dev/null 2>&1 || useradd --system --user-group --home-dir /opt/shop --no-create-home --shell /usr/sbin/nologin shop; }',
      'chown -R shop:shop /opt/shop/shared',
      // Where a command may listen on $SLIPWAY_SOCKET: the app's group (no nginx on this host).
      'install -d -o shop -g shop -m 750 /opt/shop/run',
    ]);
    // The step is the units builder (exact text in builders.test.ts) over every unit of the host.
    const layout = layoutFor(withWeb(), 'main');
    expect(step(p.steps, 'units')?.commands).toEqual(systemdManager(layout).install([...unitFiles('shop', withWeb().processes, layout, ['web'], undefined), bootRecoveryUnit(layout, 'shop')], {}));
    expect(shell(step(p.steps, 'units')).at(-1)).toBe('systemctl enable --quiet shop.target shop-web.service shop-boot-recovery.service');
    expect(shell(step(p.steps, 'restart'))).toEqual(['systemctl reset-failed shop-web.service', 'systemctl restart shop-web.service']);
    expect(step(p.steps, 'health')?.title).toBe('Check health: http://127.0.0.1:8000/health');
    expect(shell(step(p.steps, 'health'))[0]).toContain("--max-time 5 http://127.0.0.1:8000/health");
  });

  it('installs only the units whose text changed', () => {
    const config = withWeb();
    const layout = layoutFor(config, 'main');
    const units = [...unitFiles('shop', config.processes, layout, ['web'], undefined), bootRecoveryUnit(layout, 'shop')];
    const installed = Object.fromEntries(units.map((u) => [u.name, sha256(u.text)]));
    expect(ids(plan({ config, facts: fakeFacts({ units: installed }) }).steps)).not.toContain('units');
    const stale = plan({ config, facts: fakeFacts({ units: { ...installed, 'shop-web.service': 'old' } }) });
    const written = shell(step(stale.steps, 'units')).filter((l) => l.startsWith('tee '));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^tee \S*\/shop-web\.service\.slipway-new /);
    expect(shell(step(stale.steps, 'units')).at(-1)).toBe('systemctl enable --quiet shop.target shop-web.service shop-boot-recovery.service');
  });

  it('runs hooks in the release as the app user, in their places around the switch', () => {
    const p = plan({ config: withWeb({ hooks: { build: ['npm ci', 'npm run build'], before_switch: ['./manage.py migrate'], after_switch: ['curl -X POST $HOOK'] } }) });
    expect(ids(p.steps)).toEqual(['prepare', 'push', 'release', 'build', 'units', 'before-switch', 'port', 'switch', 'restart', 'after-switch', 'health', 'finish']);
    expect(p.switchIndex).toBe(7);
    expect(shell(step(p.steps, 'build'))).toEqual([hookLine('npm ci', 'shop'), hookLine('npm run build', 'shop')]);
    expect(shell(step(p.steps, 'before-switch'))).toEqual([hookLine('./manage.py migrate', 'shop')]);
    expect(shell(step(p.steps, 'after-switch'))).toEqual([hookLine('curl -X POST $HOOK', 'shop')]);
  });

  it('runs hooks as the connecting user when the app has no processes here', () => {
    const p = plan({ config: testConfig({ hooks: { build: ['make'], before_switch: [], after_switch: [] } }) });
    expect(shell(step(p.steps, 'build'))).toEqual([hookLine('make')]);
  });

  it('runs only the processes whose roles the host has', () => {
    const config = testConfig({ processes: { web: { command: 'a', port: 8000, roles: ['web'] }, worker: { command: 'b', roles: ['worker'] } } });
    expect(processesOn(config.processes, sshTarget, {})).toEqual(['web']);
    expect(processesOn(config.processes, { ...sshTarget, roles: ['worker'] } as Target, {})).toEqual(['worker']);
    const worker = plan({ config, target: { ...sshTarget, roles: ['worker'] } as Target });
    expect(ids(worker.steps)).toEqual(['prepare', 'push', 'release', 'units', 'switch', 'restart', 'finish']);
    expect(shell(step(worker.steps, 'restart'))).toEqual(['systemctl reset-failed shop-worker.service', 'systemctl restart shop-worker.service']);
    const layout = layoutFor(config, 'main');
    expect(healthCheckFor(config, config.processes, '/health', ['worker'], layout)).toBeUndefined();
    expect(healthCheckFor(config, config.processes, '/up', ['web'], layout)).toEqual({ url: 'http://127.0.0.1:8000/up', expectedStatus: 200, timeoutSeconds: 5, retries: 10, unit: 'shop-web.service' });
    expect(healthCheckFor(config, config.processes, '/up', ['web'], layout, { port: 8001, unit: 'shop-web@green.service' })).toMatchObject({ url: 'http://127.0.0.1:8001/up', unit: 'shop-web@green.service' });
  });

  it('refuses processes on a host without systemd', () => {
    expect(() => plan({ config: withWeb(), facts: fakeFacts({ systemd: false }) })).toThrow(UserError);
    expect(() => plan({ config: withWeb(), facts: fakeFacts({ systemd: false }) })).toThrow('web1: processes are configured (web) but systemd does not run there');
  });

  it('switches back to the previous release and marks the new one bad when a step after the switch fails', () => {
    const p = plan({ config: withWeb(), facts: fakeFacts({ current: rid(1), releases: [rid(1)] }) });
    expect(p.from).toBe(rid(1));
    expect(p.onFailureAfterSwitch.map((s) => [s.title, ...shell(s)])).toEqual([
      [
        `Switch back to ${rid(1)}`,
        `ln -sfn /opt/shop/releases/${rid(1)} /opt/shop/.current-next`,
        'mv -T /opt/shop/.current-next /opt/shop/current',
        'systemctl reset-failed shop-web.service',
        'systemctl restart shop-web.service',
        `printf '%s\\n' bad > /opt/shop/.slipway/releases/${NEW}/status`,
        // and waits until the previous release answers again
        shell(step(p.steps, 'health'))[0],
      ],
    ]);
  });

  it('installs a first blue/green site only once the new slot answers; later site changes come before the switch', () => {
    const config = withWeb({ http: { ...withWeb().http, enabled: true } });
    const first = plan({ config });
    expect(ids(first.steps)).toEqual(['system-packages', 'prepare', 'push', 'release', 'units', 'port', 'slot', 'slot-health', 'site', 'route', 'switch', 'finish']);
    expect(first.switchIndex).toBe(ids(first.steps).indexOf('slot'));
    const live = plan({ config, facts: fakeFacts({ current: rid(1), releases: [rid(1)], packages: ['nginx'], slots: { blue: { release: rid(1), active: true } }, liveSlot: 'blue' }) });
    expect(ids(live.steps).indexOf('site')).toBeLessThan(live.switchIndex);
    expect(ids(live.steps).slice(live.switchIndex)).toEqual(['slot', 'slot-health', 'route', 'switch', 'drain', 'finish']);
  });

  it('with http.switch socket, the manifest records the link, the sockets directory is nginx\'s to reach, and restart in place checks through the link', () => {
    const web = { command: 'gunicorn app:app --bind 127.0.0.1:$PORT --bind unix:$SLIPWAY_SOCKET', port: 8000, roles: ['web'] };
    const config = withWeb({ processes: { web }, http: { ...withWeb().http, enabled: true, strategy: 'restart' } });
    const p = plan({ config, facts: fakeFacts({ packages: ['nginx'] }) });
    expect(shell(p.steps.find((s) => s.id === 'prepare')).at(-1)).toBe('install -d -o shop -g www-data -m 750 /opt/shop/run');
    expect(step(p.steps, 'health')?.title).toBe('Check health: http://127.0.0.1:8000/health through /opt/shop/run/web.sock');
    expect(shell(step(p.steps, 'release')).join('\n')).toMatch(/"web": \{\s*"process": "web",\s*"port": 8000,\s*"strategy": "restart",\s*"socket": "\/opt\/shop\/run\/web.sock"\s*\}/);
    const unit = step(p.steps, 'units')!.commands.map((c) => renderCmd(c)).join('\n');
    expect(unit).toContain('Environment=SLIPWAY_SOCKET=/opt/shop/run/web.sock');
    // It names $PORT too: that port must be free.
    expect(ids(p.steps)).toContain('port');
  });

  it('checks no port for a web process that listens on its socket alone (its socket\'s listener is checked)', () => {
    const web = { command: 'uvicorn main:app --uds $SLIPWAY_SOCKET', port: 8000, roles: ['web'] };
    const config = withWeb({ processes: { web }, http: { ...withWeb().http, enabled: true, strategy: 'restart' } });
    const p = plan({ config, facts: fakeFacts({ packages: ['nginx'] }) });
    expect(ids(p.steps)).not.toContain('port');
    expect(shell(step(p.steps, 'health')).join('\n')).toContain("printf 'nothing of %s listens on %s\\n' shop-web.service 'socket /opt/shop/run/web.sock'");
  });

  it('stops the app on a failed first deploy', () => {
    expect(shell(plan({ config: withWeb() }).onFailureAfterSwitch[0])).toEqual([
      'systemctl stop shop-web.service',
      'rm -f /opt/shop/current',
      `printf '%s\\n' bad > /opt/shop/.slipway/releases/${NEW}/status`,
    ]);
  });
});

describe('environment file', () => {
  it('is created 0600 for the app user, fed over stdin as a secret, renamed into place and linked', () => {
    const p = plan({ config: withWeb({ env_vars: { DATABASE_URL: 'postgres://u:p@h/db', QUOTED: 'say "hi"\nbye' } }) });
    const release = step(p.steps, 'release')!;
    const tee = release.commands.find((c) => 'argv' in c && c.argv[0] === 'tee' && c.argv[1]?.endsWith('.env.slipway-new'));
    expect(tee).toEqual({
      argv: ['tee', '/opt/shop/shared/.env.slipway-new'],
      stdin: { text: 'DATABASE_URL="postgres://u:p@h/db"\nQUOTED="say \\"hi\\"\nbye"\n', secret: true },
      stdoutTo: '/dev/null',
    });
    const lines = shell(release).filter((l) => l.includes('/.env'));
    expect(lines.filter((l) => !l.startsWith('tee '))).toEqual([
      'install -m 600 -o shop -g shop /dev/null /opt/shop/shared/.env.slipway-new',
      'mv -f /opt/shop/shared/.env.slipway-new /opt/shop/shared/.env',
      `ln -sfn /opt/shop/shared/.env /opt/shop/releases/${NEW}/.env`,
    ]);
    expect(release.commands.map((c) => renderCmd(c, { redact: true })).join('\n')).not.toContain('postgres://');
  });

  it('is left alone when there are no env_vars, and has no owner without an app user', () => {
    expect(shell(step(plan().steps, 'release')).some((l) => l.includes('/.env'))).toBe(false);
    expect(shell(step(plan({ config: testConfig({ env_vars: { A: 'b' } }) }).steps, 'release'))).toContain('install -m 600 /dev/null /opt/shop/shared/.env.slipway-new');
  });
});

describe('shared paths', () => {
  it('are made in prepare (before chown) and linked in the release', () => {
    const p = plan({ config: withWeb({ shared: { dirs: ['media'], files: ['config/local.py'] } }) });
    expect(shell(p.steps[0]).slice(0, 2)).toEqual([
      'mkdir -p /opt/shop/releases /opt/shop/shared /opt/shop/.slipway/releases /opt/shop/shared/media /opt/shop/shared/config',
      'touch /opt/shop/shared/config/local.py',
    ]);
    expect(shell(p.steps[0]).at(-1)).toBe('install -d -o shop -g shop -m 750 /opt/shop/run');
    expect(shell(p.steps[0]).at(-2)).toBe('chown -R shop:shop /opt/shop/shared');
    expect(shell(step(p.steps, 'release'))).toContain(`ln -s /opt/shop/shared/config/local.py /opt/shop/releases/${NEW}/config/local.py`);
  });
});

describe('cleanup', () => {
  // The host has the commit: no pack came, so the finish step holds the cleanup alone.
  const finish = (facts: HostFacts, keep = 5) => shell(step(plan({ config: testConfig({ keep_releases: keep }), facts: { ...facts, hasCommit: true } }).steps, 'finish'));
  const removed = (lines: string[]) => lines.slice(1).map((l) => /old release (\S+)'/.exec(l)?.[1]);

  it('keeps keep_releases including the new one, removing the oldest', () => {
    const releases = [1, 2, 3, 4, 5, 6].map((n) => rid(n));
    expect(removed(finish(fakeFacts({ current: rid(6), releases })))).toEqual([rid(1), rid(2)]);
    expect(finish(fakeFacts({ current: rid(6), releases }))[1]).toBe(
      `{ rm -rf /opt/shop/releases/${rid(1)} /opt/shop/.slipway/releases/${rid(1)} || echo 'warning: could not remove old release ${rid(1)}'; }`,
    );
  });

  it('removes nothing while there are fewer than keep_releases', () => {
    expect(finish(fakeFacts({ current: rid(2), releases: [rid(1), rid(2)] }))).toEqual([`printf '%s\\n' ok > /opt/shop/.slipway/releases/${NEW}/status`]);
  });

  it('never removes current or the previous good release, however old', () => {
    // Current (1) is the oldest, 2 is the previous good release; everything newer failed or went bad.
    const releases = [`${rid(1)}:ok`, `${rid(2)}:ok`, `${rid(3)}:failed`, `${rid(4)}:bad`, `${rid(5)}:failed`, `${rid(6)}:bad`];
    expect(removed(finish(fakeFacts({ current: rid(1), releases }), 2))).toEqual([rid(3), rid(4), rid(5), rid(6)]);
  });

  it('releasesToRemove: protected ids are skipped, not counted as removed', () => {
    expect(releasesToRemove(['c', 'a', 'b', 'd'], 2, new Set(['a', 'd']))).toEqual(['b', 'c']);
    expect(releasesToRemove(['a', 'b', 'c'], 2, new Set(['a', 'b', 'c']))).toEqual([]);
    expect(releasesToRemove(['a', 'b'], 5, new Set())).toEqual([]);
  });
});

describe('per-branch layout', () => {
  it('puts each branch under {base}/{project}/{env}/{slug} with its own units', () => {
    const config = withWeb({ per_branch: true, environment: 'branch', base_path: '/srv' });
    const p = plan({ config, branch: 'feature/Login_x' });
    expect(p.layout).toEqual({
      root: '/srv/shop/branch/feature-login-x-847dbe',
      releases: '/srv/shop/branch/feature-login-x-847dbe/releases',
      shared: '/srv/shop/branch/feature-login-x-847dbe/shared',
      current: '/srv/shop/branch/feature-login-x-847dbe/current',
      nextCurrent: '/srv/shop/branch/feature-login-x-847dbe/.current-next',
      meta: '/srv/shop/branch/feature-login-x-847dbe/.slipway',
      repo: '/srv/shop/branch/feature-login-x-847dbe/.slipway/repo.git',
      lockFile: '/srv/shop/branch/feature-login-x-847dbe/.slipway/deploy.lock',
      holderFile: '/srv/shop/branch/feature-login-x-847dbe/.slipway/lock-holder.json',
      history: '/srv/shop/branch/feature-login-x-847dbe/.slipway/history.jsonl',
      pendingHistory: '/srv/shop/branch/feature-login-x-847dbe/.slipway/history.pending',
      envFile: '/srv/shop/branch/feature-login-x-847dbe/shared/.env',
      slots: '/srv/shop/branch/feature-login-x-847dbe/slots',
      liveSlotFile: '/srv/shop/branch/feature-login-x-847dbe/.slipway/live-slot',
      sockets: '/srv/shop/branch/feature-login-x-847dbe/run',
      unitPrefix: 'shop-branch-feature-login-x-847dbe',
      appUser: 'shop',
      processManager: 'systemd',
    });
    expect(shell(step(p.steps, 'restart'))).toEqual(['systemctl reset-failed shop-branch-feature-login-x-847dbe-web.service', 'systemctl restart shop-branch-feature-login-x-847dbe-web.service']);
  });

  it('derives the app user from the project name unless given', () => {
    expect(layoutFor(testConfig({ project: { name: 'my-shop' } }), 'main').appUser).toBe('my_shop');
    expect(layoutFor(testConfig({ app_user: 'www' }), 'main').appUser).toBe('www');
  });
});

describe('facts and release ids', () => {
  it('parses the probe output, sorting releases and keeping manifests', () => {
    const manifest = { id: rid(2), sha: SHA, ref: 'main', config_hash: 'h', deployed_by: 'me@x', created_at: 't' };
    const facts = parseFacts(
      [
        'cores 4',
        'python /usr/bin/python3.11',
        'package postgresql',
        'package python3-venv',
        'flag systemd',
        'unit shop-web.service 5d41402a',
        'venv 0123456789ab',
        'node-deps 00112233aabb',
        'node-deps ../escape',
        'node-runtime 20.20.2',
        'node-runtime 20',
        'node-system v18.19.0',
        'machine x86_64',
        'file /etc/nginx/sites-available/shop.conf 9f86d081',
        'slot blue 20240101T000002.000Z-aaaaaa2 active',
        'slot green - inactive',
        'live blue',
        `current /opt/shop/releases/${rid(2)}`,
        `release ${rid(2)} ok`,
        `manifest ${rid(2)} ${JSON.stringify(manifest)}`,
        `release ${rid(1)} bad`,
        `release ${rid(3)} weird`,
        `manifest ${rid(3)} {torn`,
        'flag repo',
        'flag commit',
        '',
      ].join('\n'),
    );
    expect(facts).toEqual({
      current: rid(2),
      releases: [
        { id: rid(1), status: 'bad' },
        { id: rid(2), status: 'ok', manifest },
        { id: rid(3), status: 'unknown' },
      ],
      hasRepo: true,
      hasCommit: true,
      units: { 'shop-web.service': '5d41402a' },
      systemd: true,
      supervisor: false,
      appUser: false,
      cores: 4,
      python: '/usr/bin/python3.11',
      packages: ['postgresql', 'python3-venv'],
      venvs: ['0123456789ab'],
      nodeDeps: ['00112233aabb'],
      nodeRuntimes: ['20.20.2'],
      nodeSystem: '18.19.0',
      machine: 'x86_64',
      files: { '/etc/nginx/sites-available/shop.conf': '9f86d081' },
      slots: { blue: { release: rid(2), active: true }, green: { active: false } },
      liveSlot: 'blue',
    });
    expect(goodReleases(facts)).toEqual([rid(2)]);
    expect(parseFacts('')).toEqual({ releases: [], hasRepo: false, hasCommit: false, units: {}, systemd: false, supervisor: false, appUser: false, cores: 1, packages: [], venvs: [], nodeDeps: [], nodeRuntimes: [], files: {}, slots: {} });
  });

  it('makes sortable ids from the time and sha7, with a counter for a repeat', () => {
    const now = new Date('2024-01-02T03:04:05.678Z');
    expect(releaseId(now, SHA, [])).toBe('20240102T030405.678Z-abc1234');
    expect(releaseId(now, SHA, ['20240102T030405.678Z-abc1234'])).toBe('20240102T030405.678Z-abc1234-2');
    expect(releaseId(now, SHA, ['20240102T030405.678Z-abc1234', '20240102T030405.678Z-abc1234-2'])).toBe('20240102T030405.678Z-abc1234-3');
    expect(releaseId(new Date('2024-01-02T03:04:05.999Z'), SHA, []) > releaseId(now, SHA, [])).toBe(true);
  });
});
