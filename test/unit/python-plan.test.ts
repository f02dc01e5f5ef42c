import { describe, expect, it } from 'vitest';
import { envFileText, appEnv } from '../../src/plan/env-file.js';
import { unusedVenvs, venvKey } from '../../src/plan/venv.js';
import { createVenv, pipIndexArgs } from '../../src/ops/python.js';
import { appCommand } from '../../src/ops/app-command.js';
import { databaseSql, databaseUrl } from '../../src/ops/postgres.js';
import { installPackages, NO_PACKAGE_SOURCE } from '../../src/ops/apt.js';
import { CommandFailedError } from '../../src/errors.js';
import { renderCmd } from '../../src/ops/shell.js';
import { layoutFor } from '../../src/plan/layout.js';
import { parseFacts } from '../../src/plan/facts.js';
import type { Config } from '../../src/config/types.js';

const venvConfig = (over: Partial<Pick<Config, 'dependencies' | 'pip' | 'python'>> = {}): Pick<Config, 'dependencies' | 'pip' | 'python'> => ({
  dependencies: { system: [], python: [] },
  pip: { extra_index_url: [], find_links: [], no_index: false },
  python: { system_site_packages: false },
  ...over,
});

describe('the venv key', () => {
  const base = venvKey({ pythonVersion: '3.11', requirements: ['Django>=3.2\n'], config: venvConfig() });

  it('is stable for the same inputs and 12 hex characters', () => {
    expect(base).toMatch(/^[0-9a-f]{12}$/);
    expect(venvKey({ pythonVersion: '3.11', requirements: ['Django>=3.2\n'], config: venvConfig() })).toBe(base);
  });

  it('changes with the Python version, any requirement, extra requirements and pip settings', () => {
    expect(venvKey({ pythonVersion: '3.12', requirements: ['Django>=3.2\n'], config: venvConfig() })).not.toBe(base);
    expect(venvKey({ pythonVersion: '3.11', requirements: ['Django>=3.2\nrequests\n'], config: venvConfig() })).not.toBe(base);
    expect(venvKey({ pythonVersion: '3.11', requirements: ['Django>=3.2\n'], config: venvConfig({ dependencies: { system: [], python: ['x'] } }) })).not.toBe(base);
    expect(venvKey({ pythonVersion: '3.11', requirements: ['Django>=3.2\n'], config: venvConfig({ python: { system_site_packages: true } }) })).not.toBe(base);
  });

  it('lists only venvs no kept release uses', () => {
    expect(unusedVenvs(['a', 'b', 'c'], new Set(['b']))).toEqual(['a', 'c']);
  });
});

describe('the .env file', () => {
  it('escapes what both sh and systemd would otherwise interpret', () => {
    expect(envFileText({ A: 'plain', B: 'has "quotes" and \\ and $HOME and `id`', C: "it's" })).toBe(
      'A="plain"\nB="has \\"quotes\\" and \\\\ and \\$HOME and \\`id\\`"\nC="it\'s"',
    );
  });

  it('adds DATABASE_URL with the password URL-encoded, unless the config sets one', () => {
    const database: Config['database'] = { engine: 'postgresql', name: 'shop', user: 'shop', password: 'p@ss/w:rd', host: 'localhost', port: 5432 };
    expect(appEnv({ env_vars: { X: '1' }, database }).DATABASE_URL).toBe('postgresql://shop:p%40ss%2Fw%3Ard@localhost:5432/shop');
    expect(appEnv({ env_vars: { DATABASE_URL: 'mine' }, database }).DATABASE_URL).toBe('mine');
    expect(appEnv({ env_vars: {}, database: { ...database, engine: 'none' } })).toEqual({});
  });
});

