// The proxy's process: started when the first server comes up, stopped with the bridge when the last goes
// (shared-network.ts, under the registry lock). It runs detached, as `slipway sandbox proxy-serve`, so it
// outlives the `up` that started it; its state file says which pid and port it has, and a pid is only ever
// signalled after /proc shows it is that command.
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, sleep } from './host.js';
import { readJsonFile } from './json-file.js';
import type { ProxyEndpoint } from './host-access.js';
import type { SandboxPaths } from './paths.js';
import { PROXY_DEFAULT_PORT, PROXY_LISTEN_ADDRESS } from './proxy-policy.js';
import { serveProxy } from './proxy.js';

export const PROXY_COMMAND = 'proxy-serve';
export const proxyDir = (p: SandboxPaths): string => join(p.stateDir, 'proxy');
export const proxyStateFile = (p: SandboxPaths): string => join(proxyDir(p), 'state.json');
export const proxyClientsFile = (p: SandboxPaths): string => join(proxyDir(p), 'clients');
export const proxyLogFile = (p: SandboxPaths): string => join(proxyDir(p), 'proxy.log');

interface ProxyState extends ProxyEndpoint {
  pid: number;
  startedAt: string;
}

/** Whether `pid` is a proxy this sandbox started: a recycled pid belongs to someone else and is left alone. */
async function isProxyProcess(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return argv.includes('sandbox') && argv.includes(PROXY_COMMAND);
}

const readProxyState = (paths: SandboxPaths): Promise<ProxyState | undefined> => readJsonFile<ProxyState>(proxyStateFile(paths));

/** The running proxy, or undefined. */
export async function runningProxy(paths: SandboxPaths): Promise<ProxyEndpoint | undefined> {
  const state = await readProxyState(paths);
  return state && (await isProxyProcess(state.pid)) ? { address: state.address, port: state.port } : undefined;
}

/** The CLI entry point, from src (tests) and from dist (the bundle) alike. */
const cliEntry = (): string => fileURLToPath(new URL('../../bin/slipway.js', import.meta.url));

/** Starts the proxy unless it runs; the bridge (and so its address) must exist. */
export async function ensureProxy(paths: SandboxPaths, clients: readonly string[]): Promise<ProxyEndpoint> {
  await mkdir(proxyDir(paths), { recursive: true });
  await writeProxyClients(paths, clients);
  const running = await runningProxy(paths);
  if (running) return running;
  await rm(proxyStateFile(paths), { force: true });
  const log = await open(proxyLogFile(paths), 'a');
  try {
    const child = spawn(process.execPath, [cliEntry(), 'sandbox', PROXY_COMMAND], { detached: true, stdio: ['ignore', log.fd, log.fd] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const state = await readProxyState(paths);
      if (state && state.pid === child.pid) return { address: state.address, port: state.port };
      if (child.exitCode !== null || (child.pid !== undefined && !isAlive(child.pid))) break;
      await sleep(50);
    }
    throw new Error(`the sandbox proxy did not start: see ${proxyLogFile(paths)}`);
  } finally {
    await log.close();
  }
}

export async function writeProxyClients(paths: SandboxPaths, clients: readonly string[]): Promise<void> {
  await writeFile(proxyClientsFile(paths), clients.map((c) => `${c}\n`).join(''));
}

export async function stopProxy(paths: SandboxPaths): Promise<void> {
  const state = await readProxyState(paths);
  if (state && (await isProxyProcess(state.pid))) {
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + 5_000;
    while (isAlive(state.pid) && Date.now() < deadline) await sleep(20);
  }
  await rm(proxyStateFile(paths), { force: true });
}

/** Logs past this size start again at the next start, so a long-lived machine's log stays small. */
const LOG_LIMIT_BYTES = 10 * 1024 * 1024;

/** `slipway sandbox proxy-serve`: the proxy process itself, until SIGTERM. */
export async function runProxyProcess(paths: SandboxPaths): Promise<void> {
  const logFile = proxyLogFile(paths);
  const size = await open(logFile, 'r').then(async (f) => (await f.stat().finally(() => f.close())).size).catch(() => 0);
  if (size > LOG_LIMIT_BYTES) await writeFile(logFile, '');
  await new Promise<void>((resolve, reject) => {
    const server = serveProxy({
      address: PROXY_LISTEN_ADDRESS,
      port: PROXY_DEFAULT_PORT,
      clientsFile: proxyClientsFile(paths),
      logFile,
      onListening: (port) => {
        const state: ProxyState = { pid: process.pid, address: PROXY_LISTEN_ADDRESS, port, startedAt: new Date().toISOString() };
        writeFile(proxyStateFile(paths), `${JSON.stringify(state)}\n`).catch(reject);
      },
    });
    const stop = (): void => {
      server.close(() => resolve());
      server.closeAllConnections();
      // CONNECT tunnels are not the server's connections: exit without waiting for them.
      setTimeout(() => process.exit(0), 1_000).unref();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
