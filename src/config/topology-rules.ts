// Cross-field rules about where processes run across the servers: a topology that cannot work is refused
// before anything connects, naming the file, line and key.
import { isIP } from 'node:net';
import type { Located } from './located.js';
import type { Diagnostic } from './validate.js';
import type { Config } from './types.js';
import { locate } from './rules.js';

type Rule = (config: Config, root: Located, out: Diagnostic[]) => void;

const roleList = (roles: readonly string[]) => roles.join(', ');

/** A singleton runs on exactly one server: with none having its roles, it would run nowhere. */
const singletonsHaveAServer: Rule = (config, root, out) => {
  for (const [name, process] of Object.entries(config.processes)) {
    const served = config.servers.some((s) => process.roles.some((role) => s.roles.includes(role)));
    if (served) continue;
    if (process.singleton) {
      const message = `no server has one of its roles (${roleList(process.roles)}), so the singleton runs nowhere: give one server one of these roles`;
      out.push({ loc: locate(root, ['processes', name, 'singleton']), path: `processes.${name}.singleton`, message, severity: 'error' });
    } else {
      const message = `no server has one of these roles (${roleList(process.roles)}): the ${name} process runs nowhere`;
      out.push({ loc: locate(root, ['processes', name, 'roles']), path: `processes.${name}.roles`, message, severity: 'warning' });
    }
  }
};

/** The schema checks the form (`2`, `25%`); a batch must switch at least one server and at most all of them. */
const batchSizeSwitchesSomeone: Rule = (config, root, out) => {
  const size = config.deploy.batch_size;
  if (size === undefined) return;
  const n = Number(size.replace(/%$/, ''));
  const loc = locate(root, ['deploy', 'batch_size']);
  if (n === 0) out.push({ loc, path: 'deploy.batch_size', message: `${size} switches no server: give at least 1 (or a percentage from 1% to 100%)`, severity: 'error' });
  else if (size.endsWith('%') && n > 100) out.push({ loc, path: 'deploy.batch_size', message: `${size} is more than all the servers: give a percentage from 1% to 100%`, severity: 'error' });
};

/** Roles of the web process (health.process): the config's, or the recipes' default. */
const webRoles = (config: Config) => config.processes[config.health.process]?.roles ?? ['web'];
const balancers = (config: Config) => config.servers.flatMap((s, i) => (s.roles.includes('lb') ? [i] : []));

/**
 * A load balancer holds the public site and balances over the web servers: it needs the site, at least one web
 * server, and must not run the web process itself (both would claim port 80 for the same names).
 */
const balancersHaveWebServers: Rule = (config, root, out) => {
  const lbs = balancers(config);
  if (lbs.length === 0) return;
  const roles = webRoles(config);
  const runsWeb = (i: number) => roles.some((r) => config.servers[i]!.roles.includes(r));
  const error = (i: number, message: string) => out.push({ loc: locate(root, ['servers', i, 'roles']), path: `servers[${i}].roles`, message, severity: 'error' });
  const webServers = config.servers.flatMap((_, i) => (runsWeb(i) && !lbs.includes(i) ? [i] : []));
  if (!(config.http.enabled ?? config.http.domain !== undefined)) error(lbs[0]!, 'role lb holds the public site, which is off: set http.domain (or http.enabled: true)');
  if (webServers.length === 0) error(lbs[0]!, `role lb balances over the web servers, but no other server has a role of the ${config.health.process} process (${roleList(roles)})`);
  for (const i of lbs) if (runsWeb(i)) error(i, `a load balancer runs no ${config.health.process} process: give this server role lb or ${roleList(roles)}, not both`);
  // The load balancer reaches the web servers, and they let it in, by address.
  for (const i of [...lbs, ...webServers]) {
    const server = config.servers[i]!;
    if (server.sandbox || server.private_address || (server.host && server.host !== 'local' && isIP(server.host))) continue;
    const what = server.host === 'local' ? '`local` has no address the other servers reach' : `${JSON.stringify(server.host)} is a name`;
    out.push({ loc: locate(root, ['servers', i, 'host']), path: `servers[${i}].private_address`, message: `${what}: give private_address, the IP address the load balancer and the web servers use for each other`, severity: 'error' });
  }
};

export const topologyRules: Rule[] = [singletonsHaveAServer, batchSizeSwitchesSomeone, balancersHaveWebServers];
