// ssh argument lists: system OpenSSH, so ~/.ssh/config, agents and known_hosts work as users expect.
import type { Target } from '../plan/target.js';
import { quoteArgv } from './shell.js';

type SshTarget = Extract<Target, { kind: 'ssh' }>;

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

/** The one connection per host and run: it carries the remote agent, and every other session rides on it. */
export function masterArgs(target: SshTarget, controlPath: string, remoteCommand: string): string[] {
  return [...sshOptions(target, controlPath), '-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '--', target.host, remoteCommand];
}

/** For git push: reuse the master connection instead of opening (and authenticating) a new one. */
export function gitSshCommand(target: SshTarget, controlPath: string): string {
  return `ssh ${quoteArgv([...sshOptions(target, controlPath), '-o', 'ControlMaster=no'])}`;
}
