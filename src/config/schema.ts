// slipway's configuration schema: deploy.yml (shared, optional) merged with deploy-<env>.yml.
import { absolutePath, findLinks, inside, localFile, repository, requirement, url } from './forms.js';
import { bool, int, list, map, obj, shorthand, str } from './schema-dsl.js';
import {
  ABSOLUTE_PATH,
  DOMAIN,
  EMAIL,
  ENV_NAME,
  ENV_VAR_NAME,
  GIT_REF,
  HOST,
  HTTP_PATH,
  IP_ADDRESS,
  PACKAGE_NAME,
  PROCESS_NAME,
  PROJECT_NAME,
  RELATIVE_PATH,
  UNIX_USER,
} from './names.js';

// Readable forms of the name patterns, for error messages.
const REF_HINT = 'a branch, tag or SHA (letters, digits, . _ / -; no leading -, no .. or //)';
const USER_HINT = 'a Unix user name (lowercase letters, digits, _ and -)';
const RELATIVE_HINT = 'a relative path inside the release (letters, digits, . _ / -; no leading / and no ..)';
const ABSOLUTE_HINT = 'an absolute path (letters, digits, . _ / -)';
const ROLE = { pattern: /^[a-z][a-z0-9-]*$/, patternHint: 'a role name (lowercase letters, digits, dashes)' };
const inRelease = (example: string) => ({ pattern: RELATIVE_PATH, patternHint: RELATIVE_HINT, form: inside('the release', example) });
const pipUrl = url(['https', 'http', 'file']);

/** How slipway reaches a server over SSH: the servers deployed to and the servers backups are copied to alike. */
const reach = {
  host: str('Host name or address to reach over SSH, or `local` for this machine.', { pattern: HOST, patternHint: 'a host name, an address or `local`' }),
  sandbox: str('Name of a `slipway sandbox` server to reach instead of `host` (its address and key are looked up).', { pattern: /^[a-z][a-z0-9-]{0,30}$/ }),
  user: str('SSH user. Defaults to your ~/.ssh/config, then your login name.', { pattern: UNIX_USER, patternHint: USER_HINT }),
  port: int('SSH port. Defaults to your ~/.ssh/config, then 22.', { min: 1, max: 65535 }),
  identity_file: str('SSH private key to use (otherwise ssh-agent and ~/.ssh/config).', { form: localFile }),
  known_hosts_file: str('known_hosts file to verify the host key against (otherwise ~/.ssh/known_hosts).', { form: localFile }),
  host_key_checking: str('How unknown host keys are treated: `yes` (must already be known) or `accept-new` (trust on first use).', {
    enum: ['yes', 'accept-new'],
    default: 'yes',
  }),
};

const server = obj(
  'One server to deploy to.',
  {
    ...reach,
    roles: list('Roles of this server: web, worker, scheduler, db, redis, lb (the load balancer holding the public site), or your own.', str('A role name.', ROLE), { default: ['web'] }),
    private_address: str('IP address the other servers of the environment reach this one by (a private network); defaults to `host` when that is an address, or the sandbox server\'s address. Needed for a `db` or `redis` server and the app servers that use it when `host` is a name.', { pattern: IP_ADDRESS, patternHint: 'an IPv4 or IPv6 address' }),
  },
  {},
);

