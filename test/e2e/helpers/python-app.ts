// The Python examples (examples/django-app, examples/fastapi-app) as git repositories of their own in temp dirs,
// deployed with the real CLI (`node bin/slipway.js`, a child process run in the repository) to sandbox servers;
// and what the tests read back from those servers (the apps bind 127.0.0.1, so HTTP goes through curl there).
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import type { TestServer } from './sandbox.js';
import { ExampleRepo, run, type CliResult } from './example-repo.js';

export { run, type CliResult };

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'slipway.js');
export const FIXTURES = join(ROOT, 'test', 'e2e', 'fixtures');

export type Example = 'django-app' | 'fastapi-app' | 'node-app';


/**
 * Long and random, so finding one anywhere means it leaked; with the characters that break naive quoting on the
 * way to the app (psql literal, URL, .env read by both sh and systemd).
 */
const secret = (name: string) => `e2e-${name}-${randomBytes(16).toString('hex')} $HOME "q" 'a' \`x\` \\ %41 #h`;

export class AppRepo extends ExampleRepo {
  /** The values of the ${NAME} placeholders, kept in the untracked .slipway/secrets-sandbox.env. */
  readonly secrets: Record<string, string>;
  /** Set for every CLI run besides this process's environment (the deployer's cache directory...). */
  readonly env: Record<string, string> = {};

  private constructor(dir: string) {
    super(dir);
    this.secrets = { DB_PASSWORD: secret('db-password'), DJANGO_SECRET_KEY: secret('django-key') };
  }

  /** A copy of the example, a repository on branch `main` (nothing committed yet), deploying to `servers`. */
  static async create(example: Example, servers: readonly string[], config: Record<string, unknown> = {}): Promise<AppRepo> {
    const dir = await mkdtemp(join(tmpdir(), `slipway-e2e-${example}-`));
    await cp(join(ROOT, 'examples', example), dir, { recursive: true });
    const repo = new AppRepo(dir);
    const secrets = Object.entries(repo.secrets).map(([name, value]) => `${name}=${value}\n`);
    await writeFile(join(dir, '.slipway', 'secrets-sandbox.env'), secrets.join(''), { mode: 0o600 });
    await repo.configure(servers, config);
    await repo.git('init', '--quiet', '--initial-branch=main');
    return repo;
  }

  /** Rewrites deploy-sandbox.yml (merged over the example's deploy.yml): the servers, and `config`. */
  async configure(servers: readonly string[], config: Record<string, unknown> = {}): Promise<void> {
    await writeFile(join(this.dir, 'deploy-sandbox.yml'), stringify({ servers: servers.map((sandbox) => ({ sandbox })), ...config }));
  }

  read(path: string): Promise<string> {
    return readFile(join(this.dir, path), 'utf8');
  }

  /** Writes (a string) or deletes (null) files, sets VERSION and commits everything. */
  async commit(version: string, changes: Record<string, string | null> = {}): Promise<void> {
    for (const [path, text] of Object.entries({ ...changes, VERSION: `${version}\n` })) {
      if (text === null) {
        await rm(join(this.dir, path), { force: true });
      } else {
        await mkdir(dirname(join(this.dir, path)), { recursive: true });
        await writeFile(join(this.dir, path), text);
      }
    }
    await this.git('add', '-A');
    await this.git('-c', 'user.name=e2e', '-c', 'user.email=e2e@localhost', 'commit', '--quiet', '-m', `version ${version}`);
  }

  /** `slipway ...args`, run in the repository as a user would (secrets from the file, not the environment). */
  cli(...args: string[]): Promise<CliResult> {
    const env = { ...process.env, ...this.env };
    for (const name of Object.keys(this.secrets)) delete env[name];
    return run(process.execPath, [CLI, ...args], { cwd: this.dir, env });
  }

