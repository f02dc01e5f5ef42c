// Incremental release checks: which files each Django check reads, the input hashes, the skip decision from
// fixed hashes and facts, and the steps a skip becomes (what plan prints and the deploy runs).
import { NO_BALANCER_STATE } from '../../src/plan/balancer.js';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { recordedInputs, releaseChecks, type AppStepsInput } from '../../src/plan/app-steps.js';
import { stepInputHashes, unchangedSince, type StepInputsInput } from '../../src/plan/incremental.js';
import { parseFacts, type ReleaseFact, type ReleaseStatus } from '../../src/plan/facts.js';
import { layoutFor } from '../../src/plan/layout.js';
import { djangoSettingsFiles } from '../../src/recipes/django.js';
import { resolveProfile } from '../../src/recipes/index.js';
import type { RepoFiles } from '../../src/recipes/types.js';
import { renderCmd, renderScript } from '../../src/ops/shell.js';
import { appCommand, unlessFrameworkLacks } from '../../src/ops/app-command.js';
import type { Config } from '../../src/config/types.js';
import { planDeployHost } from '../../src/plan/deploy.js';
import { fakeFacts, rid, sshTarget, testConfig } from './fixtures/config.js';

const MANAGE = "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n";
const TREE: Record<string, string> = {
  'manage.py': 'aaa1',
  'requirements.txt': 'aaa2',
  'shop/__init__.py': 'aaa3',
  'shop/settings.py': 'aaa4',
  'shop/urls.py': 'aaa5',
  'shop/wsgi.py': 'aaa6',
  'visits/__init__.py': 'aaa7',
  'visits/views.py': 'aaa8',
  'visits/migrations/__init__.py': 'aaa9',
  'visits/migrations/0001_initial.py': 'aab0',
  'visits/static/visits/site.css': 'aab1',
  'visits/templates/visits/index.html': 'aab2',
  VERSION: 'aab3',
};

/** The example shop's tree at a commit: `changes` gives other object ids (or null: the path is gone). */
function repo(changes: Record<string, string | null> = {}): RepoFiles {
  const entries = Object.entries({ ...TREE, ...changes }).filter((e): e is [string, string] => e[1] !== null);
  const blobs = new Map(entries);
  return { paths: [...blobs.keys()], read: (p) => (p === 'manage.py' ? MANAGE : p === 'requirements.txt' ? 'Django\n' : undefined), blobs };
}

const django = (overrides: Partial<Config> = {}) =>
  testConfig({ project: { name: 'shop', framework: 'django' }, database: { engine: 'postgresql', name: 'shop', user: 'shop', password: 'pw', host: 'localhost', port: 5432 }, ...overrides });

function hashes(options: { files?: RepoFiles; config?: Config; venvKey?: string; environment?: Record<string, string>; database?: unknown } = {}) {
  const config = options.config ?? django();
  const files = options.files ?? repo();
  const input: StepInputsInput = {
    files,
    profile: resolveProfile({ config, files, cores: 2 }),
    config,
    venvKey: options.venvKey ?? '0123456789ab',
    environment: options.environment ?? { DJANGO_SECRET_KEY: '***' },
    database: options.database ?? { name: 'shop', host: 'localhost' },
  };
  return stepInputHashes(input);
}

describe('migrate.inputs: the files another recipe\'s migration check reads', () => {
  const NODE_TREE = { 'package.json': 'b1', 'package-lock.json': 'b2', 'server.js': 'b3', 'migrate.js': 'b4', 'migrations/001_notes.sql': 'b5', VERSION: 'b6' };
  const nodeRepo = (changes: Record<string, string> = {}): RepoFiles => {
    const blobs = new Map(Object.entries({ ...NODE_TREE, ...changes }));
    return { paths: [...blobs.keys()], read: (p) => (p === 'package.json' ? '{"scripts": {"start": "node server.js"}}' : undefined), blobs };
  };
  const config = testConfig({
    project: { name: 'notes', framework: 'node' },
    database: { engine: 'postgresql', name: 'notes', user: 'notes', password: 'pw', host: 'localhost', port: 5432 },
    migrate: { command: 'node migrate.js', check: 'node migrate.js --check', backup: true, inputs: ['migrations', 'migrate.js'] },
  });
  const migrateHash = (files: RepoFiles, cfg = config) => hashes({ files, config: cfg, venvKey: 'node 18 b2' }).migrate;

  it('hash what they name (a directory: every file under it) and nothing else', () => {
    const base = migrateHash(nodeRepo());
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(migrateHash(nodeRepo({ 'server.js': 'c3', VERSION: 'c6' }))).toBe(base);
    expect(migrateHash(nodeRepo({ 'migrations/002_more.sql': 'c7' }))).not.toBe(base);
    expect(migrateHash(nodeRepo({ 'migrate.js': 'c4' }))).not.toBe(base);
  });

  it('without them, or without a check to remember, the migration always runs', () => {
    expect(migrateHash(nodeRepo(), { ...config, migrate: { ...config.migrate, inputs: undefined } })).toBeUndefined();
    expect(migrateHash(nodeRepo(), { ...config, migrate: { command: 'node migrate.js', backup: true, inputs: ['migrations'] } })).toBeUndefined();
  });
});

