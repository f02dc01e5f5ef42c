// The CLI in-process: `run(argv, io)` with a capturing io, temp config dirs, and what the user sees.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/io.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function configDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-cli-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

async function slipway(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => out.push(t), err: (t) => err.push(t), env: options.env ?? {}, cwd: options.cwd ?? '/nonexistent' };
  const code = await run(argv, io);
  return { code, out: out.join(''), err: err.join('\n') };
}

const MINIMAL = 'project: {name: shop}\nservers: [{host: local}]\n';

describe('version and usage', () => {
  it('--version and -V print the package version', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    expect(await slipway(['--version'])).toEqual({ code: 0, out: `${version}\n`, err: '' });
    expect((await slipway(['-V'])).out).toBe(`${version}\n`);
  });

  it('an unknown command exits 2 with the error first', async () => {
    const { code, out, err } = await slipway(['frobnicate']);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err.split('\n')[0]).toBe("error: unknown command 'frobnicate'");
    expect(err).toContain('Usage: slipway [options] [command]');
  });

  it('a missing argument exits 2', async () => {
    const { code, err } = await slipway(['validate']);
    expect(code).toBe(2);
    expect(err.split('\n')[0]).toBe("error: missing required argument 'env'");
  });

  it('--help exits 0 and lists the commands', async () => {
    const { code, out } = await slipway(['--help']);
    expect(code).toBe(0);
    for (const command of ['deploy', 'rollback', 'plan', 'validate', 'schema', 'releases', 'history', 'lock']) expect(out).toMatch(new RegExp(`^  ${command} `, 'm'));
  });
});

