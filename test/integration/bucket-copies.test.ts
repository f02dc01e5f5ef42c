// Copies in an S3-compatible bucket (backups.copy_to with s3): the copy script, run by bash as on a database
// server, against s3rver (an S3-compatible server from npm) on 127.0.0.1, through curl's AWS signature v4. Dumps
// sent once each with their sha256 recorded and the bucket's MD5 checked, listed, read back only when whole,
// a damaged object found by its checksum, old copies expired (never the newest), the live release recorded.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bucketCredentials, bucketOf, type CopyEntry } from '../../src/plan/backup-copies.js';
import { layoutFor } from '../../src/plan/layout.js';
import { renderCopyScript } from '../../src/render/backup-copies.js';
import { testConfig } from '../unit/fixtures/config.js';

const root = mkdtempSync(join(tmpdir(), 'slipway-bucket-'));
const store = join(root, 's3');
const dumps = join(root, 'backups');
const conf = join(root, 'conf');
const sum = (text: string) => createHash('sha256').update(text).digest('hex');
let server: S3rver;
let endpoint = '';

beforeAll(async () => {
  mkdirSync(store);
  server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: store, configureBuckets: [{ name: 'shop-backups', configs: [] }] });
  const address = await server.run();
  endpoint = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const layout = layoutFor(testConfig(), 'main');
const entry = (): CopyEntry => ({ host_key_checking: 'yes', retention_days: 30, s3: { endpoint, bucket: 'shop-backups', region: 'us-east-1', access_key_id: 'S3RVER', secret_access_key: 'S3RVER' } });
/** The copy script with its files under the temp dir instead of /etc/slipway/backup-copies/shop. */
function script(): string {
  const bucket = bucketOf(entry(), layout);
  const credentials = bucketCredentials(entry(), layout);
  writeFileSync(join(conf, credentials.path.split('/').pop()!), credentials.text, { mode: 0o600 });
  return renderCopyScript({ dir: dumps, prefix: 'shop', current: join(root, 'current'), releasesMeta: join(root, 'meta'), destinations: [bucket] }).replaceAll('/etc/slipway/backup-copies/shop', conf);
}
/** bash with the script, asynchronously: s3rver answers from this process's event loop. */
function bash(text: string, args: string[] = []): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', text, 'copy.sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}
const run = (...args: string[]) => bash(script(), args);
const stored = (name: string) => join(store, 'shop-backups', 'shop', `${name}._S3rver_object`);

describe('copies in a bucket', () => {
  beforeEach(() => {
    for (const dir of [dumps, conf, join(root, 'meta', 'r1-abc1234')]) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
    }
    writeFileSync(join(dumps, '20261201T000000.000Z-timer.dump'), 'one');
    writeFileSync(join(dumps, '20261202T000000.000Z-manual.dump'), 'two');
  });

  it('sends each dump once, with its sha256 recorded and the MD5 the bucket reports checked, and lists them', async () => {
    const first = await run();
    expect(first.status, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toBe(`copied 20261201T000000.000Z-timer.dump shop-backups ${sum('one')}\ncopied 20261202T000000.000Z-manual.dump shop-backups ${sum('two')}\n`);
    expect(readFileSync(stored('20261202T000000.000Z-manual.dump'), 'utf8')).toBe('two');
    expect((await run()).stdout).toBe('');
    const listed = await run('list', 'shop-backups');
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^copy 3 \\d+ ${sum('one')} 20261201T000000\\.000Z-timer\\.dump\\ncopy 3 \\d+ ${sum('two')} 20261202T000000\\.000Z-manual\\.dump\\n$`));
  });

  it('reads a copy back only when its checksum is the recorded one; check finds a damaged object', async () => {
    await run();
    const into = join(root, 'fetched.dump');
    const fetched = await run('get', 'shop-backups', '20261202T000000.000Z-manual.dump', into);
    expect(fetched.status, fetched.stderr + fetched.stdout).toBe(0);
    expect(readFileSync(into, 'utf8')).toBe('two');
    writeFileSync(stored('20261202T000000.000Z-manual.dump'), 'twX');
    const damaged = await run('get', 'shop-backups', '20261202T000000.000Z-manual.dump', join(root, 'again.dump'));
    expect(damaged.status).toBe(1);
    expect(damaged.stdout).toBe(`the copy of 20261202T000000.000Z-manual.dump on shop-backups is damaged: its checksum is ${sum('twX')}, recorded ${sum('two')}\n`);
    expect(readdirSync(root)).not.toContain('again.dump');
    expect((await run('check', 'shop-backups')).stdout).toContain(`check ${sum('twX')} 20261202T000000.000Z-manual.dump`);
    // The newest on the first destination, for the restore drill.
    expect((await run('newest', join(root, 'drill.dump'))).stdout).toBe('the copy of 20261202T000000.000Z-manual.dump on shop-backups is damaged: its checksum is ' + `${sum('twX')}, recorded ${sum('two')}\n`);
  });

  it('expires copies older than the retention, never the newest; records the live release', async () => {
    await run();
    const old = new Date(Date.now() - 40 * 86400_000);
    utimesSync(stored('20261201T000000.000Z-timer.dump'), old, old);
    rmSync(join(dumps, '20261201T000000.000Z-timer.dump'));
    spawnSync('ln', ['-s', join(root, 'releases', 'r1-abc1234'), join(root, 'current')]);
    writeFileSync(join(root, 'meta', 'r1-abc1234', 'manifest.json'), JSON.stringify({ sha: 'abc1234def' }, null, 2));
    const again = await run();
    expect(again.status, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).toBe('expired 20261201T000000.000Z-timer.dump\n');
    const listed = (await run('list', 'shop-backups')).stdout;
    expect(listed).not.toContain('20261201T000000.000Z-timer.dump');
    expect(listed).toMatch(/^live r1-abc1234 abc1234def \S+Z$/m);
    rmSync(join(root, 'current'));
  });

  it('credentials the bucket refuses fail the copy (exit 3) with the service\'s words', async () => {
    const script = renderCopyScript({ dir: dumps, prefix: 'shop', current: join(root, 'current'), releasesMeta: join(root, 'meta'), destinations: [bucketOf(entry(), layout)] }).replaceAll('/etc/slipway/backup-copies/shop', conf);
    writeFileSync(join(conf, 's3-shop-backups.curl'), 'user = "NOBODY:wrong"\n');
    const result = await bash(script);
    expect(result.status).toBe(3);
    expect(result.stdout).toMatch(/^copy-failed shop-backups: cannot list the copies: InvalidAccessKeyId: /m);
  });
});
