// Django: gunicorn behind the WSGI module manage.py names, migrations with `migrate --check`, collectstatic.
import { quote } from '../ops/shell.js';
import type { AppProfile, Recipe, RepoFiles } from './types.js';
import { requirementsIn } from './types.js';

/** The project module, from manage.py's DJANGO_SETTINGS_MODULE default (`shop.settings` → `shop`). */
export function djangoSettingsModule(files: RepoFiles): string | undefined {
  const manage = files.read('manage.py');
  return manage?.match(/DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_.]*)['"]/)?.[1];
}

/**
 * The files Django's settings are made of, as far as the tree shows, or undefined when the settings module is not
 * in it: manage.py (it names the module and runs the checks); the module itself (`shop.settings`: shop/settings.py,
 * or every file of the shop/settings/ package); every other settings.py module and settings/ package anywhere, as
 * DJANGO_SETTINGS_MODULE in the environment may name one of them; and the __init__.py of each package above
 * them, which importing the module runs. A module the settings import from elsewhere in the tree is not seen
 * (`deploy --full` runs every check).
 */
export function djangoSettingsFiles(paths: readonly string[], settingsModule: string): string[] | undefined {
  const named = settingsModule.replaceAll('.', '/');
  const own = paths.filter((p) => p === `${named}.py` || p.startsWith(`${named}/`));
  if (own.length === 0) return undefined;
  const files = new Set([...own, ...paths.filter((p) => /(^|\/)settings(\.py$|\/)/.test(p))]);
  if (paths.includes('manage.py')) files.add('manage.py');
  for (const file of [...files]) {
    const parts = file.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i += 1) {
      const init = `${parts.slice(0, i).join('/')}/__init__.py`;
      if (paths.includes(init)) files.add(init);
    }
  }
  return [...files].sort();
}

/**
 * What each release check reads from the tree. Migrations: every `migrations/*.py` anywhere, and the settings
 * (INSTALLED_APPS decides whose migrations count, DATABASES where). Static files: every `static/` directory
 * anywhere (Django's app directories and the usual STATICFILES_DIRS), the settings, and what the tree already
 * holds in the collected directory. A STATICFILES_DIRS entry not named `static` is not seen.
 */
export function djangoStepInputs(paths: readonly string[], settingsModule: string, staticDir: string): AppProfile['stepInputs'] {
  const settings = djangoSettingsFiles(paths, settingsModule);
  if (!settings) return undefined;
  const migrations = paths.filter((p) => /(^|\/)migrations\/[^/]+\.py$/.test(p));
  const statics = paths.filter((p) => /(^|\/)static\//.test(p) || p.startsWith(`${staticDir}/`));
  return { 'check-deploy': settings, migrate: [...settings, ...migrations], collectstatic: [...settings, ...statics] };
}

export const djangoRecipe: Recipe = {
  name: 'django',
  detect: (files) => files.paths.includes('manage.py') || requirementsIn(files).includes('django'),
  defaults({ config, files, cores }) {
    const settings = config.django.settings_module ?? djangoSettingsModule(files) ?? `${config.project.name.replaceAll('-', '_')}.settings`;
    const project = settings.replace(/\.settings(\.[A-Za-z0-9_]+)?$/, '');
    const manage = 'python manage.py';
    const user = config.django.superuser;
    const staticDir = 'staticfiles';
    const stepInputs = djangoStepInputs(files.paths, settings, staticDir);
    return {
      python: true,
      requirementsFiles: files.paths.includes('requirements.txt') ? ['requirements.txt'] : [],
      processes: {
        // gunicorn's rule of thumb: 2 × cores + 1 workers. --preload: the master imports the app once and forks
        // ready workers, instead of each worker importing Django at once on the same cores (a new slot answers its
        // health check 0.4 s sooner on the bench's 2 cores, in less memory). Safe here: a slot is a new process
        // each deploy, never reloaded in place (gunicorn's HUP would keep the preloaded code).
        web: { command: `python -m gunicorn ${project}.wsgi --bind 127.0.0.1:$PORT --bind unix:$SLIPWAY_SOCKET --workers ${2 * cores + 1} --preload`, port: 8000, roles: ['web'] },
      },
      healthPath: '/health/',
      staticDir,
      ...(stepInputs ? { stepInputs } : {}),
      migrate: { command: `${manage} migrate --noinput`, check: `${manage} migrate --check` },
      ...(config.django.collectstatic ? { collectstatic: `${manage} collectstatic --noinput` } : {}),
      ...(config.django.check_deploy ? { checkDeploy: `${manage} check --deploy` } : {}),
      ...(user.username && user.password
        ? {
            superuserExists: `${manage} shell -c ${quote(`import sys; from django.contrib.auth import get_user_model; sys.exit(0 if get_user_model().objects.filter(username=${JSON.stringify(user.username)}).exists() else 1)`)}`,
            createSuperuser: `${manage} createsuperuser --noinput --username ${user.username}${user.email ? ` --email ${quote(user.email)}` : ''}`,
          }
        : {}),
      smoke: `python -c ${quote(`import ${project}.wsgi`)}`,
      systemPackages: ['python3-venv'],
    };
  },
};
