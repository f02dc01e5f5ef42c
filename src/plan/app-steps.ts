// The steps that make a release of a Python app runnable before the switch: system packages, database,
// venv, static files, checks, migrations (after a backup), superuser, smoke test. A check whose inputs did not
// change since a good release passed it is shown and kept as a step that does nothing (or, for collectstatic,
// copies that release's collected files), so what `plan` prints stays exactly what runs.
import { copyUnit } from '../render/backup-copies.js';
import type { Config } from '../config/types.js';
import type { Cmd, Command, Step } from '../ops/command.js';
import { cmd } from '../ops/command.js';
import { installPackages } from '../ops/apt.js';
import { backupDatabase, ensureDatabase } from '../ops/postgres.js';
import { createVenv, linkVenv, type PipOptions } from '../ops/python.js';
import { appCommand, unlessFrameworkLacks } from '../ops/app-command.js';
import { releaseDir, releaseMeta, type Layout } from './layout.js';
import { runtimeOf, type AppProfile } from '../recipes/types.js';
import type { HostFacts } from './facts.js';
import { unless } from '../ops/command.js';
import { remoteDump, type RemoteDatabase } from '../ops/db-server.js';
import type { Endpoints } from './data-servers.js';
import { skippedTitle, unchangedSince, type StepInputs } from './incremental.js';
import type { IncrementalStep } from '../recipes/types.js';

export interface AppStepsInput {
  config: Pick<Config, 'project' | 'python' | 'pip' | 'dependencies' | 'database' | 'migrate' | 'django' | 'http' | 'smoke' | 'backups'>;
  profile: AppProfile;
  layout: Layout;
  facts: HostFacts;
  label: string;
  id: string;
  dir: string;
  venvKey: string | undefined;
  appUser: string | undefined;
  /** This host creates the database (it has role db, or no server does). */
  hostsDatabase: boolean;
  /** Migrations run on one host only. */
  runsMigrations: boolean;
  /** Where the database is, when it is not this host's own (a database server). */
  endpoints?: Endpoints;
  /** Input hash of each incremental check (src/plan/incremental.ts). */
  inputs: StepInputs;
  /** deploy --full: run every check whatever a previous release recorded. */
  full: boolean;
  /** The release starts in a blue/green slot whose health check runs the app before any traffic reaches it. */
  slotChecked: boolean;
}

/** The good release a check may be skipped for, unless --full. */
function skipFor(input: AppStepsInput, step: IncrementalStep): string | undefined {
  return input.full ? undefined : unchangedSince(input.facts, step, input.inputs[step]);
}

/** The input hashes the release's manifest records: those of the checks this host's plan has (run or skipped). */
export function recordedInputs(input: Pick<AppStepsInput, 'profile' | 'inputs' | 'runsMigrations'>): StepInputs {
  const { profile, inputs } = input;
  const has: Record<keyof StepInputs, boolean> = { collectstatic: !!profile.collectstatic, 'check-deploy': !!profile.checkDeploy, migrate: !!profile.migrate && input.runsMigrations };
  return Object.fromEntries(Object.entries(inputs).filter(([step]) => has[step as keyof StepInputs])) as StepInputs;
}

/** The database as libpq reaches it from an app server, when it is elsewhere: a database server, or database.url. */
export function remoteDatabase(db: AppStepsInput['config']['database'], endpoints: Endpoints | undefined): RemoteDatabase | undefined {
  if (db.url) {
    let url: URL;
    try {
      url = new URL(db.url);
    } catch {
      return undefined;
    }
    const sslmode = url.searchParams.get('sslmode');
    const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!url.hostname || !name) return undefined;
    return { host: url.hostname, port: Number(url.port || 5432), name, user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), ...(sslmode ? { sslmode } : {}) };
  }
  if (!endpoints?.database || !db.name || !db.user || !db.password) return undefined;
  return { host: endpoints.database.host, port: db.port, name: db.name, user: db.user, password: db.password, sslmode: 'require' };
}