const copyTarget = obj(
  'A server that keeps copies of the dumps. slipway logs in as `user` (root, or a user with sudo) to prepare it and to list the copies; the database server reaches it with a key of its own, as the account `<project>-backups`.',
  {
    name: str('How listings and `--from` name this copy; defaults to the sandbox name or the host.', { pattern: /^[a-z0-9][a-z0-9.-]{0,62}$/, patternHint: 'lowercase letters, digits, . and -' }),
    ...reach,
    address: str('Address the database server reaches this server by; defaults to `host` (or the sandbox server\'s address).', { pattern: HOST, patternHint: 'a host name or an address' }),
    path: str('Directory the copies go to; defaults to /var/backups/slipway/<project>.', { pattern: ABSOLUTE_PATH, patternHint: ABSOLUTE_HINT, form: absolutePath }),
    retention_days: int('Copies older than this many days are deleted there (never the newest): by a daily timer on that server; in a bucket, by the database server after each copy.', { default: 90, min: 1, max: 3650 }),
    s3: obj('An S3-compatible bucket instead of a server (give endpoint, bucket, access_key_id and secret_access_key): the database server puts each dump there with curl (AWS signature v4), the payload\'s sha256 signed and recorded with it, and checks the MD5 the bucket reports back.', {
      endpoint: str('The service\'s URL, reached path-style (`<endpoint>/<bucket>/<key>`), e.g. https://s3.eu-central-1.amazonaws.com.', { form: url(['https', 'http']) }),
      bucket: str('The bucket.', { pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, patternHint: 'an S3 bucket name (lowercase letters, digits, . and -)' }),
      region: str('The region the signature names.', { default: 'us-east-1', pattern: /^[a-z0-9-]{2,40}$/, patternHint: 'a region such as eu-central-1' }),
      prefix: str('Key prefix of the copies; defaults to `<project>/`.', { pattern: /^[A-Za-z0-9._/-]{1,200}\/$/, patternHint: 'letters, digits, . _ - and /, ending with /' }),
      access_key_id: str('Access key id; write it as ${NAME}.'),
      secret_access_key: str('Secret access key; write it as ${NAME} and keep it in the secrets file.'),
    }),
  },
  {},
);

const processDef = obj(
  'A long-running process, run by systemd as `<project>-<name>.service`.',
  {
    command: str('Command line, run from the release directory (`current`). `$PORT` is set for processes with a port.'),
    port: int('TCP port the process listens on (127.0.0.1), used by the health check and nginx.', { min: 1, max: 65535 }),
    roles: list('Only run on servers with one of these roles.', str('A role name.', ROLE), { default: ['web'] }),
    stop_timeout: int('Seconds systemd waits after SIGTERM for work in progress to finish before SIGKILL (TimeoutStopSec).', { default: 35, min: 1, max: 3600 }),
    singleton: bool('Run on exactly one server: the first in `servers` order that has one of `roles` (a scheduler). A deploy that moves it stops it on the old server before it starts on the new one.', { default: false }),
  },
  { required: ['command'] },
);

