// Day-2 commands against a real sandbox server running examples/hello-app: env set/unset/list/diff (what the
// app sees after the restart, the value never shown, the file's mode and owner, the old file back after a
// failed health check), status --json, logs (last lines and follow until Ctrl-C), and the handoff note
// between two commits that add a package, a migration and an env var.
import { spawn } from 'node:child_process';
import { mkdir, writeFile, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchPage, forgetHello, HelloRepo, releasesOn, SECRET, type CliResult } from './helpers/hello-app.js';
import { useSandboxes, type TestServer } from './helpers/sandbox.js';
import type { HostStatus } from '../../src/plan/status.js';
import { sampleProcessList } from './helpers/python-app.js';

const CLI = fileURLToPath(new URL('../../bin/slipway.js', import.meta.url));

/** The CLI with `input` on its standard input (for `env set --stdin`). */
function slipwayWithInput(repo: HelloRepo, args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '-c', repo.dir, ...args], { env: { ...process.env, HELLO_SECRET: SECRET } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** The environment of the running web process, as root on the server sees it. */
async function processEnv(server: TestServer): Promise<Record<string, string>> {
  const result = await server.run('tr "\\0" "\\n" < /proc/"$(systemctl show -p MainPID --value hello-web)"/environ');
  expect(result.code, result.stderr).toBe(0);
  return Object.fromEntries(result.stdout.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('day-2 commands on one server', () => {
  const servers = useSandboxes(['e2e-ops1']);
  const server = () => servers[0]!;
  let repo: HelloRepo;

  beforeAll(async () => {
    await forgetHello(server());
    repo = await HelloRepo.create(servers);
    await repo.commit('v1');
    await repo.deploy();
  });
  afterAll(async () => {
    await repo?.remove();
  });

  it('status --json: the current release, the unit running, health 200, the last deploy, a free lock', async () => {
    const result = await repo.cli('status', 'sandbox', '--json');
    expect(result.code, result.stderr).toBe(0);
    const [host] = JSON.parse(result.stdout) as HostStatus[];
    const { current } = (await releasesOn(repo))['e2e-ops1']!;
    const sha = (await server().run(`cat /opt/hello/.slipway/releases/${current}/manifest.json`)).stdout;
    expect(host!.host).toBe('e2e-ops1');
    expect(host!.current!.id).toBe(current);
    expect((JSON.parse(sha) as { sha: string }).sha).toBe(host!.current!.sha);
    expect(host!.current).toMatchObject({ ref: 'main', status: 'ok' });
    expect(host!.current!.age_seconds).toBeLessThan(600);
    expect(host!.units).toHaveLength(1);
    expect(host!.units[0]).toMatchObject({ name: 'hello-web.service', active: 'active', sub: 'running' });
    const pid = (await server().run('systemctl show -p MainPID --value hello-web')).stdout.trim();
    expect(host!.units[0]!.pid).toBe(Number(pid));
    expect(host!.health).toEqual({ url: 'http://127.0.0.1:8000/health', status: 200, expected: 200, ok: true });
    expect(host!.disk_kb.releases).toBeGreaterThan(0);
    expect(host!.last).toMatchObject({ action: 'deploy', result: 'ok', to: current });
    expect(host!.lock).toEqual({ state: 'free', holder: null });

    const text = await repo.cli('status', 'sandbox');
    expect(text.stdout).toMatch(new RegExp(`release ${current} \\(\\w{7} main, ok\\), deployed \\d+s ago`));
    expect(text.stdout).toContain('hello-web.service  active (running)');
  });

  it('status shows who holds the lock', async () => {
    const holder = '{"agent_pid":1,"user":"bob","machine":"ci","pid":7,"command":"slipway deploy sandbox","started_at":"2026-01-01T00:00:00Z"}';
    await server().run(`printf '%s\\n' '${holder}' > /opt/hello/.slipway/lock-holder.json`);
    const holding = server().run('flock /opt/hello/.slipway/deploy.lock sleep 4');
    await new Promise((r) => setTimeout(r, 1000));
    const result = await repo.cli('status', 'sandbox', '--json');
    await holding;
    const [host] = JSON.parse(result.stdout) as HostStatus[];
    expect(host!.lock).toEqual({ state: 'held', holder: JSON.parse(holder) });
  });

  it('env unset and env set --stdin change what the app sees after the restart; the value is never shown', async () => {
    expect((await fetchPage(server().address))?.secretSet).toBe(true);
    const unset = await repo.cli('env', 'unset', 'sandbox', 'HELLO_SECRET');
    expect(unset.code, unset.stderr).toBe(0);
    expect(unset.stdout).toBe('e2e-ops1: unset HELLO_SECRET; restarted hello-web.service, healthy\n');
    expect(unset.stderr).toContain('warning: the next deploy rewrites .env from the config: HELLO_SECRET will be written again');
    expect((await fetchPage(server().address))?.secretSet).toBe(false);
    expect((await processEnv(server())).HELLO_SECRET).toBeUndefined();

    const value = `rotated-${randomBytes(10).toString('hex')}`;
    const ps = sampleProcessList(server());
    await new Promise((r) => setTimeout(r, 300));
    const set = await slipwayWithInput(repo, ['env', 'set', 'sandbox', 'HELLO_SECRET', '--stdin'], `${value}\n`);
    const samples = await ps.stop();
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe('e2e-ops1: set HELLO_SECRET; restarted hello-web.service, healthy\n');
    expect((await fetchPage(server().address))?.secretSet).toBe(true);
    expect((await processEnv(server())).HELLO_SECRET).toBe(value);

    expect(samples.length).toBeGreaterThan(5);
    expect(samples.filter((s) => s.includes(value))).toEqual([]);
    expect(`${set.stdout}${set.stderr}`).not.toContain(value);
    expect(await repo.readLogs()).not.toContain(value);
    const file = await server().run('stat -c "%a %U %G" /opt/hello/shared/.env; ls /opt/hello/shared/ -A');
    expect(file.stdout).toBe('600 hello hello\n.env\n');
  });

  it('env set KEY=VALUE keeps quotes, $ and backslashes exactly; env list and env diff show key names only', async () => {
    const value = `a "quoted" $HOME \`x\` \\ 'b' ${randomBytes(6).toString('hex')}`;
    const ps = sampleProcessList(server());
    await new Promise((r) => setTimeout(r, 300));
    const set = await repo.cli('env', 'set', 'sandbox', `ODD=${value}`, 'GREETING=hi');
    const samples = await ps.stop();
    expect(set.code, set.stderr).toBe(0);
    // Not in any process's command line on the server while it ran, nor in any file but .env afterwards (the
    // lock holder's record names the key only).
    expect(samples.length).toBeGreaterThan(5);
    expect(samples.filter((s) => s.includes(value.slice(-12)))).toEqual([]);
    const holder = await server().run('cat /opt/hello/.slipway/lock-holder.json');
    expect(holder.stdout).toContain(' env set sandbox ODD=*** GREETING=***"');
    const files = await server().run(`grep -rlF ${value.slice(-12)} /opt/hello /tmp /var/tmp /root 2>/dev/null || true`);
    expect(files.stdout.trim()).toBe('/opt/hello/shared/.env');
    expect(set.stdout).toContain('e2e-ops1: set ODD GREETING; restarted hello-web.service, healthy');
    const env = await processEnv(server());
    expect(env.ODD).toBe(value);
    expect(env.GREETING).toBe('hi');
    expect(env.BIND).toBe('0.0.0.0');

    const list = await repo.cli('env', 'list', 'sandbox', '--json');
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      {
        host: 'e2e-ops1',
        file: 'present',
        keys: [
          { name: 'BIND', in_config: true },
          { name: 'GREETING', in_config: true },
          { name: 'HELLO_SECRET', in_config: true },
          { name: 'ODD', in_config: false },
        ],
      },
    ]);
    expect(list.stdout).not.toContain('0.0.0.0');

    expect((await repo.cli('env', 'unset', 'sandbox', 'GREETING')).code).toBe(0);
    const diff = await repo.cli('env', 'diff', 'sandbox', '--json');
    expect(JSON.parse(diff.stdout)).toEqual([{ host: 'e2e-ops1', file: 'present', missing_on_server: ['GREETING'], not_in_config: ['ODD'] }]);
    const text = await repo.cli('env', 'diff', 'sandbox');
    expect(text.stdout).toBe(
      'e2e-ops1:\n  in the config, missing on the server (the next deploy writes them): GREETING\n  on the server, not in the config (the next deploy removes them): ODD\n',
    );
  });

  it('a value that breaks the app: the health check fails, the previous .env comes back and the app serves again', async () => {
    const before = (await server().run('cat /opt/hello/shared/.env')).stdout;
    const failed = await repo.cli('env', 'set', 'sandbox', 'BIND=no.such.host.invalid');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('e2e-ops1: the previous .env is back and the app restarted with it');
    expect(failed.stderr).toMatch(/error: Check health: http:\/\/127\.0\.0\.1:8000\/health failed on e2e-ops1/);
    expect((await server().run('cat /opt/hello/shared/.env')).stdout).toBe(before);
    expect((await processEnv(server())).BIND).toBe('0.0.0.0');
    expect((await fetchPage(server().address))?.version).toBe('v1');
    // Every env change is in the server's history, with key names only.
    const history = await repo.cli('history', 'sandbox', '--json');
    const entries = (JSON.parse(history.stdout) as { entries: { action: string; result: string; keys?: string[] }[] }[])[0]!.entries;
    const changes = entries.filter((e) => e.action === 'env');
    expect(changes.at(-1)).toMatchObject({ action: 'env', result: 'rolled-back', keys: ['BIND'] });
    expect(changes.some((e) => e.result === 'ok' && e.keys?.includes('HELLO_SECRET'))).toBe(true);
    expect(history.stdout).not.toContain('no.such.host.invalid');
  });

  it('logs web -n 5: the last lines, each prefixed with host and process', async () => {
    const result = await repo.cli('logs', 'sandbox', 'web', '-n', '5');
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toMatch(/^e2e-ops1 web \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* e2e-ops1 /);
    const unknown = await repo.cli('logs', 'sandbox', 'cron');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error: no server runs a process cron (e2e-ops1: web)');
  });

  it('logs --json --since --grep: one JSON object per matching line of the last hour; no match is no line, not an error', async () => {
    const result = await repo.cli('logs', 'sandbox', 'web', '--json', '--since', '1h', '--grep', 'listening on');
    expect(result.code, result.stderr).toBe(0);
    const entries = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { host: string; process: string; time: string; message: string; unit?: string });
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) {
      expect(entry).toMatchObject({ host: 'e2e-ops1', process: 'web', message: expect.stringMatching(/^hello \S+ listening on http:/) });
      expect(Date.now() - Date.parse(entry.time)).toBeLessThan(3_600_000);
      expect(entry.unit).toMatch(/^hello-web/);
    }
    const none = await repo.cli('logs', 'sandbox', 'web', '--json', '--grep', 'no-such-words-zq9');
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toBe('');
    const bad = await repo.cli('logs', 'sandbox', '--since', 'last tuesday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --since "last tuesday": expected a span/);
  });

  it('logs -f prints new lines as they come and Ctrl-C ends it, leaving no journalctl on the server', async () => {
    const child = spawn(process.execPath, [CLI, '-c', repo.dir, 'logs', 'sandbox', '-f', '-n', '1'], { env: { ...process.env, HELLO_SECRET: SECRET } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const waitFor = async (text: string) => {
      const deadline = Date.now() + 15_000;
      while (!out.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return out.includes(text);
    };
    expect(await waitFor('e2e-ops1 web | ')).toBe(true);
    expect((await server().run('pgrep -c journalctl')).stdout.trim()).toBe('1');
    const marker = `/follow-${randomBytes(4).toString('hex')}`;
    await fetch(`http://${server().address}:8000${marker}`).catch(() => undefined);
    expect(await waitFor(`GET ${marker}`)).toBe(true);
    child.kill('SIGINT');
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 5000));
    expect(await Promise.race([exited, timeout])).toBe(130);
    await new Promise((r) => setTimeout(r, 500));
    expect((await server().run('pgrep -a journalctl || echo none')).stdout.trim()).toBe('none');
  });

  it('handoff between two commits that add a package, a migration, a static file and an env var lists them all', async () => {
    await writeFile(join(repo.dir, 'requirements.txt'), 'slipway-probe==1.0.0\n');
    await mkdir(join(repo.dir, 'notes', 'migrations'), { recursive: true });
    await writeFile(join(repo.dir, 'notes', 'migrations', '__init__.py'), '');
    await writeFile(join(repo.dir, 'notes', 'migrations', '0001_initial.py'), '# a migration\n');
    await mkdir(join(repo.dir, 'static'), { recursive: true });
    await writeFile(join(repo.dir, 'static', 'site.css'), 'body { color: teal }\n');
    const app = await readFile(join(repo.dir, 'app.py'), 'utf8');
    await writeFile(join(repo.dir, 'app.py'), app.replace('    port = int(', '    new_flag = os.environ.get("NEW_FLAG")\n    port = int('));
    await repo.commit('v2');

    const result = await repo.cli('handoff', 'sandbox');
    expect(result.code, result.stderr).toBe(0);
    const note = result.stdout;
    const { current } = (await releasesOn(repo))['e2e-ops1']!;
    expect(note).toMatch(/^# Handoff: deploy sandbox main \(\w{7}\) over (\w{7})\n/);
    expect(note).toContain(`(from: the current release on e2e-ops1)`);
    expect(current!.endsWith(/over (\w{7})/.exec(note)![1]!)).toBe(true);
    expect(note).toContain('- added `slipway-probe==1.0.0`');
    expect(note).toMatch(/- e2e-ops1, step \d+: Create venv \w+ and install dependencies/);
    expect(note).toContain('- `notes/migrations/0001_initial.py`');
    expect(note).not.toContain('`notes/migrations/__init__.py`');
    expect(note).toContain('- A `static/site.css`');
    expect(note).toMatch(/- `NEW_FLAG`: read with .*read in `app.py` \(new in this change\); not in the server .env, not in the config/);
    // The app becomes a Python app with a venv: its unit changes.
    expect(note).toContain('- e2e-ops1: `hello-web.service`');
    // The runbook of the same plan, with the secret redacted.
    expect(note).toContain('## Steps');
    expect(note).toMatch(/#### \d+\. Point current at /);
    expect(note).not.toContain(SECRET);

    // Between the same commits given explicitly, from a commit to itself: nothing to do.
    const head = (await repo.cli('handoff', 'sandbox', '--from', 'main')).stdout;
    expect(head).toContain('0 commit(s), 0 file(s) changed.');
    expect(head).toContain('No requirements changed.');
    expect(head).toContain('No new migrations.');
  });
});
