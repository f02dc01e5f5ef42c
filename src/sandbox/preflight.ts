// Checks that turn "spawn ENOENT" and "Operation not permitted" into one line saying what to do.
import { UserError } from '../errors.js';
import { findProgram } from './host.js';

export type Requirement = 'linux' | 'root' | 'systemd-nspawn' | 'debootstrap' | 'ip' | 'ssh' | 'ssh-keygen';

/** Which Debian package provides each program, for the apt command in the hint. */
const packageOf: Record<string, string> = {
  'systemd-nspawn': 'systemd-container',
  debootstrap: 'debootstrap',
  ip: 'iproute2',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
};

const ROOT_WHY = 'it creates network namespaces and boots servers with systemd-nspawn';

export interface HostFacts {
  platform: NodeJS.Platform;
  uid: number | undefined;
  missing: string[];
}

/** Pure: from what the host looks like to the first error the user must fix. */
export function preflightError(facts: HostFacts, action: string, why = ROOT_WHY): UserError | undefined {
  if (facts.platform !== 'linux') {
    return new UserError(
      `slipway sandbox runs only on Linux (this is ${facts.platform})`,
      'use a Linux machine or VM (Debian 12 is what we test on): the sandbox boots servers with systemd-nspawn',
    );
  }
  if (facts.uid !== 0) {
    return new UserError(
      `slipway sandbox ${action} needs root: ${why}`,
      `run it with sudo: sudo slipway sandbox ${action}`,
    );
  }
  if (facts.missing.length > 0) {
    const packages = [...new Set(facts.missing.map((p) => packageOf[p] ?? p))];
    return new UserError(
      `${facts.missing.join(', ')} ${facts.missing.length === 1 ? 'is' : 'are'} not installed`,
      `install with: sudo apt-get install -y ${packages.join(' ')}   (or run scripts/install-sandbox-deps.sh)`,
    );
  }
  return undefined;
}

export async function preflight(requirements: Requirement[], action: string, why = ROOT_WHY): Promise<void> {
  const programs = requirements.filter((r) => r !== 'linux' && r !== 'root');
  const missing: string[] = [];
  for (const program of programs) if ((await findProgram(program)) === undefined) missing.push(program);
  const facts: HostFacts = {
    platform: requirements.includes('linux') ? process.platform : 'linux',
    uid: requirements.includes('root') ? process.getuid?.() : 0,
    missing,
  };
  const error = preflightError(facts, action, why);
  if (error) throw error;
}
