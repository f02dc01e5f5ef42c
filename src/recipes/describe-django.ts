// What `slipway init` learns from a Django project's settings (pure): the settings module, the WSGI module,
// STATIC_ROOT, the environment variables SECRET_KEY and ALLOWED_HOSTS come from, the database, a health route.
import { djangoSettingsModule } from './django.js';
import { assignment, baseDirLevels, bestHealthRoute, splitSeparator, stringLiterals, underBaseDir, urlconfHealthRoutes, type Route } from './python-source.js';
import { requirementsIn, type RepoFiles } from './types.js';
import { scanEnvReads } from '../plan/env-reads.js';
import type { Finding } from './describe.js';

export interface DjangoFindings {
  /** The settings module and where it was found; `fromManage` false: the config must name it. */
  settings?: { module: string; from: string; fromManage: boolean };
  settingsFiles: string[];
  /** WSGI_APPLICATION's module and callable, when the file exists. */
  wsgi?: { module: string; callable: string };
  /** Whether the settings assign STATIC_ROOT, and the path in the release it names when slipway can tell. */
  staticRootSet: boolean;
  staticRoot?: { dir: string; file: string };
  /** The variables the SECRET_KEY setting is read from. */
  secretKeyEnv: string[];
  allowedHostsEnv?: { name: string; separator: string };
  database: 'postgresql' | 'sqlite' | 'unknown';
  /** Why slipway thinks the database is PostgreSQL. */
  databaseFrom?: string;
  readsDatabaseUrl: boolean;
  health?: Route;
  findings: Finding[];
}

export const PG_DRIVERS = ['psycopg2', 'psycopg2-binary', 'psycopg', 'psycopg-binary', 'dj-database-url', 'asyncpg'];

const pathOf = (module: string) => module.replaceAll('.', '/');

/** The module's file, and the other files of its settings package (production.py importing base.py). */
function settingsFilesOf(paths: readonly string[], module: string): string[] {
  const own = [`${pathOf(module)}.py`, `${pathOf(module)}/__init__.py`].find((p) => paths.includes(p));
  if (!own) return [];
  const dir = own.split('/').slice(0, -1).join('/');
  const siblings = /(^|\/)settings$/.test(dir) ? paths.filter((p) => p.startsWith(`${dir}/`) && p.endsWith('.py') && !p.slice(dir.length + 1).includes('/')) : [];
  return [own, ...siblings.filter((p) => p !== own).sort()];
}

function findSettings(files: RepoFiles): DjangoFindings['settings'] {
  const named = djangoSettingsModule(files);
  if (named) return { module: named, from: 'manage.py', fromManage: true };
  const candidates = files.paths.filter((p) => /(^|\/)settings\.py$|(^|\/)settings\/__init__\.py$/.test(p));
  if (candidates.length !== 1) return undefined;
  const module = candidates[0]!.replace(/\/__init__\.py$|\.py$/, '').replaceAll('/', '.');
  return { module, from: candidates[0]!, fromManage: false };
}

