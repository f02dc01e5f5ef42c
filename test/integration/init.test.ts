// `slipway init` on copies of the examples with their deploy files removed: what it writes must load with the
// real config loader, for the sandbox and the server environment, with nothing edited.
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';
import { loadConfig } from '../../src/config/load.js';
import { readWorkingTree } from '../../src/execute/working-tree.js';
import { resolveProfile } from '../../src/recipes/index.js';
import { wantsContent } from '../../src/recipes/describe.js';

const EXAMPLES = join(import.meta.dirname, '../../examples');
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** A copy of the example without its deploy*.yml and secrets files, in a directory named `name`. */
async function exampleCopy(example: string, name: string): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'slipway-init-'));
  dirs.push(parent);
  const dir = join(parent, name);
  await cp(join(EXAMPLES, example), dir, { recursive: true });
  for (const file of await readdir(dir)) if (/^deploy.*\.yml$/.test(file)) await rm(join(dir, file));
  await rm(join(dir, '.slipway'), { recursive: true, force: true });
  return dir;
}

async function slipway(argv: string[], cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), env: {}, cwd };
  const code = await run(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('slipway init on the Django example', () => {
  it('writes a config that loads for sandbox and prod as is, with generated secrets in 0600 files', async () => {
    const dir = await exampleCopy('django-app', 'shop');
    const init = await slipway(['init', '--yes'], dir);
    expect(init.code, init.err).toBe(0);
    expect(init.err).toBe('');
    expect(init.out).toContain('Detected a Django app (manage.py): settings shop.settings (manage.py), WSGI shop.wsgi, STATIC_ROOT staticfiles, health route /health/ (shop/urls.py), PostgreSQL (the settings read DATABASE_URL).');
    expect(init.out).toContain('  sudo slipway sandbox up shop\n  slipway validate sandbox\n  slipway deploy sandbox');
    expect(await mode(join(dir, '.slipway/secrets-sandbox.env'))).toBe(0o600);
    expect(await mode(join(dir, '.slipway/secrets-prod.env'))).toBe(0o600);

    for (const env of ['sandbox', 'prod']) {
      const loaded = await loadConfig({ dir, env, processEnv: {} });
      expect(loaded.warnings).toEqual([]);
      const { config } = loaded;
      expect(config.project).toMatchObject({ name: 'shop', framework: 'django' });
      expect(config.database).toMatchObject({ engine: 'postgresql', name: 'shop', user: 'shop' });
      expect(config.database.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(config.env_vars.DJANGO_SECRET_KEY).toMatch(/^[A-Za-z0-9_-]{54}$/);
      expect(config.env_vars.ALLOWED_HOSTS).toBe(env === 'sandbox' ? '*' : 'your-domain.example.com,127.0.0.1,localhost');
      expect(config.health.path).toBe('/health/');
      // No process override: the recipe's own gunicorn command, as a deploy would resolve it.
      expect(config.processes).toEqual({});
      const files = (await readWorkingTree(dir, wantsContent)).files;
      expect(resolveProfile({ config, files, cores: 2 }).processes.web?.command).toBe('python -m gunicorn shop.wsgi --bind 127.0.0.1:$PORT --bind unix:$SLIPWAY_SOCKET --workers 5 --preload');
    }
    const sandbox = (await loadConfig({ dir, env: 'sandbox', processEnv: {} })).config;
    expect(sandbox.servers).toEqual([expect.objectContaining({ sandbox: 'shop' })]);
    expect(sandbox.http).toMatchObject({ enabled: true, default_server: true });
    expect(sandbox.python.system_site_packages).toBe(true);
    expect(sandbox.pip.no_index).toBe(true);
    const prod = (await loadConfig({ dir, env: 'prod', processEnv: {} })).config;
    expect(prod.servers).toEqual([expect.objectContaining({ host: 'your-server.example.com' })]);
    // Each environment has secrets of its own.
    expect(prod.database.password).not.toBe(sandbox.database.password);
  });

  it('never overwrites: a second run leaves every file alone and says so', async () => {
    const dir = await exampleCopy('django-app', 'shop');
    await writeFile(join(dir, 'deploy.yml'), 'project: {name: mine}\n');
    const first = await slipway(['init'], dir);
    expect(first.out).toContain('left alone: deploy.yml (it exists)');
    expect(first.out).toContain('wrote deploy-prod.yml');
    const before = await Promise.all(['deploy.yml', 'deploy-prod.yml', 'deploy-sandbox.yml', '.slipway/secrets-sandbox.env', '.gitignore'].map((f) => readFile(join(dir, f), 'utf8')));
    const second = await slipway(['init', '--yes'], dir);
    expect(second.code).toBe(0);
    for (const file of ['deploy.yml', 'deploy-prod.yml', 'deploy-sandbox.yml', '.slipway/secrets-sandbox.env', '.slipway/secrets-prod.env']) expect(second.out).toContain(`left alone: ${file} (it exists)`);
    expect(second.out).not.toContain('wrote ');
    const after = await Promise.all(['deploy.yml', 'deploy-prod.yml', 'deploy-sandbox.yml', '.slipway/secrets-sandbox.env', '.gitignore'].map((f) => readFile(join(dir, f), 'utf8')));
    expect(after).toEqual(before);
  });
});

describe('slipway init on the FastAPI example', () => {
  it('writes a config that loads for sandbox and a named server environment as is, run with -c from elsewhere', async () => {
    const dir = await exampleCopy('fastapi-app', 'items');
    await rm(join(dir, '.gitignore'));
    const init = await slipway(['init', '-c', dir, '--env', 'live', '--sandbox', 'items1'], '/');
    expect(init.code, init.err).toBe(0);
    expect(init.out).toContain('Detected a FastAPI app (uvicorn in the requirements): ASGI app main:app, no alembic.ini, health route /health (main.py), PostgreSQL (a PostgreSQL driver in the requirements).');
    expect(init.out).toContain('added to .gitignore: .slipway/secrets-*.env, .slipway/logs/');
    expect(init.out).toContain(`  sudo slipway sandbox up items1\n  slipway -c ${dir} validate sandbox`);
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toBe('# slipway: secrets and local deploy logs\n.slipway/secrets-*.env\n.slipway/logs/\n');
    for (const env of ['sandbox', 'live']) {
      const { config, warnings } = await loadConfig({ dir, env, processEnv: {} });
      expect(warnings).toEqual([]);
      expect(config.project).toMatchObject({ name: 'items', framework: 'fastapi' });
      expect(config.database).toMatchObject({ engine: 'postgresql', name: 'items', user: 'items' });
      expect(config.health.path).toBe('/health');
      expect(config.env_vars).toEqual({ PYTHONUNBUFFERED: '1' });
      const files = (await readWorkingTree(dir, wantsContent)).files;
      expect(resolveProfile({ config, files, cores: 2 }).processes.web?.command).toBe('python -m uvicorn main:app --host 127.0.0.1 --port $PORT');
    }
    expect((await loadConfig({ dir, env: 'sandbox', processEnv: {} })).config.servers).toEqual([expect.objectContaining({ sandbox: 'items1' })]);
  });
});

describe('slipway init on an app outside the recipe\'s defaults', () => {
  it('writes the web process and smoke test a deploy then uses, and a secret to fill in that validate asks for', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'slipway-init-'));
    dirs.push(parent);
    const dir = join(parent, 'api');
    await cp(join(EXAMPLES, 'fastapi-app'), dir, { recursive: true });
    for (const file of await readdir(dir)) if (/^deploy.*\.yml$|^main\.py$/.test(file)) await rm(join(dir, file));
    await rm(join(dir, '.slipway'), { recursive: true, force: true });
    await writeFile(join(dir, 'service.py'), 'import os\nfrom fastapi import FastAPI\nKEY = os.environ["PAYMENT_API_KEY"]\nweb = FastAPI()\n');
    const init = await slipway(['init', '--yes'], dir);
    expect(init.code, init.err).toBe(0);
    expect(init.out).toContain('  PAYMENT_API_KEY: a value only you know');
    await expect(loadConfig({ dir, env: 'sandbox', processEnv: {} })).rejects.toThrow(/PAYMENT_API_KEY/);
    const { config } = await loadConfig({ dir, env: 'sandbox', processEnv: { PAYMENT_API_KEY: 'pk-1' } });
    const profile = resolveProfile({ config, files: (await readWorkingTree(dir, wantsContent)).files, cores: 2 });
    expect(profile.processes.web).toEqual({ command: 'python -m uvicorn service:web --host 127.0.0.1 --port $PORT', port: 8000, roles: ['web'], stop_timeout: 35, singleton: false });
    expect(profile.smoke).toBe("python -c 'import service; service.web'");
    expect(config.env_vars.PAYMENT_API_KEY).toBe('pk-1');
  });
});

describe('slipway init on an app it cannot serve', () => {
  it('still writes a config that loads, and says what to set', async () => {
    const dir = await exampleCopy('hello-app', 'hello');
    const init = await slipway(['init', '--yes'], dir);
    expect(init.code, init.err).toBe(0);
    expect(init.out).toContain('  processes.web: no Python app found, so no web process runs: set processes.web.command');
    for (const env of ['sandbox', 'prod']) expect((await loadConfig({ dir, env, processEnv: {} })).config.processes).toEqual({});
  });

  it('refuses a bad environment or sandbox name before writing anything', async () => {
    const dir = await exampleCopy('hello-app', 'hello');
    expect((await slipway(['init', '--env', 'sandbox'], dir)).err).toContain('error: --env sandbox: deploy-sandbox.yml is always written');
    expect((await slipway(['init', '--env', 'Prod'], dir)).code).toBe(2);
    expect((await slipway(['init', '--sandbox', 'no_underscores'], dir)).code).toBe(2);
    expect((await readdir(dir)).filter((f) => f.startsWith('deploy'))).toEqual([]);
  });
});
