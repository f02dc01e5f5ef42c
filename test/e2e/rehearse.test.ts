// `slipway rehearse prod` (issue 16): a two-server production config (a web server and a database server, real
// host names, Let's Encrypt, a webhook) rehearsed on sandbox servers of the same names and roles: setup and the
// deploy run with prod's own config and secrets, the site answers through nginx, the differences are listed,
// and `--down` removes exactly the servers the rehearsal booted.
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { AppRepo } from './helpers/python-app.js';
import { sandboxDown, sandboxList, sandboxTarget, sshOptions } from '../../src/sandbox/index.js';
import { runHost } from '../../src/sandbox/host.js';

const WEB = 'e2e-rh-web1';
const DB = 'e2e-rh-db1';

describe('rehearse a two-server prod on sandbox servers', () => {
  let repo: AppRepo;

  beforeAll(async () => {
    await Promise.all([WEB, DB].map((name) => sandboxDown(name, { purge: true })));
    repo = await AppRepo.create('django-app', []);
    await writeFile(
      join(repo.dir, 'deploy-prod.yml'),
      stringify({
        servers: [
          { host: `${WEB}.example.com`, user: 'deploy', roles: ['web'], private_address: '192.0.2.10' },
          { host: `${DB}.example.com`, user: 'deploy', roles: ['db'], private_address: '192.0.2.20' },
        ],
        http: { domain: 'shop.example.com', tls: 'letsencrypt', acme_email: 'ops@example.com' },
        notify: ['${SLACK_WEBHOOK}'],
      }),
    );
    // prod's secrets, where prod keeps them: the rehearsal reads the same file.
    await copyFile(join(repo.dir, '.slipway', 'secrets-sandbox.env'), join(repo.dir, '.slipway', 'secrets-prod.env'));
    await writeFile(join(repo.dir, '.slipway', 'secrets-prod.env'), 'SLACK_WEBHOOK=https://hooks.example.invalid/T0/B0\n', { flag: 'a' });
    await repo.commit('r1');
  });
  afterAll(async () => {
    await repo?.cli('rehearse', 'prod', '--down');
    await Promise.all([WEB, DB].map((name) => sandboxDown(name, { purge: true })));
    await repo?.remove();
  });

  it('boots both servers, runs setup and the deploy with prod\'s config, answers through nginx over self-signed TLS, and lists the differences', async () => {
    const rehearsed = await repo.cli('rehearse', 'prod');
    expect(rehearsed.code, rehearsed.stderr + rehearsed.stdout).toBe(0);
    expect(rehearsed.stderr).toContain(`rehearsal of prod on 2 sandbox server(s): ${WEB} (web), ${DB} (db)`);
    expect(rehearsed.stderr).toContain(`servers[0]: deploy@${WEB}.example.com → sandbox server ${WEB} (root, the sandbox key), roles web`);
    expect(rehearsed.stderr).toMatch(/http\.tls: letsencrypt .* → self-signed/);
    expect(rehearsed.stderr).toContain('notify: 1 webhook(s) → none: a rehearsal tells nobody');
    expect(rehearsed.stdout).toMatch(new RegExp(`setup prod-rehearsal: .* on 2 host\\(s\\)`));
    expect(rehearsed.stdout).toMatch(/rehearsed prod-rehearsal: \S+ is live on 2 host\(s\)/);
    expect(rehearsed.stdout).toContain(`${WEB}: https://shop.example.com/ answers 200 through nginx`);

    const listed = await sandboxList();
    for (const name of [WEB, DB]) expect(listed.find((s) => s.name === name)?.status).toBe('running');
    // The database lives on the db server, reached over its sandbox address, as prod's would be over its own.
    const db = (await sandboxTarget(DB))!;
    const web = (await sandboxTarget(WEB))!;
    const ss = await runHost(['ssh', ...sshOptions(db), db.address, 'ss -Hltn']);
    expect(ss.stdout).toContain(`${db.address}:5432`);
    const page = await runHost(['curl', '-sk', '--resolve', `shop.example.com:443:${web.address}`, 'https://shop.example.com/health/']);
    expect(page.code, page.stderr).toBe(0);
  });

  it('a second rehearsal reuses its own servers', async () => {
    const again = await repo.cli('rehearse', 'prod');
    expect(again.code, again.stderr + again.stdout).toBe(0);
    expect(again.stderr).toContain(`${WEB}: already up`);
  });

  it('--down removes exactly the rehearsal\'s servers', async () => {
    const down = await repo.cli('rehearse', 'prod', '--down');
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toBe(`rehearsal of prod removed: ${WEB}, ${DB}\n`);
    const names = (await sandboxList()).map((s) => s.name);
    expect(names).not.toContain(WEB);
    expect(names).not.toContain(DB);
    expect((await repo.cli('rehearse', 'prod', '--down')).stdout).toBe('no rehearsal of prod is up (nothing to remove)\n');
  });
});