describe("the files Django's settings are made of", () => {
  it('are manage.py, the settings module and the packages above it', () => {
    expect(djangoSettingsFiles(repo().paths, 'shop.settings')).toEqual(['manage.py', 'shop/__init__.py', 'shop/settings.py']);
  });

  it('take a whole settings package, and any other settings module in the tree', () => {
    const paths = ['manage.py', 'config/__init__.py', 'config/settings/__init__.py', 'config/settings/base.py', 'config/settings/prod.py', 'config/urls.py', 'other/settings.py', 'other/views.py'];
    expect(djangoSettingsFiles(paths, 'config.settings.prod')).toEqual(['config/__init__.py', 'config/settings/__init__.py', 'config/settings/base.py', 'config/settings/prod.py', 'manage.py', 'other/settings.py']);
  });

  it('are unknown when the settings module is not in the tree (then every check runs)', () => {
    expect(djangoSettingsFiles(['manage.py', 'app/views.py'], 'shop.settings')).toBeUndefined();
    expect(hashes({ files: repo({ 'shop/settings.py': null }) })).toEqual({});
  });
});

describe('input hashes of the release checks', () => {
  const base = hashes();

  it('are 16 hex characters per check, the same for the same inputs', () => {
    expect(Object.keys(base).sort()).toEqual(['check-deploy', 'collectstatic', 'migrate']);
    for (const hash of Object.values(base)) expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(hashes()).toEqual(base);
  });

  it('do not change with code, templates or VERSION: a code-only deploy repeats no check', () => {
    expect(hashes({ files: repo({ 'visits/views.py': 'bbb1', 'visits/templates/visits/index.html': 'bbb2', VERSION: 'bbb3', 'shop/wsgi.py': 'bbb4' }) })).toEqual(base);
  });

  it('change for every check with the settings, manage.py, the venv or the environment', () => {
    for (const changed of [hashes({ files: repo({ 'shop/settings.py': 'ccc1' }) }), hashes({ files: repo({ 'manage.py': 'ccc2' }) }), hashes({ venvKey: 'ba9876543210' }), hashes({ environment: { DJANGO_SECRET_KEY: '***', DJANGO_DEBUG: '1' } })]) {
      expect(changed['check-deploy']).not.toBe(base['check-deploy']);
      expect(changed.migrate).not.toBe(base.migrate);
      expect(changed.collectstatic).not.toBe(base.collectstatic);
    }
  });

  it('change only for migrate with a migration file (new, changed or removed) or another database', () => {
    for (const changed of [
      hashes({ files: repo({ 'visits/migrations/0002_more.py': 'ddd1' }) }),
      hashes({ files: repo({ 'visits/migrations/0001_initial.py': 'ddd2' }) }),
      hashes({ files: repo({ 'visits/migrations/0001_initial.py': null }) }),
      hashes({ database: { name: 'shop2', host: 'localhost' } }),
    ]) {
      expect(changed.migrate).not.toBe(base.migrate);
      expect(changed['check-deploy']).toBe(base['check-deploy']);
      expect(changed.collectstatic).toBe(base.collectstatic);
    }
  });

  it('change only for collectstatic with a file under any static/ directory or in the collected directory', () => {
    for (const changed of [hashes({ files: repo({ 'visits/static/visits/site.css': 'eee1' }) }), hashes({ files: repo({ 'static/logo.svg': 'eee2' }) }), hashes({ files: repo({ 'staticfiles/robots.txt': 'eee3' }) })]) {
      expect(changed.collectstatic).not.toBe(base.collectstatic);
      expect(changed.migrate).toBe(base.migrate);
      expect(changed['check-deploy']).toBe(base['check-deploy']);
    }
  });

  it('are unknown without object ids or a venv, and with build hooks (they make files the commit lacks)', () => {
    expect(hashes({ files: { ...repo(), blobs: undefined } })).toEqual({});
    expect(hashes({ config: django({ hooks: { build: ['npm run build'], before_switch: [], after_switch: [] } }) })).toEqual({});
  });

  it('leave collectstatic to run when a hook after it may change the collected files', () => {
    const withHook = hashes({ config: django({ hooks: { build: [], before_switch: ['./compress-static'], after_switch: [] } }) });
    expect(withHook).toEqual({ 'check-deploy': base['check-deploy'], migrate: base.migrate });
  });

  it('leave migrate to run when it has no check (a custom command always runs)', () => {
    expect(hashes({ config: django({ migrate: { command: 'python manage.py migrate shop', backup: true } }) }).migrate).toBeUndefined();
  });
});

