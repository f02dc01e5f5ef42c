// ssh argument lists: system OpenSSH, so ~/.ssh/config, agents and known_hosts work as users expect.
import { createHash } from 'node:crypto';
import type { Target } from '../plan/target.js';
import { quoteArgv } from './shell.js';

export type SshTarget = Extract<Target, { kind: 'ssh' }>;

export function sshOptions(target: SshTarget, controlPath: string): string[] {
  const args = [
    '-T',
    '-o', 'BatchMode=yes',
    '-o', `ControlPath=${controlPath}`,
    '-o', `StrictHostKeyChecking=${target.hostKeyChecking}`,
    '-o', `ConnectTimeout=${target.connectTimeout}`,
    // A dead connection is noticed within ~15 s, which also ends the remote agent and frees the lock.
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=3',
  ];
  // `^`: to the head of OpenSSH's own list, so a server without curve25519 still connects.
  if (target.fastKeyExchange) args.push('-o', 'KexAlgorithms=^curve25519-sha256,curve25519-sha256@libssh.org');
  if (target.port) args.push('-p', String(target.port));
  if (target.user) args.push('-l', target.user);
  if (target.identityFile) args.push('-i', target.identityFile, '-o', 'IdentitiesOnly=yes');
  if (target.knownHostsFile) args.push('-o', `UserKnownHostsFile=${target.knownHostsFile}`);
  return args;
}

/**
 * The connection a run's remote agent rides on. `persistSeconds` 0: the master is this process, and it ends with
 * the agent's session. Otherwise (`ControlMaster=auto`): a master an earlier command left at the control path
 * carries the session at once (no key exchange, no authentication); if there is none, ssh makes one, which
 * stays in the background for `persistSeconds` after its last session.
 */
export function masterArgs(target: SshTarget, controlPath: string, remoteCommand: string, persistSeconds = 0): string[] {
  const sharing = persistSeconds > 0 ? ['-o', 'ControlMaster=auto', '-o', `ControlPersist=${persistSeconds}`] : ['-o', 'ControlMaster=yes', '-o', 'ControlPersist=no'];
  return [...sshOptions(target, controlPath), ...sharing, '--', target.host, remoteCommand];
}

/** Tells the master at the control path to exit. */
export function masterExitArgs(target: SshTarget, controlPath: string): string[] {
  return [...sshOptions(target, controlPath), '-O', 'exit', '--', target.host];
}

/**
 * A shared master's file name: who and where, readable (`sandbox down` ends the masters to its address), and a
 * hash of every option, so two configurations that reach the same account differently (another key, another
 * known_hosts file) never share a connection. No `%`: ssh would expand it.
 */
export function controlName(target: SshTarget): string {
  const where = `${target.user ?? ''}@${target.host}:${target.port ?? 22}`.replace(/[^A-Za-z0-9._@:[\]-]/g, '_').slice(0, 64);
  const hash = createHash('sha256').update(JSON.stringify([target.host, ...sshOptions(target, '')])).digest('hex').slice(0, 12);
  return `${where}.${hash}`;
}

/** For the deployer's uploads (a Node app's files): reuse the master connection instead of opening (and authenticating) a new one. */
export function gitSshCommand(target: SshTarget, controlPath: string): string {
  return `ssh ${quoteArgv([...sshOptions(target, controlPath), '-o', 'ControlMaster=no'])}`;
}