describe('Python builders', () => {
  const layout = layoutFor(
    { project: { name: 'shop', branch: 'main', source: 'auto', framework: 'auto' }, environment: 'prod', per_branch: false, base_path: '/opt' } as Config,
    'main',
  );

  it('creates a venv in its final place, installs pins then requirements, and marks it complete last', () => {
    const commands = createVenv({
      layout,
      key: 'abc123',
      interpreter: '/usr/bin/python3.11',
      systemSitePackages: true,
      pip: { extraIndexUrls: [], findLinks: ['/opt/shop/releases/r1/wheelhouse'], noIndex: true },
      pins: ['pip==23.0.1'],
      requirementsFiles: ['/opt/shop/releases/r1/requirements.txt'],
      extraRequirements: ['gunicorn'],
    }).map((c) => renderCmd(c));
    expect(commands).toEqual([
      'rm -rf /opt/shop/venvs/abc123',
      'mkdir -p /opt/shop/venvs',
      '/usr/bin/python3.11 -m venv --system-site-packages /opt/shop/venvs/abc123',
      'env PIP_ROOT_USER_ACTION=ignore /opt/shop/venvs/abc123/bin/python -m pip install --quiet --disable-pip-version-check --no-index --find-links /opt/shop/releases/r1/wheelhouse pip==23.0.1',
      'env PIP_ROOT_USER_ACTION=ignore /opt/shop/venvs/abc123/bin/python -m pip install --quiet --disable-pip-version-check --no-index --find-links /opt/shop/releases/r1/wheelhouse -r /opt/shop/releases/r1/requirements.txt gunicorn',
      'touch /opt/shop/venvs/abc123/.slipway-complete',
    ]);
  });

  it('passes index options in pip order', () => {
    expect(pipIndexArgs({ indexUrl: 'https://pypi.internal/simple', extraIndexUrls: ['https://x/simple'], findLinks: [], noIndex: false })).toEqual([
      '--index-url',
      'https://pypi.internal/simple',
      '--extra-index-url',
      'https://x/simple',
    ]);
  });

  it('runs app commands as the app user, in the release, with its venv and .env', () => {
    expect(renderCmd(appCommand({ dir: '/opt/shop/releases/r1', line: 'python manage.py migrate --noinput', user: 'shop', runtime: 'python' }))).toBe(
      "(cd /opt/shop/releases/r1 && sudo -n -H -u shop -- env PATH=/opt/shop/releases/r1/.venv/bin:/usr/local/bin:/usr/bin:/bin PROJECT_PYTHON_PATH=/opt/shop/releases/r1/.venv/bin/python sh -c 'set -a; if [ -f .env ]; then . ./.env; fi; if [ -f .slipway-release.env ]; then . ./.slipway-release.env; fi; set +a; python manage.py migrate --noinput')",
    );
  });

  it('creates the role and database idempotently, the password only in the SQL on stdin', () => {
    expect(databaseSql({ name: 'shop', user: 'shop', password: "it's" })).toContain("CREATE ROLE shop LOGIN PASSWORD 'it''s';");
    expect(databaseSql({ name: 'shop', user: 'shop', password: 'x' })).toContain(
      "SELECT 'CREATE DATABASE shop OWNER shop' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'shop')\\gexec",
    );
    expect(databaseUrl({ name: 'd', user: 'u', password: 'a b', host: 'h', port: 1 })).toBe('postgresql://u:a%20b@h:1/d');
  });

  it('installs only the given packages as the server\'s apt would, refreshing the lists only when the first attempt fails', () => {
    expect(renderCmd(installPackages(['postgresql', 'python3-venv']))).toBe(
      '{ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql python3-venv || if apt-get update -q -o APT::Update::Error-Mode=any; then\nenv DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql python3-venv\nelse\n' +
        `sh -c 'echo "$1" >&2; exit "$2"' slipway 'slipway: ${NO_PACKAGE_SOURCE}' 100\nfi; }`,
    );
  });

  it('says so, as the step\'s reason, when the package lists cannot be refreshed', () => {
    const error = new CommandFailedError('web1', 'Install system packages: jq', 'apt-get install -y -q jq', 100, ['E: Failed to fetch http://mirror/dists/InRelease', `slipway: ${NO_PACKAGE_SOURCE}`]);
    expect(error.reason).toBe(NO_PACKAGE_SOURCE);
    expect(error.message).toBe(`Install system packages: jq failed on web1 (exit 100): ${NO_PACKAGE_SOURCE}`);
    expect(new CommandFailedError('web1', 's', 'false', 1, ['E: no']).reason).toBeUndefined();
  });
});

describe('facts for Python apps', () => {
  it('parses cores, the interpreter, installed packages and complete venvs', () => {
    const facts = parseFacts(['cores 4', 'python /usr/bin/python3.11', 'package postgresql', 'venv abc123', 'venv def456'].join('\n'));
    expect(facts.cores).toBe(4);
    expect(facts.python).toBe('/usr/bin/python3.11');
    expect(facts.packages).toEqual(['postgresql']);
    expect(facts.venvs).toEqual(['abc123', 'def456']);
  });
});
