// supervisor as the process manager: the program files and launchers as exact text, the commands its manager
// builds, and what a deploy plan does differently under it.
import { describe, expect, it } from 'vitest';
import { NO_BALANCER_STATE } from '../../src/plan/balancer.js';
import type { Cmd, Step } from '../../src/ops/command.js';
import { sha256 } from '../../src/ops/services.js';
import { renderCmd } from '../../src/ops/shell.js';
import { supervisorManager, supervisorOwns } from '../../src/ops/supervisor-manager.js';
import { programLogCommand } from '../../src/ops/logs.js';
import { planDeployHost, type DeployInput } from '../../src/plan/deploy.js';
import { judgeHost, parseDoctorFacts, type DoctorInput } from '../../src/plan/doctor.js';
import { layoutFor } from '../../src/plan/layout.js';
import { logSources } from '../../src/plan/logs.js';
import { renderBootProgram, renderProgram } from '../../src/render/supervisor.js';
import { UserError } from '../../src/errors.js';
import type { HostFacts } from '../../src/plan/facts.js';
import { fakeFacts, rid, sshTarget, testConfig, testProfile } from './fixtures/config.js';

const config = testConfig({ process_manager: 'supervisor' });
const layout = layoutFor(config, 'main');
const text = (commands: Cmd[]) => commands.map((c) => renderCmd(c));

/** The program file's fixed part, after its two comment lines. */
const program = (name: string, stopwait: number) => [
  `[program:${name}]`,
  `command=/bin/sh /etc/slipway/supervisor/${name}.sh`,
  'user=shop',
  'autostart=false',
  'autorestart=true',
  'startsecs=1',
  'startretries=10',
  'stopsignal=TERM',
  `stopwaitsecs=${stopwait}`,
  'stopasgroup=true',
  'killasgroup=true',
  'redirect_stderr=true',
  `stdout_logfile=/opt/shop/shared/logs/supervisor/${name}.log`,
  'stdout_logfile_maxbytes=10MB',
  'stdout_logfile_backups=5',
  '',
];

const header = (name: string, launcher: string) => [
  '; Written by slipway: changes here are replaced on the next deploy.',
  `; Runs /etc/slipway/supervisor/${name}.sh (sha256 ${sha256(launcher).slice(0, 16)}).`,
];

