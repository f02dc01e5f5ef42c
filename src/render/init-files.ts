// The config files `slipway init` writes (pure): deploy.yml from what was detected, a deploy-<env>.yml with a
// placeholder server, and a deploy-sandbox.yml for a local sandbox server. Only what the recipe's defaults
// lack is written as a key; what slipway could not tell is a comment saying what to set.
import type { AppDescription, EnvSetting } from '../recipes/describe.js';
import { comment, document, line, scalar } from './yaml-text.js';

export interface InitOptions {
  /** The server environment (deploy-<env>.yml), besides the sandbox. */
  env: string;
  /** The sandbox server deploy-sandbox.yml names. */
  sandbox: string;
}

export interface InitFile {
  path: string;
  text: string;
  mode?: number;
}

export const PLACEHOLDER_HOST = 'your-server.example.com';
export const PLACEHOLDER_DOMAIN = 'your-domain.example.com';

const hasWeb = (d: AppDescription) => d.health !== undefined;
const readBy = (s: EnvSetting) => `read by ${s.files.join(', ')}`;
const SECRETS = '.slipway/secrets-<env>.env';

function projectSection(d: AppDescription): string[] {
  const lines = ['project:', line(2, `name: ${d.project}`, `from the directory name: /opt/${d.project}, its units and app user`)];
  lines.push(line(2, `framework: ${d.framework}`, d.framework === 'generic' ? 'no manage.py or Python requirements: runs what you configure' : `detected from ${d.detectedFrom}`));
  if (d.pythonVersion) lines.push(line(2, `python_version: ${scalar(d.pythonVersion.version)}`, `from ${d.pythonVersion.from} (quoted: YAML would read a number)`));
  else if (d.python) lines.push(line(2, '# python_version: "3.11"', "not detected: unset, the servers' python3 runs the app"));
  if (d.nodeVersion) lines.push(line(2, `node_version: ${scalar(d.nodeVersion.version)}`, `from ${d.nodeVersion.from}: the server's Node if its major matches, else slipway gives the app this machine's`));
  else if (d.framework === 'node') lines.push(line(2, '# node_version: "20"', "not detected: unset, the servers' own Node runs the app"));
  if (d.branch) lines.push(line(2, `branch: ${scalar(d.branch)}`, 'the branch checked out here: what `deploy` takes without --ref'));
  return lines;
}

function djangoSection(d: AppDescription): string[] {
  if (!d.settingsModule && d.collectstatic !== false) return [];
  const lines = ['django:'];
  if (d.settingsModule) lines.push(line(2, `settings_module: ${d.settingsModule.module}`, `found in ${d.settingsModule.from}; manage.py names none`));
  if (d.collectstatic === false) lines.push(line(2, 'collectstatic: false', 'the settings set no STATIC_ROOT, without which collectstatic fails'));
  return lines;
}

function processesSection(d: AppDescription): string[] {
  if (d.web) {
    return [
      'processes:',
      '  web:',
      ...comment(4, `The recipe's default does not fit: ${d.web.from} names this. \`python\` is the venv's interpreter; bound to 127.0.0.1, where the health check and nginx reach it.`),
      line(4, `command: ${scalar(d.web.command)}`),
      line(4, `port: ${d.web.port}`),
      ...(d.smoke ? ['', line(0, `smoke: ${scalar(d.smoke)}`, "the recipe's would import its default module")] : []),
    ];
  }
  if (hasWeb(d)) return [];
  return [
    ...comment(0, 'No web framework detected, so nothing runs: name the command that serves HTTP on 127.0.0.1:$PORT, and its health path.'),
    '# processes:',
    '#   web:',
    `#     command: ${d.python ? 'python -m gunicorn app:app --bind 127.0.0.1:$PORT' : d.framework === 'node' ? 'node server.js' : './server --port $PORT'}`,
    `#     port: ${d.framework === 'node' ? 3000 : 8000}`,
    '# health:',
    '#   path: /health',
  ];
}

/** Node apps: where the install and the build run (the default, written out as a comment so it can be found). */
function buildSection(d: AppDescription): string[] {
  if (d.framework !== 'node') return [];
  return [
    ...comment(0, 'npm ci (and the build script, if any) run on this machine; node_modules and the build\'s output are uploaded, and node_modules is reused while the lockfile does not change. `on: server` runs them on each server instead (it needs npm and a registry).'),
    '# build:',
    '#   on: deployer',
  ];
}

function migrateSection(d: AppDescription): string[] {
  if (!d.migrate) return [];
  return ['migrate:', line(2, `command: ${scalar(d.migrate.command)}`, `${d.migrate.from}: run before the switch, after a backup of the database`)];
}

function healthSection(d: AppDescription): string[] {
  if (!d.health) return [];
  const why = d.health.from ? `the route in ${d.health.from}` : 'no health route found: add one';
  return ['health:', line(2, `path: ${scalar(d.health.path)}`, `${why}; a deploy switches back unless it answers 200`)];
}

function staticSection(d: AppDescription): string[] {
  if (!d.staticDir) return [];
  return ['http:', line(2, `static_dir: ${scalar(d.staticDir.dir)}`, `${d.staticDir.from}: nginx serves it at /static/`)];
}

function databaseSection(d: AppDescription): string[] {
  if (!d.database) return [];
  return [
    'database:',
    ...comment(2, `PostgreSQL (${d.database.from}): slipway creates the role and the database if missing, and writes DATABASE_URL to the app's .env.`),
    line(2, 'engine: postgresql'),
    line(2, `name: ${d.database.name}`),
    line(2, `user: ${d.database.user}`),
    line(2, 'password: ${DB_PASSWORD}', `a secret: generated in ${SECRETS}, never committed`),
  ];
}