export const configSchema = obj(
  'slipway deploy configuration.',
  {
    project: obj(
      'The application being deployed.',
      {
        name: str('Project name: used for directories, unit names and the app user.', { pattern: PROJECT_NAME, patternHint: 'lowercase letters, digits and dashes, starting with a letter' }),
        repo: str('Git repository: a URL the servers can fetch (ssh://, https://, user@host:path, file:///), or a local path that slipway pushes from. Defaults to the directory holding the config.', { form: repository }),
        branch: str('Branch, tag or SHA deployed when none is given.', { default: 'main', pattern: GIT_REF, patternHint: REF_HINT }),
        source: str('How code reaches the servers: `push` (slipway sends the commit over its SSH connection, as a pack of what the releases on the server lack, with the deploy script itself), `fetch` (the server fetches `repo`), `auto` (push for local paths, fetch for URLs).', {
          enum: ['auto', 'push', 'fetch'],
          default: 'auto',
        }),
        framework: str('Recipe: `auto` detects django (manage.py), fastapi (fastapi/uvicorn in requirements) or node (package.json); `python` is a Python app without a framework recipe; `generic` runs only what you configure.', { enum: ['auto', 'django', 'fastapi', 'node', 'python', 'generic'], default: 'auto' }),
        python_version: str('Python for the app venv, e.g. 3.11: python3.11 if installed, else pyenv\'s; unset uses python3.', { pattern: /^3\.\d{1,2}$/ }),
        node_version: str('Node.js major version the release runs with (Node apps), e.g. `20`: the server\'s own Node when its major matches, else one slipway installed for the app before, else the Node running slipway, copied to the app (node/<version>/ under its directory) when its major matches. Unset: the server\'s Node, else the deployer\'s.', { pattern: /^\d{2}$/, patternHint: 'a Node.js major version such as 20' }),
      },
      { required: ['name'] },
    ),
    environment: str('Environment name; defaults to the `<env>` of deploy-<env>.yml.', { pattern: ENV_NAME, patternHint: 'lowercase letters, digits, - and _, starting with a letter' }),
    per_branch: bool('Deploy each branch side by side under {base_path}/{project}/{env}/{branch-slug}. Always on for env `branch`.', { default: false }),
    servers: list('Servers this environment deploys to.', server),
    base_path: str('Directory under which {project} lives on each server.', { default: '/opt', pattern: ABSOLUTE_PATH, patternHint: ABSOLUTE_HINT, form: absolutePath }),
    keep_releases: int('How many releases to keep per host (current, previous and the new one are never deleted).', { default: 5, min: 2, max: 100 }),
    app_user: str('Unix user the app runs as (created if missing, no login shell). Defaults to the project name.', { pattern: UNIX_USER, patternHint: USER_HINT }),
    process_manager: str('What keeps the app\'s processes running: `systemd` (a unit per process) or `supervisor` (a program per process, for servers that run their apps under supervisord). The process files, restarts, blue/green slots, `status` and `logs` follow it.', {
      enum: ['systemd', 'supervisor'],
      default: 'systemd',
    }),
    shared: obj('Persistent paths kept under shared/ and linked into every release.', {
      dirs: list('Directories (relative to the release), e.g. media, logs.', str('A relative path.', inRelease('media'))),
      files: list('Files (relative to the release).', str('A relative path.', inRelease('config/local.py'))),
    }),
    env_vars: map('Environment written to the app\'s .env (0600). Write secrets as ${NAME}: resolved from your environment or .slipway/secrets-<env>.env, never committed.', str('A value.'), {
      keyPattern: ENV_VAR_NAME,
      keyHint: 'an environment variable name',
    }),
    dependencies: obj('What the app needs installed.', {
      system: list('Debian/Ubuntu packages installed with apt (only the missing ones).', str('A package name.', { pattern: PACKAGE_NAME })),
      python: list('Extra Python requirements (pip specifiers), installed after the requirements files.', str('A requirement.', { form: requirement })),
      requirements_files: list('Requirements files in the repo.', str('A relative path.', inRelease('requirements.txt')), { default: undefined }),
    }),
    python: obj('Python apps: each release runs in a venv keyed by the Python version, requirements and pip settings, reused while they do not change.', {
      system_site_packages: bool('Let the venv see packages installed with apt (python3-django...), e.g. where PyPI is not reachable.', { default: false }),
      pip_version: str('pip version pinned in every new venv; unset keeps the version the venv comes with.', { pattern: /^\d+(\.\d+)*$/ }),
      setuptools_version: str('setuptools version pinned in every new venv; unset keeps the venv\'s own.', { pattern: /^\d+(\.\d+)*$/ }),
    }),
    pip: obj('Where pip finds packages (private indexes, offline wheelhouses).', {
      index_url: str('--index-url: the package index to use instead of PyPI.', { form: pipUrl }),
      extra_index_url: list('--extra-index-url: further indexes.', str('A URL.', { form: pipUrl })),
      find_links: list('--find-links: directories (relative to the release, or absolute) or URLs holding wheels.', str('A path or URL.', { form: findLinks })),
      no_index: bool('--no-index: use only find_links (and already installed packages).', { default: false }),
    }),
    node: obj('Node.js apps (framework node): dependencies installed once per lockfile, reused while it does not change.', {
      package_manager: str('`auto` picks by lockfile: package-lock.json or npm-shrinkwrap.json → npm (`npm ci`), pnpm-lock.yaml → pnpm, yarn.lock → yarn (both through corepack).', { enum: ['auto', 'npm', 'pnpm', 'yarn'], default: 'auto' }),
      production: bool('Install without devDependencies (`npm ci --omit=dev`). A build on the deployer installs them for the build alone.', { default: true }),
      npm_token: str('Token for a private registry, given to every install as NPM_TOKEN (write `//<registry>/:_authToken=${NPM_TOKEN}` in the repo\'s .npmrc); write it as ${NAME}.'),
    }),
    build: obj('Node apps: where dependencies are installed and the build runs.', {
      on: str('`deployer`: this machine (or CI) installs the dependencies and runs the build once, and uploads node_modules and the build\'s output over the SSH connection: servers need no registry. `server`: each server runs the install and the build itself (it needs npm and a registry it can reach).', { enum: ['deployer', 'server'], default: 'deployer' }),
      command: str('Build command, run in the release before the switch. Defaults to the package.json `build` script (`npm run build`) when there is one.'),
    }),
    django: obj('Django apps (framework django).', {
      settings_module: str('DJANGO_SETTINGS_MODULE; defaults to the one manage.py sets.', { pattern: /^[A-Za-z_][A-Za-z0-9_.]*$/ }),
      collectstatic: bool('Run collectstatic into each release before the switch.', { default: true }),
      check_deploy: bool('Run `manage.py check --deploy` and report its warnings (never fails the deploy).', { default: true }),
      superuser: obj('Create this superuser if it does not exist (non-interactive).', {
        username: str('User name.', { pattern: /^(?!-)[A-Za-z0-9_@.+-]{1,150}$/, patternHint: 'a Django user name (letters, digits, @ . + - _; no leading -)' }),
        email: str('E-mail address.', { pattern: EMAIL, patternHint: 'an e-mail address' }),
        password: str('Password; write it as ${NAME}.'),
      }),
    }),
    migrate: obj('Database migrations, run before the switch while the old release still serves.', {
      command: str('Migration command, run in the new release with its venv; defaults to the recipe\'s (Django: manage.py migrate --noinput).'),
      check: str('Command that exits non-zero when migrations are pending; migrations (and their backup) run only then. Defaults to the recipe\'s (Django: manage.py migrate --check); without one, migrations always run.'),
      backup: bool('pg_dump -Fc the database to shared/backups/ before migrating, linked from the release\'s manifest.', { default: true }),
      inputs: list('Files and directories (relative to the release) whose content decides what `check` finds, e.g. `migrations`, `prisma/schema.prisma`, `migrate.js`: when none of them, the dependencies, the environment or the database changed since a good release passed the check, it is skipped (`plan` says so; `deploy --full` runs it). Django\'s recipe knows its own.', str('A relative path.', inRelease('migrations')), { default: undefined }),
    }),
    smoke: str('Command run in the new release before the switch; a failure aborts the deploy. Defaults to the recipe\'s (import the WSGI/ASGI app).'),
    processes: map('Processes run by systemd, by name (web, worker, scheduler...). A string is the command. Defaults to the recipe\'s (Django: gunicorn; FastAPI: uvicorn).', shorthand('A process.', processDef, 'command'), {
      keyPattern: PROCESS_NAME,
      keyHint: 'a process name (lowercase letters, digits, dashes)',
    }),
    database: obj('The app database.', {
      engine: str('Database engine: `postgresql` creates the role and database (idempotently) and writes DATABASE_URL to .env.', { enum: ['postgresql', 'none'], default: 'none' }),
      name: str('Database name.', { pattern: /^[a-z_][a-z0-9_]{0,62}$/ }),
      user: str('Database role.', { pattern: /^[a-z_][a-z0-9_]{0,62}$/ }),
      password: str('Role password; write it as ${NAME}.'),
      host: str('Database host as the app reaches it; the database is created on the servers with role `db`, or on every server when none has it.', { default: 'localhost', pattern: HOST, patternHint: 'a host name or an address' }),
      port: int('Database port.', { default: 5432, min: 1, max: 65535 }),
      url: str('An external or managed PostgreSQL instead of one slipway sets up: the whole URL (postgresql://user:password@host:port/name?sslmode=require), written as ${NAME}. Nothing is installed or created; it reaches the app as DATABASE_URL.'),
      tls_cert: str('With a `db` server: certificate file on that server for PostgreSQL\'s TLS (PEM). Unset: slipway creates a self-signed one there.', { pattern: ABSOLUTE_PATH, patternHint: ABSOLUTE_HINT, form: absolutePath }),
      tls_key: str('With a `db` server: the private key of `tls_cert` on that server (readable by postgres, mode 0600 or 0640).', { pattern: ABSOLUTE_PATH, patternHint: ABSOLUTE_HINT, form: absolutePath }),
    }),
    http: obj('The public site: nginx in front of the web process, TLS, and how a deploy moves traffic. On when `domain` is set (or `enabled: true`).', {
      enabled: bool('Put nginx in front of the web process. Defaults to on when `domain` is set.'),
      domain: str('Primary domain name.', { pattern: DOMAIN, patternHint: 'a domain name' }),
      aliases: list('Other names served by the site.', str('A domain name.', { pattern: DOMAIN, patternHint: 'a domain name' })),
      default_server: bool('Also answer requests for any other host name on this server (e.g. its address).', { default: false }),
      tls: str('TLS certificates: `letsencrypt` (certbot, renewed by its timer), `self-signed`, or `none` (HTTP only).', { enum: ['none', 'self-signed', 'letsencrypt'], default: 'none' }),
      acme_server: str('ACME directory URL for `letsencrypt` (a staging or test server such as Pebble for trials).', { default: 'https://acme-v02.api.letsencrypt.org/directory', form: url(['https']) }),
      acme_email: str('Account e-mail for `letsencrypt` (expiry notices).', { pattern: EMAIL, patternHint: 'an e-mail address' }),
      acme_ca_bundle: str('CA bundle on the server that certbot trusts for acme_server (a test server\'s own CA).', { pattern: ABSOLUTE_PATH, patternHint: ABSOLUTE_HINT, form: absolutePath }),
      strategy: str('`blue-green`: start the new release in the idle slot, check it, move nginx to it, drain the old slot (no dropped requests). `restart`: restart in place (drops requests while the app restarts; for apps that cannot run twice).', {
        enum: ['blue-green', 'restart'],
        default: 'blue-green',
      }),
      switch: str('How nginx reaches the web process, and so how a blue/green switch moves traffic. `socket`: nginx proxies to a Unix socket link under the app\'s run/ directory, and a switch re-points the link in one rename: no nginx reload, so no client connection is closed (the web command must listen on `$SLIPWAY_SOCKET`, e.g. gunicorn `--bind unix:$SLIPWAY_SOCKET`, uvicorn `--uds $SLIPWAY_SOCKET`). `port`: nginx proxies to the slot\'s TCP port and each switch reloads nginx. `auto`: `socket` when the web command names `$SLIPWAY_SOCKET`, else `port`.', {
        enum: ['auto', 'socket', 'port'],
        default: 'auto',
      }),
      drain_seconds: int('Seconds the old slot keeps running after traffic moved away, so in-flight requests finish; a rollback within it is instant.', { default: 30, min: 0, max: 3600 }),
      static_dir: str('Directory in the release served at /static/ by nginx. Defaults to the recipe\'s (Django: staticfiles).', inRelease('staticfiles')),
      media_dir: str('Directory under shared/ served at /media/.', { pattern: RELATIVE_PATH, patternHint: RELATIVE_HINT, form: inside('shared/', 'media') }),
      client_max_body_size: str('Largest request body nginx accepts.', { default: '10m', pattern: /^\d+[kmg]?$/ }),
      proxy_read_timeout: int('Seconds nginx waits for the app to answer.', { default: 60, min: 1, max: 3600 }),
      frame_options: str('X-Frame-Options header.', { enum: ['DENY', 'SAMEORIGIN'], default: 'DENY' }),
    }),
    health: obj('Health check run on each host after the switch; a failure switches back.', {
      path: str('HTTP path to check on the web process. Defaults to the recipe\'s (/health/ for Django, /health otherwise).', {
        pattern: HTTP_PATH,
        patternHint: 'a URL path starting with / (no spaces, quotes or control characters), e.g. /health',
      }),
      process: str('Process whose port is checked.', { default: 'web', pattern: PROCESS_NAME, patternHint: 'a process name (lowercase letters, digits, dashes)' }),
      expected_status: int('Expected HTTP status.', { default: 200, min: 100, max: 599 }),
      timeout: int('Seconds per attempt.', { default: 5, min: 1, max: 120 }),
      retries: int('Attempts before giving up (with backoff).', { default: 10, min: 1, max: 100 }),
    }),
    hooks: obj('Shell commands run on each host in the release directory (as the app user when the app has processes, else as the SSH user); a failure aborts the deploy.', {
      build: list('After the code is in place, before the switch (e.g. compile assets).', str('A shell command.')),
      before_switch: list('Right before `current` moves.', str('A shell command.')),
      after_switch: list('After the switch: with http.strategy restart, after the restart and before the health check; with blue/green, once the new slot passed its check and took the traffic (a failure still switches back).', str('A shell command.')),
    }),
    deploy: obj('How a deploy moves across several servers.', {
      batch_size: str('Once every server is prepared, switch this many at a time, in `servers` order: a count (`2`) or a percentage of the servers (`25%`, rounded up). A failure in any batch switches every switched server back. Defaults to all at once for blue/green, 1 for `http.strategy: restart`.', {
        pattern: /^\d{1,4}%?$/,
        patternHint: 'a count such as 2 or a percentage such as 25%',
      }),
    }),
    notify: list('Webhooks told of each deploy and rollback (start, success, failure with the failing step, host and last lines, automatic switch-back): who, which ref and commit, which environment, how long. A notification that cannot be delivered (5 s per try, 3 tries) is a warning, never a failed deploy. A string is the URL.', shorthand('A webhook.', obj('A webhook.', {
      url: str('The webhook URL (https:// or http://), written as ${NAME}: it holds its own secret, and is never printed or logged.'),
      format: str('`json`: the event as a JSON document; `slack`: `{"text": ...}`, which Slack, Mattermost and Rocket.Chat incoming webhooks take.', { enum: ['json', 'slack'], default: 'json' }),
      events: list('Which events: start, success, failure, switch_back, rollback, the health monitor\'s alert and recovery (sent from the servers, with `monitor.enabled`), and the restore drill\'s result (drill, sent from the database server: backups.verify_schedule).', str('An event.', { enum: ['start', 'success', 'failure', 'switch_back', 'rollback', 'alert', 'recovery', 'drill'] }), { default: ['start', 'success', 'failure', 'switch_back', 'rollback', 'alert', 'recovery', 'drill'] }),
    }, { required: ['url'] }), 'url')),
    audit: obj('Known vulnerabilities of the release\'s dependencies (`slipway audit`): npm\'s lockfile through the registry\'s audit, Python requirements through pip-audit where it is installed and can reach its database. What cannot be checked is said so, never counted as clean.', {
      on_deploy: str('`off`; `warn`: a deploy prints the audit first; `block`: a deploy is refused when a finding is at or above `severity`, or when a lockfile or requirements file could not be checked (`deploy --skip-audit` overrides once).', { enum: ['off', 'warn', 'block'], default: 'off' }),
      severity: str('The lowest severity that counts: low, moderate, high or critical.', { enum: ['low', 'moderate', 'high', 'critical'], default: 'high' }),
    }),
    monitor: obj('A health monitor between deploys on each server that serves the health check: a systemd timer checks the live release\'s health (as the deploy does) and that each of the app\'s units there is active, and tells the `notify` webhooks subscribed to `alert` and `recovery` only when that changes (one alert when it starts failing, one recovery when it passes again). `status` shows its last result and since when.', {
      enabled: bool('Install the monitor with the next deploy (off: the next deploy removes one it installed).', { default: false }),
      interval: int('Seconds between checks.', { default: 60, min: 10, max: 3600 }),
      heartbeat_url: str('Pinged (GET) after each passing check, a dead man\'s switch such as Healthchecks.io; written as ${NAME}: it is a secret.'),
    }),
    ssh: obj('SSH behaviour.', {
      concurrency: int('Hosts deployed in parallel.', { default: 10, min: 1, max: 200 }),
      connect_timeout: int('Seconds to wait for a connection.', { default: 10, min: 1, max: 300 }),
      reuse_seconds: int('Keep each server\'s SSH connection open this long after a command, so that the next command within it skips the key exchange and the authentication (OpenSSH connection sharing, its sockets in a directory only you may enter). `0`: a new connection for every command.', { default: 60, min: 0, max: 3600 }),
      key_exchange: str('`fast`: prefer the curve25519-sha256 key exchange where the server offers it (about 0.1 s less per connection than the post-quantum hybrid that OpenSSH 9 prefers; the others stay allowed). `openssh`: keep the order of OpenSSH and your ~/.ssh/config, e.g. to keep a post-quantum key exchange.', {
        enum: ['fast', 'openssh'],
        default: 'fast',
      }),
    }),
    backups: obj('Database backups (PostgreSQL): `slipway backup`, the daily timer that `slipway setup` installs, `slipway restore`.', {
      retention_days: int('Dumps older than this many days are deleted after each backup (the newest one never is).', { default: 30, min: 1, max: 3650 }),
      schedule: str('When the backup timer runs: a systemd OnCalendar value (`daily`, `*-*-* 03:15:00`, `hourly`...).', { default: 'daily', pattern: /^[A-Za-z0-9 *:.,/~-]{1,100}$/, patternHint: 'a systemd calendar expression' }),
      verify_schedule: str('When the restore drill runs on the database server: the newest copy (backups.copy_to; else the newest dump) restored into a scratch database and every table\'s rows compared with the dump, the result sent to the webhooks subscribed to `drill` and shown by `slipway status`. A systemd OnCalendar value, or `off`.', { default: 'monthly', pattern: /^[A-Za-z0-9 *:.,/~-]{1,100}$/, patternHint: 'a systemd calendar expression, or off' }),
      plain_sql_gzip: bool('Also write a gzip\'d plain SQL dump (`.sql.gz`) next to each pg_dump -Fc dump, readable without pg_restore.', { default: false }),
      copy_to: list('Servers every dump is copied to after it is made (over SSH), so that losing the database server does not lose its backups. `slipway setup` creates a key on the database server and, on each of these servers, an account that key may use only to add dumps to its directory and read them back (never to delete or overwrite one, nor to reach anything else), and a timer applying the copy\'s own retention.', copyTarget),
      pitr: bool('Point-in-time recovery: PostgreSQL archives its WAL continuously (at least every 60 s) with pgBackRest to the first server of `copy_to`, which keeps the repository and takes full and differential backups on its timers; `slipway restore <env> --to-time TIME` restores the database as it was then. `setup` restarts PostgreSQL once to turn archiving on.', { default: false }),
      pitr_full: str('When the full backup runs (pitr): a systemd OnCalendar value.', { default: 'weekly', pattern: /^[A-Za-z0-9 *:.,/~-]{1,100}$/, patternHint: 'a systemd calendar expression' }),
      pitr_differential: str('When the differential backup runs (pitr): a systemd OnCalendar value.', { default: 'daily', pattern: /^[A-Za-z0-9 *:.,/~-]{1,100}$/, patternHint: 'a systemd calendar expression' }),
      pitr_retention_full: int('Full backups kept (pitr), with the differentials and the WAL that they need: the oldest point in time restorable is the oldest full backup.', { default: 2, min: 1, max: 100 }),
    }),
    setup: obj('What `slipway setup` prepares on a fresh server, besides packages, the app user, directories, PostgreSQL and the backup timer.', {
      ufw: bool('Firewall: ufw allows only SSH (the port sshd listens on), 80 and 443 in; skipped with a warning where ufw cannot run.', { default: true }),
      ssh_hardening: bool('sshd key-only login (no passwords, root by key only), applied only when the SSH user has an authorized key.', { default: true }),
      unattended_upgrades: bool('Install security updates automatically (unattended-upgrades).', { default: true }),
      node_exporter: bool('Install Prometheus node_exporter (package prometheus-node-exporter) on every server, listening on port 9100 of its private address (`private_address`, `host` when that is an address, or the sandbox address; else localhost) for a Prometheus you run to scrape. slipway opens no firewall port for it: `ufw allow from <prometheus> to any port 9100`.', { default: false }),
      redis: obj('A local Redis for the app (cache, queues).', {
        enabled: bool('Install and configure redis-server.', { default: false }),
        password: str('requirepass; write it as ${NAME} (and use the same ${NAME} in the app\'s REDIS_URL).'),
        maxmemory: str('Memory limit; keys are evicted least-recently-used first (allkeys-lru) beyond it.', { default: '256mb', pattern: /^\d+(b|kb|mb|gb)?$/i, patternHint: 'a size such as 256mb or 1gb' }),
        appendonly: bool('Persist every write to an append-only file (for queues that must survive a restart).', { default: false }),
      }),
      journald_max_use: str('Largest disk space the systemd journal may use (SystemMaxUse).', { default: '500M', pattern: /^\d+[KMGT]?$/, patternHint: 'a size such as 500M or 2G' }),
      logrotate_keep: int('Days of the app\'s logs (shared/logs/*.log) logrotate keeps, rotated daily and compressed.', { default: 30, min: 1, max: 3650 }),
    }),
  },
  { required: ['project', 'servers'] },
);

