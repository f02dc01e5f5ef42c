// One key pair per machine for root login, and one host key shared by every sandbox server. Both live in the
// state directory and are bind-mounted into each server at boot, so the image holds no key: rotating a key never
// rebuilds the image, and one known_hosts line (a pattern over all sandbox addresses) lets ssh check host keys
// strictly instead of trusting on first use.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { mustRun } from './host.js';
import { withDirLock } from './lock.js';
import { clientKeyFile, clientPublicKeyFile, hostKeyFile, knownHostsFile, type SandboxPaths } from './paths.js';

/** Every sandbox server address, 10.77.N.2, as an ssh host pattern. */
export const SANDBOX_HOST_PATTERN = '10.77.*.2';

export function keygenArgs(file: string, comment: string): string[] {
  return ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file];
}

/** `ssh-ed25519 AAAA... comment` → `10.77.*.2 ssh-ed25519 AAAA...` */
export function knownHostsLine(hostPublicKey: string, pattern: string = SANDBOX_HOST_PATTERN): string {
  const [type, key] = hostPublicKey.trim().split(/\s+/);
  if (!type || !key) throw new Error(`not an ssh public key: ${hostPublicKey.slice(0, 40)}`);
  return `${pattern} ${type} ${key}\n`;
}

/** The public key is written last, so its presence means the pair is whole; a half pair is made again. */
async function generateOnce(file: string, comment: string): Promise<void> {
  if ((await readFile(`${file}.pub`, 'utf8').catch(() => undefined)) !== undefined) return;
  await rm(file, { force: true });
  await mustRun(`generate the sandbox key ${file}`, keygenArgs(file, comment));
}

export interface SandboxKeys {
  identityFile: string;
  publicKeyFile: string;
  hostKeyFile: string;
  hostPublicKeyFile: string;
  knownHostsFile: string;
}

export async function ensureKeys(paths: SandboxPaths): Promise<SandboxKeys> {
  const keys: SandboxKeys = {
    identityFile: clientKeyFile(paths),
    publicKeyFile: clientPublicKeyFile(paths),
    hostKeyFile: hostKeyFile(paths),
    hostPublicKeyFile: `${hostKeyFile(paths)}.pub`,
    knownHostsFile: knownHostsFile(paths),
  };
  await mkdir(paths.stateDir, { recursive: true, mode: 0o755 });
  await mkdir(dirname(keys.hostKeyFile), { recursive: true, mode: 0o700 });
  // Several servers booting at once all get here first: one generates, the others wait and reuse.
  await withDirLock(join(paths.stateDir, 'keys.lock'), async () => {
    await generateOnce(keys.identityFile, 'slipway-sandbox');
    await generateOnce(keys.hostKeyFile, 'slipway-sandbox-host');
  });
  // Rewritten every time: cheap, and it repairs a hand-edited or deleted known_hosts.
  const line = knownHostsLine(await readFile(keys.hostPublicKeyFile, 'utf8'));
  if ((await readFile(keys.knownHostsFile, 'utf8').catch(() => '')) !== line) {
    await writeFile(keys.knownHostsFile, line);
  }
  // sshd refuses a host key others can read; ssh refuses such an identity file.
  await chmod(keys.identityFile, 0o600);
  await chmod(keys.hostKeyFile, 0o600);
  return keys;
}
