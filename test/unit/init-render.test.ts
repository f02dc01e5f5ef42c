// The files and the report `slipway init` writes, as exact text, from descriptions of small trees.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { describeApp, type AppDescription } from '../../src/recipes/describe.js';
import type { RepoFiles } from '../../src/recipes/types.js';
import { renderConfigFiles } from '../../src/render/init-files.js';
import { initReport } from '../../src/render/init-report.js';
import { gitignoreAddition, renderSecretsFile, secretSpecs } from '../../src/render/init-secrets.js';
import { comment, line, scalar } from '../../src/render/yaml-text.js';
import { parseLocated } from '../../src/config/located.js';
import { configSchema } from '../../src/config/schema.js';
import { validateValue, type Diagnostic } from '../../src/config/validate.js';

function describeTree(files: Record<string, string>, dirName = 'shop'): AppDescription {
  const tree: RepoFiles = { paths: Object.keys(files), read: (p) => files[p] };
  return describeApp({ dirName, files: tree, git: true });
}

const DJANGO = describeTree({
  'manage.py': 'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")\n',
  'shop/settings.py': [
    'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]',
    'ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "").split(" ")',
    'DATABASES = {"default": dj_database_url.config()}',
    'WSGI_APPLICATION = "shop.wsgi.application"',
    'ROOT_URLCONF = "shop.urls"',
    'STATIC_ROOT = BASE_DIR / "collected"',
    'DEBUG = os.environ.get("DJANGO_DEBUG") == "1"',
  ].join('\n'),
  'shop/wsgi.py': '',
  'shop/urls.py': 'urlpatterns = [path("health/", health)]\n',
  'requirements.txt': 'Django\ndj-database-url\npsycopg2\n',
  'runtime.txt': 'python-3.11.9\n',
});

const FASTAPI = describeTree(
  {
    'requirements.txt': 'fastapi\nuvicorn\n',
    'service/api.py': 'api = FastAPI()\n@api.get("/health")\ndef health(): ...\n',
    'service/keys.py': 'KEY = os.environ["PAYMENT_API_KEY"]\n',
  },
  'items',
);

const byPath = (d: AppDescription) => Object.fromEntries(renderConfigFiles(d, { env: 'prod', sandbox: 'shop1' }).map((f) => [f.path, f.text]));