const H = { collectstatic: '1111111111111111', 'check-deploy': '2222222222222222', migrate: '3333333333333333' };
const OTHER = { collectstatic: 'aaaaaaaaaaaaaaaa', 'check-deploy': 'bbbbbbbbbbbbbbbb', migrate: 'cccccccccccccccc' };
const release = (n: number, status: ReleaseStatus, inputs?: Partial<typeof H>): ReleaseFact => ({
  id: rid(n),
  status,
  manifest: { id: rid(n), sha: 'a'.repeat(40), ref: 'main', config_hash: 'h', deployed_by: 'me', created_at: 't', ...(inputs ? { inputs } : {}) },
});

describe('the skip decision', () => {
  it('skips a check a good release passed with the same inputs, preferring the current release', () => {
    const facts = { current: rid(2), releases: [release(1, 'ok', H), release(2, 'ok', H), release(3, 'ok', H)] };
    expect(unchangedSince(facts, 'migrate', H.migrate)).toBe(rid(2));
    expect(unchangedSince({ ...facts, current: rid(9) }, 'migrate', H.migrate)).toBe(rid(3)); // else the newest
  });

  it('runs a check whose inputs no good release recorded', () => {
    const facts = { current: rid(1), releases: [release(1, 'ok', OTHER)] };
    expect(unchangedSince(facts, 'collectstatic', H.collectstatic)).toBeUndefined();
    expect(unchangedSince(facts, 'collectstatic', OTHER.collectstatic)).toBe(rid(1));
  });

  it('never counts a failed, bad or unfinished release, even with the same hash', () => {
    const facts = { current: rid(1), releases: [release(1, 'ok', OTHER), release(2, 'failed', H), release(3, 'bad', H), release(4, 'prepared', H), release(5, 'unknown', H)] };
    for (const step of ['collectstatic', 'check-deploy', 'migrate'] as const) expect(unchangedSince(facts, step, H[step])).toBeUndefined();
  });

  it('runs a check whose inputs are unknown, and one only older releases (no inputs recorded) passed', () => {
    expect(unchangedSince({ current: rid(1), releases: [release(1, 'ok', H)] }, 'migrate', undefined)).toBeUndefined();
    expect(unchangedSince({ current: rid(1), releases: [release(1, 'ok')] }, 'migrate', H.migrate)).toBeUndefined();
  });

  it('reads the recorded inputs from the manifests in the facts, and drops a manifest whose inputs lack their form', () => {
    const manifest = (inputs: unknown) => JSON.stringify({ id: rid(1), sha: 'a'.repeat(40), ref: 'main', config_hash: 'h', deployed_by: 'me', created_at: 't', inputs });
    const facts = parseFacts([`current /opt/shop/releases/${rid(1)}`, `release ${rid(1)} ok`, `manifest ${rid(1)} ${manifest(H)}`].join('\n'));
    expect(unchangedSince(facts, 'check-deploy', H['check-deploy'])).toBe(rid(1));
    for (const bad of [{ migrate: 'not a hash' }, ['3333333333333333'], 'x']) {
      expect(parseFacts([`release ${rid(1)} ok`, `manifest ${rid(1)} ${manifest(bad)}`].join('\n')).releases[0]?.manifest).toBeUndefined();
    }
  });
});

