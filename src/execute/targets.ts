// Resolving config servers into targets (the only I/O: looking up sandbox servers' addresses and keys).
import { isIP } from 'node:net';
import type { Config, ServerConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { Target } from '../plan/target.js';
import { sandboxTarget } from '../sandbox/registry.js';

export async function resolveTarget(server: ServerConfig, config: Pick<Config, 'ssh'>): Promise<Target> {
  const configured = server.private_address ? { privateAddress: server.private_address } : {};
  const common = { roles: server.roles, hostKeyChecking: server.host_key_checking, connectTimeout: config.ssh.connect_timeout, ...(config.ssh.key_exchange === 'fast' ? { fastKeyExchange: true } : {}), ...(config.ssh.reuse_seconds > 0 ? { reuseSeconds: config.ssh.reuse_seconds } : {}), ...configured };
  if (server.sandbox) {
    const found = await sandboxTarget(server.sandbox);
    if (!found) throw new UserError(`sandbox server ${server.sandbox} is not running`, `start it: sudo slipway sandbox up ${server.sandbox}`);
    return {
      kind: 'ssh',
      label: server.sandbox,
      host: found.address,
      user: found.user,
      port: found.port,
      identityFile: found.identityFile,
      knownHostsFile: found.knownHostsFile,
      // Sandbox servers share one network: the address slipway reaches them by is the one they reach each other by.
      privateAddress: found.address,
      ...common,
    };
  }
  if (server.host === 'local') return { kind: 'local', label: 'local', roles: server.roles, ...configured };
  const host = server.host!;
  return {
    kind: 'ssh',
    label: host,
    host,
    ...(isIP(host) ? { privateAddress: host } : {}),
    ...(server.user ? { user: server.user } : {}),
    ...(server.port ? { port: server.port } : {}),
    ...(server.identity_file ? { identityFile: server.identity_file } : {}),
    ...(server.known_hosts_file ? { knownHostsFile: server.known_hosts_file } : {}),
    ...common,
  };
}

export async function resolveTargets(config: Pick<Config, 'servers' | 'ssh'>, only?: string): Promise<Target[]> {
  const targets = await Promise.all(config.servers.map((s) => resolveTarget(s, config)));
  if (!only) return targets;
  const picked = targets.filter((t) => t.label === only);
  if (picked.length === 0) throw new UserError(`no server ${only} in this environment (servers: ${targets.map((t) => t.label).join(', ')})`);
  return picked;
}
