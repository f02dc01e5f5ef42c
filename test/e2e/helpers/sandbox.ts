// Gives an end-to-end test real sandbox servers and always takes them down again, even when the test fails.
// Servers are real systemd-nspawn machines (see docs/sandbox.md): the tests must run as root on Linux.
import { afterAll, beforeAll } from 'vitest';
import { runHost, type HostResult } from '../../../src/sandbox/host.js';
import { ensureImage, sandboxDown, sandboxTarget, sandboxUp, sshOptions } from '../../../src/sandbox/index.js';

export interface TestServer {
  name: string;
  /** 10.77.N.2, reachable from the host and the other sandbox servers only. */
  address: string;
  /** Options for `ssh` that log in as root with the sandbox key and strict host checking: `ssh ...sshArgs address cmd`. */
  sshArgs: string[];
  /** Runs a shell command on the server over ssh. */
  run(command: string, timeoutMs?: number): Promise<HostResult>;
}

const log = (line: string): void => console.log(`[sandbox] ${line}`);

export interface BootChoices {
  /** Servers that reach no package source (`sandbox up --offline`). */
  offline?: readonly string[];
}

/** Boots the servers in parallel, after removing any left over under the same names. */
export async function startSandboxes(names: string[], choices: BootChoices = {}): Promise<TestServer[]> {
  await ensureImage({ log }); // once, before the parallel ups, so the build's progress is printed once
  await Promise.all(names.map((name) => sandboxDown(name, { purge: true })));
  const booted = await Promise.allSettled(names.map((name) => sandboxUp(name, { log, ...(choices.offline?.includes(name) ? { offline: true } : {}) })));
  const failed = booted.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stopSandboxes(names);
    throw failed.reason;
  }
  return Promise.all(names.map(testServer));
}

export async function stopSandboxes(names: string[]): Promise<void> {
  const results = await Promise.allSettled(names.map((name) => sandboxDown(name, { purge: true })));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** `await withSandboxes(['t1', 't2'], async ([t1, t2]) => { ... })`: the servers are gone when it returns. */
export async function withSandboxes<T>(names: string[], body: (servers: TestServer[]) => Promise<T>): Promise<T> {
  const servers = await startSandboxes(names);
  try {
    return await body(servers);
  } finally {
    await stopSandboxes(names);
  }
}

/**
 * For a whole test file: boots in beforeAll, takes down in afterAll. The returned array is filled once
 * beforeAll has run: `const servers = useSandboxes(['web1']); it('...', () => servers[0]!.run('...'))`.
 */
export function useSandboxes(names: string[], choices: BootChoices = {}): TestServer[] {
  const servers: TestServer[] = [];
  beforeAll(async () => {
    servers.push(...(await startSandboxes(names, choices)));
  });
  afterAll(async () => {
    await stopSandboxes(names);
  });
  return servers;
}

async function testServer(name: string): Promise<TestServer> {
  const target = await sandboxTarget(name);
  if (!target) throw new Error(`sandbox server ${name} is not running after up`);
  const sshArgs = sshOptions(target);
  return {
    name,
    address: target.address,
    sshArgs,
    run: (command, timeoutMs = 300_000) => runHost(['ssh', ...sshArgs, target.address, command], { timeoutMs }),
  };
}