export function describeDjango(files: RepoFiles): DjangoFindings {
  const findings: Finding[] = [];
  const settings = findSettings(files);
  const settingsFiles = settings ? settingsFilesOf(files.paths, settings.module) : [];
  if (!settings) findings.push({ key: 'django.settings_module', message: 'manage.py names no DJANGO_SETTINGS_MODULE and no single settings.py was found: set it (e.g. mysite.settings)' });
  else if (settingsFiles.length === 0) findings.push({ key: 'django.settings_module', message: `${settings.module} (from ${settings.from}) is not in the repository: check the module name` });
  const texts = settingsFiles.map((file) => ({ file, text: files.read(file) ?? '' }));
  /** The first assignment of NAME in the settings files, with the file it is in. */
  const setting = (name: string) => {
    for (const { file, text } of texts) {
      const code = assignment(text, name);
      if (code) return { file, text, code };
    }
    return undefined;
  };

  const wsgiSetting = setting('WSGI_APPLICATION');
  const wsgiName = wsgiSetting ? stringLiterals(wsgiSetting.code)[0] : undefined;
  const wsgiMatch = wsgiName ? /^([A-Za-z_][\w.]*)\.([A-Za-z_]\w*)$/.exec(wsgiName) : null;
  const wsgi = wsgiMatch && files.paths.includes(`${pathOf(wsgiMatch[1]!)}.py`) ? { module: wsgiMatch[1]!, callable: wsgiMatch[2]! } : undefined;

  const staticSetting = setting('STATIC_ROOT');
  let staticRoot: DjangoFindings['staticRoot'];
  if (!staticSetting) {
    if (settingsFiles.length > 0) findings.push({ key: 'STATIC_ROOT', message: 'the settings set no STATIC_ROOT, so collectstatic cannot run (django.collectstatic is off): set STATIC_ROOT = BASE_DIR / "staticfiles" and remove `collectstatic: false`' });
  } else {
    const under = underBaseDir(staticSetting.code);
    const levels = baseDirLevels(staticSetting.text) ?? staticSetting.file.split('/').length;
    const base = staticSetting.file.split('/').slice(0, Math.max(0, staticSetting.file.split('/').length - levels));
    if (under !== undefined) staticRoot = { dir: [...base, under].filter(Boolean).join('/'), file: staticSetting.file };
    else findings.push({ key: 'http.static_dir', message: `STATIC_ROOT in ${staticSetting.file} is not a path under BASE_DIR: set http.static_dir to where collectstatic writes, inside the release` });
  }

  const secret = setting('SECRET_KEY');
  const secretKeyEnv = secret ? scanEnvReads(secret.code).map((r) => r.name) : [];
  if (secret && secretKeyEnv.length === 0) findings.push({ key: 'SECRET_KEY', message: `${secret.file} writes SECRET_KEY in the code: read it from the environment (SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]) and add env_vars DJANGO_SECRET_KEY: \${DJANGO_SECRET_KEY}` });

  const hosts = setting('ALLOWED_HOSTS');
  const hostsName = hosts ? scanEnvReads(hosts.code)[0]?.name : undefined;
  const allowedHostsEnv = hosts && hostsName ? { name: hostsName, separator: /\benv\.list\(/.test(hosts.code) ? ',' : splitSeparator(hosts.code) } : undefined;
  if (hosts && !hostsName) findings.push({ key: 'ALLOWED_HOSTS', message: `${hosts.file} lists ALLOWED_HOSTS in the code: add your domain names (and 127.0.0.1, which the health check asks for)` });

  const databases = setting('DATABASES')?.code ?? '';
  const allSettings = texts.map((t) => t.text).join('\n');
  const readsDatabaseUrl = /\bdj_database_url\.(config|parse)\(|\benv\.db(_url)?\(/.test(allSettings) || texts.some(({ text }) => scanEnvReads(text).some((r) => r.name === 'DATABASE_URL'));
  const databaseFrom = readsDatabaseUrl
    ? 'the settings read DATABASE_URL'
    : /postgresql|postgis/.test(databases)
      ? 'the ENGINE in DATABASES'
      : requirementsIn(files).some((name) => PG_DRIVERS.includes(name))
        ? 'a PostgreSQL driver in the requirements'
        : undefined;
  const postgres = databaseFrom !== undefined;
  const database = postgres ? 'postgresql' : /sqlite3/.test(databases) ? 'sqlite' : 'unknown';
  if (database === 'sqlite') findings.push({ key: 'database', message: 'the settings use SQLite, whose file would stay in each release (lost at every deploy): read DATABASE_URL in the settings and add a database: section, or keep the file under shared.files' });
  else if (postgres && !readsDatabaseUrl) findings.push({ key: 'DATABASES', message: 'the settings do not read DATABASE_URL, which slipway writes to the .env: read it (dj-database-url, or urllib.parse) or set the variables they read under env_vars' });

  const rootUrlconf = stringLiterals(setting('ROOT_URLCONF')?.code ?? '')[0];
  const rootUrls = rootUrlconf ? `${pathOf(rootUrlconf)}.py` : undefined;
  const urlconfs = files.paths.filter((p) => p === rootUrls || /(^|\/)urls\.py$/.test(p)).sort((a, b) => Number(b === rootUrls) - Number(a === rootUrls));
  const health = bestHealthRoute(urlconfs.flatMap((file) => urlconfHealthRoutes(file, files.read(file) ?? '')));
  if (health && health.file !== rootUrls) findings.push({ key: 'health.path', message: `${health.path} is a route of ${health.file}, which the root URLconf may include under a prefix: check health.path` });

  return { ...(settings ? { settings } : {}), settingsFiles, ...(wsgi ? { wsgi } : {}), staticRootSet: staticSetting !== undefined, ...(staticRoot ? { staticRoot } : {}), secretKeyEnv, ...(allowedHostsEnv ? { allowedHostsEnv } : {}), database, ...(databaseFrom ? { databaseFrom } : {}), readsDatabaseUrl, ...(health ? { health } : {}), findings };
}