describe('supervisor program files', () => {
  it('a blue/green web slot: runs in the release its slot links to, with the slot\'s port and socket, the command verbatim in the launcher', () => {
    const web = renderProgram({ layout, name: 'web', process: { command: 'gunicorn app:app --bind 127.0.0.1:$PORT ; echo 100%', port: 8000, roles: ['web'] }, project: 'shop', runtime: 'python', slot: 'green' }, 'shop-web@green.service');
    const launcher = [
      '#!/bin/sh',
      '# Written by slipway: runs shop web (slot green) as the supervisor program shop-web@green.',
      '# Values come from the files it reads when it starts, never from here or from the command line.',
      'cd /opt/shop/slots/green || exit 1',
      'export HOME=/opt/shop',
      'export USER=shop',
      'export LOGNAME=shop',
      'export PATH=/opt/shop/slots/green/.venv/bin:/usr/local/bin:/usr/bin:/bin',
      'export PROJECT_PYTHON_PATH=/opt/shop/slots/green/.venv/bin/python',
      'set -a',
      'if [ -f /opt/shop/shared/.env ]; then . /opt/shop/shared/.env; fi',
      'if [ -f ./.slipway-release.env ]; then . ./.slipway-release.env; fi',
      'if [ -f /opt/shop/.slipway/slot-green.env ]; then . /opt/shop/.slipway/slot-green.env; fi',
      'set +a',
      // ` ;` and `%` would be a comment and an interpolation in the program file: here they are plain shell.
      'exec gunicorn app:app --bind 127.0.0.1:$PORT ; echo 100%',
      '',
    ].join('\n');
    expect(web.launcher).toBe(launcher);
    expect(web.text).toBe([...header('shop-web@green', launcher), ...program('shop-web@green', 35)].join('\n'));
  });

  it('a worker in place: in current, its port and socket its own, no secret anywhere in either file', () => {
    const worker = renderProgram({ layout, name: 'worker', process: { command: 'node worker.js', roles: ['worker'], port: 9000 }, project: 'shop', runtime: 'node' }, 'shop-worker.service');
    const launcher = [
      '#!/bin/sh',
      '# Written by slipway: runs shop worker as the supervisor program shop-worker.',
      '# Values come from the files it reads when it starts, never from here or from the command line.',
      'cd /opt/shop/current || exit 1',
      'export HOME=/opt/shop',
      'export USER=shop',
      'export LOGNAME=shop',
      'export PATH=/opt/shop/current/.node/bin:/opt/shop/current/node_modules/.bin:/usr/local/bin:/usr/bin:/bin',
      'export NODE_ENV=production',
      'export PORT=9000',
      'set -a',
      'if [ -f /opt/shop/shared/.env ]; then . /opt/shop/shared/.env; fi',
      'if [ -f ./.slipway-release.env ]; then . ./.slipway-release.env; fi',
      'set +a',
      'exec node worker.js',
      '',
    ].join('\n');
    expect(worker.launcher).toBe(launcher);
    expect(worker.text).toBe([...header('shop-worker', launcher), ...program('shop-worker', 35)].join('\n'));
  });

  it('a scheduler: its stop_timeout is supervisor\'s stopwaitsecs', () => {
    const scheduler = renderProgram({ layout, name: 'scheduler', process: { command: 'python manage.py run_scheduler', roles: ['web'], stop_timeout: 90, singleton: true }, project: 'shop', runtime: 'python' }, 'shop-scheduler.service');
    const launcher = [
      '#!/bin/sh',
      '# Written by slipway: runs shop scheduler as the supervisor program shop-scheduler.',
      '# Values come from the files it reads when it starts, never from here or from the command line.',
      'cd /opt/shop/current || exit 1',
      'export HOME=/opt/shop',
      'export USER=shop',
      'export LOGNAME=shop',
      'export PATH=/opt/shop/current/.venv/bin:/usr/local/bin:/usr/bin:/bin',
      'export PROJECT_PYTHON_PATH=/opt/shop/current/.venv/bin/python',
      'set -a',
      'if [ -f /opt/shop/shared/.env ]; then . /opt/shop/shared/.env; fi',
      'if [ -f ./.slipway-release.env ]; then . ./.slipway-release.env; fi',
      'set +a',
      'exec python manage.py run_scheduler',
      '',
    ].join('\n');
    expect(scheduler.launcher).toBe(launcher);
    expect(scheduler.text).toBe([...header('shop-scheduler', launcher), ...program('shop-scheduler', 90)].join('\n'));
  });

  it('the boot program runs once as root: the interrupted switch-back, then the enabled programs', () => {
    const boot = renderBootProgram(layout, 'shop', 'shop-boot-recovery.service', '/opt/shop/.slipway/boot-recovery.sh');
    expect(boot.launcher).toBe(
      [
        '#!/bin/sh',
        "# Written by slipway: at supervisord's start, shop's interrupted switch-back, then its enabled programs.",
        'if [ -f /opt/shop/.slipway/boot-recovery.sh ]; then /bin/bash /opt/shop/.slipway/boot-recovery.sh; fi',
        'for f in /opt/shop/.slipway/supervisor-enabled/*; do [ -f "$f" ] || continue; supervisorctl start "${f##*/}"; done',
        '',
      ].join('\n'),
    );
    expect(boot.text).toContain('[program:shop-boot-recovery]\ncommand=/bin/sh /etc/slipway/supervisor/shop-boot-recovery.sh\nuser=root\nautostart=true\nautorestart=false\nstartsecs=0\n');
  });
});

