// Off-server copies (backups.copy_to): the receiver (the backup account's forced command) and the copy script,
// both run by bash against temp directories, with a stand-in `ssh` that hands the request to the receiver as
// sshd would (SSH_ORIGINAL_COMMAND); setup's items from facts; the listing parsed; the recovery point chosen;
// the lost server replaced in the config.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { copyServerItems, copyServerFiles, copyState, destinationOf, parseCopies, parseCopyClientFacts, parseCopyServerFacts, copyClientItem, copyClientFiles } from '../../src/plan/backup-copies.js';
import { recoveryPoint, replaceServer } from '../../src/plan/recovery.js';
import { layoutFor } from '../../src/plan/layout.js';
import { authorizedKeyLine, renderCopyScript, renderExpireScript, renderReceiver, type CopyDestination } from '../../src/render/backup-copies.js';
import { sha256 } from '../../src/ops/services.js';
import { renderDrillScript, type DrillSpec } from '../../src/render/restore-drill.js';
import { testConfig } from './fixtures/config.js';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-copies-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const sum = (text: string) => createHash('sha256').update(text).digest('hex');
const layout = layoutFor(testConfig(), 'main');

describe('the receiver, the backup account\'s only command', () => {
  const dir = join(scratch, 'copies');
  const receiver = join(scratch, 'receive.sh');
  writeFileSync(receiver, renderReceiver('shop', dir));
  const ask = (request: string, input = '') => spawnSync('bash', [receiver], { input, encoding: 'utf8', env: { PATH: process.env.PATH, SSH_ORIGINAL_COMMAND: request } });
  beforeEach(() => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
  });

  it('stores a dump whole, under its name, with the checksum it was sent with, and lists it', () => {
    const stored = ask(`put 20261203T100000.000Z-manual.dump ${sum('rows')}`, 'rows');
    expect(stored.status, stored.stderr).toBe(0);
    expect(stored.stdout).toBe(`stored 20261203T100000.000Z-manual.dump ${sum('rows')}\n`);
    expect(readdirSync(dir).sort()).toEqual(['.lock', '20261203T100000.000Z-manual.dump', '20261203T100000.000Z-manual.dump.sha256']);
    expect(readFileSync(join(dir, '20261203T100000.000Z-manual.dump.sha256'), 'utf8')).toBe(`${sum('rows')}  20261203T100000.000Z-manual.dump\n`);
    expect((statSync(join(dir, '20261203T100000.000Z-manual.dump')).mode & 0o777).toString(8)).toBe('600');
    expect(ask('list').stdout).toMatch(new RegExp(`^copy 4 \\d+ ${sum('rows')} 20261203T100000\\.000Z-manual\\.dump\\n$`));
    expect(ask('get 20261203T100000.000Z-manual.dump').stdout).toBe('rows');
  });

  it('refuses what arrived with another checksum, and keeps nothing of it', () => {
    const broken = ask(`put a-manual.dump ${sum('rows')}`, 'rowz');
    expect(broken.status).toBe(1);
    expect(broken.stderr).toBe(`refused: a-manual.dump arrived with checksum ${sum('rowz')}, not ${sum('rows')}: not stored\n`);
    expect(readdirSync(dir)).toEqual(['.lock']);
  });

  it('never overwrites a copy; the same dump sent again is found stored', () => {
    ask(`put a-manual.dump ${sum('rows')}`, 'rows');
    expect(ask(`put a-manual.dump ${sum('rows')}`, 'rows').stdout).toBe(`have a-manual.dump ${sum('rows')}\n`);
    const other = ask(`put a-manual.dump ${sum('other')}`, 'other');
    expect(other.status).toBe(1);
    expect(other.stderr).toBe('refused: a-manual.dump exists with another checksum: a copy is never overwritten\n');
    expect(readFileSync(join(dir, 'a-manual.dump'), 'utf8')).toBe('rows');
  });

  it('refuses paths, other commands, and a shell', () => {
    for (const [request, message] of [
      ['cat /etc/passwd', 'refused: this key may only list, put, get and live (slipway backup copies)'],
      ['', 'refused: this key may only list, put, get and live (slipway backup copies)'],
      ['rm -rf /', 'refused: this key may only list, put, get and live (slipway backup copies)'],
      ['get ../secret.dump', 'refused: ../secret.dump is not a dump name'],
      ['get /etc/shadow', 'refused: /etc/shadow is not a dump name'],
      [`put ../x.dump ${sum('x')}`, 'refused: ../x.dump is not a dump name'],
      [`put x.dump.sha256 ${sum('x')}`, 'refused: x.dump.sha256 is not a dump name'],
      ['put x.dump notasum', 'refused: notasum is not a sha256 checksum'],
      ['get *.dump', 'refused: *.dump is not a dump name'],
      ['list extra', 'refused: list takes no arguments'],
      ['live ../r abc1234', 'refused: ../r is not a release id'],
    ]) {
      const answer = ask(request!, 'x');
      expect(answer.status, request).toBe(1);
      expect(answer.stderr, request).toBe(`${message}\n`);
    }
    expect(readdirSync(dir).filter((f) => f !== '.lock')).toEqual([]);
  });

  it('records the live release, which the listing reports', () => {
    expect(ask('live 20261203T100000.000Z-abc1234 abc1234def').status).toBe(0);
    expect(ask('list').stdout).toMatch(/^live 20261203T100000\.000Z-abc1234 abc1234def \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
  });
});