  /** The single server's releases, oldest first, and its current one. */
  async releases(): Promise<{ current: string | null; releases: { id: string; status: string }[] }> {
    const result = await this.cli('releases', 'sandbox', '--json');
    if (result.code !== 0) throw new Error(`releases failed: ${result.stderr}`);
    const [host] = JSON.parse(result.stdout) as { current: string | null; releases: { id: string; status: string }[] }[];
    const releases = host!.releases.map(({ id, status }) => ({ id, status })).sort((a, b) => a.id.localeCompare(b.id));
    return { current: host!.current, releases };
  }

}

/** Builds the slipway-probe wheel of `version` into `outdir` with the offline fixture builder. */
export async function buildProbeWheel(version: string, outdir: string): Promise<string> {
  const result = await run('sh', [join(FIXTURES, 'build-wheel.sh'), version, outdir], { cwd: ROOT });
  if (result.code !== 0) throw new Error(`build-wheel.sh ${version} failed: ${result.stderr}`);
  return result.stdout.trim();
}

export const shellQuote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

export interface HttpAnswer {
  status: number;
  body: string;
}

/** An HTTP request made on the server itself (curl), where the app listens on 127.0.0.1; status 0 when nothing answers. */
export async function http(server: TestServer, url: string, options: { method?: string; json?: unknown } = {}): Promise<HttpAnswer> {
  const args = ['curl', '-sS', '-m', '5', '-w', shellQuote('\n%{http_code}')];
  if (options.method) args.push('-X', options.method);
  if (options.json !== undefined) args.push('-H', shellQuote('content-type: application/json'), '--data', shellQuote(JSON.stringify(options.json)));
  const result = await server.run(`${args.join(' ')} ${shellQuote(url)}`);
  const cut = result.stdout.lastIndexOf('\n');
  return { status: Number(result.stdout.slice(cut + 1)) || 0, body: result.stdout.slice(0, Math.max(cut, 0)) };
}

/** Polls `probe` until `done` says yes or `ms` pass; returns the last value either way. */
export async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await probe();
  }
  return value;
}

/** Samples the server's process list (full argv of every process) until stopped. */
export function sampleProcessList(server: TestServer): { stop: () => Promise<string[]> } {
  const stopFile = `/tmp/stop-ps-${randomBytes(4).toString('hex')}`;
  const sampling = server.run(`rm -f ${stopFile}; while [ ! -e ${stopFile} ]; do ps -eww -o args=; echo "#sample"; sleep 0.02; done; rm -f ${stopFile}`);
  return {
    stop: async () => {
      await server.run(`touch ${stopFile}`);
      return (await sampling).stdout.split('#sample\n');
    },
  };
}

/** `cmd` on the server, which must succeed; its stdout trimmed. */
export async function onServer(server: TestServer, command: string): Promise<string> {
  const result = await server.run(command);
  if (result.code !== 0) throw new Error(`${command} failed on ${server.name} (exit ${result.code}):\n${result.stderr}${result.stdout}`);
  return result.stdout.trim();
}

/** psql from a server to the database server `db` as the app's role (database and role `shop`): exit code and output. */
export const psqlTo = (db: () => TestServer, password: () => string) => (from: TestServer, sslmode: string, sql = 'SELECT 1') =>
  from.run(`PGPASSWORD=${shellQuote(password())} psql -AtX -c ${shellQuote(sql)} ${shellQuote(`host=${db().address} port=5432 dbname=shop user=shop sslmode=${sslmode} connect_timeout=5`)}`);

/** PostgreSQL on the database server refuses `outsider` (no pg_hba line), and `app` without TLS; takes `app` with TLS. */
export async function expectPostgresTlsOnly(psql: ReturnType<typeof psqlTo>, outsider: TestServer, app: TestServer): Promise<void> {
  const refused = await psql(outsider, 'require');
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/no pg_hba\.conf entry for host "[^"]+", user "shop", database "shop"/);
  const plain = await psql(app, 'disable');
  expect(plain.code).not.toBe(0);
  expect(plain.stderr).toMatch(/no pg_hba\.conf entry for host "[^"]+", user "shop", database "shop", no encryption/);
  const tls = await psql(app, 'require', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  expect(tls.code, tls.stderr).toBe(0);
  expect(tls.stdout.trim()).toBe('t');
}
