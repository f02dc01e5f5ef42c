// The handoff note's pure parts: requirements and package.json diffs, env names a code base reads, what the
// note finds in a diff and a plan, and the Markdown it writes.
import { describe, expect, it } from 'vitest';
import { cmd } from '../../src/ops/command.js';
import { envReadsOf, scanEnvReads } from '../../src/plan/env-reads.js';
import { buildHandoff, unitsWrittenBy, type HandoffInput } from '../../src/plan/handoff.js';
import { layoutFor } from '../../src/plan/layout.js';
import { diffPackageJson, diffRequirements, parseRequirements } from '../../src/plan/requirements-diff.js';
import type { Plan } from '../../src/plan/types.js';
import { handoffMarkdown } from '../../src/render/handoff.js';
import { sshTarget, testConfig } from './fixtures/config.js';

describe('requirements', () => {
  it('names are normalized (PEP 503); specs, extras, markers and hashes are read', () => {
    const parsed = parseRequirements('Django_REST.framework>=3.14  # api\npsycopg[binary] == 3.1.12 ; python_version >= "3.8"\n-r base.txt\nfoo==1.0 \\\n  --hash=sha256:abc\n\n# only a comment\n');
    expect([...parsed.values()].map((r) => [r.name, r.spec])).toEqual([
      ['django-rest-framework', '>=3.14'],
      ['psycopg', '[binary]==3.1.12;python_version>="3.8"'],
      ['-r base.txt', ''],
      ['foo', '==1.0'],
    ]);
  });

  it('added, removed and changed packages; a reformatted line or a new hash is no change', () => {
    const before = 'Django==4.2.1\nrequests>=2\ngunicorn==21.2\nfoo==1.0 --hash=sha256:aaa\n';
    const after = 'django == 4.2.7\nrequests>=2\n# gunicorn removed\ncelery[redis]==5.3.6\nFoo==1.0 --hash=sha256:bbb\n';
    const change = diffRequirements(before, after);
    expect(change.added.map((r) => r.line)).toEqual(['celery[redis]==5.3.6']);
    expect(change.removed.map((r) => r.name)).toEqual(['gunicorn']);
    expect(change.changed.map((c) => [c.name, c.from.spec, c.to.spec])).toEqual([['django', '==4.2.1', '==4.2.7']]);
    expect(diffRequirements(undefined, 'a==1\n').added.map((r) => r.name)).toEqual(['a']);
    expect(diffRequirements('a==1\n', undefined).removed.map((r) => r.name)).toEqual(['a']);
  });

  it('package.json dependencies and devDependencies, scoped names included', () => {
    const before = JSON.stringify({ dependencies: { react: '^18.2.0', '@acme/ui': '1.0.0' }, devDependencies: { vite: '^5' } });
    const after = JSON.stringify({ dependencies: { react: '^18.3.0', '@acme/ui': '1.0.0', zod: '^3' } });
    const change = diffPackageJson(before, after);
    expect(change.added.map((r) => r.line)).toEqual(['zod@^3']);
    expect(change.removed.map((r) => r.name)).toEqual(['vite']);
    expect(change.changed.map((c) => `${c.name} ${c.from.spec} -> ${c.to.spec}`)).toEqual(['react ^18.2.0 -> ^18.3.0']);
    expect(diffPackageJson('not json', after).added).toHaveLength(3);
  });
});

describe('env names the code reads', () => {
  it('os.environ[...] is required; .get, getenv and `in` are not; assignments and setdefault are no reads', () => {
    const code = [
      'import os',
      'from os import environ, getenv',
      'SECRET = os.environ["SECRET_KEY"]',
      "DEBUG = os.environ.get('DEBUG', '0') == '1'",
      'FLAG = os.environ.get("NEW_FLAG")',
      'HOST = getenv("DB_HOST")',
      'x = environ[ "PLAIN" ]',
      'os.environ["WRITTEN"] = "1"',
      'same = os.environ["CMP"] == "1"',
      'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")',
      'if "SENTRY_DSN" in os.environ: pass',
      '# os.environ["COMMENTED"]',
      'db = env("DATABASE_URL")',
      'debug = env.bool("ENV_DEBUG", default=False)',
      'name = os.environ.get(variable)',
    ].join('\n');
    expect(scanEnvReads(code)).toEqual([
      { name: 'CMP', required: true },
      { name: 'DATABASE_URL', required: true },
      { name: 'DB_HOST', required: false },
      { name: 'DEBUG', required: false },
      { name: 'ENV_DEBUG', required: false },
      { name: 'NEW_FLAG', required: false },
      { name: 'PLAIN', required: true },
      { name: 'SECRET_KEY', required: true },
      { name: 'SENTRY_DSN', required: false },
    ]);
  });

  it('merged across files: required if any file requires it, with the files that read it', () => {
    const reads = envReadsOf(new Map([['b.py', 'os.environ.get("A")'], ['a.py', 'os.environ["A"]\nos.getenv("B")']]));
    expect(reads).toEqual([
      { name: 'A', required: true, files: ['a.py', 'b.py'] },
      { name: 'B', required: false, files: ['a.py'] },
    ]);
  });
});

