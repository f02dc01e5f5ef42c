// `slipway init`'s detection (pure, from RepoFiles): the two examples read off disk with their deploy files
// ignored, and small synthetic trees for what the examples do not show.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readWorkingTree } from '../../src/execute/working-tree.js';
import { describeApp, projectNameFrom, pythonSources, pythonVersionOf, wantsContent, type AppDescription } from '../../src/recipes/describe.js';
import { assignment, splitSeparator, stringLiterals, underBaseDir } from '../../src/recipes/python-source.js';
import type { RepoFiles } from '../../src/recipes/types.js';

function repo(files: Record<string, string>): RepoFiles {
  return { paths: Object.keys(files), read: (p) => files[p] };
}

const app = (files: Record<string, string>, extra: Partial<{ dirName: string; git: boolean; branch: string }> = {}): AppDescription =>
  describeApp({ dirName: 'shop', files: repo(files), git: true, ...extra });

async function example(name: string): Promise<AppDescription> {
  const tree = await readWorkingTree(join(import.meta.dirname, '../../examples', name), wantsContent);
  const paths = tree.files.paths.filter((p) => !/^deploy.*\.yml$/.test(p) && !p.startsWith('.slipway/'));
  return describeApp({ ...tree, files: { paths, read: tree.files.read } });
}

const keys = (d: AppDescription) => d.missing.map((m) => m.key);

describe('the examples', () => {
  it('Django: settings from manage.py, the recipe\'s own WSGI module and static dir, PostgreSQL, the secret key and hosts the settings read', async () => {
    const d = await example('django-app');
    expect(d).toMatchObject({ project: 'django-app', framework: 'django', detectedFrom: 'manage.py', python: true, git: false, health: { path: '/health/', from: 'shop/urls.py' } });
    expect(d.database).toEqual({ name: 'django_app', user: 'django_app', from: 'the settings read DATABASE_URL' });
    // Nothing the recipe's defaults already get right is overridden.
    expect(d.web).toBeUndefined();
    expect(d.staticDir).toBeUndefined();
    expect(d.settingsModule).toBeUndefined();
    expect(d.collectstatic).toBeUndefined();
    expect(d.requirementsFiles).toBeUndefined();
    expect(d.env).toEqual([
      { name: 'ALLOWED_HOSTS', value: { kind: 'hosts', separator: ',' }, files: ['shop/settings.py'] },
      { name: 'DJANGO_SECRET_KEY', value: { kind: 'secret', placeholder: 'DJANGO_SECRET_KEY', generate: true }, files: ['shop/settings.py'] },
    ]);
    expect(d.found).toEqual(['settings shop.settings (manage.py)', 'WSGI shop.wsgi', 'STATIC_ROOT staticfiles', 'health route /health/ (shop/urls.py)', 'PostgreSQL (the settings read DATABASE_URL)']);
    expect(keys(d)).toEqual(['project.python_version']);
  });

  it('FastAPI: the app in main.py, no alembic, PostgreSQL from the driver, REDIS_URL read with a default, the worker named as not run', async () => {
    const d = await example('fastapi-app');
    expect(d).toMatchObject({ project: 'fastapi-app', framework: 'fastapi', detectedFrom: 'uvicorn in the requirements', health: { path: '/health', from: 'main.py' } });
    expect(d.web).toBeUndefined();
    expect(d.database).toEqual({ name: 'fastapi_app', user: 'fastapi_app', from: 'a PostgreSQL driver in the requirements' });
    expect(d.env).toEqual([{ name: 'REDIS_URL', value: { kind: 'optional', sample: 'redis://127.0.0.1:6379/0' }, files: ['store.py'] }]);
    expect(keys(d)).toEqual(['project.python_version', 'migrate.command', 'processes.worker']);
  });
});

const SETTINGS_PACKAGE = {
  'manage.py': 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")\n',
  'config/__init__.py': '',
  'config/wsgi.py': 'application = get_wsgi_application()\n',
  'config/urls.py': 'urlpatterns = [\n    path("healthz/", views.healthz),\n    path("", include("pages.urls")),\n]\n',
  'config/settings/__init__.py': '',
  'config/settings/base.py': [
    'import environ',
    'BASE_DIR = Path(__file__).resolve().parent.parent.parent',
    'env = environ.Env()',
    'SECRET_KEY = env("SECRET_KEY")',
    'ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])',
    'DATABASES = {"default": env.db()}',
    'WSGI_APPLICATION = "config.wsgi.application"',
    'ROOT_URLCONF = "config.urls"',
    'STATIC_ROOT = BASE_DIR / "var" / "static"',
    'SENTRY_DSN = env("SENTRY_DSN", default="")',
  ].join('\n'),
  'config/settings/production.py': 'from .base import *  # noqa\n',
  'pages/tests/test_views.py': 'os.environ["ONLY_IN_TESTS"]\n',
  'requirements/base.txt': 'Django>=4.2\n',
  'requirements/production.txt': '-r base.txt\npsycopg[binary]\ngunicorn\n',
  '.python-version': '3.12.1\n',
};