describe('the copy script on the database server', () => {
  const root = join(scratch, 'copy');
  const dumps = join(root, 'backups');
  const conf = join(root, 'conf');
  const bin = join(root, 'bin');
  const destination = (name: string, overrides: Partial<CopyDestination> = {}): CopyDestination => ({ kind: 'server', name, account: 'shop-backups', address: `${name}.test`, port: 22, dir: join(root, name), retentionDays: 30, ...overrides });
  const receivers = (names: string[]) => {
    for (const name of names) writeFileSync(join(root, `${name}.sh`), renderReceiver('shop', join(root, name)));
  };
  const run = (destinations: CopyDestination[]) => {
    const script = renderCopyScript({ dir: dumps, prefix: 'shop', current: join(root, 'current'), releasesMeta: join(root, 'meta'), destinations }).replaceAll('/etc/slipway/backup-copies/shop', conf);
    return spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}` } });
  };
  beforeEach(() => {
    rmSync(root, { recursive: true, force: true });
    for (const d of [dumps, conf, bin, join(root, 'a'), join(root, 'b'), join(root, 'meta', 'r1-abc1234')]) mkdirSync(d, { recursive: true });
    // sshd's part: the last word before the request is user@host; the host names the receiver to run.
    writeFileSync(join(bin, 'ssh'), '#!/bin/bash\nwhile [[ $1 != *@* ]]; do shift; done\nhost=${1#*@}; shift\n[ -f "' + root + '/${host%.test}.sh" ] || { echo "ssh: connect to host $host port 22: Connection refused" >&2; exit 255; }\nSSH_ORIGINAL_COMMAND="$*" exec bash "' + root + '/${host%.test}.sh"\n');
    chmodSync(join(bin, 'ssh'), 0o755);
    writeFileSync(join(dumps, '20261201T000000.000Z-timer.dump'), 'one');
    writeFileSync(join(dumps, '20261202T000000.000Z-manual.dump'), 'two');
    writeFileSync(join(dumps, '20261202T000000.000Z-manual.sql.gz'), 'plain');
    // A restore drill's fetched copy, hidden: never sent.
    writeFileSync(join(dumps, '.drill.dump'), 'drill');
  });

  it('sends every dump a copy server lacks, with its checksum, and nothing twice', () => {
    receivers(['a']);
    const first = run([destination('a')]);
    expect(first.status, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toBe(`copied 20261201T000000.000Z-timer.dump a ${sum('one')}\ncopied 20261202T000000.000Z-manual.dump a ${sum('two')}\n`);
    expect(readdirSync(join(root, 'a')).filter((f) => f.endsWith('.dump')).sort()).toEqual(['20261201T000000.000Z-timer.dump', '20261202T000000.000Z-manual.dump']);
    expect(run([destination('a')]).stdout).toBe('');
  });

  it('leaves out dumps older than the copy\'s retention (they would be expired there and sent again)', () => {
    receivers(['a']);
    spawnSync('touch', ['-d', '40 days ago', join(dumps, '20261201T000000.000Z-timer.dump')]);
    expect(run([destination('a')]).stdout).toBe(`copied 20261202T000000.000Z-manual.dump a ${sum('two')}\n`);
  });

  it('a copy server that cannot be reached fails the run (exit 3) after the others got their copies', () => {
    receivers(['b']);
    const result = run([destination('a'), destination('b')]);
    expect(result.status).toBe(3);
    expect(result.stdout.split('\n')).toEqual([
      'copy-failed a: cannot list the copies: ssh: connect to host a.test port 22: Connection refused',
      `copied 20261201T000000.000Z-timer.dump b ${sum('one')}`,
      `copied 20261202T000000.000Z-manual.dump b ${sum('two')}`,
      '',
    ]);
  });

  it('records the release live here, once', () => {
    receivers(['a']);
    spawnSync('ln', ['-s', join(root, 'releases', 'r1-abc1234'), join(root, 'current')]);
    writeFileSync(join(root, 'meta', 'r1-abc1234', 'manifest.json'), JSON.stringify({ id: 'r1-abc1234', sha: 'abc1234def5678' }, null, 2));
    expect(run([destination('a')]).status).toBe(0);
    expect(readFileSync(join(root, 'a', 'live'), 'utf8')).toMatch(/^r1-abc1234 abc1234def5678 \S+Z\n$/);
    expect(existsSync(join(root, 'a', '.live.partial'))).toBe(false);
  });
});

describe('the retention on the copy server', () => {
  it('deletes copies (and their checksums) older than the retention, never the newest', () => {
    const dir = join(scratch, 'expire');
    mkdirSync(dir, { recursive: true });
    for (const name of ['old.dump', 'old.dump.sha256', 'older.dump', 'older.dump.sha256', 'new.dump']) writeFileSync(join(dir, name), 'x');
    spawnSync('touch', ['-d', '100 days ago', join(dir, 'old.dump')]);
    spawnSync('touch', ['-d', '120 days ago', join(dir, 'older.dump')]);
    const result = spawnSync('bash', ['-c', renderExpireScript('shop', dir, 90)], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['new.dump']);
    // Alone and old, the newest stays.
    spawnSync('touch', ['-d', '100 days ago', join(dir, 'new.dump')]);
    spawnSync('bash', ['-c', renderExpireScript('shop', dir, 90)]);
    expect(readdirSync(dir)).toEqual(['new.dump']);
  });
});

describe('setup of the copies, from facts', () => {
  const d: CopyDestination = { kind: 'server', name: 'vault', account: 'shop-backups', address: '10.0.0.9', port: 22, dir: '/var/backups/slipway/shop', retentionDays: 90 };
  const key = 'ssh-ed25519 AAAAC3Nza shop on db1';

  it('a copy server with everything in place has nothing to do; a new key rewrites the account\'s authorized_keys', () => {
    const files = copyServerFiles('shop', d, key);
    const facts = parseCopyServerFacts([
      'account',
      'dir 700 shop-backups',
      ...[files.receiver, files.keys, ...files.retention].map((f) => `file ${sha256(f.text)} ${f.path}`),
      'timer',
      'hostkey ssh-ed25519 AAAAhost',
    ]);
    expect(facts.hostKeys).toEqual(['ssh-ed25519 AAAAhost']);
    expect(copyServerItems('shop', d, key, facts).map((i) => [i.id, i.commands.length])).toEqual([['copy-account', 0], ['copy-retention', 0]]);
    const replaced = copyServerItems('shop', d, 'ssh-ed25519 AAAAnew shop on db2', facts);
    expect(replaced[0]!.commands.length).toBeGreaterThan(0);
    expect(authorizedKeyLine('shop', key)).toBe('restrict,command="/usr/local/lib/slipway/shop-backup-receive.sh" ssh-ed25519 AAAAC3Nza shop on db1\n');
  });

  it('the database server knows each copy server by the host keys read over slipway\'s own connection', () => {
    const input = { layout, destinations: [d, { ...d, name: 'far', address: 'far.example', port: 2222 }] };
    const [known] = copyClientFiles(input, { vault: ['ssh-ed25519 AAAAv'], far: ['ssh-ed25519 AAAAf', 'ecdsa-sha2-nistp256 AAAAe'] });
    expect(known!.text).toBe('10.0.0.9 ssh-ed25519 AAAAv\n[far.example]:2222 ssh-ed25519 AAAAf\n[far.example]:2222 ecdsa-sha2-nistp256 AAAAe\n');
    const facts = parseCopyClientFacts(copyClientFiles(input, { vault: ['ssh-ed25519 AAAAv'], far: ['ssh-ed25519 AAAAf', 'ecdsa-sha2-nistp256 AAAAe'] }).map((f) => `file ${sha256(f.text)} ${f.path}`));
    expect(copyClientItem(input, { vault: ['ssh-ed25519 AAAAv'], far: ['ssh-ed25519 AAAAf', 'ecdsa-sha2-nistp256 AAAAe'] }, facts).commands).toEqual([]);
    expect(copyClientItem(input, { vault: ['ssh-ed25519 AAAAchanged'], far: [] }, facts).commands.length).toBeGreaterThan(0);
    expect(parseCopyClientFacts(['pubkey', 'ssh-ed25519 AAAAk c']).publicKey).toBe('ssh-ed25519 AAAAk c');
  });

  it('a copy server is reached at its address, else where slipway reaches it', () => {
    const target = { kind: 'ssh' as const, label: 'vault', roles: ['backup'], host: 'vault.example', port: 2200, hostKeyChecking: 'yes' as const, connectTimeout: 10 };
    expect(destinationOf({ host: 'vault.example', host_key_checking: 'yes', retention_days: 90, s3: { region: 'us-east-1' } }, target, layout)).toEqual({ kind: 'server', name: 'vault.example', account: 'shop-backups', address: 'vault.example', port: 2200, dir: '/var/backups/slipway/shop', retentionDays: 90 });
    expect(destinationOf({ name: 'v', host: 'vault.example', address: '10.1.1.1', path: '/srv/b', host_key_checking: 'yes', retention_days: 7, s3: { region: 'us-east-1' } }, { ...target, privateAddress: '10.0.0.2' }, layout)).toMatchObject({ name: 'v', address: '10.1.1.1', dir: '/srv/b', retentionDays: 7 });
  });
});

describe('copies listed', () => {
  it('parses copies, recomputed checksums and the live record; a changed checksum is damage', () => {
    const listing = parseCopies([
      `copy 10 1764756000 ${sum('a')} old-manual.dump`,
      `copy 12 1764759600 ${sum('b')} new-manual.dump`,
      `check ${sum('b')} new-manual.dump`,
      `check ${sum('x')} old-manual.dump`,
      'copy 3 1764759000 - stray.dump',
      'live r2-abc1234 abc1234ff 2026-12-03T10:00:00Z',
    ]);
    expect(listing.files.map((f) => [f.name, copyState(f)])).toEqual([['new-manual.dump', 'ok'], ['stray.dump', 'unchecked'], ['old-manual.dump', 'damaged']]);
    expect(listing.live).toEqual({ release: 'r2-abc1234', sha: 'abc1234ff', at: '2026-12-03T10:00:00Z' });
  });
});

describe('recovery', () => {
  const copies = [
    { name: 'a', listing: parseCopies([`copy 1 1764756000 ${sum('1')} 20261203T100000.000Z-manual.dump`, 'live r1-abc1234 abc1234 2026-12-03T09:00:00Z']) },
    { name: 'b', listing: parseCopies([`copy 1 1764759600 ${sum('2')} 20261203T110000.000Z-timer.dump`, 'live r2-def5678 def5678 2026-12-03T10:30:00Z']) },
  ];
  const resolve = (requested: string) => requested;

  it('takes the newest copy on any copy server, and the commit recorded live last', () => {
    expect(recoveryPoint(copies, { resolve })).toEqual({ from: 'b', backup: '20261203T110000.000Z-timer.dump', ref: 'def5678', refSource: 'release r2-def5678, live at 2026-12-03T10:30:00Z' });
    expect(recoveryPoint(copies, { resolve, ref: 'v1.2' })).toMatchObject({ ref: 'v1.2', refSource: '--ref' });
  });

  it('refuses with nothing to restore, or no commit to deploy', () => {
    expect(() => recoveryPoint([{ name: 'a', listing: { files: [] } }], { resolve })).toThrow('no copies on a: there is nothing to recover from');
    expect(() => recoveryPoint([{ name: 'a', listing: { files: copies[0]!.listing.files } }], { resolve })).toThrow('the copies hold no record of the live release');
  });

  it('puts the new server in the lost one\'s place: the database server, or the only one', () => {
    const config = testConfig();
    const one = replaceServer(config, { sandbox: 'fresh' });
    expect(one.config.servers).toEqual([{ ...config.servers[0], host: undefined, sandbox: 'fresh' }].map(({ host: _h, ...s }) => s));
    expect(one.edit).toBe(`servers[0] (${config.servers[0]!.host}): sandbox: fresh`);
    const several = { ...config, servers: [{ ...config.servers[0]!, host: 'web1' }, { ...config.servers[0]!, host: 'db1', roles: ['db'] }] };
    expect(replaceServer(several, { host: '10.0.0.5' })).toMatchObject({ index: 1, lost: 'db1', label: '10.0.0.5' });
    expect(() => replaceServer({ ...several, servers: [several.servers[0]!, { ...several.servers[0]!, host: 'web2' }] }, { host: 'x' })).toThrow('which server is lost?');
    expect(() => replaceServer(config, {})).toThrow('give the new server: --host <address> or --sandbox <name>');
  });
});

describe('the restore drill, run by bash with stand-ins for PostgreSQL\'s tools', () => {
  const root = join(scratch, 'drill');
  const dir = join(root, 'backups');
  const bin = join(root, 'bin');
  const tool = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  const spec = (overrides: Partial<DrillSpec> = {}): DrillSpec => ({ app: 'shop', env: 'prod', host: 'db1', prefix: 'shop', database: 'shop', dir, statePath: join(root, 'state'), envPath: join(root, 'drill.env'), ...overrides });
  const drill = (s: DrillSpec) => spawnSync('bash', ['-c', renderDrillScript(s)], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}` } });
  beforeEach(() => {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    mkdirSync(bin);
    tool('runuser', 'shift 3; exec "$@"');
    tool('createdb', 'exit 0');
    tool('dropdb', 'exit 0');
    // The dump holds two rows of public.visits; the restored database reports what ROWS says.
    tool('pg_restore', 'cat > /dev/null; if [[ " $* " == *" --data-only "* ]]; then printf "COPY public.visits (id) FROM stdin;\\n1\\n2\\n\\\\.\\n"; fi');
    tool('psql', 'cat > /dev/null; echo "public.visits ${ROWS:-2}"');
    tool('curl', `cat >> ${join(root, 'told')}; echo >> ${join(root, 'told')}`);
    writeFileSync(join(dir, '20261201T000000.000Z-timer.dump'), 'old');
    writeFileSync(join(dir, '20261202T000000.000Z-manual.dump'), 'new');
    spawnSync('touch', ['-d', '1 day ago', join(dir, '20261201T000000.000Z-timer.dump')]);
  });

  it('restores the newest dump, compares every table, records the result and tells the drill webhooks', () => {
    writeFileSync(join(root, 'drill.env'), 'HOOK_0=\'json drill https://hooks.test/x\'\nHOOKS=1\n');
    const result = drill(spec());
    expect(result.status, result.stderr + result.stdout).toBe(0);
    expect(readFileSync(join(root, 'state'), 'utf8')).toMatch(/^ok \S+Z 20261202T000000\.000Z-manual\.dump local 20261202T000000\.000Z-manual\.dump from local: 1 tables, 2 rows restored, as in the dump\n$/);
    expect(JSON.parse(readFileSync(join(root, 'told'), 'utf8'))).toMatchObject({ event: 'drill', app: 'shop', env: 'prod', host: 'db1', text: 'shop prod on db1: restore drill ok: 20261202T000000.000Z-manual.dump from local: 1 tables, 2 rows restored, as in the dump' });
    expect(readdirSync(dir).filter((f) => !f.startsWith('.drill.lock')).sort()).toEqual(['20261201T000000.000Z-timer.dump', '20261202T000000.000Z-manual.dump']);
  });

  it('a restore that does not hold what the dump holds fails the drill (and its unit)', () => {
    const result = spawnSync('bash', ['-c', renderDrillScript(spec())], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}`, ROWS: '1' } });
    expect(result.status).toBe(1);
    expect(readFileSync(join(root, 'state'), 'utf8')).toMatch(/^failed \S+ 20261202T000000\.000Z-manual\.dump local 20261202T000000\.000Z-manual\.dump from local: public\.visits: 2 rows in the dump, 1 restored\n$/);
  });

  it('with copies, drills the newest copy the copy script fetched, and fails when it could not', () => {
    const copy = join(bin, 'copy.sh');
    writeFileSync(copy, '#!/bin/bash\n[ "$1" = newest ] || exit 2\nprintf x > "$2"\necho "fetched 20261203T000000.000Z-timer.dump vault"\n');
    chmodSync(copy, 0o755);
    expect(drill(spec({ copyScript: copy })).status).toBe(0);
    expect(readFileSync(join(root, 'state'), 'utf8')).toMatch(/^ok \S+ 20261203T000000\.000Z-timer\.dump vault /);
    writeFileSync(copy, '#!/bin/bash\necho "the copy of a.dump on vault is damaged: its checksum is 1, recorded 2"\nexit 1\n');
    expect(drill(spec({ copyScript: copy })).status).toBe(1);
    expect(readFileSync(join(root, 'state'), 'utf8')).toMatch(/^failed \S+ - - the copy of a\.dump on vault is damaged: its checksum is 1, recorded 2\n$/);
  });
});
