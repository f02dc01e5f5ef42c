// Path- and URL-like values: normalized where a path can be written several ways, refused where they would
// leave the directory they must stay in, and never able to reach git, ssh or pip as an option.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { UserError } from '../../src/errors.js';
import { resolveSource } from '../../src/execute/source.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const MINIMAL = 'project: {name: shop}\nservers: [{host: local}]\n';

/** Loads MINIMAL plus `extra` (which may replace its `project:`): the config, or the error lines without their file:line:col. */
async function load(extra: string): Promise<{ config?: Config; errors: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-values-'));
  dirs.push(dir);
  await writeFile(join(dir, 'deploy-dev.yml'), extra.startsWith('project:') ? `${extra}\nservers: [{host: local}]\n` : `${MINIMAL}${extra}\n`);
  try {
    return { config: (await loadConfig({ dir, env: 'dev', processEnv: {} })).config, errors: [] };
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return { errors: (error as Error).message.replaceAll(dir, '<dir>').split('\n').map((line) => line.replace(/^<dir>\/deploy-dev\.yml:\d+:\d+: /, '')) };
  }
}
const refused = async (extra: string) => (await load(extra)).errors;
const loaded = async (extra: string) => {
  const result = await load(extra);
  expect(result.errors).toEqual([]);
  return result.config!;
};

describe('secrets outside env_vars', () => {
  it('database.url, node.npm_token and each notify URL are filled from the secrets, and redacted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-values-'));
    dirs.push(dir);
    await writeFile(join(dir, 'deploy-dev.yml'), `${MINIMAL}database: {engine: postgresql, url: '\${DATABASE_URL}'}\nnode: {npm_token: '\${NPM_TOKEN}'}\nnotify: ['\${HOOK}', {url: '\${CHAT}', format: slack}]\n`);
    const processEnv = { DATABASE_URL: 'postgresql://u:pw@db.example:5432/shop?sslmode=require', NPM_TOKEN: 'npm-token-123456', HOOK: 'https://hooks.example/abc123456', CHAT: 'https://chat.example/xyz789012' };
    const { config, secrets } = await loadConfig({ dir, env: 'dev', processEnv });
    expect(config.database.url).toBe(processEnv.DATABASE_URL);
    expect(config.node.npm_token).toBe(processEnv.NPM_TOKEN);
    expect(config.notify).toEqual([
      { url: processEnv.HOOK, format: 'json', events: ['start', 'success', 'failure', 'switch_back', 'rollback', 'alert', 'recovery', 'drill'] },
      { url: processEnv.CHAT, format: 'slack', events: ['start', 'success', 'failure', 'switch_back', 'rollback', 'alert', 'recovery', 'drill'] },
    ]);
    expect(secrets).toEqual(expect.arrayContaining(Object.values(processEnv)));
  });
});

