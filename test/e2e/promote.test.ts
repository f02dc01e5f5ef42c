// `slipway promote staging prod` (issue 12): prod gets exactly the commit live and healthy on staging, not the
// branch's newer head; history on prod says it was a promotion and from which release; a staging that fails its
// health check now is refused with the reason, and prod is left as it was.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { HelloRepo } from './helpers/hello-app.js';
import { run } from './helpers/example-repo.js';
import { useSandboxes, type TestServer } from './helpers/sandbox.js';
import type { HistoryEntry } from '../../src/ops/history.js';

describe('promote: the commit verified on staging, to prod', () => {
  const servers = useSandboxes(['e2e-stg1', 'e2e-prd1']);
  const staging = () => servers[0]!;
  const prod = () => servers[1]!;
  let repo: HelloRepo;
  const envFile = (server: TestServer) => stringify({ servers: [{ sandbox: server.name }], env_vars: { BIND: '0.0.0.0' }, health: { retries: 5 } });
  const page = async (server: TestServer) => (await server.run('curl -sS -m 5 http://127.0.0.1:8000/')).stdout;
  const sha = async () => (await run('git', ['rev-parse', 'HEAD'], { cwd: repo.dir })).stdout.trim();

  beforeAll(async () => {
    repo = await HelloRepo.create([staging()]);
    await writeFile(join(repo.dir, 'deploy-staging.yml'), envFile(staging()));
    await writeFile(join(repo.dir, 'deploy-prod.yml'), envFile(prod()));
  });
  afterAll(async () => repo?.remove());

  it('deploys to prod the commit staging runs, not the newer head of the branch, and history says so', async () => {
    await repo.commit('p1');
    const verified = await sha();
    const deployed = await repo.cli('deploy', 'staging');
    expect(deployed.code, deployed.stderr).toBe(0);
    await repo.commit('p2'); // newer, never deployed to staging

    const promoted = await repo.cli('promote', 'staging', 'prod');
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stderr).toMatch(new RegExp(`promoting ${verified.slice(0, 7)} \\(main\\) from staging \\(release \\S+-${verified.slice(0, 7)}, ok and healthy on every server\\) to prod`));
    expect(promoted.stdout).toMatch(/^promoted to prod: \S+ is live on 1 host\(s\)/);
    expect(await page(prod())).toContain('version p1');

    const history = await repo.cli('history', 'prod', '--json');
    const [entry] = (JSON.parse(history.stdout) as { entries: HistoryEntry[] }[])[0]!.entries.slice(-1);
    expect(entry).toMatchObject({ action: 'deploy', result: 'ok', sha: verified });
    expect(entry!.promoted_from).toMatch(new RegExp(`^staging \\S+-${verified.slice(0, 7)}$`));
    expect((await repo.cli('history', 'prod')).stdout).toContain('promote from staging');
  });

  it('refuses while staging fails its health check, saying so, and prod keeps its release', async () => {
    const before = await prod().run('readlink /opt/hello/current');
    await staging().run('systemctl stop hello-web');
    try {
      const refused = await repo.cli('promote', 'staging', 'prod');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^error: cannot promote from staging: e2e-stg1 fails its health check now/m);
      expect((await prod().run('readlink /opt/hello/current')).stdout).toBe(before.stdout);
    } finally {
      await staging().run('systemctl start hello-web');
    }
  });
});