/** The pre-migration dump: pg_dump as postgres on the database's own host, over the network from an app server. */
function dumpCommands(input: AppStepsInput, file: string): Cmd[] | undefined {
  const db = input.config.database;
  if (db.engine !== 'postgresql') return undefined;
  const remote = remoteDatabase(db, input.endpoints);
  // An app server may lack the client tools; Debian's postgresql-client brings pg_dump.
  if (remote) return [unless({ argv: ['sh', '-c', 'command -v pg_dump'], quiet: true }, installPackages(['postgresql-client'])), remoteDump(remote, file)];
  if (db.url || input.endpoints?.database || !db.name) return undefined;
  return backupDatabase(db.name, file);
}

export function systemPackagesStep(packages: readonly string[], facts: HostFacts): Step | undefined {
  const missing = [...new Set(packages)].filter((p) => !facts.packages.includes(p));
  if (missing.length === 0) return undefined;
  return { id: 'system-packages', title: `Install system packages: ${missing.join(' ')}`, commands: [installPackages(missing)] };
}

export function databaseStep({ config }: Pick<AppStepsInput, 'config'>): Step | undefined {
  const db = config.database;
  if (db.engine !== 'postgresql' || !db.name || !db.user || !db.password) return undefined;
  return { id: 'database', title: `Ensure PostgreSQL role ${db.user} and database ${db.name}`, commands: [ensureDatabase({ name: db.name, user: db.user, password: db.password })] };
}

