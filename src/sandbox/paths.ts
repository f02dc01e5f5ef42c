// Where the sandbox keeps its state on the host. Both roots live outside the repository: the image is large
// (about 1 GB) and shared by every checkout on the machine, and the key pair is per machine, not per project.
import { join } from 'node:path';

export interface SandboxPaths {
  /** Keys, known_hosts, one directory per server. */
  stateDir: string;
  /** Built root file systems, one directory per image name and key. */
  imageCacheDir: string;
}

/**
 * The default roots. The image cache can move (SLIPWAY_IMAGE_CACHE: a bigger disk, or a benchmark's cold build);
 * the state directory cannot, because namespaces, veth names and 10.77.N addresses are global to the host and
 * one registry must own them all.
 */
export function sandboxPaths(env: NodeJS.ProcessEnv = process.env): SandboxPaths {
  return {
    stateDir: '/var/lib/slipway/sandbox',
    imageCacheDir: env.SLIPWAY_IMAGE_CACHE ?? '/var/cache/slipway/images',
  };
}

export const clientKeyFile = (p: SandboxPaths): string => join(p.stateDir, 'id_ed25519');
export const clientPublicKeyFile = (p: SandboxPaths): string => join(p.stateDir, 'id_ed25519.pub');
export const knownHostsFile = (p: SandboxPaths): string => join(p.stateDir, 'known_hosts');
export const hostKeyFile = (p: SandboxPaths): string => join(p.stateDir, 'host_keys', 'ssh_host_ed25519_key');
export const serversDir = (p: SandboxPaths): string => join(p.stateDir, 'servers');
export const serverDir = (p: SandboxPaths, name: string): string => join(serversDir(p), name);
export const serverStateFile = (p: SandboxPaths, name: string): string => join(serverDir(p, name), 'state.json');
export const consoleLogFile = (p: SandboxPaths, name: string): string => join(serverDir(p, name), 'console.log');
/** The private copy of the image a `--persist` server boots from, kept across down/up. */
export const persistentRootFile = (p: SandboxPaths, name: string): string => join(serverDir(p, name), 'rootfs');
export const lockDir = (p: SandboxPaths): string => join(p.stateDir, 'lock');
/** Bind-mounted onto the server's /etc/hosts: its own lines plus the names of every live server (hosts-file.ts). */
export const serverHostsFile = (p: SandboxPaths, name: string): string => join(serverDir(p, name), 'hosts');
/** Bind-mounted read-only at /etc/slipway-sandbox: how apt, pip and npm reach package sources (host-access.ts). */
export const serverHostAccessDir = (p: SandboxPaths, name: string): string => join(serverDir(p, name), 'host-access');
