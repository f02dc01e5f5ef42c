// Sandbox servers reach package sources as real servers do (issue 16): through the host's proxy, apt installs a
// package the image lacks, with its recommended packages, and npm ci on the server fetches from the npm
// registry the host uses; a server booted offline fails the same deploy with one line that says why, and
// nothing is switched. Real deploys of the Node example, built on the server.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppRepo, http, onServer, run } from './helpers/python-app.js';
import { useSandboxes } from './helpers/sandbox.js';
import { proxyLogFile, runningProxy } from '../../src/sandbox/proxy-process.js';
import { sandboxPaths } from '../../src/sandbox/paths.js';

const SITE = 'http://127.0.0.1';
/** Absent from the image: `dependencies.system` must fetch them (npm brings a few hundred packages with it). */
const ABSENT = ['jq', 'npm'];
const config = { build: { on: 'server' }, dependencies: { system: ABSENT }, http: { default_server: true } };

/** The host the host's own npm fetches from, read at run time (never written into the repository). */
async function npmRegistryHost(): Promise<string> {
  const answer = await run('npm', ['config', 'get', 'registry'], { cwd: '/', env: process.env });
  return new URL(answer.stdout.trim()).hostname;
}

describe('package sources on sandbox servers, through the host', () => {
  const ONLINE = 'e2e-pkgs';
  const OFFLINE = 'e2e-pkgs-off';
  const servers = useSandboxes([ONLINE, OFFLINE], { offline: [OFFLINE] });
  const online = () => servers[0]!;
  const offline = () => servers[1]!;
  let repo: AppRepo;
  let offlineRepo: AppRepo;

  beforeAll(async () => {
    repo = await AppRepo.create('node-app', [ONLINE], config);
    offlineRepo = await AppRepo.create('node-app', [OFFLINE], config);
  });
  afterAll(async () => {
    await repo?.remove();
    await offlineRepo?.remove();
  });

  it('the image installed its stack with recommends, as a stock server would (python3-django\'s jQuery)', async () => {
    expect(await onServer(online(), 'dpkg-query -W -f \'${Status}\' libjs-jquery')).toBe('install ok installed');
    for (const name of ABSENT) expect((await online().run(`dpkg-query -W -f '\${Status}' ${name}`)).stdout).not.toBe('install ok installed');
  });

  it('deploys with packages the image lacks, installed with their recommends, and npm ci run on the server against the registry', async () => {
    await repo.commit('p1');
    const deployed = await repo.cli('deploy', 'sandbox');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stderr).toContain(`Install system packages: ${ABSENT.join(' ')}`);
    expect(deployed.stderr).toMatch(/Install dependencies: npm ci --no-audit --no-fund/);
    expect(deployed.stderr).not.toContain('Install dependencies on this machine');

    expect(await onServer(online(), 'jq -n 1+1')).toBe('2');
    // One of npm's recommended packages came too: apt on the server follows its own default, as on a real one.
    const recommended = await onServer(online(), "apt-cache depends npm | sed -n 's/^ *Recommends: //p' | head -1");
    expect(recommended).not.toBe('');
    expect(await onServer(online(), `dpkg-query -W -f '\${Status}' ${recommended}`)).toBe('install ok installed');

    const page = await http(online(), `${SITE}/`);
    expect(page.status, page.body).toBe(200);
    expect(page.body).toContain('notes version p1');
    expect(await onServer(online(), 'ls /opt/notes/current/node_modules/ | head -50')).toContain('express');

    // The proxy carried both: the Debian archive's packages, and npm's tunnel to the registry the host uses.
    const log = await readFile(proxyLogFile(sandboxPaths()), 'utf8');
    const from = log.split('\n').filter((l) => l.includes(` ${online().address} `));
    expect(from.some((l) => / GET http:\/\/\S+\/pool\/\S+\/jq_\S+\.deb 200 /.test(l)), from.slice(-5).join('\n')).toBe(true);
    const registry = await npmRegistryHost();
    expect(from.some((l) => l.includes(`CONNECT ${registry}:443 closed`)), from.slice(-5).join('\n')).toBe(true);
  });

  it('an offline server fails the same deploy with one line saying it cannot reach a package source, and nothing is switched', async () => {
    await offlineRepo.commit('p1');
    const deployed = await offlineRepo.cli('deploy', 'sandbox');
    expect(deployed.code).not.toBe(0);
    const errors = deployed.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(errors, deployed.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: Install system packages: jq npm failed on .*: this server cannot reach a package source/);
    expect((await offline().run('test -e /opt/notes/current')).code).not.toBe(0);
    // And the proxy would not have served it either: it is not on the list of online servers.
    const proxy = await runningProxy(sandboxPaths());
    expect(proxy).toBeDefined();
    const asked = await offline().run(`curl -sS -m 5 --proxy http://${proxy!.address}:${proxy!.port} http://mirror.invalid/ 2>&1`);
    expect(asked.stdout).toContain('offline');
  });
});
