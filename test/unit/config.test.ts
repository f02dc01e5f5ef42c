import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A config directory holding exactly these files (paths relative to it). */
async function configDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function load(files: Record<string, string>, env = 'dev', processEnv: Record<string, string> = {}) {
  const dir = await configDir(files);
  return { dir, loaded: await loadConfig({ dir, env, processEnv }) };
}

/** The error lines a bad config produces, with the temp dir shown as `<dir>`. */
async function errors(files: Record<string, string>, env = 'dev', processEnv: Record<string, string> = {}): Promise<string[]> {
  const dir = await configDir(files);
  const error: unknown = await loadConfig({ dir, env, processEnv }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return (error as Error).message.replaceAll(dir, '<dir>').split('\n');
}

const MINIMAL = 'project:\n  name: shop\nservers:\n  - host: local\n';
const TOP_KEYS = Object.keys(configSchema.fields).join(', ');

describe('a valid config', () => {
  it('fills every default (sections added by later issues may add more)', async () => {
    const { dir, loaded } = await load({ 'deploy-dev.yml': MINIMAL });
    expect(loaded.config).toMatchObject({
      project: { name: 'shop', branch: 'main', source: 'auto', framework: 'auto' },
      environment: 'dev',
      per_branch: false,
      servers: [{ host: 'local', host_key_checking: 'yes', roles: ['web'] }],
      base_path: '/opt',
      keep_releases: 5,
      shared: { dirs: [], files: [] },
      env_vars: {},
      dependencies: { system: [], python: [] },
      processes: {},
      database: { engine: 'none', host: 'localhost', port: 5432 },
      http: { aliases: [], tls: 'none' },
      health: { process: 'web', expected_status: 200, timeout: 5, retries: 10 },
      hooks: { build: [], before_switch: [], after_switch: [] },
      ssh: { concurrency: 10, connect_timeout: 10 },
    });
    // Defaults the recipe decides are left unset, so the recipe can fill them.
    expect(loaded.config.health.path).toBeUndefined();
    expect(loaded.config.dependencies.requirements_files).toBeUndefined();
    expect(loaded.config.project.repo).toBeUndefined();
    expect(loaded.files).toEqual([join(dir, 'deploy-dev.yml')]);
    expect(loaded.dir).toBe(dir);
    expect(loaded.secrets).toEqual([]);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('hashes the merged config, so the same config gives the same hash and a change another', async () => {
    const a = await load({ 'deploy-dev.yml': MINIMAL });
    const b = await load({ 'deploy-dev.yml': `# a comment changes nothing\n${MINIMAL}` });
    const c = await load({ 'deploy-dev.yml': `${MINIMAL}keep_releases: 6\n` });
    expect(a.loaded.hash).toBe(b.loaded.hash);
    expect(c.loaded.hash).not.toBe(a.loaded.hash);
  });

  it('expands a process given as a string and keeps a full one', async () => {
    const { loaded } = await load({
      'deploy-dev.yml': `${MINIMAL}processes:\n  web:\n    command: gunicorn app:app --bind 127.0.0.1:$PORT\n    port: 8000\n  worker: celery -A app worker\n`,
    });
    expect(loaded.config.processes).toEqual({
      web: { command: 'gunicorn app:app --bind 127.0.0.1:$PORT', port: 8000, roles: ['web'], stop_timeout: 35, singleton: false },
      worker: { command: 'celery -A app worker', roles: ['web'], stop_timeout: 35, singleton: false },
    });
  });

  it('takes the environment name from the file name unless given, and turns per_branch on for env `branch`', async () => {
    expect((await load({ 'deploy-prod.yml': MINIMAL }, 'prod')).loaded.config.environment).toBe('prod');
    expect((await load({ 'deploy-prod.yml': `${MINIMAL}environment: production\n` }, 'prod')).loaded.config.environment).toBe('production');
    const branch = await load({ 'deploy-branch.yml': MINIMAL }, 'branch');
    expect(branch.loaded.config.per_branch).toBe(true);
    expect((await load({ 'deploy-my_env-2.yml': MINIMAL }, 'my_env-2')).loaded.config.environment).toBe('my_env-2');
  });

  it('keeps numbers written for string keys as written', async () => {
    const { loaded } = await load({
      'deploy-dev.yml': `project:\n  name: shop\n  python_version: 3.10\n  node_version: 20\nservers: [{host: local}]\nenv_vars:\n  RATE: 1.50\n  MASK: 0x1F\n  PORT: 8000\n  ON: true\n  EMPTY:\n`,
    });
    expect(loaded.config.project.python_version).toBe('3.10');
    expect(loaded.config.project.node_version).toBe('20');
    expect(loaded.config.env_vars).toEqual({ RATE: '1.50', MASK: '0x1F', PORT: '8000', ON: 'true', EMPTY: '' });
  });

  it('ignores x- keys everywhere and lets aliases use their anchors', async () => {
    const { loaded } = await load({
      'deploy-dev.yml': [
        'x-server: &server {host: local, roles: [web, worker]}',
        'project: {name: shop, x-note: anything}',
        'servers: [*server, {host: 10.0.0.2, x-rack: b7}]',
        'env_vars: {x-comment: 1, A: b}',
        'processes: {x-template: {nonsense: true}, web: {command: run}}',
        '',
      ].join('\n'),
    });
    expect(loaded.config.servers).toEqual([
      { host: 'local', host_key_checking: 'yes', roles: ['web', 'worker'] },
      { host: '10.0.0.2', host_key_checking: 'yes', roles: ['web'] },
    ]);
    expect(loaded.config.project).toEqual({ name: 'shop', branch: 'main', source: 'auto', framework: 'auto' });
    expect(loaded.config.env_vars).toEqual({ A: 'b' });
    expect(Object.keys(loaded.config.processes)).toEqual(['web']);
  });

  it('accepts host names and addresses', async () => {
    for (const host of ['web1', 'app.example.com', '10.0.0.1', '::1', '[2001:db8::1]', 'local']) {
      const { loaded } = await load({ 'deploy-dev.yml': `project: {name: shop}\nservers: [{host: '${host}'}]\n` });
      expect(loaded.config.servers[0]?.host).toBe(host);
    }
  });
});

describe('deploy.yml merged with deploy-<env>.yml', () => {
  it('merges mappings key by key and lets the env file replace lists and scalars', async () => {
    const { dir, loaded } = await load(
      {
        'deploy.yml': [
          'project: {name: shop, repo: git@example.com:acme/shop.git}',
          'keep_releases: 7',
          'env_vars: {A: base, B: base}',
          'hooks: {build: [make assets, make docs]}',
          'health: {path: /up, retries: 3}',
          '',
        ].join('\n'),
        'deploy-prod.yml': ['project: {branch: release}', 'servers: [{host: web1}]', 'env_vars: {B: prod, C: prod}', 'hooks: {build: [make assets]}', 'health: {retries: 4}', ''].join('\n'),
      },
      'prod',
    );
    const { config } = loaded;
    expect(config.project).toEqual({ name: 'shop', repo: 'git@example.com:acme/shop.git', branch: 'release', source: 'auto', framework: 'auto' });
    expect(config.keep_releases).toBe(7);
    expect(config.env_vars).toEqual({ A: 'base', B: 'prod', C: 'prod' });
    expect(config.hooks.build).toEqual(['make assets']);
    expect(config.health).toMatchObject({ path: '/up', retries: 4 });
    expect(loaded.files).toEqual([join(dir, 'deploy.yml'), join(dir, 'deploy-prod.yml')]);
  });

  it('points an error at the file that holds the bad value', async () => {
    expect(await errors({ 'deploy.yml': 'project: {name: shop}\nkeep_releases: 1\n', 'deploy-dev.yml': 'servers: [{host: local}]\n' })).toEqual([
      '<dir>/deploy.yml:2:16: keep_releases: must be at least 2, got 1',
    ]);
    expect(await errors({ 'deploy.yml': 'project: {name: shop}\nkeep_releases: 1\n', 'deploy-dev.yml': 'servers: [{host: local}]\n\nkeep_releases: 0\n' })).toEqual([
      '<dir>/deploy-dev.yml:3:16: keep_releases: must be at least 2, got 0',
    ]);
  });

  it('needs deploy-<env>.yml even when deploy.yml exists', async () => {
    const dir = await configDir({ 'deploy.yml': MINIMAL });
    const error = await loadConfig({ dir, env: 'prod', processEnv: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(`no deploy-prod.yml in ${dir}`);
    expect((error as UserError).hint).toBe('create it (it may be as small as `servers: [{host: local}]`) or pick an existing environment');
  });

  it('refuses an environment name that could reach a shell or a path', async () => {
    for (const env of ['../prod', 'Prod', 'prod; rm -rf /', '$(id)', '', '-x', 'a b']) {
      const dir = await configDir({ 'deploy-dev.yml': MINIMAL });
      const error = await loadConfig({ dir, env, processEnv: {} }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as Error).message).toBe(`environment name ${JSON.stringify(env)} is not valid: use lowercase letters, digits, - and _, starting with a letter`);
    }
  });
});

describe('errors name file:line:column and the key path', () => {
  it('lists the known keys in schema order', () => {
    expect(TOP_KEYS).toMatch(/^project, environment, per_branch, servers, base_path, keep_releases, app_user, process_manager, shared, env_vars, dependencies, .*hooks, deploy, notify, audit, monitor, ssh, backups, setup$/);
  });

  it('an unknown key, at the top and nested', async () => {
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}kep_releases: 3\n` })).toEqual([
      `<dir>/deploy-dev.yml:5:1: kep_releases: unknown key (expected one of: ${TOP_KEYS}; keys starting with x- are free)`,
    ]);
    expect(await errors({ 'deploy-dev.yml': 'project:\n  name: shop\nservers:\n  - host: local\n    prot: 22\n' })).toEqual([
      '<dir>/deploy-dev.yml:5:5: servers[0].prot: unknown key (expected one of: host, sandbox, user, port, identity_file, known_hosts_file, host_key_checking, roles, private_address; keys starting with x- are free)',
    ]);
  });

  it('every problem at once, in file order within each kind', async () => {
    expect(await errors({ 'deploy-dev.yml': 'project: {name: Shop}\nservers: [{host: local, port: 0}]\nfoo: 1\n' })).toEqual([
      `<dir>/deploy-dev.yml:3:1: foo: unknown key (expected one of: ${TOP_KEYS}; keys starting with x- are free)`,
      '<dir>/deploy-dev.yml:1:17: project.name: "Shop" is not lowercase letters, digits and dashes, starting with a letter',
      '<dir>/deploy-dev.yml:2:31: servers[0].port: must be at least 1, got 0',
    ]);
  });

  it('carries the diagnostics as data for the CLI', async () => {
    const dir = await configDir({ 'deploy-dev.yml': 'project: {name: shop}\nservers: [{host: local, port: 0}]\n' });
    const error = await loadConfig({ dir, env: 'dev', processEnv: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).diagnostics).toEqual([
      { loc: { file: join(dir, 'deploy-dev.yml'), line: 2, col: 31 }, path: 'servers[0].port', message: 'must be at least 1, got 0', severity: 'error' },
    ]);
  });

  it('wrong types', async () => {
    const cases: [string, string][] = [
      ['keep_releases: five', '5:16: keep_releases: expected a whole number, got string "five"'],
      ['keep_releases: 5.5', '5:16: keep_releases: expected a whole number, got number 5.5'],
      ['keep_releases: 101', '5:16: keep_releases: must be at most 100, got 101'],
      ['per_branch: yes', '5:13: per_branch: expected true or false, got string "yes"'],
      ['hooks: {build: make}', '5:16: hooks.build: expected a list, got string "make"'],
      ['hooks: [make]', '5:8: hooks: expected a mapping, got a list'],
      ['env_vars: [A]', '5:11: env_vars: expected a mapping, got a list'],
      ['base_path: [/opt]', '5:12: base_path: expected directory under which {project} lives on each server (a string), got a list'],
      ['env_vars: {A: {b: c}}', '5:15: env_vars.A: expected a value (a string), got a mapping'],
    ];
    for (const [line, expected] of cases) expect(await errors({ 'deploy-dev.yml': `${MINIMAL}${line}\n` })).toEqual([`<dir>/deploy-dev.yml:${expected}`]);
    expect(await errors({ 'deploy-dev.yml': 'project: {name: shop}\nservers: {host: local}\n' })).toEqual(['<dir>/deploy-dev.yml:2:10: servers: expected a list, got a mapping']);
    expect(await errors({ 'deploy-dev.yml': 'project: {name: shop}\nservers: [{host: local, port: "22"}]\n' })).toEqual(['<dir>/deploy-dev.yml:2:31: servers[0].port: expected a whole number, got string "22"']);
  });

  it('bad enum values', async () => {
    expect(await errors({ 'deploy-dev.yml': 'project: {name: shop}\nservers: [{host: local, host_key_checking: no}]\n' })).toEqual([
      '<dir>/deploy-dev.yml:2:44: servers[0].host_key_checking: expected one of yes, accept-new, got "no"',
    ]);
    expect(await errors({ 'deploy-dev.yml': 'project: {name: shop, source: rsync}\nservers: [{host: local}]\n' })).toEqual([
      '<dir>/deploy-dev.yml:1:31: project.source: expected one of auto, push, fetch, got "rsync"',
    ]);
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}http: {tls: yes-please}\n` })).toEqual(['<dir>/deploy-dev.yml:5:13: http.tls: expected one of none, self-signed, letsencrypt, got "yes-please"']);
  });

  it('names that reach a shell or a path must match strict patterns', async () => {
    const bad = async (yaml: string) => (await errors({ 'deploy-dev.yml': yaml }))[0];
    expect(await bad('project: {name: "shop; rm -rf /"}\nservers: [{host: local}]\n')).toBe(
      '<dir>/deploy-dev.yml:1:17: project.name: "shop; rm -rf /" is not lowercase letters, digits and dashes, starting with a letter',
    );
    expect(await bad('project: {name: "$(id)"}\nservers: [{host: local}]\n')).toBe('<dir>/deploy-dev.yml:1:17: project.name: "$(id)" is not lowercase letters, digits and dashes, starting with a letter');
    expect(await bad('project: {name: 123}\nservers: [{host: local}]\n')).toBe('<dir>/deploy-dev.yml:1:17: project.name: "123" is not lowercase letters, digits and dashes, starting with a letter');
    expect(await bad('project: {name: shop}\nservers:\n  - host: -oProxyCommand=x\n')).toBe('<dir>/deploy-dev.yml:3:11: servers[0].host: "-oProxyCommand=x" is not a host name, an address or `local`');
    expect(await bad('project: {name: shop}\nservers:\n  - host: "a b"\n')).toBe('<dir>/deploy-dev.yml:3:11: servers[0].host: "a b" is not a host name, an address or `local`');
    const ref = 'a branch, tag or SHA (letters, digits, . _ / -; no leading -, no .. or //)';
    for (const branch of ['main; rm -rf /', '$(id)', '--upload-pack=x', 'a..b', "it's", 'a\\nb']) {
      expect(await bad(`project: {name: shop, branch: ${JSON.stringify(branch)}}\nservers: [{host: local}]\n`)).toBe(`<dir>/deploy-dev.yml:1:31: project.branch: ${JSON.stringify(branch)} is not ${ref}`);
    }
    expect(await bad(`${MINIMAL}environment: Prod\n`)).toBe('<dir>/deploy-dev.yml:5:14: environment: "Prod" is not lowercase letters, digits, - and _, starting with a letter');
    expect(await bad(`${MINIMAL}base_path: opt\n`)).toBe('<dir>/deploy-dev.yml:5:12: base_path: "opt" is not an absolute path (letters, digits, . _ / -)');
    expect(await bad(`${MINIMAL}base_path: "/opt/$(id)"\n`)).toBe('<dir>/deploy-dev.yml:5:12: base_path: "/opt/$(id)" is not an absolute path (letters, digits, . _ / -)');
    expect(await bad(`${MINIMAL}app_user: root;id\n`)).toBe('<dir>/deploy-dev.yml:5:11: app_user: "root;id" is not a Unix user name (lowercase letters, digits, _ and -)');
    const rel = 'a relative path inside the release (letters, digits, . _ / -; no leading / and no ..)';
    expect(await bad(`${MINIMAL}shared: {dirs: [../etc]}\n`)).toBe(`<dir>/deploy-dev.yml:5:17: shared.dirs[0]: "../etc" is not ${rel}`);
    expect(await bad(`${MINIMAL}shared: {files: [ok, /etc/passwd]}\n`)).toBe(`<dir>/deploy-dev.yml:5:22: shared.files[1]: "/etc/passwd" is not ${rel}`);
    expect(await bad(`${MINIMAL}processes: {Web: run}\n`)).toBe('<dir>/deploy-dev.yml:5:13: processes.Web: "Web" is not a process name (lowercase letters, digits, dashes)');
    expect(await bad(`${MINIMAL}env_vars: {bad-name: x}\n`)).toBe('<dir>/deploy-dev.yml:5:12: env_vars.bad-name: "bad-name" is not an environment variable name');
  });

  it('invalid YAML, with its position', async () => {
    expect(await errors({ 'deploy-dev.yml': 'project: {name: shop}\nservers: [{host: local\n' })).toEqual([
      '<dir>/deploy-dev.yml:3:1: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }',
    ]);
    expect(await errors({ 'deploy-dev.yml': 'project:\n  name: shop\n   bad: indent\nservers: []\n' })).toEqual(['<dir>/deploy-dev.yml:2:9: invalid YAML: Nested mappings are not allowed in compact mappings']);
    expect(await errors({ 'deploy.yml': 'project: [\n', 'deploy-dev.yml': MINIMAL })).toEqual([expect.stringMatching(/^<dir>\/deploy\.yml:\d+:\d+: invalid YAML: /)]);
  });

  it('a duplicate key', async () => {
    expect(await errors({ 'deploy-dev.yml': 'project: {name: shop}\nservers: [{host: local}]\nproject: {name: other}\n' })).toEqual(['<dir>/deploy-dev.yml:3:1: invalid YAML: Map keys must be unique']);
  });

  it('an alias without its anchor', async () => {
    expect(await errors({ 'deploy-dev.yml': 'project: {name: shop}\nservers: [*nope]\n' })).toEqual(['<dir>/deploy-dev.yml:2:11: invalid YAML: alias *nope must name an anchor defined before it, outside itself']);
  });

  it('a file that is not a mapping', async () => {
    expect(await errors({ 'deploy-dev.yml': '- a\n- b\n' })).toEqual(['<dir>/deploy-dev.yml:1:1: (top level): expected a mapping of keys']);
  });

  it('missing required keys, also when written empty', async () => {
    expect(await errors({ 'deploy-dev.yml': '' })).toEqual([
      '<dir>/deploy-dev.yml:1:1: project: required key is missing (The application being deployed.)',
      '<dir>/deploy-dev.yml:1:1: servers: required key is missing (Servers this environment deploys to.)',
    ]);
    expect(await errors({ 'deploy-dev.yml': 'project: {repo: .}\nservers: [{host: local}]\n' })).toEqual([
      '<dir>/deploy-dev.yml:1:10: project.name: required key is missing (Project name: used for directories, unit names and the app user.)',
    ]);
    expect(await errors({ 'deploy-dev.yml': 'project:\nservers: [{host: local}]\n' })).toEqual([
      '<dir>/deploy-dev.yml:1:9: project.name: required key is missing (Project name: used for directories, unit names and the app user.)',
    ]);
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}processes:\n  web:\n  worker: {port: 9000}\n` })).toEqual([
      '<dir>/deploy-dev.yml:6:7: processes.web.command: required key is missing (Command line, run from the release directory (`current`). `$PORT` is set for processes with a port.)',
      '<dir>/deploy-dev.yml:7:11: processes.worker.command: required key is missing (Command line, run from the release directory (`current`). `$PORT` is set for processes with a port.)',
    ]);
  });
});

describe('cross-field rules', () => {
  it('servers: at least one, each with host or sandbox but not both', async () => {
    expect(await errors({ 'deploy-dev.yml': 'project: {name: shop}\nservers: []\n' })).toEqual(['<dir>/deploy-dev.yml:2:10: servers: at least one server is needed']);
    expect(await errors({ 'deploy-dev.yml': 'project: {name: shop}\nservers:\n  - host: local\n  - user: deploy\n' })).toEqual([
      '<dir>/deploy-dev.yml:4:5: servers[1]: give `host` (or `local`) or `sandbox`',
    ]);
    expect(await errors({ 'deploy-dev.yml': 'project: {name: shop}\nservers: [{host: a, sandbox: b}]\n' })).toEqual(['<dir>/deploy-dev.yml:2:11: servers[0]: give either `host` or `sandbox`, not both']);
  });

  it('two processes on one port', async () => {
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}processes:\n  web: {command: a, port: 8000}\n  api: {command: b, port: 8000}\n` })).toEqual([
      '<dir>/deploy-dev.yml:7:27: processes.api.port: port 8000 is already used by process web',
    ]);
  });

  it('a health check on a process without a port, or on no process', async () => {
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}processes:\n  web: gunicorn app\nhealth: {path: /up}\n` })).toEqual([
      '<dir>/deploy-dev.yml:6:8: processes.web.port: the health check needs the port this process listens on',
    ]);
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}processes:\n  api: {command: x, port: 8000}\nhealth:\n  process: web\n` })).toEqual([
      '<dir>/deploy-dev.yml:8:12: health.process: no process named web',
    ]);
  });

  it('leaves an implicit health check alone when it does not apply', async () => {
    const { loaded } = await load({ 'deploy-dev.yml': `${MINIMAL}processes:\n  worker: celery\n` });
    expect(loaded.config.processes.worker).toEqual({ command: 'celery', roles: ['web'], stop_timeout: 35, singleton: false });
  });
});