describe('Django trees', () => {
  it('a settings package with django-environ: BASE_DIR three levels up, the static dir under it, the requirements file for production', () => {
    const d = app(SETTINGS_PACKAGE, { branch: 'master' });
    expect(d.framework).toBe('django');
    expect(d.detectedFrom).toBe('manage.py');
    expect(d.pythonVersion).toEqual({ version: '3.12', from: '.python-version' });
    expect(d.branch).toBe('master');
    expect(d.web).toBeUndefined(); // config.wsgi is what the recipe serves for config.settings.production
    expect(d.staticDir).toEqual({ dir: 'var/static', from: 'STATIC_ROOT in config/settings/base.py' });
    expect(d.requirementsFiles).toEqual({ files: ['requirements/production.txt'], from: 'chosen among requirements/base.txt, requirements/production.txt' });
    expect(d.health).toEqual({ path: '/healthz/', from: 'config/urls.py' });
    expect(d.database?.from).toBe('the settings read DATABASE_URL');
    expect(d.env).toEqual([
      { name: 'ALLOWED_HOSTS', value: { kind: 'hosts', separator: ',' }, files: ['config/settings/base.py'] },
      { name: 'SECRET_KEY', value: { kind: 'secret', placeholder: 'SECRET_KEY', generate: true }, files: ['config/settings/base.py'] },
      { name: 'SENTRY_DSN', value: { kind: 'optional', sample: '' }, files: ['config/settings/base.py'] },
    ]);
    expect(keys(d)).toEqual(['dependencies.requirements_files']);
  });

  it('a fresh startproject: the key and hosts written in the code, SQLite, no STATIC_ROOT, no health route, each named with what to do', () => {
    const d = app({
      'manage.py': "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
      'mysite/settings.py': "SECRET_KEY = 'django-insecure-abc'\nDEBUG = True\nALLOWED_HOSTS = []\nWSGI_APPLICATION = 'mysite.wsgi.application'\nDATABASES = {\n    'default': {\n        'ENGINE': 'django.db.backends.sqlite3',\n    }\n}\nSTATIC_URL = 'static/'\n",
      'mysite/wsgi.py': '',
      'mysite/urls.py': 'urlpatterns = [path("admin/", admin.site.urls)]\n',
      'requirements.txt': 'Django\n',
    });
    expect(d.collectstatic).toBe(false);
    expect(d.database).toBeUndefined();
    expect(d.env).toEqual([]);
    expect(d.health).toEqual({ path: '/health/' });
    expect(keys(d)).toEqual(['project.python_version', 'STATIC_ROOT', 'SECRET_KEY', 'ALLOWED_HOSTS', 'database', 'health.path']);
  });

  it('a WSGI module the recipe would not find is served by an explicit web process; no manage.py: the one settings.py is named', () => {
    const d = app({
      'requirements.txt': 'django\npsycopg2-binary\n',
      'shop/settings.py': 'WSGI_APPLICATION = "deploy.wsgi.app"\nSTATIC_ROOT = os.path.join(BASE_DIR, "staticfiles")\nSECRET_KEY = os.environ["DJANGO_KEY"]\n',
      'deploy/wsgi.py': 'app = get_wsgi_application()\n',
      'shop/urls.py': 'urlpatterns = [re_path(r"^health/$", health)]\n',
    });
    expect(d.detectedFrom).toBe('Django in the requirements');
    expect(d.settingsModule).toEqual({ module: 'shop.settings', from: 'shop/settings.py' });
    expect(d.web).toEqual({ command: 'python -m gunicorn deploy.wsgi:app --bind 127.0.0.1:$PORT --bind unix:$SLIPWAY_SOCKET --workers 3 --preload', port: 8000, from: 'WSGI_APPLICATION' });
    expect(d.smoke).toBe("python -c 'import deploy.wsgi'"); // the recipe's would import shop.wsgi
    expect(d.staticDir).toBeUndefined();
    expect(d.database?.from).toBe('a PostgreSQL driver in the requirements');
    expect(d.env).toEqual([{ name: 'DJANGO_KEY', value: { kind: 'secret', placeholder: 'DJANGO_KEY', generate: true }, files: ['shop/settings.py'] }]);
    expect(keys(d)).toEqual(['project.python_version', 'manage.py', 'DATABASES', 'health.path']); // DATABASES: PostgreSQL, but no DATABASE_URL read
  });
});