describe('the supervisor manager\'s commands', () => {
  const manager = supervisorManager(layout);

  it('writes only changed programs, launcher first; adds new ones (started by nothing); a running change waits for its restart', () => {
    const files = manager.processFiles({ project: 'shop', processes: { web: { command: 'w', port: 8000, roles: ['web'] }, worker: { command: 'k', roles: ['web'] } }, names: ['web', 'worker'], runtime: undefined, slotted: 'web' });
    expect(files.map((f) => f.name)).toEqual(['shop-web@blue.service', 'shop-web@green.service', 'shop-worker.service']);
    const installed = Object.fromEntries(files.map((f) => [f.name, sha256(f.text)]));
    expect(manager.install(files, installed)).toEqual([]);
    const lines = text(manager.install(files, { ...installed, 'shop-worker.service': 'stale' }));
    expect(lines[0]).toBe('install -d -m 755 /etc/slipway/supervisor /opt/shop/.slipway/supervisor-enabled /opt/shop/shared/logs/supervisor');
    expect(lines.some((l) => l.startsWith('touch'))).toBe(false);
    expect(lines.filter((l) => l.startsWith('mv -f'))).toEqual([
      'mv -f /etc/slipway/supervisor/shop-worker.sh.slipway-new /etc/slipway/supervisor/shop-worker.sh',
      'mv -f /etc/supervisor/conf.d/shop-worker.conf.slipway-new /etc/supervisor/conf.d/shop-worker.conf',
    ]);
    expect(lines.at(-1)).toContain('supervisorctl reread');
    expect(text(manager.install(files, {})).at(-1)).toBe('supervisorctl update shop-web@blue shop-web@green shop-worker');
  });

  it('a restart marks the process enabled, applies the newest file, restarts, and checks each state in one status (supervisorctl\'s exit codes do not say)', () => {
    const lines = text(manager.restart(['shop-worker.service', 'shop-mailer.service']));
    expect(lines.slice(0, 4)).toEqual([
      'install -d -m 755 /opt/shop/.slipway/supervisor-enabled',
      'touch /opt/shop/.slipway/supervisor-enabled/shop-worker /opt/shop/.slipway/supervisor-enabled/shop-mailer',
      'supervisorctl update shop-worker shop-mailer',
      'supervisorctl restart shop-worker shop-mailer >/dev/null 2>&1 || true',
    ]);
    expect(lines[4]).toContain('slipway_states=$({ supervisorctl status shop-worker shop-mailer 2>/dev/null || true; }');
    expect(lines[4]).toContain('case "$st" in RUNNING) ;;');
    expect(lines).toHaveLength(5);
    expect(text(manager.stop(['shop-worker.service']))[1]).toContain('case "$st" in STOPPED|EXITED|FATAL|"") ;;');
    // A slot's start at boot moves with the traffic (bootSlot), not with its restarts.
    expect(text(manager.restart(['shop-web@blue.service'])).some((l) => l.startsWith('touch'))).toBe(false);
    expect(manager.restart([])).toEqual([]);
  });

  it('enabling is a mark read at supervisord\'s start; a live slot\'s mark moves with it', () => {
    expect(text(manager.enable(['shop-worker.service'], false))).toEqual(['install -d -m 755 /opt/shop/.slipway/supervisor-enabled', 'touch /opt/shop/.slipway/supervisor-enabled/shop-worker']);
    expect(text(manager.disable(['shop-worker.service'], false))).toEqual(['rm -f /opt/shop/.slipway/supervisor-enabled/shop-worker']);
    expect(text(manager.bootSlot('shop-web@green.service', 'shop-web@blue.service'))).toEqual([
      'install -d -m 755 /opt/shop/.slipway/supervisor-enabled',
      'touch /opt/shop/.slipway/supervisor-enabled/shop-web@green',
      'rm -f /opt/shop/.slipway/supervisor-enabled/shop-web@blue',
    ]);
  });

  it('a drain is a sleeping job in a session of its own, cancelled only if its pid still names it', () => {
    expect(text(manager.stopLater('shop-drain-blue', 30, 'shop-web@blue.service'))).toEqual([
      "setsid sh -c 'sleep 30; rm -f /opt/shop/.slipway/later-shop-drain-blue.pid; exec supervisorctl stop shop-web@blue' slipway-later-shop-drain-blue </dev/null >/dev/null 2>&1 & echo $! > /opt/shop/.slipway/later-shop-drain-blue.pid",
    ]);
    expect(text(manager.cancelLater('shop-drain-blue'))[0]).toContain('grep -qF slipway-later-shop-drain-blue; then kill -- "-$p"');
  });

  it('a listener belongs to a program when supervisor named the process after it', () => {
    expect(supervisorOwns(['shop-web@blue.service'])).toContain("grep -qxF -e SUPERVISOR_PROCESS_NAME=shop-web@blue");
  });
});