describe('validate', () => {
  it('reports the files, servers and project', async () => {
    const dir = await configDir({ 'deploy.yml': 'project: {name: shop}\n', 'deploy-dev.yml': 'servers: [{host: local}, {host: web2}]\n' });
    expect(await slipway(['validate', 'dev', '-c', dir])).toEqual({
      code: 0,
      out: `${join(dir, 'deploy.yml')} + ${join(dir, 'deploy-dev.yml')}: ok (2 server(s), project shop)`,
      err: '',
    });
  });

  it('finds the config relative to the working directory, by default in it', async () => {
    const dir = await configDir({ 'deploy-dev.yml': MINIMAL });
    expect((await slipway(['validate', 'dev'], { cwd: dir })).code).toBe(0);
    expect((await slipway(['-c', '.', 'validate', 'dev'], { cwd: dir })).out).toBe(`${join(dir, 'deploy-dev.yml')}: ok (1 server(s), project shop)`);
  });

  it('reads the repository where it is here: the recipe it picks, or what the recipe refuses (exit 2, nothing reached)', async () => {
    const dir = await configDir({ 'deploy-dev.yml': MINIMAL, 'package.json': JSON.stringify({ scripts: { build: 'tsc' } }), 'package-lock.json': '{}' });
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { encoding: 'utf8' }).trim();
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-qm', 'one');
    expect(await slipway(['validate', 'dev', '-c', dir])).toEqual({
      code: 2,
      out: '',
      err: 'error: package.json: no `start` script and no `main`, and the config has no `processes`\nhint: add "start": "node server.js" to package.json\'s scripts, or set processes.web.command in deploy.yml',
    });
    await writeFile(join(dir, 'package.json'), JSON.stringify({ scripts: { start: 'node server.js' } }));
    git('commit', '-qam', 'two');
    expect((await slipway(['validate', 'dev', '-c', dir])).out).toBe(`${join(dir, 'deploy-dev.yml')}: ok (1 server(s), project shop, recipe node at main (${git('rev-parse', '--short=7', 'HEAD')}))`);
  });

  it('prints warnings on stderr and still succeeds', async () => {
    const dir = await configDir({ 'deploy-dev.yml': `${MINIMAL}env_vars: {API_TOKEN: abc}\n` });
    const { code, err } = await slipway(['validate', 'dev', '-c', dir]);
    expect(code).toBe(0);
    expect(err).toBe(`warning: ${dir}/deploy-dev.yml:3:23: env_vars.API_TOKEN: looks like a secret written in the file; write \${API_TOKEN} and keep the value in .slipway/secrets-dev.env`);
  });

  it('resolves secrets from the io environment', async () => {
    const dir = await configDir({ 'deploy-dev.yml': `${MINIMAL}env_vars: {API_TOKEN: '\${API_TOKEN}'}\n` });
    expect((await slipway(['validate', 'dev', '-c', dir], { env: { API_TOKEN: 'xyz-123' } })).code).toBe(0);
    expect(await slipway(['validate', 'dev', '-c', dir])).toEqual({
      code: 2,
      out: '',
      err: `error: ${dir}/deploy-dev.yml:3:23: env_vars.API_TOKEN: secret \${API_TOKEN} is not set: export API_TOKEN=... or add it to ${dir}/.slipway/secrets-dev.env`,
    });
  });

  it('a bad config exits 2 with one line per problem, naming file:line:col and key path', async () => {
    const dir = await configDir({ 'deploy-dev.yml': 'project: {name: Shop}\nservers: [{host: "-oProxyCommand=x"}]\nkeep_releases: 1\n' });
    expect(await slipway(['validate', 'dev', '-c', dir])).toEqual({
      code: 2,
      out: '',
      err: [
        `error: ${dir}/deploy-dev.yml:1:17: project.name: "Shop" is not lowercase letters, digits and dashes, starting with a letter`,
        `error: ${dir}/deploy-dev.yml:2:18: servers[0].host: "-oProxyCommand=x" is not a host name, an address or \`local\``,
        `error: ${dir}/deploy-dev.yml:3:16: keep_releases: must be at least 2, got 1`,
      ].join('\n'),
    });
  });

  it('invalid YAML, a missing env file and a bad env name are one-line errors with exit 2', async () => {
    const dir = await configDir({ 'deploy-dev.yml': 'project: {name: shop\n' });
    const yaml = await slipway(['validate', 'dev', '-c', dir]);
    expect(yaml.code).toBe(2);
    expect(yaml.err).toMatch(new RegExp(`^error: ${dir}/deploy-dev\\.yml:\\d+:\\d+: invalid YAML: [^\\n]+$`));
    expect(await slipway(['validate', 'prod', '-c', dir])).toEqual({
      code: 2,
      out: '',
      err: `error: no deploy-prod.yml in ${dir}\nhint: create it (it may be as small as \`servers: [{host: local}]\`) or pick an existing environment`,
    });
    expect(await slipway(['validate', '../etc', '-c', dir])).toEqual({
      code: 2,
      out: '',
      err: 'error: environment name "../etc" is not valid: use lowercase letters, digits, - and _, starting with a letter',
    });
  });
});

describe('argument errors before any connection', () => {
  it('plan --format, deploy --lock-wait and history --lines', async () => {
    expect(await slipway(['plan', 'dev', '--format', 'xml'])).toEqual({ code: 2, out: '', err: 'error: --format must be text, md or json, got xml' });
    expect(await slipway(['deploy', 'dev', '--lock-wait', 'soon'])).toEqual({ code: 2, out: '', err: 'error: --lock-wait expects a number of seconds, got soon' });
    expect(await slipway(['history', 'dev', '--lines', '1;id'])).toEqual({ code: 2, out: '', err: 'error: --lines expects a number, got 1;id' });
  });
});