describe('FastAPI and other trees', () => {
  it('an app outside the recipe\'s candidate files, alembic, database variables and secrets only the user knows', () => {
    const d = app({
      'requirements.txt': 'fastapi\nuvicorn[standard]\nasyncpg\n',
      'alembic.ini': '[alembic]\n',
      'service/api.py': 'from fastapi import FastAPI\napi = FastAPI()\n\n@api.get("/healthz")\ndef healthz(): ...\n',
      'service/config.py': 'DB_HOST = os.environ.get("DB_HOST", "x")\nPW = os.environ["DB_PASSWORD"]\nSTRIPE = os.environ["STRIPE_API_KEY"]\nNAME = os.environ["SITE_NAME"]\nJWT = os.getenv("JWT_SECRET")\nTOKEN = os.getenv("GITHUB_TOKEN")\n',
    });
    expect(d.framework).toBe('fastapi');
    expect(d.web).toEqual({ command: 'python -m uvicorn service.api:api --host 127.0.0.1 --port $PORT', port: 8000, from: '`api = FastAPI(` in service/api.py' });
    expect(d.smoke).toBe("python -c 'import service.api; service.api.api'");
    expect(d.health).toEqual({ path: '/healthz', from: 'service/api.py' });
    expect(d.found).toContain('alembic.ini (migrations: alembic upgrade head)');
    expect(Object.fromEntries(d.env.map((s) => [s.name, s.value]))).toEqual({
      DB_HOST: { kind: 'value', value: 'localhost' },
      DB_PASSWORD: { kind: 'secret', placeholder: 'DB_PASSWORD', generate: true },
      GITHUB_TOKEN: { kind: 'optional', sample: '${GITHUB_TOKEN}' },
      JWT_SECRET: { kind: 'secret', placeholder: 'JWT_SECRET', generate: true },
      SITE_NAME: { kind: 'secret', placeholder: 'SITE_NAME', generate: false },
      STRIPE_API_KEY: { kind: 'secret', placeholder: 'STRIPE_API_KEY', generate: false },
    });
    expect(keys(d)).toEqual(['project.python_version']);
  });

  it('FastAPI without an app object found: the recipe\'s main:app, and the key to set', () => {
    const d = app({ 'requirements.txt': 'fastapi\n', 'server.py': 'application = make_app()\n' });
    expect(d.web).toBeUndefined();
    expect(keys(d)).toEqual(['project.python_version', 'processes.web.command', 'health.path']);
  });

  it('Python without a framework, and no Python at all: no web process, and what to set', () => {
    const python = app({ 'requirements.txt': 'flask\n', 'app.py': '' });
    expect(python).toMatchObject({ framework: 'python', python: true });
    expect(python.health).toBeUndefined();
    expect(python.missing.find((m) => m.key === 'processes.web')?.message).toContain('e.g. python -m gunicorn app:app --bind 127.0.0.1:$PORT');
    const generic = app({ 'index.html': '<p>hi</p>' });
    expect(generic).toMatchObject({ framework: 'generic', python: false, env: [], found: [] });
    expect(keys(generic)).toEqual(['processes.web']);
    expect(app({ 'pyproject.toml': '[project]\n' }).missing.find((m) => m.key === 'dependencies.requirements_files')?.message).toContain('(pyproject.toml only)');
  });
});