describe('deploy.yml, deploy-prod.yml and deploy-sandbox.yml', () => {
  it('Django: the recipe made explicit, only the static dir overridden, PostgreSQL, the secret key, hosts per environment', () => {
    const files = byPath(DJANGO);
    expect(Object.keys(files)).toEqual(['deploy.yml', 'deploy-prod.yml', 'deploy-sandbox.yml']);
    expect(files['deploy.yml']).toBe(`# slipway configuration shared by every environment, written by \`slipway init\` from what it found in this
# repository; deploy-<env>.yml adds the servers and may override anything here. Every key is in slipway's
# docs/configuration.md (\`slipway schema\` prints the JSON Schema for editors).

project:
  name: shop                # from the directory name: /opt/shop, its units and app user
  framework: django         # detected from manage.py
  python_version: "3.11"    # from runtime.txt (quoted: YAML would read a number)

health:
  path: /health/            # the route in shop/urls.py; a deploy switches back unless it answers 200

http:
  static_dir: collected     # STATIC_ROOT in shop/settings.py: nginx serves it at /static/

database:
  # PostgreSQL (the settings read DATABASE_URL): slipway creates the role and the database if missing, and
  # writes DATABASE_URL to the app's .env.
  engine: postgresql
  name: shop
  user: shop
  password: \${DB_PASSWORD}  # a secret: generated in .slipway/secrets-<env>.env, never committed

env_vars:
  DJANGO_SECRET_KEY: \${DJANGO_SECRET_KEY}   # read by shop/settings.py; generated in .slipway/secrets-<env>.env
  PYTHONUNBUFFERED: "1"     # log lines reach the journal as they are written
  # ALLOWED_HOSTS (read by shop/settings.py) is set per environment, in deploy-<env>.yml.
  # Read with a default; set them if the default does not suit:
  # DJANGO_DEBUG: ""        # read by shop/settings.py
`);
    expect(files['deploy-prod.yml']).toBe(`# \`slipway deploy prod\`: this environment's servers, merged over deploy.yml (anything here overrides it).
# Secrets come from .slipway/secrets-prod.env (untracked) or your environment.

servers:
  - host: your-server.example.com   # a placeholder: the server's DNS name or address, reached over SSH
    # user: deploy          # the SSH user; defaults to ~/.ssh/config, then your login name

env_vars:
  # The host names Django answers for: your domain names, and 127.0.0.1, which the health check asks for.
  ALLOWED_HOSTS: your-domain.example.com 127.0.0.1 localhost

# nginx in front, with a certificate from Let's Encrypt, once the domain points at the server:
# http:
#   domain: your-domain.example.com
#   tls: letsencrypt
#   acme_email: you@example.com
`);
    expect(files['deploy-sandbox.yml']).toBe(`# \`slipway deploy sandbox\`: to a local sandbox server (\`sudo slipway sandbox up shop1\` boots it), merged over
# deploy.yml. Secrets come from .slipway/secrets-sandbox.env (untracked).

servers:
  - sandbox: shop1

# Sandbox servers reach no package index: the venv sees the image's Python packages (Debian's Django, FastAPI,
# gunicorn, uvicorn, psycopg2, redis) and pip looks nowhere else. A requirement the image lacks fails to
# install: drop these two, or add pip.find_links with your wheels.
python:
  system_site_packages: true
pip:
  no_index: true

http:
  # nginx in front, blue/green slots behind it: a redeploy never drops a request. A sandbox server has no DNS
  # name, so the site also answers for its address (default_server).
  enabled: true
  default_server: true

env_vars:
  ALLOWED_HOSTS: "*"        # a sandbox is reached by its address, whatever it is
`);
  });

  it('FastAPI: an explicit web process for an app the recipe would not find, a secret to fill in', () => {
    const deploy = byPath(FASTAPI)['deploy.yml']!;
    expect(deploy).toContain(`processes:
  web:
    # The recipe's default does not fit: \`api = FastAPI(\` in service/api.py names this. \`python\` is the venv's
    # interpreter; bound to 127.0.0.1, where the health check and nginx reach it.
    command: python -m uvicorn service.api:api --host 127.0.0.1 --port $PORT
    port: 8000

smoke: python -c 'import service.api; service.api.api'   # the recipe's would import its default module
`);
    expect(deploy).toContain('  PAYMENT_API_KEY: ${PAYMENT_API_KEY}   # required by service/keys.py: set it in .slipway/secrets-<env>.env\n');
    expect(deploy).not.toContain('database:');
    expect(parse(deploy)).toMatchObject({ project: { name: 'items', framework: 'fastapi' }, processes: { web: { port: 8000 } }, smoke: "python -c 'import service.api; service.api.api'", env_vars: { PAYMENT_API_KEY: '${PAYMENT_API_KEY}', PYTHONUNBUFFERED: '1' } });
  });

  it('no framework: no web process or http section, a commented example of what to set', () => {
    const files = byPath(describeTree({ 'index.html': '' }, 'site'));
    expect(files['deploy.yml']).toContain('# processes:\n#   web:\n#     command: ./server --port $PORT\n#     port: 8000\n# health:\n#   path: /health\n');
    expect(parse(files['deploy.yml']!)).toEqual({ project: { name: 'site', framework: 'generic' } });
    expect(parse(files['deploy-sandbox.yml']!)).toEqual({ servers: [{ sandbox: 'shop1' }] });
    expect(parse(files['deploy-prod.yml']!)).toEqual({ servers: [{ host: 'your-server.example.com' }] });
  });
});

describe('a Node app\'s files', () => {
  it('name its Node, its migration and where it builds, and validate as written', () => {
    const d = describeTree({
      'package.json': JSON.stringify({ scripts: { start: 'node server.js', migrate: 'knex migrate:latest' }, dependencies: { pg: '^8', knex: '^3', express: '^4' }, engines: { node: '20.x' } }),
      'package-lock.json': '{}',
      'server.js': "app.get('/health', ok);\n",
    }, 'notes');
    const files = byPath(d);
    const yml = parse(files['deploy.yml']!) as Record<string, Record<string, unknown>>;
    expect(yml.project).toEqual({ name: 'notes', framework: 'node', node_version: '20' });
    expect(yml.migrate).toEqual({ command: 'npx knex migrate:latest' });
    expect(yml.health).toEqual({ path: '/health' });
    expect(files['deploy.yml']).toContain('# build:\n#   on: deployer');
    const config = { ...yml, ...(parse(files['deploy-sandbox.yml']!) as Record<string, unknown>) };
    const out: Diagnostic[] = [];
    const root = parseLocated(JSON.stringify(config).replaceAll('${DB_PASSWORD}', 'pw'), 'deploy.yml');
    validateValue(configSchema, root, '', out, root.loc);
    expect(out).toEqual([]);
    expect(files['deploy-sandbox.yml']).not.toContain('system_site_packages');
  });
});

