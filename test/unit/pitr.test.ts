// Point-in-time recovery (backups.pitr): the forced command of either side's pgBackRest key run by bash (with a
// stand-in pgbackrest), the stanza's configuration on each side, setup's items from facts (nothing to do once in
// place; archive_mode alone restarts PostgreSQL), and --to-time read as PostgreSQL's recovery target.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderCmd } from '../../src/ops/shell.js';
import { sha256 } from '../../src/ops/services.js';
import { targetTime } from '../../src/execute/pitr.js';
import { dbFiles, dbItems, foreignArchive, parsePitrFacts, repoFiles, repoItems, stanzaItem } from '../../src/plan/pitr.js';
import { authorizedRemoteLine, renderDbConf, renderPitrRemote, renderRepoConf, type PitrSpec } from '../../src/render/pitr.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-pitr-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const spec: PitrSpec = { stanza: 'shop', dbAddress: '10.0.0.5', dbPort: 22, repoAddress: '10.0.0.9', repoPort: 2222, pgPath: '/var/lib/postgresql/15/main', pgVersion: '15', retentionFull: 2, fullSchedule: 'weekly', diffSchedule: 'daily' };

describe('the forced command of a pgBackRest key', () => {
  const bin = join(scratch, 'bin');
  mkdirSync(bin);
  const script = join(scratch, 'remote.sh');
  // The stand-in prints what it was asked to run.
  writeFileSync(join(bin, 'pgbackrest'), '#!/bin/bash\necho "pgbackrest $*"\n');
  chmodSync(join(bin, 'pgbackrest'), 0o755);
  writeFileSync(script, renderPitrRemote('shop').replace('exec /usr/bin/pgbackrest', `exec ${bin}/pgbackrest`));
  const ask = (request: string) => spawnSync('bash', [script], { encoding: 'utf8', env: { PATH: process.env.PATH, SSH_ORIGINAL_COMMAND: request } });

  it('runs pgBackRest\'s remote for its stanza, with the words pgBackRest sent', () => {
    const remote = ask('/usr/bin/pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --exec-id=1-a --process=0 --remote-type=repo --stanza=shop archive-push:remote');
    expect(remote.status, remote.stderr).toBe(0);
    expect(remote.stdout).toBe('pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --exec-id=1-a --process=0 --remote-type=repo --stanza=shop archive-push:remote\n');
  });

  it('refuses a shell, another program, a command that is not a remote, another stanza', () => {
    for (const [request, message] of [
      ['cat /etc/shadow', "refused: this key runs pgBackRest's remote only"],
      ['', "refused: this key runs pgBackRest's remote only"],
      ['pgbackrest --stanza=shop restore', "refused: this key runs pgBackRest's remote only"],
      ['pgbackrest --stanza=shop backup:remote; rm -rf /', "refused: this key runs pgBackRest's remote only"],
      ['pgbackrest --stanza=other info:remote', 'refused: stanza shop only'],
    ]) {
      const answer = ask(request!);
      expect(answer.status, request).toBe(1);
      expect(answer.stderr, request).toBe(`${message}\n`);
    }
  });
});

describe('the stanza on each side', () => {
  it('the database server pushes to the repository host as its account, with its own config file there', () => {
    expect(renderDbConf(spec)).toBe(
      [
        '# Written by slipway setup (backups.pitr): changes here are replaced on the next `slipway setup`.',
        '[shop]',
        'pg1-path=/var/lib/postgresql/15/main',
        'repo1-host=10.0.0.9',
        'repo1-host-port=2222',
        'repo1-host-user=shop-pgbackrest',
        'repo1-host-config=/etc/pgbackrest/slipway-shop.conf',
        'cmd-ssh=/usr/local/lib/slipway/shop-pgbackrest-ssh.sh',
        'log-level-file=off',
        'log-level-console=warn',
        '',
      ].join('\n'),
    );
    expect(renderRepoConf(spec)).toContain('pg1-host=10.0.0.5\npg1-host-port=22\npg1-host-user=postgres\npg1-host-config=/etc/pgbackrest/slipway-shop.conf\n');
    expect(renderRepoConf(spec)).toContain('repo1-path=/var/lib/slipway/pgbackrest/shop/repo\nrepo1-retention-full=2\n');
  });
});

