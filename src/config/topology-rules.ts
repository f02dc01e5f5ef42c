// Cross-field rules about where processes run across the servers: a topology that cannot work is refused
// before anything connects, naming the file, line and key.
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

export const topologyRules: Rule[] = [singletonsHaveAServer, batchSizeSwitchesSomeone];