describe('secrets files and .gitignore', () => {
  it('lists every ${NAME} the config uses: generated values, then commented lines to fill in', () => {
    const specs = secretSpecs({ ...DJANGO, env: [...DJANGO.env, ...FASTAPI.env] });
    expect(specs.map((s) => [s.name, s.generate])).toEqual([
      ['DB_PASSWORD', true],
      ['DJANGO_SECRET_KEY', true],
      ['PAYMENT_API_KEY', false],
    ]);
    expect(renderSecretsFile('sandbox', specs, { DB_PASSWORD: 'pw-1', DJANGO_SECRET_KEY: 'key-1' })).toBe(`# Secrets of the sandbox environment: the values of the \${NAME} placeholders in deploy*.yml, written by slipway init.
# Never committed (.gitignore). KEY=value lines; your environment is searched after this file.

# Random values, generated for this environment:
# the PostgreSQL role's password (database.password)
DB_PASSWORD=pw-1
# read by shop/settings.py
DJANGO_SECRET_KEY=key-1

# To fill in (\`slipway validate\` fails until each is set, here or in your environment):
# read by service/keys.py
# PAYMENT_API_KEY=
`);
  });

  it('adds the secrets and logs lines unless .gitignore already ignores them (or all of .slipway/)', () => {
    expect(gitignoreAddition(undefined)).toEqual({ text: '# slipway: secrets and local deploy logs\n.slipway/secrets-*.env\n.slipway/logs/\n', lines: ['.slipway/secrets-*.env', '.slipway/logs/'] });
    expect(gitignoreAddition('node_modules/')?.text).toBe('\n\n# slipway: secrets and local deploy logs\n.slipway/secrets-*.env\n.slipway/logs/\n');
    expect(gitignoreAddition('dist/\n.slipway/logs/\n')).toEqual({ text: '\n# slipway: secrets and local deploy logs\n.slipway/secrets-*.env\n', lines: ['.slipway/secrets-*.env'] });
    for (const all of ['.slipway/', '/.slipway', '.slipway/*', '!.slipway/\n.slipway/*\n!.slipway/secrets-sandbox.env.example']) expect(gitignoreAddition(`${all}\n`)).toBeUndefined();
  });
});

describe('the report', () => {
  it('says what was detected, written and left alone, what to set, and what to run next', () => {
    const d = { ...FASTAPI, git: false };
    const lines = initReport(d, { env: 'prod', sandbox: 'items' }, {
      outcomes: [
        { path: 'deploy.yml', outcome: 'exists' },
        { path: 'deploy-prod.yml', outcome: 'written' },
        { path: '.slipway/secrets-sandbox.env', outcome: 'written' },
      ],
      secrets: secretSpecs(d),
      gitignore: ['.slipway/secrets-*.env'],
      configArg: 'my app',
    });
    expect(lines).toEqual([
      'Detected a FastAPI app (fastapi in the requirements): ASGI app service.api:api, no alembic.ini, health route /health (service/api.py).',
      'left alone: deploy.yml (it exists)',
      'wrote deploy-prod.yml',
      'wrote .slipway/secrets-sandbox.env (0600; to fill in: PAYMENT_API_KEY)',
      'added to .gitignore: .slipway/secrets-*.env',
      '',
      'Not detected, set it yourself:',
      "  project.python_version: no .python-version, runtime.txt, .tool-versions or Dockerfile names one: the servers' python3 runs the app (Debian 12: 3.11)",
      '  PAYMENT_API_KEY: a value only you know: set it in .slipway/secrets-<env>.env (a commented line waits there)',
      '',
      'Next:',
      `  git -C 'my app' init -b main && git -C 'my app' add -A && git -C 'my app' commit -m "Deploy with slipway"   # slipway deploys commits`,
      '  sudo slipway sandbox up items',
      "  slipway -c 'my app' validate sandbox",
      "  slipway -c 'my app' deploy sandbox",
      "Then put your server in deploy-prod.yml (in place of your-server.example.com) and run slipway -c 'my app' setup prod and slipway -c 'my app' deploy prod.",
    ]);
  });
});

describe('YAML text', () => {
  it('quotes a value only where YAML would read something else', () => {
    expect(scalar('python -m uvicorn main:app --port $PORT')).toBe('python -m uvicorn main:app --port $PORT');
    expect(scalar('${DB_PASSWORD}')).toBe('${DB_PASSWORD}');
    for (const value of ['3.11', '*', 'yes', 'null', '', 'a #b', 'a: b', '- x', ' x', '@x', '"q"']) {
      expect(scalar(value)).toBe(JSON.stringify(value));
      expect(parse(`k: ${scalar(value)}`)).toEqual({ k: value });
    }
  });

  it('aligns comments and wraps comment lines at 110 columns', () => {
    expect(line(2, 'port: 8000', 'why')).toBe('  port: 8000                # why');
    expect(line(2, 'a_very_long_key_name: value', 'why')).toBe('  a_very_long_key_name: value   # why');
    expect(comment(2, `${'word '.repeat(30)}end`).map((l) => l.length <= 110)).toEqual([true, true]);
  });
});