describe('setup items from facts', () => {
  const dbKey = 'ssh-ed25519 AAAAdb postgres';
  const repoKey = 'ssh-ed25519 AAAArepo account';
  const settings = ['pgsetting archive_mode on', 'pgsetting archive_command pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --stanza=shop archive-push %p', 'pgsetting archive_timeout 1min'];

  it('a database server already set up has nothing to do', () => {
    const files = dbFiles(spec, ['ssh-ed25519 AAAAhost']);
    const facts = parsePitrFacts(['installed', `pubkey ${dbKey}`, ...files.map((f) => `file ${sha256(f.text)} ${f.path}`), `authorized ${authorizedRemoteLine('shop', repoKey).trim()}`, 'pgpath /var/lib/postgresql/15/main', 'pgversion 150014', ...settings]);
    expect(facts.pg).toEqual({ path: '/var/lib/postgresql/15/main', version: '15', settings: { archive_mode: 'on', archive_command: 'pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --stanza=shop archive-push %p', archive_timeout: '1min' } });
    expect(dbItems(spec, repoKey, ['ssh-ed25519 AAAAhost'], facts).map((i) => [i.id, i.commands.length])).toEqual([['pitr-access', 0], ['pitr-archive', 0]]);
  });

  it('archive_mode off takes a restart of PostgreSQL; the other settings a reload', () => {
    const off = parsePitrFacts(['pgpath /d', 'pgversion 150000', 'pgsetting archive_mode off', 'pgsetting archive_command (disabled)', 'pgsetting archive_timeout 0']);
    const [, archive] = dbItems(spec, repoKey, [], off);
    expect(archive!.title).toBe('PostgreSQL archives its WAL to the repository host (archive_timeout 60 s): restarts PostgreSQL');
    expect(archive!.commands.map((c) => renderCmd(c)).join('\n')).toContain('systemctl restart postgresql');
    const timeout = parsePitrFacts(['pgpath /d', 'pgversion 150000', ...settings.slice(0, 2), 'pgsetting archive_timeout 5min']);
    const [, reload] = dbItems(spec, repoKey, [], timeout);
    const text = reload!.commands.map((c) => renderCmd(c)).join('\n');
    expect(text).toContain("ALTER SYSTEM SET archive_timeout = '\\''60'\\''");
    expect(text).not.toContain('archive_mode');
    expect(text).toContain('pg_reload_conf()');
    expect(text).not.toContain('systemctl restart');
  });

  it('a repository host with another database server\'s key rewrites the account\'s authorization', () => {
    const files = repoFiles(spec, ['ssh-ed25519 AAAAdbhost']);
    const timers = ['timer shop-pgbackrest-full.timer', 'timer shop-pgbackrest-diff.timer'];
    const facts = parsePitrFacts(['installed', 'account', `pubkey ${repoKey}`, ...files.map((f) => `file ${sha256(f.text)} ${f.path}`), `authorized ${authorizedRemoteLine('shop', dbKey).trim()}`, ...timers, 'stanza 0']);
    expect(repoItems(spec, dbKey, ['ssh-ed25519 AAAAdbhost'], facts).map((i) => [i.id, i.commands.length])).toEqual([['pitr-package', 0], ['pitr-account', 0], ['pitr-repo', 0]]);
    expect(repoItems(spec, 'ssh-ed25519 AAAAnewdb postgres', ['ssh-ed25519 AAAAdbhost'], facts)[1]!.commands.length).toBeGreaterThan(0);
    expect(stanzaItem('shop', facts).commands).toEqual([]);
    expect(stanzaItem('shop', { ...facts, stanza: 1 }).commands.map((c) => renderCmd(c))).toEqual([
      'env -C / runuser -u shop-pgbackrest -- pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --stanza=shop stanza-create',
      'env -C / runuser -u shop-pgbackrest -- pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --stanza=shop check',
      'env -C / runuser -u shop-pgbackrest -- pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --stanza=shop --type=full backup',
    ]);
  });
});

describe('--to-time', () => {
  it('is UTC unless a zone is given, and never in the future', () => {
    expect(targetTime('2026-12-01 10:15')).toBe('2026-12-01 10:15+00');
    expect(targetTime('2026-12-01T10:15:30.25Z')).toBe('2026-12-01 10:15:30.25+00');
    expect(targetTime('2026-12-01 10:15:30+01:00')).toBe('2026-12-01 10:15:30+01:00');
    expect(() => targetTime('yesterday')).toThrow('--to-time "yesterday" is not a time');
    expect(() => targetTime('2999-01-01 00:00')).toThrow('is in the future');
  });
});

describe('one archive per cluster', () => {
  it('finds an archive_command that is neither off nor this stanza\'s, which setup refuses to take over', () => {
    const ours = 'pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --stanza=shop archive-push %p';
    expect(foreignArchive('shop', { archive_command: ours })).toBeUndefined();
    expect(foreignArchive('shop', { archive_command: '(disabled)' })).toBeUndefined();
    expect(foreignArchive('shop', { archive_command: '' })).toBeUndefined();
    expect(foreignArchive('shop', undefined)).toBeUndefined();
    expect(foreignArchive('shop', { archive_command: 'pgbackrest --config=/etc/pgbackrest/slipway-blog.conf --stanza=blog archive-push %p' })).toBe('pgbackrest --config=/etc/pgbackrest/slipway-blog.conf --stanza=blog archive-push %p');
    expect(foreignArchive('shop', { archive_command: 'cp %p /mnt/wal/%f' })).toBe('cp %p /mnt/wal/%f');
  });
});
