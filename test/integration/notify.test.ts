// Deploy notifications from real deploys through the local executor, to a webhook receiver on 127.0.0.1:
// start and success; a failing deploy's failure with its step and output; the URL in no output and no log.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, makeProject, type Project } from './helpers/project.js';

const TOKEN = 'T0KEN-in-the-webhook-path';

describe('notifications of a deploy', () => {
  let project: Project;
  let server: Server;
  let url: string;
  const received: Record<string, unknown>[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (req.url === `/hooks/${TOKEN}`) received.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/${TOKEN}`;
    project = makeProject();
    project.writeConfig('deploy-dev.yml', ['project:', '  name: shop', 'servers:', '  - host: local', `base_path: ${project.basePath}`, 'notify:', '  - ${WEBHOOK_URL}', 'hooks:', '  build: ["test ! -f FAIL || { echo the build broke; exit 3; }"]', ''].join('\n'));
  });
  afterAll(async () => {
    project?.cleanup();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const deploy = () => cli(project.dir, ['deploy', 'dev'], { WEBHOOK_URL: url });
  const logs = () => readdirSync(join(project.dir, '.slipway', 'logs')).map((f) => readFileSync(join(project.dir, '.slipway', 'logs', f), 'utf8')).join('\n');

  it('a deploy sends start, then success with the release it made live; plan says so, without the URL', async () => {
    const sha = project.commit({ VERSION: 'v1\n', '.gitignore': '.slipway/\n' });
    const plan = await cli(project.dir, ['plan', 'dev'], { WEBHOOK_URL: url });
    expect(plan.out).toContain('# notify[0] (json) is told of: start, success, failure, switch_back\n');
    expect(plan.out + plan.err).not.toContain(TOKEN);
    expect(received).toEqual([]);
    const result = await deploy();
    expect(result.code, result.err).toBe(0);
    expect(received.map((n) => n.event)).toEqual(['start', 'success']);
    expect(received[1]).toMatchObject({ action: 'deploy', app: 'shop', env: 'dev', ref: 'main', sha, hosts: [{ host: 'local', ok: true, switchedBack: false }] });
    expect(received[1]!.text).toMatch(/^shop dev: a deploy of main \([0-9a-f]{7}\) is live as \S+ on 1 server\(s\), in \d+\.\d s$/);
    expect(result.out + result.err + logs()).not.toContain(TOKEN);
  });

  it('a failed deploy sends failure with the failing step and its last lines', async () => {
    received.length = 0;
    project.commit({ VERSION: 'v2\n', FAIL: '' });
    const result = await deploy();
    expect(result.code).toBe(1);
    expect(received.map((n) => n.event)).toEqual(['start', 'failure']);
    expect(received[1]).toMatchObject({ hosts: [{ host: 'local', ok: false, step: 'Run build hooks', error: 'exit 3', output: ['the build broke'] }] });
    expect(result.out + result.err + logs()).not.toContain(TOKEN);
  });
});