describe('a deploy under supervisor', () => {
  const blueGreen = testConfig({ process_manager: 'supervisor', http: { ...config.http, enabled: true }, processes: { web: { command: 'gunicorn app --bind unix:$SLIPWAY_SOCKET', port: 8000, roles: ['web'] }, worker: { command: 'python worker.py', roles: ['web'] } } });
  const plan = (facts: HostFacts) => {
    const input: DeployInput = {
      config: blueGreen, configHash: '0123456789abcdef', profile: testProfile(blueGreen), venvKey: undefined, stepInputs: {}, full: false,
      hostsDatabase: false, runsMigrations: false, topology: { placement: {}, record: '' }, balancing: undefined, balancerState: NO_BALANCER_STATE,
      runsApp: true, layout: layoutFor(blueGreen, 'main'), target: sshTarget, facts, source: { mode: 'push', gitDir: '/x/.git' },
      sha: 'abc1234def5678abc1234def5678abc1234def56', ref: 'main', releaseId: rid(9), deployedBy: 'me@laptop', now: new Date('2024-03-01T12:00:00.000Z'),
    };
    return planDeployHost(input);
  };
  const step = (steps: Step[], id: string) => steps.find((s) => s.id === id);

  it('installs supervisor when missing, its programs, starts the slot under supervisorctl, and records the manager', () => {
    const p = plan(fakeFacts({ packages: ['nginx'] }));
    expect(step(p.steps, 'system-packages')?.title).toBe('Install system packages: supervisor');
    expect(step(p.steps, 'units')?.title).toBe('Install supervisor programs');
    expect(text(step(p.steps, 'slot')!.commands).join('\n')).toContain('supervisorctl restart shop-web@blue');
    expect(text(step(p.steps, 'restart')!.commands)).toContain('supervisorctl restart shop-worker >/dev/null 2>&1 || true');
    const manifest = text(step(p.steps, 'release')!.commands).find((l) => l.includes('manifest.json'))!;
    expect(manifest).toContain('"manager": "supervisor"');
    expect(text(p.onFailureAfterSwitch.flatMap((s) => s.commands)).join('\n')).not.toContain('systemctl');
  });

  const ranUnderSystemd = (web?: 'blue-green' | 'restart') => {
    const manifest = { id: rid(1), sha: 'a'.repeat(40), ref: 'main', config_hash: 'x', deployed_by: 'me', created_at: '', units: ['shop-worker.service'], ...(web ? { web: { process: 'web', port: 8000, strategy: web } } : {}) };
    const facts = fakeFacts({ current: rid(1), releases: [{ id: rid(1), status: 'ok', manifest }], packages: ['nginx', 'supervisor'], liveSlot: 'blue', slots: {} });
    return { ...facts, supervisor: true, otherSlots: { blue: true, green: false } };
  };

  it('moves an app from systemd: supervisor\'s slot starts beside systemd\'s live one, the workers never run twice, systemd forgets the app at the commit', () => {
    const p = plan(ranUnderSystemd('blue-green'));
    expect(step(p.steps, 'slot')?.title).toContain('in the green slot');
    const restart = text(step(p.steps, 'restart')!.commands);
    expect(restart[0]).toBe('systemctl disable --now --quiet shop-worker.service');
    expect(restart.slice(1)).toContain('supervisorctl restart shop-worker >/dev/null 2>&1 || true');
    expect(text(step(p.steps, 'drain')!.commands).at(-1)).toBe('systemd-run --quiet --unit=shop-drain-blue --on-active=30s --timer-property=AccuracySec=1s systemctl stop shop-web@blue.service');
    expect(text(step(p.steps, 'forget-manager')!.commands)).toEqual([
      'systemctl disable --now --quiet shop-worker.service',
      'systemctl disable --quiet shop-web@blue.service shop-web@green.service shop.target shop-boot-recovery.service',
      'rm -f /etc/systemd/system/shop-worker.service /etc/systemd/system/shop-web@.service /etc/systemd/system/shop.target /etc/systemd/system/shop-boot-recovery.service',
      'systemctl daemon-reload',
    ]);
    expect(p.steps.findIndex((s) => s.id === 'forget-manager')).toBeGreaterThan(p.commitIndex);
    // Back to systemd's slot and workers if anything fails after the switch.
    const back = text(p.onFailureAfterSwitch.flatMap((s) => s.commands)).join('\n');
    expect(back).toContain('systemctl start shop-web@blue.service');
    expect(back).toContain('systemctl enable --no-reload --quiet shop-web@blue.service');
    expect(back).toContain('systemctl enable --now --quiet shop-worker.service');
    expect(back).toContain('rm -f /opt/shop/.slipway/supervisor-enabled/shop-web@green');
  });

  it('the next deploy within the drain: systemd\'s draining slot holds the slot it needs, and stops first (its drain cancelled)', () => {
    // The move left supervisor's green live and systemd's blue draining, its units already removed.
    const manifest = { id: rid(2), sha: 'b'.repeat(40), ref: 'main', config_hash: 'x', deployed_by: 'me', created_at: '', units: ['shop-worker.service'], manager: 'supervisor' as const, web: { process: 'web', port: 8000, strategy: 'blue-green' as const } };
    const facts = fakeFacts({ current: rid(2), releases: [{ id: rid(2), status: 'ok', manifest }], packages: ['nginx', 'supervisor'], liveSlot: 'green', slots: { green: { active: true, release: rid(2) } } });
    const slot = (otherSlots: Partial<Record<'blue' | 'green', boolean>>) => text(step(plan({ ...facts, supervisor: true, otherSlots }).steps, 'slot')!.commands);
    const started = slot({ blue: true, green: false });
    const restart = started.findIndex((c) => c.includes('supervisorctl restart shop-web@blue'));
    expect(started.slice(1, 4)).toEqual([
      '{ systemctl stop shop-drain-blue.timer shop-drain-blue.service >/dev/null 2>&1 || true; }',
      'systemctl stop shop-web@blue.service',
      'rm -f /etc/systemd/system/shop-web@blue.service',
    ]);
    expect(started.indexOf('systemctl daemon-reload')).toBeLessThan(restart);
    // Nothing of systemd's when it runs no slot of the app's.
    expect(slot({ blue: false, green: false }).join('\n')).not.toContain('systemctl');
  });

  it('a move within the drain of systemd\'s last deploy: its draining slot holds the slot supervisor starts, and stops first', () => {
    const moving = text(step(plan({ ...ranUnderSystemd('blue-green'), otherSlots: { blue: true, green: true } }).steps, 'slot')!.commands);
    expect(moving).toContain('systemctl stop shop-web@green.service');
    expect(moving.indexOf('systemctl stop shop-web@green.service')).toBeLessThan(moving.findIndex((c) => c.includes('supervisorctl restart shop-web@green')));
    // systemd's live slot (blue) is left serving until the switch.
    expect(moving.join('\n')).not.toContain('shop-web@blue.service');
  });

  it('in place (strategy restart): systemd\'s processes stop after the switch point, supervisor\'s start; a failure brings systemd\'s back', () => {
    const restart = testConfig({ ...blueGreen, http: { ...blueGreen.http, strategy: 'restart' } });
    const manifest = { id: rid(1), sha: 'a'.repeat(40), ref: 'main', config_hash: 'x', deployed_by: 'me', created_at: '', units: ['shop-web.service', 'shop-worker.service'], web: { process: 'web', port: 8000, strategy: 'restart' as const } };
    const facts = { ...fakeFacts({ current: rid(1), releases: [{ id: rid(1), status: 'ok', manifest }], packages: ['nginx', 'supervisor'] }), supervisor: true };
    const input: DeployInput = {
      config: restart, configHash: '0123456789abcdef', profile: testProfile(restart), venvKey: undefined, stepInputs: {}, full: false,
      hostsDatabase: false, runsMigrations: false, topology: { placement: {}, record: '' }, balancing: undefined, balancerState: NO_BALANCER_STATE,
      runsApp: true, layout: layoutFor(restart, 'main'), target: sshTarget, facts, source: { mode: 'push', gitDir: '/x/.git' },
      sha: 'abc1234def5678abc1234def5678abc1234def56', ref: 'main', releaseId: rid(9), deployedBy: 'me@laptop', now: new Date('2024-03-01T12:00:00.000Z'),
    };
    const p = planDeployHost(input);
    const stopAt = p.steps.findIndex((s) => s.id === 'manager-stop');
    expect(stopAt).toBeGreaterThanOrEqual(p.switchIndex);
    expect(text(p.steps[stopAt]!.commands)).toEqual(['systemctl disable --now --quiet shop-web.service shop-worker.service']);
    expect(p.steps[stopAt + 1]?.id).toBe('switch');
    const back = p.onFailureAfterSwitch.find((s) => s.id === 'switch-back')!;
    expect(back.title).toBe(`Switch back to ${rid(1)} under systemd`);
    expect(text(back.commands)).toContain('systemctl enable --now --quiet shop-web.service shop-worker.service');
  });

  it('refuses a change of process manager and of strategy in one deploy', () => {
    expect(() => plan(ranUnderSystemd('restart'))).toThrow(UserError);
    expect(() => plan(ranUnderSystemd('restart'))).toThrow('web1: process_manager (systemd → supervisor) and http.strategy (restart → blue-green) both change');
  });

  it('refuses supervisor installed but stopped', () => {
    expect(() => plan(fakeFacts({ packages: ['nginx', 'supervisor'] }))).toThrow('web1: supervisor is installed but supervisord does not answer');
  });
});