describe('secrets', () => {
  const withSecret = `${MINIMAL}env_vars:\n  DATABASE_URL: postgres://shop:\${DB_PASSWORD}@localhost/shop\n  PLAIN: hello\n`;

  it('resolves ${NAME} from the environment', async () => {
    const { loaded } = await load({ 'deploy-dev.yml': withSecret }, 'dev', { DB_PASSWORD: 'from-env-pw' });
    expect(loaded.config.env_vars).toEqual({ DATABASE_URL: 'postgres://shop:from-env-pw@localhost/shop', PLAIN: 'hello' });
    expect(loaded.secrets).toEqual(['from-env-pw']);
    expect(loaded.secrets).not.toContain('hello');
  });

  it('prefers .slipway/secrets-<env>.env over the environment', async () => {
    const { loaded } = await load(
      { 'deploy-dev.yml': withSecret, '.slipway/secrets-dev.env': '# comment\n\nexport DB_PASSWORD="from file pw"\nOTHER=x\n', '.slipway/secrets-prod.env': 'DB_PASSWORD=wrong-env\n' },
      'dev',
      { DB_PASSWORD: 'from-env-pw' },
    );
    expect(loaded.config.env_vars.DATABASE_URL).toBe('postgres://shop:from file pw@localhost/shop');
    // The value and its URL-encoded form (as it appears in a DATABASE_URL) are both redacted.
    expect(loaded.secrets).toContain('from file pw');
    expect(loaded.secrets).not.toContain('from-env-pw');
  });

  it('resolves the database password and several placeholders in one value', async () => {
    const { loaded } = await load(
      { 'deploy-dev.yml': `${MINIMAL}database: {engine: postgresql, name: shop, user: shop, password: '\${DB_PASSWORD}'}\nenv_vars: {PAIR: '\${A_USER}:\${A_PASS}'}\n` },
      'dev',
      { DB_PASSWORD: 'dbpw-1234', A_USER: 'bob', A_PASS: 'secret-pass' },
    );
    expect(loaded.config.database.password).toBe('dbpw-1234');
    expect(loaded.config.env_vars.PAIR).toBe('bob:secret-pass');
    // Values shorter than 4 characters are not redacted: they would blank out ordinary words.
    expect(loaded.secrets).toEqual(expect.arrayContaining(['dbpw-1234', 'secret-pass']));
    expect(loaded.secrets).not.toContain('bob');
  });

  it('does not put secret values into the config hash', async () => {
    const a = await load({ 'deploy-dev.yml': withSecret }, 'dev', { DB_PASSWORD: 'one-value' });
    const b = await load({ 'deploy-dev.yml': withSecret }, 'dev', { DB_PASSWORD: 'another-value' });
    expect(a.loaded.hash).toBe(b.loaded.hash);
  });

  it('a missing secret names the key, the variable and where to put it', async () => {
    expect(await errors({ 'deploy-dev.yml': withSecret })).toEqual([
      '<dir>/deploy-dev.yml:6:17: env_vars.DATABASE_URL: secret ${DB_PASSWORD} is not set: export DB_PASSWORD=... or add it to <dir>/.slipway/secrets-dev.env',
    ]);
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}database: {password: '\${DB_PW}'}\n` })).toEqual([
      '<dir>/deploy-dev.yml:5:22: database.password: secret ${DB_PW} is not set: export DB_PW=... or add it to <dir>/.slipway/secrets-dev.env',
    ]);
  });

  it('warns about a literal that looks like a secret, not about placeholders or empty values', async () => {
    const { loaded, dir } = await load({
      'deploy-dev.yml': `${MINIMAL}env_vars:\n  API_TOKEN: abc123\n  SECRET_KEY: '\${SECRET_KEY}'\n  EMPTY_PASSWORD: ''\n  DEBUG: 'false'\ndatabase: {password: hunter2}\n`,
    }, 'dev', { SECRET_KEY: 'resolved-key' });
    expect(loaded.warnings.map((w) => w.replaceAll(dir, '<dir>'))).toEqual([
      '<dir>/deploy-dev.yml:6:14: env_vars.API_TOKEN: looks like a secret written in the file; write ${API_TOKEN} and keep the value in .slipway/secrets-dev.env',
      '<dir>/deploy-dev.yml:10:22: database.password: a literal password in the config; write ${DB_PASSWORD} instead',
    ]);
    expect(loaded.config.env_vars.API_TOKEN).toBe('abc123');
  });

  it('names the secrets file slipway reads, also when `environment:` differs from the file name', async () => {
    const { loaded } = await load({ 'deploy-prod.yml': `${MINIMAL}environment: production\nenv_vars: {API_TOKEN: abc123}\n` }, 'prod');
    expect(loaded.warnings[0]).toMatch(/env_vars\.API_TOKEN: looks like a secret written in the file; write \$\{API_TOKEN\} and keep the value in \.slipway\/secrets-prod\.env$/);
    const fromFile = await load({ 'deploy-prod.yml': `${MINIMAL}environment: production\nenv_vars: {API_TOKEN: '\${API_TOKEN}'}\n`, '.slipway/secrets-prod.env': 'API_TOKEN=from-prod-file\n' }, 'prod');
    expect(fromFile.loaded.config.env_vars.API_TOKEN).toBe('from-prod-file');
  });
});
