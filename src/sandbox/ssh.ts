// How the host talks to a sandbox server: plain OpenSSH with the machine's sandbox key and strict host checking
// against the sandbox known_hosts, never the user's own ~/.ssh files.
import { runHost, type HostResult } from './host.js';

export interface SshTargetFiles {
  identityFile: string;
  knownHostsFile: string;
}

/** Options for `ssh` (before the destination) that reach a sandbox server as root without prompting. */
export function sshOptions(files: SshTargetFiles, connectTimeoutSeconds = 5): string[] {
  return [
    '-i', files.identityFile,
    '-l', 'root',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${files.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'UpdateHostKeys=no',
    '-o', `ConnectTimeout=${connectTimeoutSeconds}`,
    '-o', 'LogLevel=ERROR',
  ];
}

export function sshCommandArgs(files: SshTargetFiles, address: string, command: string, connectTimeoutSeconds = 5): string[] {
  return ['ssh', ...sshOptions(files, connectTimeoutSeconds), address, command];
}

export function runOnServer(
  files: SshTargetFiles,
  address: string,
  command: string,
  timeoutMs = 120_000,
): Promise<HostResult> {
  return runHost(sshCommandArgs(files, address, command), { timeoutMs });
}
