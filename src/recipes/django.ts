// Django: gunicorn behind the WSGI module manage.py names, migrations with `migrate --check`, collectstatic.
import { quote } from '../ops/shell.js';
import type { Recipe, RepoFiles } from './types.js';
import { requirementsIn } from './types.js';

/** The project module, from manage.py's DJANGO_SETTINGS_MODULE default (`shop.settings` → `shop`). */
export function djangoSettingsModule(files: RepoFiles): string | undefined {
  const manage = files.read('manage.py');
  return manage?.match(/DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_.]*)['"]/)?.[1];
}

export const djangoRecipe: Recipe = {
  name: 'django',
  detect: (files) => files.paths.includes('manage.py') || requirementsIn(files).includes('django'),
  defaults({ config, files, cores }) {
    const settings = config.django.settings_module ?? djangoSettingsModule(files) ?? `${config.project.name.replaceAll('-', '_')}.settings`;
    const project = settings.replace(/\.settings(\.[A-Za-z0-9_]+)?$/, '');
    const manage = 'python manage.py';
    const user = config.django.superuser;
    return {
      python: true,
      requirementsFiles: files.paths.includes('requirements.txt') ? ['requirements.txt'] : [],
      processes: {
        // gunicorn's rule of thumb: 2 × cores + 1 workers.
        web: { command: `python -m gunicorn ${project}.wsgi --bind 127.0.0.1:$PORT --workers ${2 * cores + 1}`, port: 8000, roles: ['web'] },
      },
      healthPath: '/health/',
      staticDir: 'staticfiles',
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