describe('paths', () => {
  it('paths inside the release are normalized, and refused when they name it or leave it', async () => {
    const config = await loaded('shared: {dirs: [./media/, logs//app/.], files: [config/./local.py]}\nhttp: {static_dir: ./staticfiles/, media_dir: uploads/}\ndependencies: {requirements_files: [./requirements.txt]}');
    expect(config.shared).toEqual({ dirs: ['media', 'logs/app'], files: ['config/local.py'] });
    expect([config.http.static_dir, config.http.media_dir, config.dependencies.requirements_files]).toEqual(['staticfiles', 'uploads', ['requirements.txt']]);
    expect(await refused('shared: {dirs: [.]}')).toEqual(['shared.dirs[0]: "." names the release itself: give a path inside it, e.g. media']);
    expect(await refused('http: {static_dir: ./}')).toEqual(['http.static_dir: "./" names the release itself: give a path inside it, e.g. staticfiles']);
    expect(await refused('http: {media_dir: .}')).toEqual(['http.media_dir: "." names shared/ itself: give a path inside it, e.g. media']);
    expect(await refused('shared: {files: [-rf]}')).toEqual(['shared.files[0]: "-rf" starts with -, which a command would read as an option: rename it']);
    expect(await refused('shared: {dirs: [a/../..]}')).toEqual(['shared.dirs[0]: "a/../.." is not a relative path inside the release (letters, digits, . _ / -; no leading / and no ..)']);
  });

  it('shared paths may not repeat or sit inside one another', async () => {
    expect(await refused('shared: {dirs: [media, ./media], files: [media/thumbs/x.txt]}')).toEqual([
      'shared.dirs[1]: "media" is listed twice (also shared.dirs[0]): keep one',
      'shared.files[0]: "media/thumbs/x.txt" is inside shared.dirs[0] ("media"), which is shared already: list only "media"',
    ]);
  });

  it('absolute paths are normalized and may not go up with ..', async () => {
    const config = await loaded('base_path: /srv//apps/./\nhttp: {acme_ca_bundle: /etc//ssl/ca.pem}');
    expect([config.base_path, config.http.acme_ca_bundle]).toEqual(['/srv/apps', '/etc/ssl/ca.pem']);
    expect(await refused('base_path: /srv/../etc')).toEqual(['base_path: "/srv/../etc" has a .. segment: write the directory it means']);
  });

  it('a health path is a URL path starting with /', async () => {
    expect((await loaded('health: {path: "/up?full=1&x=%20"}')).health.path).toBe('/up?full=1&x=%20');
    const hint = 'is not a URL path starting with / (no spaces, quotes or control characters), e.g. /health';
    for (const path of ['health', '/he alth', '/up\\t', '/"x"', 'http://evil/']) expect(await refused(`health: {path: ${JSON.stringify(path)}}`)).toEqual([`health.path: ${JSON.stringify(path)} ${hint}`]);
  });
});

describe('repository URLs', () => {
  it('accepts the transports slipway fetches with, the scp-like form and local paths', async () => {
    for (const repo of ['git@github.com:acme/shop.git', 'ssh://git@host.example:2222/acme/shop.git', 'git+ssh://host/x.git', 'https://github.com/acme/shop.git', 'https://user@[2001:db8::1]/x.git', 'file:///srv/git/shop.git', '../shop', '/srv/git/shop', 'My Projects/shop']) {
      expect((await loaded(`project: {name: shop, repo: ${JSON.stringify(repo)}}`)).project.repo).toBe(repo);
    }
  });

  it('refuses options, remote helpers, unencrypted transports and malformed URLs', async () => {
    const cases: [string, string][] = [
      ['-uevil', 'starts with -, which a command would read as an option: write ./-uevil for a directory of that name'],
      ['ext::sh -c touch% /tmp/x', 'uses a git remote helper (transport::address), which runs a program: use ssh://, https://, user@host:path or a local path'],
      ['http://example.com/x.git', 'uses http://, which fetches code unauthenticated and unencrypted: use https:// or ssh://'],
      ['git://example.com/x.git', 'uses git://, which fetches code unauthenticated and unencrypted: use https:// or ssh://'],
      ['ftp://example.com/x.git', 'uses ftp://: use ssh://, git+ssh://, ssh+git://, https://, file://'],
      ['ssh://-oProxyCommand=touch/x', 'does not name a host as [user@]host[:port] (neither may start with -)'],
      ['ssh://-u@host/x', 'does not name a host as [user@]host[:port] (neither may start with -)'],
      ['https://exa mple.com/x', 'has spaces or control characters: a URL has none (percent-encode them)'],
      ['file://srv/x.git', 'is not a file URL of an absolute path (file:///srv/...)'],
      ['git@-oProxyCommand=x:y', 'is not user@host:path (a user and host name, neither starting with -)'],
      ['git@host:', 'has no path after host: (or one with spaces)'],
    ];
    for (const [repo, problem] of cases) {
      expect(await refused(`project: {name: shop, repo: ${JSON.stringify(repo)}}`)).toEqual([`project.repo: ${JSON.stringify(repo)} ${problem}`]);
    }
  });

  it('a branch the repository lacks is named with the branches it has, and how to deploy one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-branches-'));
    dirs.push(dir);
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { encoding: 'utf8' });
    git('init', '-q', '-b', 'master');
    git('commit', '-q', '--allow-empty', '-m', 'one');
    git('branch', 'dev');
    const project = { name: 'shop', branch: 'main', source: 'auto' as const, framework: 'auto' as const };
    const error = (await resolveSource({ project }, dir, 'main').catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toBe(`no branch, tag or commit main in ${dir} (its branches: dev, master)`);
    expect(error.hint).toBe('deploy one with --ref master, or set project.branch: master in deploy.yml');
  });

  it('checks a --repo given on the command line the same way, before git runs', async () => {
    const project = { name: 'shop', repo: '--upload-pack=touch /tmp/x', branch: 'main', source: 'auto' as const, framework: 'auto' as const };
    const error = await resolveSource({ project }, '/nonexistent', 'main').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe('repository "--upload-pack=touch /tmp/x" starts with -, which a command would read as an option: write ./--upload-pack=touch /tmp/x for a directory of that name');
  });
});