describe('schema', () => {
  it('prints the JSON Schema for editors', async () => {
    const { code, out, err } = await slipway(['schema']);
    expect(code).toBe(0);
    expect(err).toBe('');
    expect(out).toMatchSnapshot();
    const schema = JSON.parse(out) as { $schema: string; required: string[]; additionalProperties: boolean; patternProperties: object; properties: Record<string, { description?: string; default?: unknown }> };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.required).toEqual(['project', 'servers']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.patternProperties).toEqual({ '^x-': {} });
    expect(schema.properties.keep_releases).toMatchObject({ type: 'integer', default: 5, minimum: 2 });
    expect(schema.properties.base_path?.default).toBe('/opt');
  });

  it('describes every key', async () => {
    const schema = JSON.parse((await slipway(['schema'])).out) as object;
    const missing: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (!node || typeof node !== 'object') return;
      const n = node as { description?: unknown; properties?: Record<string, unknown>; items?: unknown; additionalProperties?: unknown; oneOf?: unknown[] };
      if (path && typeof n.description !== 'string') missing.push(path);
      for (const [key, sub] of Object.entries(n.properties ?? {})) walk(sub, `${path}.${key}`);
      if (n.items) walk(n.items, `${path}[]`);
      if (n.additionalProperties && typeof n.additionalProperties === 'object') walk(n.additionalProperties, `${path}.*`);
      for (const option of n.oneOf ?? []) if ((option as { type?: string }).type === 'object') walk({ description: 'variant', ...(option as object) }, `${path}|`);
    };
    walk(schema, '');
    expect(missing).toEqual([]);
  });
});

describe('plan against this machine', () => {
  it('prints the commands without running them, secrets redacted, in all three formats', async () => {
    const dir = await configDir({});
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    git('init', '-q', '-b', 'main');
    git('commit', '-q', '--allow-empty', '-m', 'init');
    const sha = git('rev-parse', 'HEAD').trim();
    const base = join(dir, 'base');
    await writeFile(join(dir, 'deploy-dev.yml'), `project: {name: shop}\nservers: [{host: local}]\nbase_path: ${base}\nenv_vars: {SECRET_KEY: '\${SECRET_KEY}'}\n`);
    const env = { SECRET_KEY: 'sekrit-value-123' };

    const text = await slipway(['plan', 'dev', '-c', dir], { env });
    expect(text.code).toBe(0);
    const id = new RegExp(`^Plan: deploy dev: main \\(${sha.slice(0, 7)}\\) as release (\\d{8}T\\d{6}\\.\\d{3}Z-${sha.slice(0, 7)})$`).exec(text.out.split('\n')[0]!)?.[1];
    expect(id).toBeDefined();
    expect(text.out.split('\n').slice(1, 5)).toEqual(['', '== local (this machine) ==', `# holds ${base}/shop/.slipway/deploy.lock from connect to finish`, `## 1. Prepare ${base}/shop`]);
    expect(text.out).toContain(
      [
        `## 2. Send ${sha.slice(0, 7)} to the host (the whole commit)`,
        `# on this machine, its output sent with the script to ${base}/shop/.slipway/incoming.pack:`,
        `#   git --git-dir=${dir}/.git pack-objects --revs --thin --stdout --delta-base-offset -q <<'SLIPWAY_EOF_0'`,
        `#   ${sha}`,
        '#   SLIPWAY_EOF_0',
        `git --git-dir=${base}/shop/.slipway/repo.git index-pack --stdin --fix-thin > /dev/null < ${base}/shop/.slipway/incoming.pack`,
        `rm -f ${base}/shop/.slipway/incoming.pack`,
        `git --git-dir=${base}/shop/.slipway/repo.git update-ref refs/slipway/${id} ${sha}`,
        '',
      ].join('\n'),
    );
    expect(text.out).toContain('<redacted: secret values>');

    const md = await slipway(['plan', 'dev', '-c', dir, '--format', 'md'], { env });
    expect(md.out.split('\n')[0]).toMatch(/^# Runbook: deploy dev: main /);
    const json = await slipway(['plan', 'dev', '-c', dir, '--json'], { env });
    expect((JSON.parse(json.out) as { sha: string; hosts: { host: string }[] }).hosts.map((h) => h.host)).toEqual(['local']);

    for (const result of [text, md, json]) expect(result.out + result.err).not.toContain('sekrit-value-123');
    // Nothing ran: the base path is untouched and no log was written.
    await expect(readdir(base)).rejects.toThrow(/ENOENT/);
    await expect(readdir(join(dir, '.slipway'))).rejects.toThrow(/ENOENT/);
  });
});