describe('Node trees', () => {
  it('the Node example: its Node from engines, the start and build scripts, the migrate script, PostgreSQL, the worker named as not run', async () => {
    const d = await example('node-app');
    expect(d).toMatchObject({ project: 'node-app', framework: 'node', detectedFrom: 'package.json', python: false, health: { path: '/health', from: 'server.js' } });
    expect(d.nodeVersion).toEqual({ version: '18', from: 'engines.node ">=18" in package.json' });
    expect(d.migrate).toEqual({ command: 'node migrate.js', from: 'the migrate script in package.json' });
    expect(d.database).toEqual({ name: 'node_app', user: 'node_app', from: 'a PostgreSQL client in package.json' });
    expect(d.env).toEqual([{ name: 'REDIS_URL', value: { kind: 'optional', sample: 'redis://127.0.0.1:6379/0' }, files: ['store.js'] }]);
    expect(d.found).toContain('start script: node server.js');
    expect(keys(d)).toEqual(['processes.worker']);
  });

  it('Prisma on PostgreSQL, .nvmrc, required variables from process.env; the Prisma CLI left out by a production install', () => {
    const d = app({
      'package.json': JSON.stringify({ scripts: { start: 'node dist/index.js', build: 'tsc' }, dependencies: { '@prisma/client': '^5', fastify: '^4' }, devDependencies: { prisma: '^5', typescript: '^5' } }),
      'package-lock.json': '{}',
      '.nvmrc': 'lts/iron\n',
      'prisma/schema.prisma': 'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n',
      'src/index.ts': "app.get('/healthz', h);\nconst key = process.env.STRIPE_API_KEY;\nconst port = Number(process.env.PORT ?? 3000);\nconst name = process.env['SITE_NAME'] || 'x';\n// process.env.IN_A_COMMENT\n",
      'src/index.test.ts': 'process.env.ONLY_IN_TESTS;\n',
    });
    expect(d).toMatchObject({ framework: 'node', nodeVersion: { version: '20', from: '.nvmrc' }, migrate: { command: 'npx prisma migrate deploy', from: 'prisma/schema.prisma' }, health: { path: '/healthz', from: 'src/index.ts' } });
    expect(d.database?.from).toBe('a PostgreSQL client in package.json');
    expect(Object.fromEntries(d.env.map((s) => [s.name, s.value.kind]))).toEqual({ SITE_NAME: 'optional', STRIPE_API_KEY: 'secret' });
    expect(keys(d)).toEqual(['node.production']);
  });

  it('a package.json without a lockfile or a start script: what to set, and the rest still written', () => {
    expect(app({ 'package.json': JSON.stringify({ main: 'index.js' }) }).missing.map((m) => m.key)).toEqual(['package-lock.json', 'project.node_version']);
    const noStart = app({ 'package.json': JSON.stringify({ scripts: { build: 'tsc' } }), 'package-lock.json': '{}' });
    expect(noStart.health).toBeUndefined();
    expect(noStart.missing.map((m) => m.key)).toEqual(['processes.web.command', 'project.node_version']);
  });
});

describe('pieces', () => {
  it('makes a project name of the directory name', () => {
    expect(projectNameFrom('My_Shop.v2')).toBe('my-shop-v2');
    expect(projectNameFrom('2048-game')).toBe('game');
    expect(projectNameFrom('42')).toBe('app');
    expect(projectNameFrom('a'.repeat(50))).toBe('a'.repeat(40));
  });

  it('reads the Python version from the usual files, not from a lower bound', () => {
    const v = (path: string, text: string) => pythonVersionOf(repo({ [path]: text }))?.version;
    expect(v('runtime.txt', 'python-3.10.4\n')).toBe('3.10');
    expect(v('.tool-versions', 'nodejs 20\npython 3.12.2\n')).toBe('3.12');
    expect(v('Dockerfile', 'FROM docker.io/library/python:3.11-slim AS base\n')).toBe('3.11');
    expect(v('pyproject.toml', '[tool.poetry.dependencies]\npython = "~3.11"\n')).toBe('3.11');
    expect(v('pyproject.toml', 'requires-python = ">=3.9"\n')).toBeUndefined();
  });

  it('lists the app\'s own modules, shallowest first, without tests and migrations', () => {
    expect(pythonSources(['a/b/c.py', 'x.py', 'tests/t.py', 'app/migrations/0001.py', 'app/test_x.py', 'conftest.py', 'README.md'])).toEqual(['x.py', 'a/b/c.py']);
  });

  it('finds an assignment with its continuation lines, its literals, a split separator and a path under BASE_DIR', () => {
    const text = 'X = 1\nALLOWED_HOSTS = os.environ.get(\n    "HOSTS", ""\n).split(" ")\nY = 2\n';
    expect(assignment(text, 'ALLOWED_HOSTS')).toBe('ALLOWED_HOSTS = os.environ.get(\n    "HOSTS", ""\n).split(" ")');
    expect(assignment(text, 'NOPE')).toBeUndefined();
    expect(stringLiterals('f(r"a", \'b\')')).toEqual(['a', 'b']);
    expect(splitSeparator('x.split()')).toBe(' ');
    expect(splitSeparator('x.split(";")')).toBe(';');
    expect(splitSeparator('env.list("X")')).toBe(',');
    expect(underBaseDir('str(BASE_DIR / "a" / \'b\')')).toBe('a/b');
    expect(underBaseDir('"/srv/static"')).toBeUndefined();
  });
});