function envSection(d: AppDescription): string[] {
  const lines: string[] = [];
  const perEnv: string[] = [];
  for (const s of d.env) {
    if (s.value.kind === 'secret') {
      const why = s.value.generate ? `${readBy(s)}; generated in ${SECRETS}` : `required by ${s.files.join(', ')}: set it in ${SECRETS}`;
      lines.push(line(2, `${s.name}: \${${s.value.placeholder}}`, why));
    } else if (s.value.kind === 'value') lines.push(line(2, `${s.name}: ${scalar(s.value.value)}`, readBy(s)));
    else if (s.value.kind === 'hosts') perEnv.push(...comment(2, `${s.name} (${readBy(s)}) is set per environment, in deploy-<env>.yml.`));
  }
  if (d.python) lines.push(line(2, 'PYTHONUNBUFFERED: "1"', 'log lines reach the journal as they are written'));
  lines.push(...perEnv);
  const optional = d.env.filter((s) => s.value.kind === 'optional');
  if (optional.length > 0) {
    lines.push(...comment(2, 'Read with a default; set them if the default does not suit:'));
    for (const s of optional) lines.push(line(2, `# ${s.name}: ${s.value.kind === 'optional' && s.value.sample ? s.value.sample : '""'}`, readBy(s)));
  }
  return lines.length > 0 ? ['env_vars:', ...lines] : [];
}

export function renderDeployYml(d: AppDescription): string {
  return document([
    comment(0, `slipway configuration shared by every environment, written by \`slipway init\` from what it found in this repository; deploy-<env>.yml adds the servers and may override anything here. Every key is in slipway's docs/configuration.md (\`slipway schema\` prints the JSON Schema for editors).`),
    projectSection(d),
    djangoSection(d),
    d.requirementsFiles ? ['dependencies:', line(2, `requirements_files: [${d.requirementsFiles.files.map(scalar).join(', ')}]`, d.requirementsFiles.from)] : [],
    buildSection(d),
    processesSection(d),
    migrateSection(d),
    healthSection(d),
    staticSection(d),
    databaseSection(d),
    envSection(d),
  ]);
}

const hostsSetting = (d: AppDescription) => d.env.find((s) => s.value.kind === 'hosts');

function hostsLine(d: AppDescription, hosts: string[]): string | undefined {
  const s = hostsSetting(d);
  if (!s || s.value.kind !== 'hosts') return undefined;
  return line(2, `${s.name}: ${scalar(hosts.join(s.value.separator === ' ' ? ' ' : s.value.separator))}`);
}

export function renderServerEnvYml(d: AppDescription, env: string): string {
  const hosts = hostsLine(d, [PLACEHOLDER_DOMAIN, '127.0.0.1', 'localhost']);
  return document([
    comment(0, `\`slipway deploy ${env}\`: this environment's servers, merged over deploy.yml (anything here overrides it). Secrets come from .slipway/secrets-${env}.env (untracked) or your environment.`),
    ['servers:', line(2, `- host: ${PLACEHOLDER_HOST}`, 'a placeholder: the server\'s DNS name or address, reached over SSH'), line(4, '# user: deploy', 'the SSH user; defaults to ~/.ssh/config, then your login name')],
    hosts ? ['env_vars:', ...comment(2, 'The host names Django answers for: your domain names, and 127.0.0.1, which the health check asks for.'), hosts] : [],
    hasWeb(d)
      ? [...comment(0, 'nginx in front, with a certificate from Let\'s Encrypt, once the domain points at the server:'), '# http:', `#   domain: ${PLACEHOLDER_DOMAIN}`, '#   tls: letsencrypt', '#   acme_email: you@example.com']
      : [],
  ]);
}

export function renderSandboxYml(d: AppDescription, sandbox: string): string {
  const hosts = hostsLine(d, ['*']);
  return document([
    comment(0, `\`slipway deploy sandbox\`: to a local sandbox server (\`sudo slipway sandbox up ${sandbox}\` boots it), merged over deploy.yml. Secrets come from .slipway/secrets-sandbox.env (untracked).`),
    ['servers:', line(2, `- sandbox: ${sandbox}`)],
    d.python
      ? [
          ...comment(0, "Sandbox servers reach no package index: the venv sees the image's Python packages (Debian's Django, FastAPI, gunicorn, uvicorn, psycopg2, redis) and pip looks nowhere else. A requirement the image lacks fails to install: drop these two, or add pip.find_links with your wheels."),
          'python:',
          line(2, 'system_site_packages: true'),
          'pip:',
          line(2, 'no_index: true'),
        ]
      : [],
    hasWeb(d)
      ? ['http:', ...comment(2, 'nginx in front, blue/green slots behind it: a redeploy never drops a request. A sandbox server has no DNS name, so the site also answers for its address (default_server).'), line(2, 'enabled: true'), line(2, 'default_server: true')]
      : [],
    hosts ? ['env_vars:', line(2, hosts.trim(), 'a sandbox is reached by its address, whatever it is')] : [],
  ]);
}

export function renderConfigFiles(d: AppDescription, options: InitOptions): InitFile[] {
  return [
    { path: 'deploy.yml', text: renderDeployYml(d) },
    { path: `deploy-${options.env}.yml`, text: renderServerEnvYml(d, options.env) },
    { path: 'deploy-sandbox.yml', text: renderSandboxYml(d, options.sandbox) },
  ];
}
