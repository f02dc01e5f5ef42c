// Real deploys of the Node example (issue 10) through the CLI to a sandbox server: dependencies installed on this
// machine from the npm registry and uploaded (build.on deployer), the build's output served by nginx, the worker
// fed through Redis, node_modules reused by a code-only redeploy and brought back byte for byte by a rollback
// across a dependency change, a failing migration and a Node the server lacks leaving the old release serving,
// and this machine's own Node copied to the app when the config asks for its major. One server, one story in
// order: a test builds on the one before it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppRepo, http, onServer, run, waitFor } from './helpers/python-app.js';
import { useSandboxes } from './helpers/sandbox.js';
import { deployerNode } from '../../src/execute/node-deploy.js';

const SITE = 'http://127.0.0.1'; // nginx on the server
const APP = '/opt/notes';
/** sha256 of every file under the release's node_modules (through its link), in name order. */
const TREE_HASH = `cd ${APP}/current/node_modules/ && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64`;
const MS_VERSION = `sed -n 's/^ *"version": "\\(.*\\)",$/\\1/p' ${APP}/current/node_modules/ms/package.json`;
const DEPLOYER_MAJOR = process.versions.node.split('.')[0]!;

describe('the Node example, built on this machine, from a fresh server through a dependency change and failures', () => {
  const NAME = 'e2e-node';
  const servers = useSandboxes([NAME]);
  const server = () => servers[0]!;
  let repo: AppRepo;
  let cache: string;
  let firstDeps: { link: string; hash: string };
  const served = (version: string) => waitFor(() => http(server(), `${SITE}/version`), (a) => a.status === 200 && a.body.trim() === version, 5000);
  /** The live slot's process (the other one may still be draining). */
  const webPid = () => onServer(server(), `systemctl show -p MainPID --value notes-web@$(cat ${APP}/.slipway/live-slot)`);
  const deps = async () => ({ link: await onServer(server(), `readlink ${APP}/current/node_modules`), hash: await onServer(server(), TREE_HASH) });

  beforeAll(async () => {
    repo = await AppRepo.create('node-app', [NAME], { http: { default_server: true } });
    // The deployer's cache of node_modules and builds starts empty: the first deploy really installs.
    cache = await mkdtemp(join(tmpdir(), 'slipway-e2e-node-cache-'));
    repo.env.XDG_CACHE_HOME = cache;
  });
  afterAll(async () => {
    await repo?.remove();
    if (cache) await rm(cache, { recursive: true, force: true });
  });

  it('deploys to a fresh server: npm ci here, node_modules and the build uploaded; page, bundle and /health answer through nginx; the worker processes a note', async () => {
    await repo.commit('n1');
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toMatch(/Install dependencies on this machine: npm ci --no-audit --no-fund --omit=dev \(node_modules [0-9a-f]{12}\)/);
    expect(deployed.stderr).toMatch(/Upload node_modules [0-9a-f]{12} to \/opt\/notes\/node-deps\//);
    expect(deployed.stderr).toMatch(/Build on this machine: node scripts\/build\.js \(build [0-9a-f]{12}\)/);

    const page = await http(server(), `${SITE}/`);
    expect(page.status, page.body).toBe(200);
    expect(page.body).toContain('notes version n1');
    // public/ is not in git: the build made it on this machine, and nginx serves it from the release.
    const bundle = await http(server(), `${SITE}/static/app.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.body).toMatch(/^\/\* notes app\.js sha256:[0-9a-f]{64} from app\.js \*\//);
    expect(bundle.body).toContain((await repo.read('assets/app.js')).split('\n')[0]);
    const { current } = await repo.releases();
    expect(await http(server(), `${SITE}/health`)).toEqual({ status: 200, body: JSON.stringify({ status: 'ok', release: current }) });

    // The server's own Node 18 (Debian's) runs it, as the app user, with node_modules linked from node-deps/.
    const pid = await webPid();
    expect(await onServer(server(), `ps -o user= -p ${pid}; readlink -f /proc/${pid}/exe; ls -d ${APP}/node 2>/dev/null || echo no-node-dir`)).toBe(`notes\n/usr/bin/node\nno-node-dir`);
    firstDeps = await deps();
    expect(firstDeps.link).toMatch(/^\/opt\/notes\/node-deps\/[0-9a-f]{12}\/node_modules$/);

    const posted = await http(server(), `${SITE}/notes`, { method: 'POST', json: { text: 'e2e note' } });
    expect(posted.status, posted.body).toBe(201);
    const { id } = JSON.parse(posted.body) as { id: number };
    const read = () => http(server(), `${SITE}/notes/${id}`).then((a) => JSON.parse(a.body) as { processed: boolean });
    expect(await waitFor(read, (n) => n.processed, 8000)).toMatchObject({ id, text: 'e2e note', processed: true });
  });

  it('a code-only redeploy links the same node_modules at once: nothing is installed on or uploaded to the server', async () => {
    await repo.commit('n2');
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toContain(`Reuse node_modules ${firstDeps.link.split('/')[4]} (package-lock.json unchanged)`);
    expect(deployed.stderr).not.toContain('Upload node_modules');
    // migrate.inputs unchanged: not even the check runs.
    expect(deployed.stderr).toMatch(/Back up the database and apply pending migrations: skip \(inputs unchanged since \S+\)/);
    expect((await served('n2')).body.trim()).toBe('n2');
    expect(await deps()).toEqual(firstDeps);
  });

  it('a dependency change installs a new node_modules; a rollback brings the old one back byte for byte, without installing', async () => {
    // A real change of the lockfile, resolved from the npm registry like a developer's `npm install ms`.
    const added = await run('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund', 'ms@2.1.3'], { cwd: repo.dir });
    expect(added.code, added.stderr).toBe(0);
    await repo.commit('n3');
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toMatch(/Upload node_modules [0-9a-f]{12}/);
    expect((await served('n3')).body.trim()).toBe('n3');
    const changed = await deps();
    expect(changed.link).not.toBe(firstDeps.link);
    // express already brings ms 2.0.0 (through debug): the app's own ms@2.1.3 is installed at the top.
    expect(await onServer(server(), MS_VERSION)).toBe('2.1.3');

    const rolled = await repo.cli('rollback', 'sandbox');
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stderr).not.toMatch(/Install dependencies|Upload node_modules/);
    expect((await served('n2')).body.trim()).toBe('n2');
    expect(await deps()).toEqual(firstDeps);
    expect(await onServer(server(), MS_VERSION)).toBe('2.0.0');
  });

  it('a failing migration stops the deploy before the switch: the old release and its process keep serving', async () => {
    const before = { current: (await repo.releases()).current, pid: await webPid() };
    await repo.commit('n4', { 'migrations/002_broken.sql': 'CREATE TABLE broken (id serial PRIMARY KEY;\n' });
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code).not.toBe(0);
    expect(deployed.stderr).toMatch(/migrate: 002_broken\.sql: syntax error/);
    expect((await served('n2')).body.trim()).toBe('n2');
    expect({ current: (await repo.releases()).current, pid: await webPid() }).toEqual(before);
    await repo.commit('n5', { 'migrations/002_broken.sql': null });
  });

  it('a node_version that neither the server nor this machine has fails before anything changes, in one line naming what is missing', async () => {
    const wanted = DEPLOYER_MAJOR === '16' ? '14' : '16';
    await repo.configure([NAME], { http: { default_server: true }, project: { node_version: wanted } });
    const before = await repo.releases();
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code).toBe(2);
    const errors = deployed.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toEqual([`error: ${NAME}: project.node_version ${wanted}: the server has Node ${await onServer(server(), 'node --version | cut -c2-')} and this machine runs Node ${process.versions.node}`]);
    expect(await repo.releases()).toEqual(before);
  });

  // Only a standalone Node can be copied (Debian's own links a shared libnode), and an 18 is the server's own.
  it.skipIf(DEPLOYER_MAJOR === '18' || !deployerNode().standalone)('a node_version the server lacks but this machine runs: its Node is copied to the app, the release runs on it, a rollback returns to the server\'s', async () => {
    await repo.configure([NAME], { http: { default_server: true }, project: { node_version: DEPLOYER_MAJOR } });
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toContain(`Copy Node ${process.versions.node} from this machine to ${APP}/node/${process.versions.node}`);
    expect((await served('n5')).body.trim()).toBe('n5');
    const pid = await webPid();
    expect(await onServer(server(), `readlink -f /proc/${pid}/exe; ${APP}/current/.node/bin/node --version`)).toBe(`${APP}/node/${process.versions.node}/bin/node\nv${process.versions.node}`);
    // node_modules is keyed by Node's major too: another one was installed for it.
    expect((await deps()).link).not.toBe(firstDeps.link);

    const rolled = await repo.cli('rollback', 'sandbox');
    expect(rolled.code, rolled.stderr).toBe(0);
    expect((await served('n2')).body.trim()).toBe('n2');
    expect(await onServer(server(), `readlink -f /proc/${await webPid()}/exe`)).toBe('/usr/bin/node');
  });
});
