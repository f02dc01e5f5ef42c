// The example app (examples/hello-app) as a git repository of its own in a temp dir, deployed with the real
// CLI (`node bin/slipway.js`, a child process) to sandbox servers.
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { TestServer } from './sandbox.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { ExampleRepo, run, type CliResult } from './example-repo.js';
import type { HistoryEntry } from '../../../src/ops/history.js';

export type { CliResult };

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = join(ROOT, 'examples', 'hello-app');

/** The value of ${HELLO_SECRET}: long and random, so finding it anywhere means it leaked. */
export const SECRET = `e2e-secret-${randomBytes(12).toString('hex')}`;


/** Runs the built CLI as a user would, with HELLO_SECRET in its environment. */
export function slipway(args: string[]): Promise<CliResult> {
  return run(process.execPath, [join(ROOT, 'bin', 'slipway.js'), ...args], { cwd: ROOT, env: { ...process.env, HELLO_SECRET: SECRET } });
}

export class HelloRepo extends ExampleRepo {
  private constructor(dir: string) {
    super(dir);
  }

  /** A copy of the example, committed as `main`, whose deploy-sandbox.yml targets the given sandbox servers. */
  static async create(servers: readonly TestServer[], extra: Record<string, unknown> = {}): Promise<HelloRepo> {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-e2e-'));
    await cp(EXAMPLE, dir, { recursive: true });
    const repo = new HelloRepo(dir);
    await repo.configure(servers, extra);
    await repo.git('init', '--quiet', '--initial-branch=main');
    return repo;
  }

  /** Rewrites deploy-sandbox.yml: the servers, the example's BIND so the host can reach the app, and `extra`. */
  async configure(servers: readonly TestServer[], extra: Record<string, unknown> = {}): Promise<void> {
    const config = {
      servers: servers.map((s) => ({ sandbox: s.name })),
      env_vars: { BIND: '0.0.0.0' },
      // A broken release fails in about two seconds instead of ten; a healthy one has 1.5 s to listen even on a
      // loaded machine (3 tries, 0.3 s, was too short for python3 to start there).
      health: { retries: 5 },
      ...extra,
    };
    await writeFile(join(this.dir, 'deploy-sandbox.yml'), stringify(config));
  }

  /** Commits a new version; `broken` adds the BROKEN file that makes /health answer 503. */
  async commit(version: string, options: { broken?: boolean } = {}): Promise<void> {
    await writeFile(join(this.dir, 'VERSION'), `${version}\n`);
    if (options.broken) await writeFile(join(this.dir, 'BROKEN'), '');
    else await rm(join(this.dir, 'BROKEN'), { force: true });
    await this.git('add', '-A');
    await this.git('-c', 'user.name=e2e', '-c', 'user.email=e2e@localhost', 'commit', '--quiet', '-m', `version ${version}`);
  }

  /** `slipway -c <repo> ...args` */
  cli(...args: string[]): Promise<CliResult> {
    return slipway(['-c', this.dir, ...args]);
  }

  /**
   * `slipway -c <repo> ...args`, calling `onLine(child)` once, as soon as its progress shows `line` (to interrupt
   * it there, or to cause a fault at that step). Resolves with what it printed and how it ended.
   */
  cliWhen(line: string, onLine: (child: ChildProcess) => void, ...args: string[]): Promise<CliResult & { signal: string | null; reached: boolean }> {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'slipway.js'), '-c', this.dir, ...args], { cwd: ROOT, env: { ...process.env, HELLO_SECRET: SECRET } });
    let stdout = '';
    let stderr = '';
    let reached = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!reached && stderr.includes(line)) {
        reached = true;
        onLine(child);
      }
    });
    return new Promise((resolve) => child.on('close', (code, sig) => resolve({ code: code ?? -1, signal: sig, stdout, stderr, reached })));
  }

  /** `slipway -c <repo> ...args`, sent `signal` at the step `line` (a user's Ctrl-C, or a kill -9, there). */
  async cliInterrupted(line: string, signal: NodeJS.Signals, ...args: string[]): Promise<CliResult & { signal: string | null; interrupted: boolean }> {
    const { reached, ...result } = await this.cliWhen(line, (child) => child.kill(signal), ...args);
    return { ...result, interrupted: reached };
  }


}

/** Services of the hello app that systemd runs now, sorted, one per line. */
export async function runningHelloUnits(server: TestServer): Promise<string> {
  const result = await server.run("systemctl list-units --type=service --state=active --plain --no-legend 'hello*' | awk '{print $1}' | sort");
  return result.stdout.trim();
}

/** Waits until nginx's last reload has retired its old workers, so a load started now meets only the new ones. */
export async function nginxReloadDone(server: TestServer): Promise<void> {
  await server.run("sleep 1; while pgrep -f '[n]ginx: worker process is shutting down' >/dev/null; do sleep 0.1; done");
}

export interface Releases {
  current: string | null;
  releases: { id: string; status: string }[];
}

export async function releasesOn(repo: HelloRepo): Promise<Record<string, Releases>> {
  const result = await repo.cli('releases', 'sandbox', '--json');
  if (result.code !== 0) throw new Error(`releases failed: ${result.stderr}`);
  const hosts = JSON.parse(result.stdout) as ({ host: string } & Releases)[];
  return Object.fromEntries(hosts.map((h) => [h.host, { current: h.current, releases: h.releases.map((r) => ({ id: r.id, status: r.status })) }]));
}

/** The sandbox environment's history on its one server, oldest first. */
export async function historyOf(repo: HelloRepo): Promise<HistoryEntry[]> {
  const result = await repo.cli('history', 'sandbox', '--json');
  if (result.code !== 0) throw new Error(`history failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { entries: HistoryEntry[] }[])[0]!.entries;
}

export interface Page {
  hostname: string;
  version: string;
  secretSet: boolean;
}

/** The example's page as the host sees it over the server's address, or undefined when nothing answers. */
export async function fetchPage(address: string): Promise<Page | undefined> {
  try {
    const response = await fetch(`http://${address}:8000/`, { signal: AbortSignal.timeout(2000) });
    const body = await response.text();
    const hostname = /<h1>hello from ([^<]*)<\/h1>/.exec(body)?.[1];
    const version = /<p>version ([^<]*)<\/p>/.exec(body)?.[1];
    if (!response.ok || hostname === undefined || version === undefined) return undefined;
    return { hostname, version, secretSet: body.includes('HELLO_SECRET is set') };
  } catch {
    return undefined;
  }
}

/**
 * The version the page shows, waiting up to `ms` for `expected`: after a switch back, the restarted process
 * takes a moment to listen again (there is no zero-downtime handover before nginx fronts the app).
 */
export async function versionServed(address: string, expected: string, ms = 5000): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  let page = await fetchPage(address);
  while (page?.version !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    page = await fetchPage(address);
  }
  return page?.version;
}

/** Removes everything a deploy of `hello` leaves on a server, so each test starts from a server that never saw it. */
export async function forgetHello(server: TestServer): Promise<void> {
  const script = [
    'systemctl disable --now hello.target hello-web.service >/dev/null 2>&1',
    'rm -f /etc/systemd/system/hello.target /etc/systemd/system/hello-*.service',
    'systemctl daemon-reload',
    'systemctl reset-failed >/dev/null 2>&1',
    'rm -rf /opt/hello',
    'userdel hello >/dev/null 2>&1',
    'true',
  ].join('; ');
  const result = await server.run(script);
  if (result.code !== 0) throw new Error(`could not reset ${server.name}: ${result.stderr}`);
}