describe('release checks as steps', () => {
  const config = django();
  const layout = layoutFor(config, 'main');
  const id = rid(5);
  const dir = `/opt/shop/releases/${id}`;
  const profile = resolveProfile({ config, files: repo(), cores: 2 });
  const app = (over: Partial<AppStepsInput> = {}): AppStepsInput => ({
    config,
    profile,
    layout,
    facts: fakeFacts({ current: rid(2), releases: [release(1, 'ok', OTHER), release(2, 'ok', H)] }),
    label: 'web1',
    id,
    dir,
    venvKey: '0123456789ab',
    appUser: 'shop',
    hostsDatabase: true,
    runsMigrations: true,
    inputs: H,
    full: false,
    slotChecked: false,
    ...over,
  });
  const titles = (input: AppStepsInput) => releaseChecks(input).map((s) => s.title);
  const text = (input: AppStepsInput, stepId: string) => releaseChecks(input).find((s) => s.id === stepId)!.commands.map((c) => renderCmd(c));
  const run = (line: string) => `(cd ${dir} && sudo -n -H -u shop -- env PATH=${dir}/.venv/bin:/usr/local/bin:/usr/bin:/bin PROJECT_PYTHON_PATH=${dir}/.venv/bin/python sh -c 'set -a; if [ -f .env ]; then . ./.env; fi; if [ -f .slipway-release.env ]; then . ./.slipway-release.env; fi; set +a; ${line}')`;
  // collectstatic as it runs: its output kept, a Django without django.contrib.staticfiles a note.
  const collect = renderCmd(unlessFrameworkLacks(appCommand({ dir, line: 'python manage.py collectstatic --noinput', user: 'shop', runtime: 'python' }), "Unknown command: 'collectstatic'", 'note: collectstatic skipped: the settings do not install django.contrib.staticfiles, so there is nothing to collect'));

  it('show each skipped check with the release it is skipped for, and run none of them', () => {
    expect(titles(app())).toEqual([
      `Collect static files: skip (inputs unchanged since ${rid(2)}): hard links to its files`,
      `Report Django deployment checks: skip (inputs unchanged since ${rid(2)})`,
      `Back up the database and apply pending migrations: skip (inputs unchanged since ${rid(2)})`,
      'Smoke test the new release',
    ]);
    expect(text(app(), 'check-deploy')).toEqual([]);
    expect(text(app(), 'migrate')).toEqual([]);
    expect(releaseChecks(app()).find((s) => s.id === 'check-deploy')?.report).toBeUndefined();
  });

  it("copy the collected files of the release that recorded the inputs as hard links (collectstatic when it has none)", () => {
    const from = `/opt/shop/releases/${rid(2)}/staticfiles`;
    expect(text(app(), 'collectstatic')).toEqual([`if test -d ${from}; then\nrm -rf ${dir}/staticfiles\ncp -al ${from} ${dir}/staticfiles\nelse\n${collect}\nfi`]);
  });

  it('collectstatic on an app without django.contrib.staticfiles is a note, any other failure fails', () => {
    const fake = (output: string, code: number) => collect.replace(run('python manage.py collectstatic --noinput'), `{ printf '%s\\n' ${JSON.stringify(output)}; exit ${code}; }`);
    const sh = (script: string) => spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(sh(fake("Unknown command: 'collectstatic'\nType 'manage.py help' for usage.", 1))).toMatchObject({ status: 0, stdout: expect.stringContaining('note: collectstatic skipped: the settings do not install django.contrib.staticfiles') });
    expect(sh(fake('ImproperlyConfigured: STATIC_ROOT', 1)).status).toBe(1);
    expect(sh(fake('120 static files copied', 0))).toMatchObject({ status: 0, stdout: '120 static files copied\n' });
  });

  it('run every check with --full, or when the inputs changed', () => {
    const expected = ['Collect static files', 'Report Django deployment checks', 'Back up the database and apply pending migrations', 'Smoke test the new release'];
    expect(titles(app({ full: true, slotChecked: true }))).toEqual(expected);
    expect(titles(app({ inputs: { ...OTHER, collectstatic: '9999999999999999', 'check-deploy': '9999999999999999', migrate: '9999999999999999' } }))).toEqual(expected);
    expect(titles(app({ inputs: {} }))).toEqual(expected);
    expect(text(app({ full: true }), 'check-deploy')).toEqual([`{ ${run('python manage.py check --deploy')} || echo 'warning: manage.py check --deploy reported problems (the deploy goes on)'; }`]);
  });

  it("skip the recipe's smoke import when a blue/green slot's health check runs the app, never the config's own smoke test", () => {
    expect(releaseChecks(app({ slotChecked: true })).at(-1)).toEqual({ id: 'smoke', title: "Smoke test the new release: skip (the new slot's health check runs the app)", commands: [] });
    const own = django({ smoke: 'python manage.py check_payments' });
    const ownProfile = resolveProfile({ config: own, files: repo(), cores: 2 });
    expect(releaseChecks(app({ config: own, profile: ownProfile, slotChecked: true })).at(-1)?.title).toBe('Smoke test the new release');
  });

  it('with backups.copy_to, the dump before migrating goes off the server in the background, and a server without the copy unit still deploys', () => {
    const copying = django({ backups: { ...config.backups, copy_to: [{ host: 'vault', host_key_checking: 'yes', retention_days: 90, s3: { region: 'us-east-1' } }] } });
    const migrate = text(app({ config: copying, full: true }), 'migrate').join('\n');
    expect(migrate).toContain("{ systemctl start --no-block shop-backup-copy.service >/dev/null 2>&1 || echo 'warning: the dump is not copied off the server: run `slipway setup <env>` (backups.copy_to)'; }");
    expect(text(app({ full: true }), 'migrate').join('\n')).not.toContain('backup-copy');
  });

  it('record the input hash of every check the host has, run or skipped; migrate only where migrations run', () => {
    expect(recordedInputs(app())).toEqual(H);
    expect(recordedInputs(app({ runsMigrations: false }))).toEqual({ collectstatic: H.collectstatic, 'check-deploy': H['check-deploy'] });
  });
});

