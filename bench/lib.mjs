// What the benchmarks share: running the built CLI and other programs, options, statistics, committing a
// version of an example app, and ssh to a sandbox server. Plain JS: the benches import nothing from src/.
import { spawn } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(ROOT, 'bin', 'slipway.js');
// The sandbox's login key and known_hosts (docs/sandbox.md, "Where state lives").
export const SANDBOX_STATE = '/var/lib/slipway/sandbox';

const args = process.argv.slice(2);
/** `--name value` from the command line, or the fallback. */
export function option(name, fallback) {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback;
}

export function exec(program, argv, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(program, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

export async function must(program, argv, options) {
  const result = await exec(program, argv, options);
  if (result.code !== 0) throw new Error(`${program} ${argv.join(' ')} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`);
  return result;
}

/** `first`'s stdout piped into `second`'s stdin (each `[program, argv]`), like a shell's `first | second` with
 * pipefail: resolves to `second`'s output once both exit 0, else rejects. */
export function mustPipe([program1, argv1], [program2, argv2]) {
  const run = (program, argv, stdin) => {
    const child = spawn(program, argv, { cwd: ROOT, stdio: [stdin, 'pipe', 'pipe'] });
    const out = { program, argv, code: 1, stdout: '', stderr: '' };
    child.stderr.on('data', (d) => (out.stderr += d));
    const closed = new Promise((done) => child.on('close', (code) => done(Object.assign(out, { code: code ?? 1 }))));
    return { child, out, closed };
  };
  const first = run(program1, argv1, 'ignore');
  const second = run(program2, argv2, 'pipe');
  second.child.stdout.on('data', (d) => (second.out.stdout += d));
  second.child.stdin.on('error', () => {}); // `second` may exit before reading everything: its exit code tells
  first.child.stdout.pipe(second.child.stdin);
  return Promise.all([first.closed, second.closed]).then((results) => {
    const failed = results.find((r) => r.code !== 0);
    if (failed) throw new Error(`${failed.program} ${failed.argv.join(' ')} failed (exit ${failed.code}):\n${failed.stderr}${failed.stdout}`);
    return second.out;
  });
}

/** The built CLI as a function of its arguments; `env` adds to this environment (secrets the example asks for). */
export const cli =
  (env = {}) =>
  (...argv) =>
    must(process.execPath, [CLI, ...argv], { env: { ...process.env, ...env } });

export function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function stats(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
  return `median=${median.toFixed(2)} min=${sorted[0].toFixed(2)} max=${sorted.at(-1).toFixed(2)} n=${xs.length}`;
}

/** Writes VERSION and commits everything in the example's repository. */
export async function commit(repo, version) {
  await writeFile(join(repo, 'VERSION'), `${version}\n`);
  await must('git', ['-C', repo, 'add', '-A']);
  await must('git', ['-C', repo, '-c', 'user.name=bench', '-c', 'user.email=bench@localhost', 'commit', '--quiet', '-m', version]);
}

/**
 * The hand-written restart deploy the benches compare slipway with, as one shell line for one new ssh connection
 * (the commit's tree arrives as a tar on stdin), without a check: the tree unpacked into a new release of the app
 * under /opt/<app>, the live release's `links` (its venv, its .env) copied into it, the live slot's link and
 * `current` moved to it, and the live slot's unit restarted (its port and socket, so nginx's upstream, unchanged).
 * `marker`: a line printed just before the restart, where slipway prints its switch step.
 */
export function bareRestartScript({ app, n, links, marker }) {
  const root = `/opt/${app}`;
  return [
    'set -e',
    `d=${root}/releases/bare-${n}`,
    'mkdir -p "$d"',
    'tar -x -C "$d"',
    `slot=$(cat ${root}/.slipway/live-slot)`,
    `live=$(readlink -f "${root}/slots/$slot")`,
    `cp -P ${links.map((link) => `"$live/${link}"`).join(' ')} "$d/"`,
    `ln -sfn "$d" "${root}/slots/$slot.tmp" && mv -T "${root}/slots/$slot.tmp" "${root}/slots/$slot"`,
    `ln -sfn "$d" ${root}/current.tmp && mv -T ${root}/current.tmp ${root}/current`,
    ...(marker ? [`echo '${marker}'`] : []),
    `systemctl restart "${app}-web@$slot.service"`,
  ].join('; ');
}

/** ssh options for root on a sandbox server, host key checked; `fresh` forbids reusing a shared connection. */
export function sandboxSsh(address, fresh = false) {
  return [
    '-i', join(SANDBOX_STATE, 'id_ed25519'), '-l', 'root',
    '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${join(SANDBOX_STATE, 'known_hosts')}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    // The key exchange slipway prefers (ssh.key_exchange fast): the reference figures pay what slipway pays.
    '-o', 'KexAlgorithms=^curve25519-sha256,curve25519-sha256@libssh.org',
    ...(fresh ? ['-o', 'ControlMaster=no', '-o', 'ControlPath=none'] : []),
    address,
  ];
}

/** The sandbox server's address: booted afresh unless `given` names a running one. */
export async function serverAddress(server, given) {
  const slipway = cli();
  if (!given) {
    await exec(process.execPath, [CLI, 'sandbox', 'down', server]);
    await slipway('sandbox', 'up', server);
  }
  const listed = JSON.parse((await slipway('sandbox', 'list', '--json')).stdout);
  const address = listed.find((s) => s.name === server && s.status === 'running')?.address;
  if (!address) throw new Error(`sandbox server ${server} is not running`);
  return address;
}

/** examples/django-app copied into `repo`, with throwaway secrets in its untracked secrets file. */
export async function prepareDjangoExample(repo) {
  await cp(join(ROOT, 'examples', 'django-app'), repo, { recursive: true });
  await mkdir(join(repo, '.slipway'), { recursive: true });
  await writeFile(join(repo, '.gitignore'), '.slipway/\n');
  const secret = () => Math.random().toString(36).slice(2).padEnd(12, 'x');
  await writeFile(join(repo, '.slipway', 'secrets-sandbox.env'), `DB_PASSWORD=${secret()}\nDJANGO_SECRET_KEY=${secret()}${secret()}${secret()}${secret()}\n`, { mode: 0o600 });
}

/**
 * The Node example in `repo`, deploying to the sandbox server `server`: the site on for any host name, with
 * further `http:` settings as `key: value` lines.
 */
export async function prepareNodeExample(repo, server, httpSettings = []) {
  await cp(join(ROOT, 'examples', 'node-app'), repo, { recursive: true });
  await mkdir(join(repo, '.slipway'), { recursive: true });
  const secret = () => Math.random().toString(36).slice(2).padEnd(12, 'x');
  await writeFile(join(repo, '.slipway', 'secrets-sandbox.env'), `DB_PASSWORD=${secret()}${secret()}\n`, { mode: 0o600 });
  await writeNodeSandboxConfig(repo, server, httpSettings);
}

/** deploy-sandbox.yml for the Node example on the sandbox server `server`, with further `http:` settings. */
export async function writeNodeSandboxConfig(repo, server, httpSettings = []) {
  await writeFile(join(repo, 'deploy-sandbox.yml'), ['servers:', `  - sandbox: ${server}`, 'http:', ...['default_server: true', ...httpSettings].map((l) => `  ${l}`), ''].join('\n'));
}

/**
 * deploy-sandbox.yml for the Django example on `servers` (a sandbox server's name, or a list of
 * `{ sandbox, roles }`): four gunicorn workers behind nginx (static files by nginx, not the app), the site on
 * for any host name (`enabled`, `default_server`), with further `http:` settings given as `key: value` lines
 * (one with the key of a default replaces it).
 */
export async function writeDjangoSandboxConfig(repo, servers, httpSettings, topLevel = []) {
  const listed = typeof servers === 'string' ? [{ sandbox: servers }] : servers;
  const key = (line) => line.split(':')[0];
  const defaults = ['enabled: true', 'default_server: true'].filter((line) => !httpSettings.some((s) => key(s) === key(line)));
  const config = [
    ...topLevel,
    'servers:',
    ...listed.flatMap((s) => [`  - sandbox: ${s.sandbox}`, ...(s.roles ? [`    roles: [${s.roles.join(', ')}]`] : [])]),
    'processes:',
    '  web:',
    // The socket too, as the example binds it: nginx then reaches the slot through the socket link (http.switch auto).
    '    command: python -m gunicorn shop.wsgi --bind 127.0.0.1:$PORT --bind unix:$SLIPWAY_SOCKET --workers 4 --preload',
    'env_vars:',
    '  SERVE_STATIC: "0"',
    'http:',
    ...[...defaults, ...httpSettings].map((line) => `  ${line}`),
    '',
  ];
  await writeFile(join(repo, 'deploy-sandbox.yml'), config.join('\n'));
}