describe('the note', () => {
  const layout = layoutFor(testConfig({ project: { name: 'shop' } }), 'main');
  const unitsStep = {
    id: 'units',
    title: 'Install systemd units',
    commands: [cmd('mv', '-f', '/run/x/shop-web.service.new', '/run/x/shop-web.service'), cmd('mv', '-f', '/etc/systemd/system/shop-web.service.slipway-new', '/etc/systemd/system/shop-web.service'), cmd('systemctl', 'daemon-reload')],
  };
  const plan: Plan = {
    action: 'deploy',
    env: 'prod',
    ref: 'main',
    sha: 'b'.repeat(40),
    hosts: [
      {
        target: sshTarget,
        layout,
        from: 'R1',
        to: 'R2',
        switchIndex: 4,
        commitIndex: 5,
        steps: [
          { id: 'release', title: 'Create release R2', commands: [cmd('mkdir', '/opt/shop/releases/R2')] },
          { id: 'venv', title: 'Create venv abc and install dependencies', commands: [cmd('python3', '-m', 'venv', '/opt/shop/venvs/abc')] },
          { id: 'migrate', title: 'Back up the database and apply pending migrations', commands: [cmd('python', 'manage.py', 'migrate', '--noinput')] },
          unitsStep,
          { id: 'switch', title: 'Point current at R2', commands: [cmd('mv', '-T', '/opt/shop/.current-next', '/opt/shop/current')] },
        ],
        onFailureBeforeSwitch: [],
        onFailureAfterSwitch: [{ id: 'switch-back', title: 'Switch back to R1', commands: [cmd('true')] }],
        onInterruptedCommit: [],
        warnings: [],
      },
    ],
  };
  const input: HandoffInput = {
    env: 'prod',
    from: { sha: 'a'.repeat(40), source: 'the current release on web1' },
    to: { sha: 'b'.repeat(40), ref: 'main' },
    commits: ['bbbbbbb add flags'],
    changes: [
      { status: 'M', path: 'requirements.txt' },
      { status: 'A', path: 'visits/migrations/0002_flag.py' },
      { status: 'A', path: 'visits/migrations/__init__.py' },
      { status: 'M', path: 'visits/migrations/0001_initial.py' },
      { status: 'M', path: 'visits/static/visits/site.css' },
      { status: 'M', path: 'shop/settings.py' },
      { status: 'M', path: 'poetry.lock' },
    ],
    files: [{ path: 'requirements.txt', before: 'Django==4.2\n', after: 'Django==4.2\nrequests==2.31.0\n' }],
    envReads: [
      { name: 'NEW_FLAG', required: false, files: ['shop/settings.py'] },
      { name: 'API_TOKEN', required: true, files: ['shop/api.py'] },
      { name: 'DJANGO_SECRET_KEY', required: true, files: ['shop/settings.py'] },
      { name: 'PORT', required: false, files: ['app.py'] },
    ],
    envReadsBefore: ['API_TOKEN', 'DJANGO_SECRET_KEY', 'PORT'],
    configKeys: ['DJANGO_SECRET_KEY', 'DATABASE_URL'],
    serverKeys: [{ host: 'web1', keys: ['DJANGO_SECRET_KEY', 'DATABASE_URL', 'API_TOKEN'] }],
    provided: ['PORT'],
    systemPackages: ['libpq-dev'],
    plan,
  };

  it('finds the package, the migration, the static file, the env vars and the changed unit', () => {
    const handoff = buildHandoff(input, []);
    expect(handoff.python.map((p) => [p.path, p.change.added.map((r) => r.line)])).toEqual([['requirements.txt', ['requests==2.31.0']]]);
    expect(handoff.migrations).toEqual({ added: ['visits/migrations/0002_flag.py'], changed: ['visits/migrations/0001_initial.py'] });
    expect(handoff.staticFiles.map((c) => c.path)).toEqual(['visits/static/visits/site.css']);
    expect(handoff.otherDependencyFiles).toEqual(['poetry.lock']);
    expect(handoff.envMissing.map((e) => [e.name, e.new, e.onHosts])).toEqual([
      ['NEW_FLAG', true, []],
      // On the server now, but the deploy rewrites .env from the config and drops it.
      ['API_TOKEN', false, ['web1']],
    ]);
    expect(handoff.changedUnits).toEqual([{ host: 'web1', units: ['shop-web.service'] }]);
    expect(handoff.planNotes.python.map((n) => n.number)).toEqual([2]);
    expect(handoff.planNotes.migrations.map((n) => n.number)).toEqual([3]);
  });

  it('without env_vars in the config the deploy leaves .env alone: only keys some server lacks are missing', () => {
    const serverKeys = [...input.serverKeys, { host: 'web2', keys: ['DJANGO_SECRET_KEY'] }];
    const handoff = buildHandoff({ ...input, configKeys: [], serverKeys }, []);
    expect(handoff.envMissing.map((e) => [e.name, e.onHosts])).toEqual([
      ['NEW_FLAG', []],
      ['API_TOKEN', ['web1']],
    ]);
  });

  it('unit names come from the renames into /etc/systemd/system', () => {
    expect(unitsWrittenBy(unitsStep)).toEqual(['shop-web.service']);
  });

  it('Markdown: every section, the plan steps that do the work, and the runbook one heading level down', () => {
    const md = handoffMarkdown(input, buildHandoff(input, []));
    expect(md.split('\n')[0]).toBe('# Handoff: deploy prod main (bbbbbbb) over aaaaaaa');
    const headings = md.split('\n').filter((l) => /^##? /.test(l));
    expect(headings).toEqual(['# Handoff: deploy prod main (bbbbbbb) over aaaaaaa', '## Python packages', '## System packages', '## Database', '## Migrations', '## Static files', '## Environment variables', '## systemd units', '## Steps']);
    expect(md).toContain('- added `requests==2.31.0`');
    expect(md).toContain('- web1, step 2: Create venv abc and install dependencies');
    expect(md).toContain('- `visits/migrations/0002_flag.py`');
    expect(md).toContain('- web1, step 3: Back up the database and apply pending migrations\n\n```sh\npython manage.py migrate --noinput\n```');
    expect(md).toContain('- M `visits/static/visits/site.css`');
    expect(md).toContain('The deploy runs no collectstatic for this app');
    expect(md).toMatch(/- `NEW_FLAG`: read with `.get`\/`getenv` .*read in `shop\/settings.py` \(new in this change\); not in the server .env, not in the config/);
    expect(md).toMatch(/- `API_TOKEN`: required .*; in the .env of web1 now, but not in the config/);
    expect(md).toContain('- web1: `shop-web.service`');
    expect(md).toContain('Also changed (check by hand): `poetry.lock`');
    expect(md).toContain('The config asks for: `libpq-dev`.\n\nAll are installed on every host.');
    expect(md).toContain('\n### web1\n');
    expect(md).toContain('\n#### 2. Create venv abc and install dependencies\n');
    expect(md).not.toContain('# Runbook');
  });

  it('nothing to do says so, section by section', () => {
    const quiet: HandoffInput = { ...input, changes: [], files: [], envReads: [], commits: [], systemPackages: [], plan: { ...plan, hosts: [{ ...plan.hosts[0]!, steps: [plan.hosts[0]!.steps[0]!] }] } };
    const md = handoffMarkdown(quiet, buildHandoff(quiet, []));
    for (const line of ['No requirements changed.', 'None needed.', 'No database steps.', 'No new migrations.', 'No static files changed.', 'No unit file changes.']) expect(md).toContain(`\n${line}\n`);
  });
});
