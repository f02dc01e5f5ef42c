// The facts probe and the health probe run by a real shell against a temp directory and a fake curl:
// local, fast, and the only proof that the text the builders make does what the parser and planner expect.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { healthProbe } from '../../src/ops/health.js';
import { factsProbe } from '../../src/ops/probe.js';
import { parseFacts } from '../../src/plan/facts.js';
import { layoutFor } from '../../src/plan/layout.js';
import { testConfig } from './fixtures/config.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-host-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const bash = (script: string, env: NodeJS.ProcessEnv = {}) => spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: scratch, env: { PATH: process.env.PATH, ...env } });
const git = (...args: string[]) =>
  execFileSync('git', args, { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).trim();

describe('facts probe on a real directory', () => {
  // A project name no real host has, so host-wide facts (app user, unit files) are predictably absent.
  const config = testConfig({ project: { name: 'zz-slipway-probe-test' }, base_path: join(scratch, 'base') });
  const layout = layoutFor(config, 'main');

  it('reports nothing about the app on a host that never saw it', () => {
    const result = bash(factsProbe(layout, 'a'.repeat(40)).shell);
    expect(result.status).toBe(0);
    const facts = parseFacts(result.stdout);
    expect(facts).toMatchObject({ releases: [], hasRepo: false, hasCommit: false, units: {}, appUser: false });
    expect(facts.current).toBeUndefined();
  });

  it('reads current, every release with its status and manifest, the repo and the commit', () => {
    const source = join(scratch, 'src');
    git('init', '-q', source);
    git('-C', source, 'commit', '-q', '--allow-empty', '-m', 'one');
    const sha = git('-C', source, 'rev-parse', 'HEAD');
    git('clone', '-q', '--bare', source, layout.repo);
    const manifest = { id: 'R1', sha, ref: 'main', config_hash: 'h', deployed_by: 'me@x', created_at: 't' };
    for (const [id, status] of [['R1', 'ok'], ['R2', 'bad'], ['R3', null]] as const) {
      mkdirSync(join(layout.releases, id), { recursive: true });
      mkdirSync(join(layout.meta, 'releases', id), { recursive: true });
      if (status) writeFileSync(join(layout.meta, 'releases', id, 'status'), `${status}\n`);
    }
    writeFileSync(join(layout.meta, 'releases', 'R1', 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    symlinkSync(join(layout.releases, 'R2'), layout.current);

    const result = bash(factsProbe(layout, sha).shell);
    expect(result.status).toBe(0);
    const facts = parseFacts(result.stdout);
    expect(facts).toMatchObject({
      current: 'R2',
      releases: [
        { id: 'R1', status: 'ok', manifest },
        { id: 'R2', status: 'bad' },
        { id: 'R3', status: 'unknown' },
      ],
      hasRepo: true,
      hasCommit: true,
      units: {},
      appUser: false,
    });
    expect(facts.commits).toEqual([sha]);
    expect(parseFacts(bash(factsProbe(layout, 'b'.repeat(40)).shell).stdout).hasCommit).toBe(false);
  });

  it('lists the releases\' commits the cached repo holds, for a pack to leave out, and not those it lacks', () => {
    const source = join(scratch, 'src');
    git('-C', source, 'commit', '-q', '--allow-empty', '-m', 'two');
    const second = git('-C', source, 'rev-parse', 'HEAD');
    const first = git('-C', source, 'rev-parse', 'HEAD~1');
    git('-C', source, 'push', '-q', layout.repo, `${second}:refs/slipway/R3`);
    const missing = 'c'.repeat(40);
    const manifest = (id: string, sha: string) => `${JSON.stringify({ id, sha, ref: 'main', config_hash: 'h', deployed_by: 'me@x', created_at: 't' }, null, 2)}\n`;
    writeFileSync(join(layout.meta, 'releases', 'R2', 'manifest.json'), manifest('R2', missing));
    writeFileSync(join(layout.meta, 'releases', 'R3', 'manifest.json'), manifest('R3', second));
    const facts = parseFacts(bash(factsProbe(layout, 'd'.repeat(40)).shell).stdout);
    expect(facts.hasCommit).toBe(false);
    expect(facts.commits?.sort()).toEqual([first, second].sort());
  });

  it('hashes the files asked about, whatever their names, and skips missing ones', () => {
    const odd = join(scratch, 'site$(touch${IFS}pwned)`id`.conf');
    writeFileSync(odd, 'server {}\n');
    const result = bash(factsProbe(layout, undefined, { files: [odd, join(scratch, 'missing.conf')] }).shell);
    expect(result.status).toBe(0);
    expect(parseFacts(result.stdout).files).toEqual({ [odd]: createHash('sha256').update('server {}\n').digest('hex') });
    expect(existsSync(join(scratch, 'pwned'))).toBe(false);
  });
});

describe('health probe with a fake curl', () => {
  const bin = join(scratch, 'bin');
  mkdirSync(bin, { recursive: true });
  // Answers the codes in $CODES one per call (the last one forever), counting calls in $CALLS.
  writeFileSync(
    join(bin, 'curl'),
    '#!/bin/sh\nn=$(cat "$CALLS" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$CALLS"\ncode=$(sed -n "${n}p" "$CODES"); [ -n "$code" ] || code=$(tail -n 1 "$CODES")\nprintf %s "$code"\n',
  );
  chmodSync(join(bin, 'curl'), 0o755);

  function probe(codes: string[], url = 'http://127.0.0.1:8000/health', retries = 4) {
    const dir = mkdtempSync(join(scratch, 'h-'));
    writeFileSync(join(dir, 'codes'), `${codes.join('\n')}\n`);
    const result = bash(healthProbe({ url, expectedStatus: 200, timeoutSeconds: 1, retries }).shell, {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      CODES: join(dir, 'codes'),
      CALLS: join(dir, 'calls'),
    });
    const calls = Number(execFileSync('cat', [join(dir, 'calls')], { encoding: 'utf8' }).trim());
    return { status: result.status, stdout: result.stdout, calls, dir };
  }

  it('passes at once on the expected status', () => {
    expect(probe(['200'])).toMatchObject({ status: 0, stdout: '', calls: 1 });
  });

  it('retries until the app answers', () => {
    expect(probe(['000', '502', '200'])).toMatchObject({ status: 0, calls: 3 });
  });

  it('gives up after `retries` attempts and says what it got', () => {
    expect(probe(['503'], 'http://127.0.0.1:8000/health', 3)).toMatchObject({ status: 1, stdout: 'health check failed: http://127.0.0.1:8000/health answered 503, expected 200\n', calls: 3 });
    expect(probe(['503'], 'http://127.0.0.1:8000/health', 1)).toMatchObject({ status: 1, calls: 1 });
  });

  it('prints a hostile path literally and never runs it', () => {
    const marker = join(scratch, 'pwned');
    const url = `http://127.0.0.1:8000/$(touch ${marker})"\`touch ${marker}\`'`;
    const result = probe(['500'], url, 2);
    expect(result.stdout).toBe(`health check failed: ${url} answered 500, expected 200\n`);
    expect(existsSync(marker)).toBe(false);
  });
});
