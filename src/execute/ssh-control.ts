// SSH connections kept open between slipway commands (ssh.reuse_seconds): OpenSSH's connection sharing, with the
// control sockets in a directory of this user's own. A command soon after another reaches the server through the
// master the first one left, without a key exchange or an authentication (about 0.1 s of every command).
import { spawn } from 'node:child_process';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlName, masterExitArgs, type SshTarget } from '../ops/ssh.js';

/**
 * How long a kept master gets to bring the agent's first line: one whose server vanished (powered off, rebuilt at
 * the same address) would hold a new session until its keep-alives give up (15 s).
 */
export const MASTER_ANSWER_MS = 2000;

/**
 * The shared control directory, made on first use: `slipway-ssh-<uid>` in the temporary directory (short: a
 * socket path holds 107 bytes). Undefined when it is not safely ours (another owner, a link, open to others):
 * anyone who may connect to a control socket may run commands on the server.
 */
export async function sharedControlDir(): Promise<string | undefined> {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir().length < 20 ? tmpdir() : '/tmp', `slipway-ssh-${uid}`);
  await mkdir(dir, { mode: 0o700 }).catch(() => undefined);
  const found = await lstat(dir).catch(() => undefined);
  if (!found?.isDirectory() || found.uid !== uid || (found.mode & 0o077) !== 0) return undefined;
  return dir;
}

/** Runs ssh with these arguments; true if it exited 0 within `ms` (it is killed otherwise). */
function sshWithin(args: string[], ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('ssh', args, { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', () => resolve(false));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/** A master's control socket at `controlPath` (left by an earlier command, perhaps for a server now gone). */
export async function masterSocketAt(controlPath: string): Promise<boolean> {
  return (await lstat(controlPath).catch(() => undefined))?.isSocket() ?? false;
}

/** Tells the master at `controlPath` to exit: ssh then makes a new one at the same path. */
export async function endMaster(target: SshTarget, controlPath: string): Promise<void> {
  await sshWithin(masterExitArgs(target, controlPath), MASTER_ANSWER_MS);
}

export const sharedControlPath = (dir: string, target: SshTarget) => join(dir, controlName(target));

/**
 * Ends every shared master to `address` (a sandbox server going down, or a new one booting where an old one
 * was): the next command must not find a connection to a server that is gone.
 */
export async function closeSharedMasters(address: string): Promise<void> {
  const dir = await sharedControlDir();
  if (!dir) return;
  const names = await readdir(dir).catch(() => [] as string[]);
  const mine = names.filter((name) => name.includes(`@${address}:`));
  await Promise.all(mine.map((name) => sshWithin(['-o', `ControlPath=${join(dir, name)}`, '-O', 'exit', 'slipway-master'], MASTER_ANSWER_MS)));
}
