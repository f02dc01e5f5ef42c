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

/**
 * A copy of an example without its deploy files, in a directory named `dirName` (init names the project and the
 * sandbox server after it), and the CLI run there with its own empty cache for Node builds.
 */
function initedExample(example: string, dirName: string, server: string) {
  let root: string;
  let dir: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'slipway-e2e-init-'));
    dir = join(root, dirName);
    await cp(join(ROOT, 'examples', example), dir, { recursive: true });
    for (const file of await readdir(dir)) if (/^deploy.*\.yml$/.test(file)) await rm(join(dir, file));
    await rm(join(dir, '.slipway'), { recursive: true, force: true });
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });
  const slipway = (...args: string[]) => run(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, XDG_CACHE_HOME: join(root, 'cache') } });
  const git = async (...args: string[]) => {
    const result = await run('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@localhost', ...args], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
  };
  /** init --yes, the sandbox server's name put in deploy-sandbox.yml, committed; init's own output. */
  const init = async (): Promise<string> => {
    const inited = await slipway('init', '--yes');
    expect(inited.code, inited.stderr).toBe(0);
    expect(inited.stdout).toContain('wrote deploy-sandbox.yml');
    const sandboxFile = join(dir, 'deploy-sandbox.yml');
    const generated = await readFile(sandboxFile, 'utf8');
    expect(generated).toContain(`  - sandbox: ${dirName}\n`);
    await writeFile(sandboxFile, generated.replace(`  - sandbox: ${dirName}\n`, `  - sandbox: ${server}\n`));
    await git('init', '--quiet', '--initial-branch=main');
    await git('add', '-A');
    await git('commit', '--quiet', '-m', 'init');
    return inited.stdout;
  };
  return { slipway, init };
}

describe('slipway init, then deploy to a sandbox', () => {
  const NAME = 'e2e-init';
  const servers = useSandboxes([NAME]);
  const { slipway, init } = initedExample('django-app', 'inited', NAME);

  it('deploys the init\'d Django example as generated, the server name aside, and it answers 200', async () => {
    await init();
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
  const NAME = 'e2e-init-node';
  const servers = useSandboxes([NAME]);
  const { slipway, init } = initedExample('node-app', 'notes', NAME);

  it('deploys the init\'d Node example as generated, the server name aside: built here, migrated, answering through nginx', async () => {
    expect(await init()).toContain('Detected a Node.js app (package.json)');
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
