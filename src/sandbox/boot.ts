// Booting and stopping one server's systemd-nspawn process. nspawn runs detached from slipway (its own session,
// console to a log file) so the server outlives the `sandbox up` that started it.
import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { HOST_ACCESS_DIR } from './host-access.js';
import { isAlive, sleep } from './host.js';
import { netnsPath } from './network.js';
import { isServerProcess } from './registry.js';
import { runOnServer, type SshTargetFiles } from './ssh.js';

export interface BootSpec {
  name: string;
  rootDir: string;
  /** Ephemeral servers boot the shared image read-only under a tmpfs overlay; persistent ones their own copy. */
  persist: boolean;
  authorizedKeysFile: string;
  hostKeyFile: string;
  /** The server's own hosts file (hosts-file.ts), bound read-write: the server may add lines of its own. */
  hostsFile: string;
  /** The server's host-access directory (host-access.ts), bound read-only: the host alone decides what it reaches. */
  hostAccessDir: string;
  /** systemd is the host's init: let nspawn allocate its own scope (see hostRunsSystemd). */
  hostSystemd: boolean;
}

export function nspawnArgs(spec: BootSpec): string[] {
  return [
    'systemd-nspawn',
    `--directory=${spec.rootDir}`,
    '--boot',
    // Not registered with machined (absent where systemd is not PID 1); slipway keeps its own registry.
    '--register=no',
    ...(spec.hostSystemd ? [] : ['--keep-unit']),
    `--machine=${spec.name}`,
    `--network-namespace-path=${netnsPath(spec.name)}`,
    // --volatile=overlay rather than --ephemeral: on ext4 --ephemeral copies the whole 1 GB tree per boot and
    // leaves the copy behind if nspawn is killed; the overlay lives in nspawn's mount namespace and dies with it.
    ...(spec.persist ? [] : ['--volatile=overlay']),
    '--console=read-only',
    `--bind-ro=${spec.authorizedKeysFile}:/root/.ssh/authorized_keys`,
    `--bind-ro=${spec.hostKeyFile}:/etc/ssh/ssh_host_ed25519_key`,
    `--bind-ro=${spec.hostKeyFile}.pub:/etc/ssh/ssh_host_ed25519_key.pub`,
    `--bind=${spec.hostsFile}:/etc/hosts`,
    `--bind-ro=${spec.hostAccessDir}:${HOST_ACCESS_DIR}`,
  ];
}

/** Starts nspawn in its own session with its console appended to `logFile`; returns its pid. */
export async function startServer(spec: BootSpec, logFile: string): Promise<number> {
  const log = await open(logFile, 'a');
  try {
    const [program, ...args] = nspawnArgs(spec);
    const child = spawn(program as string, args, { detached: true, stdio: ['ignore', log.fd, log.fd] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.unref();
    if (child.pid === undefined) throw new Error('systemd-nspawn started without a pid');
    return child.pid;
  } finally {
    await log.close();
  }
}

export interface ReadyWait {
  name: string;
  address: string;
  pid: number;
  files: SshTargetFiles;
  logFile: string;
  timeoutMs: number;
}

/**
 * Ready means SSH answers and systemd has finished booting: `is-system-running --wait` blocks until boot ends
 * and prints `running` (all units fine) or `degraded` (some unit failed, still usable).
 */
export async function waitUntilReady(w: ReadyWait): Promise<void> {
  const deadline = Date.now() + w.timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!(await isServerProcess(w.pid, w.name))) {
      throw await bootError(w, 'systemd-nspawn exited while the server was booting');
    }
    const remaining = Math.max(1_000, deadline - Date.now());
    const result = await runOnServer(w.files, w.address, 'systemctl is-system-running --wait', remaining);
    const answer = result.stdout.trim();
    if (answer === 'running' || answer === 'degraded') return;
    last = answer || result.stderr.trim().split('\n').pop() || `ssh exit ${result.code}`;
    if (result.code !== 255 && answer !== 'starting' && answer !== 'initializing') {
      throw await bootError(w, `systemd on the server says "${answer}"`);
    }
    await sleep(200);
  }
  throw await bootError(w, `not ready after ${Math.round(w.timeoutMs / 1000)} s (last answer: ${last})`);
}

async function bootError(w: ReadyWait, why: string): Promise<UserError> {
  const log = await readFile(w.logFile, 'utf8').catch(() => '');
  const tail = log.trim().split('\n').slice(-20).join('\n');
  return new UserError(
    `sandbox server ${w.name} did not boot: ${why}\n--- ${w.logFile} (last lines) ---\n${tail}`,
    `see the whole console log in ${w.logFile}`,
  );
}

/** SIGTERM makes nspawn shut the server down cleanly; SIGKILL only if that takes longer than `graceMs`. */
export async function stopProcess(pid: number, graceMs = 30_000): Promise<'clean' | 'killed' | 'gone'> {
  if (!isAlive(pid)) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'clean';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'gone';
  }
  while (isAlive(pid)) await sleep(50);
  return 'killed';
}