describe('a Django deploy plan', () => {
  const config = django();
  const files = repo();
  const plan = (facts = fakeFacts({ python: '/usr/bin/python3.11', venvs: ['0123456789ab'], packages: ['python3-venv', 'postgresql'] }), full = false, runsApp = true) =>
    planDeployHost({
      config,
      configHash: 'h',
      profile: resolveProfile({ config, files, cores: 2 }),
      venvKey: '0123456789ab',
      stepInputs: H,
      full,
      hostsDatabase: true,
      runsMigrations: true,
      topology: { placement: {}, record: '' },
      balancing: undefined,
      balancerState: NO_BALANCER_STATE,
      runsApp,
      layout: layoutFor(config, 'main'),
      target: sshTarget,
      facts,
      source: { mode: 'push', gitDir: '/home/me/shop/.git' },
      sha: 'a'.repeat(40),
      ref: 'main',
      releaseId: rid(5),
      deployedBy: 'me@laptop',
      now: new Date('2024-03-01T12:00:00.000Z'),
    });

  it("records the checks' input hashes in the manifest written before the release", () => {
    const release = plan().steps.find((s) => s.id === 'release')!;
    const manifest = renderCmd(release.commands[1]!);
    expect(manifest).toContain(`"inputs": ${JSON.stringify(H, null, 2).replaceAll('\n', '\n  ')}`);
  });

  it('a host that runs none of the app (a load balancer, a database server) gets the code only: no venv, no .env, no checks', () => {
    const p = plan(undefined, false, false);
    expect(p.steps.map((s) => s.id)).not.toContain('venv');
    expect(p.steps.map((s) => s.id).filter((id) => ['collectstatic', 'check-deploy', 'migrate', 'smoke'].includes(id))).toEqual([]);
    const release = renderScript([p.steps.find((s) => s.id === 'release')!]);
    expect(release).not.toContain('/.env');
    expect(release).not.toContain('"inputs"');
    expect(release).not.toContain('"venv"');
  });

  it('skips the checks the current good release passed with the same inputs, and runs them all with --full', () => {
    const facts = fakeFacts({ current: rid(2), releases: [release(2, 'ok', H)], python: '/usr/bin/python3.11', venvs: ['0123456789ab'], packages: ['python3-venv', 'postgresql'] });
    const checks = (p: ReturnType<typeof plan>) => p.steps.filter((s) => ['collectstatic', 'check-deploy', 'migrate'].includes(s.id)).map((s) => s.title.includes('skip'));
    expect(checks(plan(facts))).toEqual([true, true, true]);
    expect(checks(plan(facts, true))).toEqual([false, false, false]);
  });
});
