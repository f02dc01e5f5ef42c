import { describe, expect, it } from 'vitest';
import { layoutFor } from '../../src/plan/layout.js';
import { unitFiles } from '../../src/plan/processes.js';
import { renderAppTarget, renderProcessUnit, targetName, unitName } from '../../src/render/systemd.js';
import { testConfig } from './fixtures/config.js';

const layout = layoutFor(testConfig(), 'main');

const unit = (execStart: string, port?: number) =>
  [
    '# Written by slipway: changes here are replaced on the next deploy.',
    '[Unit]',
    'Description=shop web (slipway)',
    'After=network-online.target',
    'Wants=network-online.target',
    'PartOf=shop.target',
    '',
    '[Service]',
    'Type=simple',
    'User=shop',
    'Group=shop',
    'WorkingDirectory=/opt/shop/current',
    'EnvironmentFile=-/opt/shop/shared/.env',
    'EnvironmentFile=-/opt/shop/current/.slipway-release.env',
    ...(port !== undefined ? [`Environment=PORT=${port}`] : []),
    `ExecStart=${execStart}`,
    'Restart=always',
    'RestartSec=2',
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=35',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    'ProtectSystem=full',
    '',
    '[Install]',
    'WantedBy=shop.target',
    '',
  ].join('\n');

describe('process unit', () => {
  it('runs the command through sh from current, as the app user, with PORT when it has one', () => {
    expect(renderProcessUnit(layout, 'web', { command: 'gunicorn app:app --bind 127.0.0.1:$PORT', port: 8000, roles: ['web'] }, 'shop')).toBe(
      unit('/bin/sh -c "exec gunicorn app:app --bind 127.0.0.1:$$PORT"', 8000),
    );
    expect(renderProcessUnit(layout, 'web', { command: 'celery -A app worker', roles: ['web'] }, 'shop')).toBe(unit('/bin/sh -c "exec celery -A app worker"'));
  });

  it('puts a Python app\'s venv (through current, so a rollback switches it too) on the PATH', () => {
    expect(renderProcessUnit(layout, 'web', { command: 'gunicorn app:app', port: 8000, roles: ['web'] }, 'shop', 'python')).toBe(
      unit('/bin/sh -c "exec gunicorn app:app"', 8000).replace(
        'Environment=PORT=8000\n',
        'Environment=PORT=8000\nEnvironment=PATH=/opt/shop/current/.venv/bin:/usr/local/bin:/usr/bin:/bin\nEnvironment=PROJECT_PYTHON_PATH=/opt/shop/current/.venv/bin/python\n',
      ),
    );
  });

  it('escapes what systemd would interpret: backslash, double quote, $, %, and newlines', () => {
    const command = 'python -c "print(\'100%\')" && echo ${HOME} $$ \\ done\nsecond line\r';
    expect(renderProcessUnit(layout, 'web', { command, roles: ['web'] }, 'shop')).toBe(
      unit('/bin/sh -c "exec python -c \\"print(\'100%%\')\\" && echo $${HOME} $$$$ \\\\ done\\nsecond line\\r"'),
    );
  });

  it('keeps a hostile command on its one ExecStart line', () => {
    const text = renderProcessUnit(layout, 'web', { command: 'run\nExecStartPre=/bin/rm -rf /\n[Service]\nUser=root', roles: ['web'] }, 'shop');
    expect(text.split('\n').filter((l) => l.startsWith('ExecStart'))).toEqual(['ExecStart=/bin/sh -c "exec run\\nExecStartPre=/bin/rm -rf /\\n[Service]\\nUser=root"']);
    expect(text.split('\n').filter((l) => l.startsWith('User='))).toEqual(['User=shop']);
  });

  it('names units after the project, or project-env-branch for per-branch deploys', () => {
    expect(unitName(layout, 'web')).toBe('shop-web.service');
    expect(targetName(layout)).toBe('shop.target');
    const branch = layoutFor(testConfig({ per_branch: true, environment: 'branch' }), 'feature/Login_x');
    expect(unitName(branch, 'web')).toBe('shop-branch-feature-login-x-847dbe-web.service');
    expect(renderProcessUnit(branch, 'web', { command: 'run', roles: ['web'] }, 'shop')).toContain(
      'PartOf=shop-branch-feature-login-x-847dbe.target\n\n[Service]\nType=simple\nUser=shop\nGroup=shop\nWorkingDirectory=/opt/shop/branch/feature-login-x-847dbe/current\nEnvironmentFile=-/opt/shop/branch/feature-login-x-847dbe/shared/.env\n',
    );
  });
});

describe('app target', () => {
  it('groups the processes and starts at boot', () => {
    expect(renderAppTarget(layout, 'shop')).toBe(
      '# Written by slipway: starting or stopping this target starts or stops every process of the app.\n[Unit]\nDescription=shop (slipway)\n\n[Install]\nWantedBy=multi-user.target\n',
    );
  });

  it('unitFiles: the target first, then one unit per process on the host, none without processes', () => {
    const config = testConfig({ processes: { web: { command: 'a', port: 8000, roles: ['web'] }, worker: { command: 'b', roles: ['worker'] } } });
    expect(unitFiles('shop', config.processes, layout, ['web', 'worker'], undefined).map((u) => u.name)).toEqual(['shop.target', 'shop-web.service', 'shop-worker.service']);
    expect(unitFiles('shop', config.processes, layout, ['worker'], undefined)[1]?.text).toContain('ExecStart=/bin/sh -c "exec b"');
    expect(unitFiles('shop', config.processes, layout, [], undefined)).toEqual([]);
  });
});