function pipOptions(config: AppStepsInput['config'], dir: string): PipOptions {
  const absolute = (link: string) => (link.startsWith('/') || /^[a-z]+:\/\//.test(link) ? link : `${dir}/${link}`);
  return {
    ...(config.pip.index_url ? { indexUrl: config.pip.index_url } : {}),
    extraIndexUrls: config.pip.extra_index_url,
    findLinks: config.pip.find_links.map(absolute),
    noIndex: config.pip.no_index,
  };
}

export function venvStep(input: AppStepsInput, interpreter: string): Step {
  const { layout, venvKey, dir, config, facts } = input;
  const key = venvKey!;
  if (facts.venvs.includes(key)) {
    return { id: 'venv', title: `Reuse venv ${key} (dependencies unchanged)`, commands: [linkVenv(layout, key, dir)] };
  }
  const pins = [
    ...(config.python.pip_version ? [`pip==${config.python.pip_version}`] : []),
    ...(config.python.setuptools_version ? [`setuptools==${config.python.setuptools_version}`] : []),
  ];
  const commands = createVenv({
    layout,
    key,
    interpreter,
    systemSitePackages: config.python.system_site_packages,
    pip: pipOptions(config, dir),
    pins,
    requirementsFiles: input.profile.requirementsFiles.map((f) => `${dir}/${f}`),
    extraRequirements: config.dependencies.python,
  });
  return { id: 'venv', title: `Create venv ${key} and install dependencies`, commands: [...commands, linkVenv(layout, key, dir)] };
}

/**
 * collectstatic; or, with its inputs unchanged, a hard-link copy of the collected directory of the release that
 * recorded them (the same files collectstatic would write, at no Python start-up). collectstatic runs after all
 * when that directory is not there (its STATIC_ROOT is elsewhere).
 */
function collectStaticStep(input: AppStepsInput, runApp: (line: string) => Command, command: string): Step {
  const title = 'Collect static files';
  // An app without django.contrib.staticfiles has no collectstatic: nothing to collect, said so.
  const run = (line: string) =>
    unlessFrameworkLacks(runApp(line), "Unknown command: 'collectstatic'", 'note: collectstatic skipped: the settings do not install django.contrib.staticfiles, so there is nothing to collect');
  const since = skipFor(input, 'collectstatic');
  const dir = input.config.http.static_dir ?? input.profile.staticDir;
  if (!since || !dir) return { id: 'collectstatic', title, commands: [run(command)] };
  const from = `${releaseDir(input.layout, since)}/${dir}`;
  const to = `${input.dir}/${dir}`;
  return {
    id: 'collectstatic',
    title: `${skippedTitle(title, since)}: hard links to its files`,
    commands: [{ if: { argv: ['test', '-d', from] }, then: [cmd('rm', '-rf', to), cmd('cp', '-al', from, to)], else: [run(command)] }],
  };
}

/** collectstatic, check --deploy, migrations, superuser, smoke test: everything before the switch. */
export function releaseChecks(input: AppStepsInput): Step[] {
  const { profile, dir, appUser, layout, id, config } = input;
  const run = (line: string) => appCommand({ dir, line, user: appUser, runtime: runtimeOf(profile) });
  const steps: Step[] = [];
  if (profile.collectstatic) steps.push(collectStaticStep(input, run, profile.collectstatic));
  if (profile.checkDeploy) {
    const title = 'Report Django deployment checks';
    const since = skipFor(input, 'check-deploy');
    steps.push(
      since
        ? { id: 'check-deploy', title: skippedTitle(title, since), commands: [] }
        : { id: 'check-deploy', title, report: true, commands: [unless(run(profile.checkDeploy), cmd('echo', 'warning: manage.py check --deploy reported problems (the deploy goes on)'))] },
    );
  }
  if (profile.migrate && input.runsMigrations) {
    const backupFile = `${layout.shared}/backups/${id}-pre-migrate.dump`;
    const dump = config.migrate.backup ? dumpCommands(input, backupFile) : undefined;
    const backup =
      dump
        ? [
            // A dump holds every row of the app: readable by root only, like .env.
            cmd('install', '-d', '-m', '700', `${layout.shared}/backups`),
            cmd('install', '-m', '600', '/dev/null', backupFile),
            ...dump,
            { argv: ['printf', '%s\\n', backupFile], stdoutTo: `${releaseMeta(layout, id)}/backup` },
            // Off the server in the background: the deploy does not wait for the copy (backups.copy_to).
            // A server not set up for copies yet (copy_to added, setup not run) still deploys.
            ...(input.hostsDatabase && config.backups.copy_to.length > 0
              ? [unless({ argv: ['systemctl', 'start', '--no-block', copyUnit(layout.unitPrefix)], quiet: true }, cmd('echo', `warning: the dump is not copied off the server: run \`slipway setup <env>\` (backups.copy_to)`))]
              : []),
          ]
        : [];
    const migrate = [...backup, run(profile.migrate.command)];
    const title = backup.length > 0 ? 'Back up the database and apply pending migrations' : 'Apply migrations';
    // Nothing was pending once the release that recorded these inputs passed; the same migrations, venv and
    // database leave nothing pending now.
    const since = profile.migrate.check ? skipFor(input, 'migrate') : undefined;
    if (since) steps.push({ id: 'migrate', title: skippedTitle(title, since), commands: [] });
    else steps.push({ id: 'migrate', title, commands: profile.migrate.check ? [{ if: run(profile.migrate.check), then: [cmd('echo', 'no pending migrations')], else: migrate }] : migrate });
  }
  const superuser = config.django.superuser;
  if (profile.superuserExists && profile.createSuperuser && superuser.password && input.runsMigrations) {
    const create = appCommand({
      dir,
      user: appUser,
      runtime: runtimeOf(profile),
      // The password travels on stdin, never in an argument or the environment of a visible command line.
      line: `IFS= read -r DJANGO_SUPERUSER_PASSWORD; export DJANGO_SUPERUSER_PASSWORD; ${profile.createSuperuser}`,
      stdin: { text: `${superuser.password}\n`, secret: true },
    });
    steps.push({ id: 'superuser', title: `Ensure superuser ${superuser.username}`, commands: [{ if: run(profile.superuserExists), then: [cmd('echo', 'superuser exists')], else: [create] }] });
  }
  if (profile.smoke) {
    const title = 'Smoke test the new release';
    // The new slot's health check starts the app's processes and asks them, before any traffic: more than the
    // recipe's import. A smoke test of the config's own may test something else: it runs.
    if (input.slotChecked && !input.full && config.smoke === undefined) steps.push({ id: 'smoke', title: `${title}: skip (the new slot's health check runs the app)`, commands: [] });
    else steps.push({ id: 'smoke', title, commands: [run(profile.smoke)] });
  }
  return steps;
}
