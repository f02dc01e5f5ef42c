import { describe, expect, it } from 'vitest';
import { chooseRecipe, resolveProfile } from '../../src/recipes/index.js';
import { asgiApp } from '../../src/recipes/fastapi.js';
import { djangoSettingsModule } from '../../src/recipes/django.js';
import { requirementNames, type RepoFiles } from '../../src/recipes/types.js';
import type { RecipeContext } from '../../src/recipes/types.js';

function repo(files: Record<string, string>, extra: string[] = []): RepoFiles {
  return { paths: [...Object.keys(files), ...extra], read: (p) => files[p] };
}

const MANAGE = "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n";

function context(files: RepoFiles, overrides: Partial<RecipeContext['config']> = {}): RecipeContext {
  return {
    files,
    cores: 2,
    config: {
      project: { name: 'shop', branch: 'main', source: 'auto', framework: 'auto' },
      processes: {},
      health: { process: 'web', expected_status: 200, timeout: 5, retries: 10 },
      dependencies: { system: [], python: [] },
      django: { collectstatic: true, check_deploy: true, superuser: {} },
      migrate: { backup: true },
      database: { engine: 'postgresql', name: 'shop', user: 'shop', password: 'pw', host: 'localhost', port: 5432 },
      node: { package_manager: 'auto', production: true },
      build: { on: 'deployer' },
      ...overrides,
    },
  };
}

describe('requirement names', () => {
  it('drops versions, extras, markers, comments and options', () => {
    expect(requirementNames('Django>=3.2,<4  # web\nuvicorn[standard]==0.17\n-r base.txt\nPsycopg2 ; python_version>"3"\n\nfoo_bar~=1')).toEqual([
      'django',
      'uvicorn',
      'psycopg2',
      'foo-bar',
    ]);
  });
});

describe('recipe detection', () => {
  it('finds Django by manage.py, FastAPI by its requirements, plain Python by requirements, else generic', () => {
    expect(chooseRecipe('auto', repo({ 'manage.py': MANAGE })).name).toBe('django');
    expect(chooseRecipe('auto', repo({ 'requirements.txt': 'Django>=3.2\n' })).name).toBe('django');
    expect(chooseRecipe('auto', repo({ 'requirements.txt': 'fastapi\nuvicorn\n' })).name).toBe('fastapi');
    expect(chooseRecipe('auto', repo({ 'requirements.txt': 'requests\n' })).name).toBe('python');
    expect(chooseRecipe('auto', repo({ 'index.html': 'x' })).name).toBe('generic');
  });

  it('takes the configured framework over detection', () => {
    expect(chooseRecipe('generic', repo({ 'manage.py': MANAGE })).name).toBe('generic');
  });

  it('reads the settings module from manage.py and the ASGI app from its module', () => {
    expect(djangoSettingsModule(repo({ 'manage.py': MANAGE }))).toBe('shop.settings');
    expect(asgiApp(repo({ 'app/main.py': 'from fastapi import FastAPI\napi = FastAPI(title="x")\n' }))).toBe('app.main:api');
    expect(asgiApp(repo({}))).toBe('main:app');
  });
});

describe('the Django profile', () => {
  const profile = resolveProfile(context(repo({ 'manage.py': MANAGE, 'requirements.txt': 'Django\n' })));

  it('runs gunicorn with 2 × cores + 1 workers on the WSGI module manage.py names', () => {
    expect(profile.processes).toEqual({
      web: { command: 'python -m gunicorn shop.wsgi --bind 127.0.0.1:$PORT --bind unix:$SLIPWAY_SOCKET --workers 5 --preload', port: 8000, roles: ['web'] },
    });
    expect(profile.healthPath).toBe('/health/');
    expect(profile.requirementsFiles).toEqual(['requirements.txt']);
  });

  it('migrates only when migrate --check says so, collects static files, reports check --deploy, smoke-imports the WSGI app', () => {
    expect(profile.migrate).toEqual({ command: 'python manage.py migrate --noinput', check: 'python manage.py migrate --check' });
    expect(profile.collectstatic).toBe('python manage.py collectstatic --noinput');
    expect(profile.checkDeploy).toBe('python manage.py check --deploy');
    expect(profile.smoke).toBe("python -c 'import shop.wsgi'");
    expect(profile.superuserExists).toBeUndefined();
  });

  it('lets the config override processes, health path, migrate and smoke', () => {
    const custom = resolveProfile(
      context(repo({ 'manage.py': MANAGE }), {
        processes: { web: { command: 'python -m gunicorn x.wsgi', port: 9000, roles: ['web'] } },
        health: { path: '/ping', process: 'web', expected_status: 204, timeout: 5, retries: 3 },
        migrate: { command: 'python manage.py migrate shop', backup: false },
        smoke: 'true',
      }),
    );
    expect(custom.processes.web?.port).toBe(9000);
    expect(custom.healthPath).toBe('/ping');
    // A custom migrate command has no recipe check: it always runs.
    expect(custom.migrate).toEqual({ command: 'python manage.py migrate shop' });
    expect(custom.smoke).toBe('true');
  });

  it('skips migrations when there is no database and no migrate command', () => {
    const noDb = resolveProfile(context(repo({ 'manage.py': MANAGE }), { database: { engine: 'none', host: 'localhost', port: 5432 } }));
    expect(noDb.migrate).toBeUndefined();
  });

  it('creates a superuser only when username and password are given, with the name quoted for the shell', () => {
    const withAdmin = resolveProfile(
      context(repo({ 'manage.py': MANAGE }), { django: { collectstatic: false, check_deploy: false, superuser: { username: 'admin', email: "o'neil@example.com", password: 'pw' } } }),
    );
    expect(withAdmin.createSuperuser).toBe("python manage.py createsuperuser --noinput --username admin --email 'o'\\''neil@example.com'");
    expect(withAdmin.superuserExists).toContain('filter(username="admin")');
    expect(withAdmin.collectstatic).toBeUndefined();
    expect(withAdmin.checkDeploy).toBeUndefined();
  });
});

describe('the FastAPI profile', () => {
  it('serves the detected app with uvicorn and smoke-imports it', () => {
    const profile = resolveProfile(context(repo({ 'requirements.txt': 'fastapi\n', 'main.py': 'app = FastAPI()\n' })));
    expect(profile.recipe).toBe('fastapi');
    expect(profile.processes.web?.command).toBe('python -m uvicorn main:app --host 127.0.0.1 --port $PORT');
    expect(profile.healthPath).toBe('/health');
    expect(profile.smoke).toBe("python -c 'import main; main.app'");
    expect(profile.migrate).toBeUndefined();
  });
});
