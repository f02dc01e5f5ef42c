// `slipway init` end to end: the Django and the Node examples without their deploy files, init'd by the real
// CLI, deployed to a sandbox server with only the server's name edited in deploy-sandbox.yml, answering through
// nginx.
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from './helpers/example-repo.js';
import { http } from './helpers/python-app.js';
import { useSandboxes } from './helpers/sandbox.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'bin', 'slipway.js');
const NAME = 'e2e-init';

describe('slipway init, then deploy to a sandbox', () => {
  const servers = useSandboxes([NAME]);
  let dir: string;
  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'slipway-e2e-init-')), 'inited');
    await cp(join(ROOT, 'examples', 'django-app'), dir, { recursive: true });
    for (const file of await readdir(dir)) if (/^deploy.*\.yml$/.test(file)) await rm(join(dir, file));
    await rm(join(dir, '.slipway'), { recursive: true, force: true });
  });
  afterAll(async () => {
    if (dir) await rm(join(dir, '..'), { recursive: true, force: true });
  });

  const slipway = (...args: string[]) => run(process.execPath, [CLI, ...args], { cwd: dir });
  const git = async (...args: string[]) => {
    const result = await run('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@localhost', ...args], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
  };

  it('deploys the init\'d Django example as generated, the server name aside, and it answers 200', async () => {
    const init = await slipway('init', '--yes');
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('wrote deploy-sandbox.yml');
    const sandboxFile = join(dir, 'deploy-sandbox.yml');
    const generated = await readFile(sandboxFile, 'utf8');
    expect(generated).toContain('  - sandbox: inited\n');
    await writeFile(sandboxFile, generated.replace('  - sandbox: inited\n', `  - sandbox: ${NAME}\n`));
    await git('init', '--quiet', '--initial-branch=main');
    await git('add', '-A');
    await git('commit', '--quiet', '-m', 'init');

    const validate = await slipway('validate', 'sandbox');
    expect(validate.code, validate.stderr).toBe(0);
    const deploy = await slipway('deploy', 'sandbox');
    expect(deploy.code, deploy.stderr).toBe(0);

    const server = servers[0]!;
    // Through nginx (http.enabled, default_server): on the server itself, and on its address from this machine.
    expect(await http(server, 'http://127.0.0.1/health/')).toEqual({ status: 200, body: 'ok\n' });
    const page = await fetch(`http://${server.address}/`, { signal: AbortSignal.timeout(5000) });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('1 visit so far');
    const css = await fetch(`http://${server.address}/static/visits/site.css`, { signal: AbortSignal.timeout(5000) });
    expect(css.status).toBe(200);
  });
});

describe('slipway init on the Node example, then deploy to a sandbox', () => {
  const NODE_NAME = 'e2e-init-node';
  const servers = useSandboxes([NODE_NAME]);
  let dir: string;
  let cache: string;
  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'slipway-e2e-init-')), 'notes');
    cache = await mkdtemp(join(tmpdir(), 'slipway-e2e-init-cache-'));
    await cp(join(ROOT, 'examples', 'node-app'), dir, { recursive: true });
    for (const file of await readdir(dir)) if (/^deploy.*\.yml$/.test(file)) await rm(join(dir, file));
    await rm(join(dir, '.slipway'), { recursive: true, force: true });
  });
  afterAll(async () => {
    if (dir) await rm(join(dir, '..'), { recursive: true, force: true });
    if (cache) await rm(cache, { recursive: true, force: true });
  });

  const slipway = (...args: string[]) => run(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, XDG_CACHE_HOME: cache } });
  const git = async (...args: string[]) => {
    const result = await run('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@localhost', ...args], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
  };

  it('deploys the init\'d Node example as generated, the server name aside: built here, migrated, answering through nginx', async () => {
    const init = await slipway('init', '--yes');
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('Detected a Node.js app (package.json)');
    const sandboxFile = join(dir, 'deploy-sandbox.yml');
    const generated = await readFile(sandboxFile, 'utf8');
    await writeFile(sandboxFile, generated.replace('  - sandbox: notes\n', `  - sandbox: ${NODE_NAME}\n`));
    await git('init', '--quiet', '--initial-branch=main');
    await git('add', '-A');
    await git('commit', '--quiet', '-m', 'init');

    const validate = await slipway('validate', 'sandbox');
    expect(validate.code, validate.stderr).toBe(0);
    expect(validate.stdout).toContain('recipe node at main');
    const deploy = await slipway('deploy', 'sandbox');
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stderr).toMatch(/Build on this machine: node scripts\/build\.js/);

    const server = servers[0]!;
    const health = await fetch(`http://${server.address}/health`, { signal: AbortSignal.timeout(5000) });
    expect(health.status).toBe(200);
    const page = await fetch(`http://${server.address}/`, { signal: AbortSignal.timeout(5000) });
    expect(await page.text()).toContain('notes version 1');
    expect(await http(server, 'http://127.0.0.1/static/app.js')).toMatchObject({ status: 200 });
  });
});