describe('logs and doctor under supervisor', () => {
  it('reads the programs\' log files, a slotted process from both slots', () => {
    const facts = { ...fakeFacts({ units: { 'shop-worker.service': 'x' } }), supervisor: true };
    const sources = logSources([{ facts, layout, instances: ['shop-web@blue.service'], label: 'web1' }], undefined);
    expect(sources[0]).toEqual([
      { process: 'web', units: ['shop-web@*.service'], files: ['/opt/shop/shared/logs/supervisor/shop-web@blue.log', '/opt/shop/shared/logs/supervisor/shop-web@green.log'] },
      { process: 'worker', units: ['shop-worker.service'], files: ['/opt/shop/shared/logs/supervisor/shop-worker.log'] },
    ]);
    expect(programLogCommand(['/l/a.log'], { lines: 50, follow: false })).toBe('( set --; for f in /l/a.log; do [ -f "$f" ] && set -- "$@" "$f"; done; [ "$#" -gt 0 ] || exit 0; tail -q -n 50 "$@" )');
    expect(programLogCommand(['/l/a.log'], { lines: 5, follow: false, grep: 'error' })).toContain('{ cat "$@" | grep -a -i -P -- error || [ "$?" = 1 ]; } | tail -n 5');
    expect(programLogCommand(['/l/a.log'], { lines: 5, follow: true, grep: 'Error' })).toContain('tail -q -n 5 -F "$@" | { grep -a --line-buffered -P -- Error || [ "$?" = 1 ]; }');
  });

  it('doctor says whether supervisord runs and answers the login user', () => {
    const input: DoctorInput = { env: 'prod', basePath: '/opt', source: { mode: 'push' }, packages: [], commands: [], needsSystemd: true, processManager: 'supervisor', localClock: 0 };
    const check = (line: string) => judgeHost({ ...parseDoctorFacts(`user deploy 1000\nsudo ok\nflag systemd\n${line}`) }, input).find((c) => c.name === 'supervisor');
    expect(check('supervisor ok')).toMatchObject({ status: 'ok', detail: 'supervisord runs and deploy may control it' });
    expect(check('supervisor refused')).toMatchObject({ status: 'fail', fix: expect.stringContaining('chown= in [unix_http_server]') });
    expect(check('supervisor down')).toMatchObject({ status: 'fail', detail: 'supervisor is installed but supervisord does not answer' });
    expect(check('supervisor missing')?.status).toBe('warn');
    // systemd is no longer required for the processes.
    expect(judgeHost(parseDoctorFacts('user root 0\nsupervisor ok'), input).find((c) => c.name === 'systemd')?.status).toBe('warn');
  });
});
