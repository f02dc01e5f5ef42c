import { describe, expect, it } from 'vitest';
import { rehearsalOf, sandboxNames } from '../../src/plan/rehearsal.js';
import type { Config, ServerConfig } from '../../src/config/types.js';
import { UserError } from '../../src/errors.js';
import { testConfig } from './fixtures/config.js';

const server = (host: string, roles: string[], extra: Partial<ServerConfig> = {}): ServerConfig => ({ host, roles, host_key_checking: 'yes', ...extra });

function prod(overrides: Partial<Config> = {}): Config {
  const base = testConfig();
  return {
    ...base,
    environment: 'prod',
    servers: [server('web1.example.com', ['web'], { user: 'deploy', port: 2222, private_address: '192.0.2.10' }), server('db1.example.com', ['db'], { user: 'deploy', private_address: '192.0.2.20' })],
    http: { ...base.http, domain: 'shop.example.com', tls: 'letsencrypt', acme_email: 'ops@example.com' },
    ...overrides,
  };
}

describe('a rehearsal of an environment on sandbox servers', () => {
  it('keeps the servers\' count, short names and roles, as sandbox servers with nothing of the real login', () => {
    const r = rehearsalOf(prod(), 'prod');
    expect(r.servers).toEqual([
      { name: 'web1', roles: ['web'], real: 'web1.example.com' },
      { name: 'db1', roles: ['db'], real: 'db1.example.com' },
    ]);
    expect(r.config.servers).toEqual([
      { sandbox: 'web1', roles: ['web'], host_key_checking: 'yes' },
      { sandbox: 'db1', roles: ['db'], host_key_checking: 'yes' },
    ]);
    expect(r.differences[0]).toBe('servers[0]: deploy@web1.example.com port 2222 → sandbox server web1 (root, the sandbox key), roles web');
  });

  it('deploys as its own environment, so the real one\'s releases, lock and history are never touched', () => {
    const r = rehearsalOf(prod(), 'prod');
    expect(r.environment).toBe('prod-rehearsal');
    expect(r.config.environment).toBe('prod-rehearsal');
    expect(r.differences.at(-1)).toBe('environment: prod → prod-rehearsal (its own releases, lock and history on the sandbox servers)');
  });

  it('switches public TLS to self-signed and says so; keeps the domain, so nginx answers for the same names', () => {
    const r = rehearsalOf(prod(), 'prod');
    expect(r.config.http.tls).toBe('self-signed');
    expect(r.config.http.domain).toBe('shop.example.com');
    expect(r.differences).toContain('http.tls: letsencrypt (certbot asks https://acme-v02.api.letsencrypt.org/directory for shop.example.com) → self-signed: a sandbox server is not reachable from the internet');
    expect(rehearsalOf(prod({ http: { ...prod().http, tls: 'self-signed' } }), 'prod').differences.some((d) => d.startsWith('http.tls'))).toBe(false);
  });

  it('replaces an external database with a sandbox database server of the same name, role and password', () => {
    const base = prod();
    const config = prod({ servers: [base.servers[0]!], database: { ...base.database, engine: 'postgresql', url: 'postgresql://shop:s%40cret@db.managed.example:25060/shop?sslmode=require' } });
    const r = rehearsalOf(config, 'prod');
    expect(r.servers.map((s) => [s.name, s.roles])).toEqual([['web1', ['web']], ['db', ['db']]]);
    expect(r.config.database).toMatchObject({ engine: 'postgresql', name: 'shop', user: 'shop', password: 's@cret' });
    expect(r.config.database.url).toBeUndefined();
    expect(r.differences).toContain('database.url: the external database at db.managed.example → PostgreSQL on sandbox server db (role db), database shop, role shop, the same password; it starts empty');
    expect(() => rehearsalOf(prod({ database: { ...base.database, engine: 'postgresql', url: 'postgresql://db.example/shop' } }), 'prod')).toThrow(UserError);
  });

  it('calls no webhook', () => {
    const r = rehearsalOf(prod({ notify: [{ url: 'https://hooks.example/T0', format: 'slack', events: ['success'] }] }), 'prod');
    expect(r.config.notify).toEqual([]);
    expect(r.differences).toContain('notify: 1 webhook(s) → none: a rehearsal tells nobody');
  });

  it('says when the servers would fetch the code over SSH, which a sandbox cannot', () => {
    const base = prod();
    const r = rehearsalOf(prod({ project: { ...base.project, repo: 'git@git.example:team/shop.git', source: 'fetch' } }), 'prod');
    expect(r.differences.some((d) => d.startsWith('project.repo: git@git.example:team/shop.git is fetched over SSH'))).toBe(true);
  });

  it('leaves the real config as it was', () => {
    const config = prod();
    const before = structuredClone(config);
    rehearsalOf(config, 'prod');
    expect(config).toEqual(before);
  });
});

describe('sandbox names for real servers', () => {
  it('are short host names, unique, and a made-up one for addresses and local', () => {
    expect(sandboxNames([server('web1.example.com', ['web']), server('web1.other.example', ['web']), server('203.0.113.5', ['web']), server('local', ['web']), server('Web_2.example.com', ['web'])], 'prod')).toEqual([
      'web1',
      'web1-2',
      'prod-3',
      'prod-4',
      'web-2',
    ]);
  });
});