describe('values that reach a command line', () => {
  it('nothing given to ssh, pip, certbot or manage.py starts with -', async () => {
    expect(await refused('dependencies: {python: ["--index-url=https://evil.example/simple", " -e ."]}')).toEqual([
      'dependencies.python[0]: "--index-url=https://evil.example/simple" starts with -, which a command would read as an option: give pip options under pip: (index_url, find_links, ...)',
      'dependencies.python[1]: " -e ." starts with -, which a command would read as an option: give pip options under pip: (index_url, find_links, ...)',
    ]);
    expect(await refused('django: {superuser: {username: --help, password: x}}')).toEqual(['django.superuser.username: "--help" is not a Django user name (letters, digits, @ . + - _; no leading -)']);
    expect(await refused('http: {acme_email: -x@example.com}')).toEqual(['http.acme_email: "-x@example.com" is not an e-mail address']);
    expect(await refused('database: {host: -hevil}')).toEqual(['database.host: "-hevil" is not a host name or an address']);
  });

  it('key and known_hosts files are any path but an option', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-values-'));
    dirs.push(dir);
    await writeFile(join(dir, 'deploy-dev.yml'), 'project: {name: shop}\nservers: [{host: web1, identity_file: "~/keys/my key", known_hosts_file: -oProxyCommand=x}]\n');
    const error = await loadConfig({ dir, env: 'dev', processEnv: {} }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`${dir}/deploy-dev.yml:2:74: servers[0].known_hosts_file: "-oProxyCommand=x" starts with -, which a command would read as an option: write ./-oProxyCommand=x`);
  });

  it('pip and ACME URLs have a checked form', async () => {
    const config = await loaded('pip: {index_url: "https://pypi.example/simple", extra_index_url: ["http://mirror.local/simple"], find_links: [wheels/, /srv/wheels, "file:///srv/wheels"]}');
    expect(config.pip).toMatchObject({ index_url: 'https://pypi.example/simple', extra_index_url: ['http://mirror.local/simple'], find_links: ['wheels', '/srv/wheels', 'file:///srv/wheels'] });
    expect(await refused('pip: {index_url: pypi.org/simple, find_links: [../wheels, "-f"]}')).toEqual([
      'pip.index_url: "pypi.org/simple" is not a URL (https://, http://, file://)',
      'pip.find_links[0]: "../wheels" leaves the release (..): give a path inside it, e.g. wheels',
      'pip.find_links[1]: "-f" starts with -, which a command would read as an option: rename it',
    ]);
    expect(await refused('http: {acme_server: "http://acme.test/dir"}')).toEqual(['http.acme_server: "http://acme.test/dir" uses http://: use https://']);
  });

  it('role and process names keep their patterns everywhere', async () => {
    expect(await refused('processes: {web: {command: run, roles: ["-x"]}}')).toEqual(['processes.web.roles[0]: "-x" is not a role name (lowercase letters, digits, dashes)']);
    expect(await refused('health: {process: "../web"}')).toEqual(['health.process: "../web" is not a process name (lowercase letters, digits, dashes)']);
  });
});
