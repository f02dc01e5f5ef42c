// A rehearsal of an environment on sandbox servers (`slipway rehearse <env>`), as a pure change of its config:
// the same servers (count, names, roles) as sandbox servers, and only what a sandbox cannot be swapped for what
// it can: public TLS for self-signed, an external database for a sandbox database server, webhooks for silence.
// Everything else (processes, checks, setup, secrets) is the environment's own, so the rehearsal runs the plan
// the real deploy would, and each difference is listed for the user.
import { UserError } from '../errors.js';
import type { Config, ServerConfig } from '../config/types.js';

export interface RehearsalServer {
  /** The sandbox server's name: the real server's short host name, made unique. */
  name: string;
  roles: string[];
  /** How the environment names the real server. */
  real: string;
}

export interface Rehearsal {
  /** The environment the rehearsal deploys as: its own name, so nothing of the real one is touched or recorded. */
  environment: string;
  servers: RehearsalServer[];
  config: Config;
  /** Each way the rehearsal's plan differs from the real environment's: `key: real → rehearsal`. */
  differences: string[];
}

const SANDBOX_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** The environment name a rehearsal deploys as (its releases, lock and history are its own). */
export const rehearsalEnvironment = (env: string): string => `${env}-rehearsal`;

function realName(server: ServerConfig): string {
  return server.sandbox ?? server.host ?? 'local';
}

/** `web1.example.com` → `web1`; an address or `local` → `<env>-<n>`; made a valid, unique sandbox name. */
export function sandboxNames(servers: readonly ServerConfig[], env: string): string[] {
  const taken = new Set<string>();
  return servers.map((server, i) => {
    const host = realName(server);
    const label = /^[0-9.]+$|:/.test(host) || host === 'local' ? '' : host.split('.')[0]!.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    let name = SANDBOX_NAME.test(label) ? label : `${env}-${i + 1}`.replace(/_/g, '-').slice(0, 31);
    for (let n = 2; taken.has(name); n += 1) name = `${name.replace(/-\d+$/, '')}-${n}`.slice(0, 31);
    taken.add(name);
    return name;
  });
}

/** The parts of a PostgreSQL URL a sandbox database is created with. */
function databaseFromUrl(url: string): { name: string; user: string; password: string; host: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError('database.url is not a URL: a rehearsal replaces the external database with one of the same name, role and password');
  }
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const user = decodeURIComponent(parsed.username);
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name) || !/^[a-z_][a-z0-9_]{0,62}$/.test(user) || parsed.password === '') {
    throw new UserError('database.url needs a database name, a role and a password that a sandbox PostgreSQL can be given (lowercase letters, digits, _)', 'a rehearsal creates a database of the same name, role and password on a sandbox database server');
  }
  return { name, user, password: decodeURIComponent(parsed.password), host: parsed.hostname };
}

export function rehearsalOf(config: Config, env: string): Rehearsal {
  const names = sandboxNames(config.servers, env);
  const differences: string[] = [];
  const servers: RehearsalServer[] = config.servers.map((server, i) => ({ name: names[i]!, roles: [...server.roles], real: realName(server) }));
  const rehearsed: Config = structuredClone(config);
  rehearsed.environment = rehearsalEnvironment(env);
  rehearsed.servers = servers.map((s) => ({ sandbox: s.name, roles: s.roles, host_key_checking: 'yes' }));
  servers.forEach((s, i) => {
    const real = config.servers[i]!;
    const login = real.user ? `${real.user}@${s.real}` : s.real;
    differences.push(`servers[${i}]: ${login}${real.port ? ` port ${real.port}` : ''} → sandbox server ${s.name} (root, the sandbox key), roles ${s.roles.join(', ')}`);
  });

  const http = rehearsed.http;
  if (http.tls === 'letsencrypt') {
    http.tls = 'self-signed';
    differences.push(`http.tls: letsencrypt (certbot asks ${config.http.acme_server} for ${[config.http.domain, ...(config.http.aliases ?? [])].filter(Boolean).join(', ')}) → self-signed: a sandbox server is not reachable from the internet`);
  }

  const db = config.database;
  if (db.url) {
    const from = databaseFromUrl(db.url);
    const name = ['db', `${env}-db`.replace(/_/g, '-').slice(0, 31), 'rehearsal-db'].find((n) => !names.includes(n)) ?? `db-${names.length + 1}`;
    rehearsed.database = { ...rehearsed.database, engine: 'postgresql', name: from.name, user: from.user, password: from.password };
    delete rehearsed.database.url;
    rehearsed.servers.push({ sandbox: name, roles: ['db'], host_key_checking: 'yes' });
    servers.push({ name, roles: ['db'], real: from.host });
    differences.push(`database.url: the external database at ${from.host} → PostgreSQL on sandbox server ${name} (role db), database ${from.name}, role ${from.user}, the same password; it starts empty`);
  }

  if (config.notify.length > 0) {
    rehearsed.notify = [];
    differences.push(`notify: ${config.notify.length} webhook(s) → none: a rehearsal tells nobody`);
  }
  if (config.project.source === 'fetch' || (config.project.source === 'auto' && config.project.repo && !isLocalPath(config.project.repo))) {
    const repo = config.project.repo ?? '';
    if (/^(ssh:\/\/|[^/:]+@[^/:]+:)/.test(repo)) {
      differences.push(`project.repo: ${repo} is fetched over SSH, which sandbox servers cannot reach (their proxy carries HTTP and HTTPS only): the fetch fails unless this machine can push instead (project.source: push)`);
    }
  }
  differences.push(`environment: ${env} → ${rehearsed.environment} (its own releases, lock and history on the sandbox servers)`);
  return { environment: rehearsed.environment, servers, config: rehearsed, differences };
}

function isLocalPath(repo: string): boolean {
  return repo.startsWith('/') || repo.startsWith('.') || repo.startsWith('file://') || !/[:@]/.test(repo);
}
