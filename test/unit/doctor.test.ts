// doctor: the probe's output parsed, each check judged from fake facts (with its fix), and the probe itself run
// by bash on this machine.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { doctorReport } from '../../src/cli/doctor-command.js';
import { doctorProbe } from '../../src/ops/doctor-probe.js';
import { judgeHost, parseDoctorFacts, type DoctorFacts, type DoctorInput } from '../../src/plan/doctor.js';

const NOW = 1_800_000_000;
const input: DoctorInput = {
  env: 'prod',
  basePath: '/opt',
  source: { mode: 'push' },
  packages: ['python3-venv', 'postgresql'],
  commands: ['bash', 'git', 'tar', 'curl', 'flock'],
  needsSystemd: true,
  processManager: 'systemd',
  localClock: NOW,
};
const healthy: DoctorFacts = {
  user: 'root',
  uid: 0,
  disk: { totalKb: 20 * 1024 * 1024, availableKb: 10 * 1024 * 1024, mount: '/' },
  clock: NOW + 1,
  systemd: true,
  dpkg: true,
  commands: ['bash', 'git', 'tar', 'curl', 'flock'],
  packages: ['python3-venv', 'postgresql'],
};
const byName = (facts: DoctorFacts, overrides: Partial<DoctorInput> = {}) => Object.fromEntries(judgeHost(facts, { ...input, ...overrides }).map((c) => [c.name, c]));

describe('doctor checks of a Node app', () => {
  const deployer = { version: '20.20.2', binary: '/usr/bin/node', machine: 'x86_64', standalone: true };
  it('the server\'s own Node when its major fits, this machine\'s copied when not, and what to do when neither', () => {
    expect(byName({ ...healthy, nodeSystem: '18.19.0', machine: 'x86_64' }, { node: { wanted: '18', deployer } }).node).toEqual({ name: 'node', status: 'ok', detail: "the server's Node 18.19.0 runs the app" });
    expect(byName({ ...healthy, nodeSystem: '18.19.0', machine: 'x86_64' }, { node: { wanted: '20', deployer } }).node).toEqual({ name: 'node', status: 'ok', detail: "the server has Node 18.19.0: a deploy copies this machine's Node 20.20.2 to the app" });
    expect(byName({ ...healthy, nodeSystem: '18.19.0', machine: 'x86_64' }, { node: { wanted: '22', deployer } }).node).toMatchObject({ status: 'fail', detail: 'project.node_version 22: the server has Node 18.19.0 and this machine runs Node 20.20.2', fix: expect.stringContaining('install Node 22 on the server') });
    expect(byName(healthy).node).toBeUndefined();
    expect(parseDoctorFacts('node-system v18.19.0\nmachine aarch64\n')).toMatchObject({ nodeSystem: '18.19.0', machine: 'aarch64' });
  });
});

describe('doctor checks', () => {
  it('a healthy server: every check ok, none with a fix', () => {
    expect(judgeHost(healthy, input)).toEqual([
      { name: 'sudo', status: 'ok', detail: 'logged in as root' },
      { name: 'disk', status: 'ok', detail: '10.0 GB free on / (50 %)' },
      { name: 'git access', status: 'ok', detail: 'git is installed (slipway sends the code over its SSH connection)' },
      { name: 'programs', status: 'ok', detail: 'bash, git, tar, curl, flock found' },
      { name: 'packages', status: 'ok', detail: 'python3-venv, postgresql installed' },
      { name: 'clock', status: 'ok', detail: 'in step with this machine' },
      { name: 'systemd', status: 'ok', detail: 'systemd runs the server' },
    ]);
  });

  it('sudo: a non-root user needs it without a password', () => {
    expect(byName({ ...healthy, user: 'deploy', uid: 1000, sudo: true }).sudo).toEqual({ name: 'sudo', status: 'ok', detail: 'deploy has passwordless sudo' });
    expect(byName({ ...healthy, user: 'deploy', uid: 1000, sudo: false }).sudo).toEqual({
      name: 'sudo',
      status: 'fail',
      detail: 'deploy cannot run sudo without a password',
      fix: "as root on the server: echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy",
    });
  });

  it('memory: a warning under a tenth available, and the facts line read back', () => {
    expect(byName({ ...healthy, memory: { totalKb: 4 * 1024 * 1024, availableKb: 2 * 1024 * 1024 } }).memory).toMatchObject({ status: 'ok', detail: '2.0 GB of 4.0 GB available (50 %)' });
    expect(byName({ ...healthy, memory: { totalKb: 4 * 1024 * 1024, availableKb: 300 * 1024 } }).memory).toMatchObject({ status: 'warn', detail: '0.3 GB of 4.0 GB available (7 %)' });
    expect(byName({ ...healthy, memory: { totalKb: 4 * 1024 * 1024, availableKb: 300 * 1024 } }).memory!.fix).toContain('two web slots');
    expect(parseDoctorFacts('memory 4194304 307200\n').memory).toEqual({ totalKb: 4194304, availableKb: 307200 });
    expect(parseDoctorFacts('memory 4194304\n').memory).toBeUndefined();
  });

  it('disk: a warning under 1 GB or under 10 %', () => {
    expect(byName({ ...healthy, disk: { totalKb: 100 * 1024 * 1024, availableKb: 900 * 1024, mount: '/srv' } }).disk).toMatchObject({ status: 'warn', detail: '0.9 GB free on /srv (1 %)' });
    expect(byName({ ...healthy, disk: { totalKb: 200 * 1024 * 1024, availableKb: 15 * 1024 * 1024, mount: '/' } }).disk).toMatchObject({ status: 'warn', detail: '15.0 GB free on / (8 %)' });
    expect(byName({ ...healthy, disk: { totalKb: 200 * 1024 * 1024, availableKb: 15 * 1024 * 1024, mount: '/' } }).disk!.fix).toContain('keep_releases');
  });

  it('git access: fetch mode needs the server to read the repository', () => {
    const fetch = { source: { mode: 'fetch' as const, url: 'git@github.com:acme/shop.git' } };
    expect(byName({ ...healthy, gitRemote: { ok: true } }, fetch)['git access']).toEqual({ name: 'git access', status: 'ok', detail: 'the server can read git@github.com:acme/shop.git' });
    const failed = byName({ ...healthy, gitRemote: { ok: false, error: 'Host key verification failed.' } }, fetch)['git access']!;
    expect(failed).toMatchObject({ status: 'fail', detail: 'the server cannot read git@github.com:acme/shop.git: Host key verification failed.' });
    expect(failed.fix).toContain('deploy key');
    expect(byName({ ...healthy, commands: ['bash', 'tar', 'curl', 'flock'] })['git access']).toMatchObject({ status: 'fail', detail: 'git is not installed' });
  });

  it('programs fail, packages warn (a deploy installs them), clock skew warns, systemd fails only for apps with processes', () => {
    const checks = byName({ ...healthy, commands: ['bash', 'git', 'tar'], packages: [], clock: NOW - 95, systemd: false });
    expect(checks.programs).toEqual({ name: 'programs', status: 'fail', detail: 'missing: curl, flock', fix: 'apt-get install curl util-linux' });
    expect(checks.packages).toMatchObject({ status: 'warn', fix: 'slipway setup prod, or apt-get install python3-venv postgresql' });
    expect(checks.clock).toMatchObject({ status: 'warn', detail: '95 s behind this machine' });
    expect(checks.systemd).toMatchObject({ status: 'fail' });
    expect(byName({ ...healthy, systemd: false }, { needsSystemd: false }).systemd!.status).toBe('warn');
    expect(byName({ ...healthy, clock: NOW + 30 }).clock).toMatchObject({ status: 'ok', detail: '30 s ahead of this machine' });
  });

  it('prints a fix under each problem', () => {
    const report = doctorReport([{ host: 'web1', checks: [{ name: 'ssh', status: 'fail', detail: 'could not start a session', fix: 'check ssh' }, { name: 'disk', status: 'ok', detail: 'fine' }] }]);
    expect(report).toBe(['web1  FAIL  ssh   could not start a session', '                  fix: check ssh', 'web1  ok    disk  fine'].join('\n'));
  });
});

describe('doctor probe', () => {
  it('parses its lines', () => {
    expect(parseDoctorFacts(['user deploy 1000', 'sudo no', 'disk 1000 500 /srv', 'clock 123', 'flag systemd', 'flag dpkg', 'command git', 'package nginx', 'git-remote fail fatal: could not read'].join('\n'))).toEqual({
      user: 'deploy',
      uid: 1000,
      sudo: false,
      disk: { totalKb: 1000, availableKb: 500, mount: '/srv' },
      clock: 123,
      systemd: true,
      dpkg: true,
      commands: ['git'],
      packages: ['nginx'],
      gitRemote: { ok: false, error: 'fatal: could not read' },
    });
  });

  it('runs read-only on this machine: a base path that does not exist yet is measured on its parent', () => {
    const probe = doctorProbe({ basePath: '/nonexistent-slipway/deep/opt', packages: [], commands: ['bash', 'no-such-program-xyz'], fetchUrl: '/nonexistent-slipway/repo.git' });
    const result = spawnSync('bash', ['-c', probe.shell], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    const facts = parseDoctorFacts(result.stdout);
    expect(facts.disk?.mount).toBe(spawnSync('df', ['-P', '/'], { encoding: 'utf8' }).stdout.split('\n')[1]!.split(/\s+/).pop());
    expect(facts.commands).toEqual(['bash']);
    expect(Math.abs(facts.clock! - Date.now() / 1000)).toBeLessThan(5);
    expect(facts.gitRemote).toMatchObject({ ok: false, error: expect.stringContaining('/nonexistent-slipway/repo.git') });
  });
});

describe('doctor: the WAL archive of backups.pitr', () => {
  const command = 'pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --stanza=shop archive-push %p';
  const wanted = { walArchive: { command, stanza: 'shop' } };
  const archive = (lines: string[]) => parseDoctorFacts(lines.join('\n')).walArchive;

  it('reads archive_command and the archiver counts', () => {
    expect(archive([`wal-archive ${command}`, `wal-stats 3 ${NOW - 30} ${NOW - 600} 000000010000000000000007`])).toEqual({ command, failed: 3, lastArchived: NOW - 30, lastFailed: NOW - 600, lastFailedWal: '000000010000000000000007' });
    expect(archive(['wal-archive-unreadable'])).toBe('unreadable');
  });

  it('is ok while the last attempt succeeded, whenever it was (an idle database archives nothing)', () => {
    expect(byName({ ...healthy, walArchive: archive([`wal-archive ${command}`, `wal-stats 3 ${NOW - 30} ${NOW - 600} 0007`]) }, wanted)['wal archive']).toEqual({ name: 'wal archive', status: 'ok', detail: 'WAL archived with pgBackRest, the last segment 30 s ago' });
    expect(byName({ ...healthy, walArchive: archive([`wal-archive ${command}`, 'wal-stats 0 0 0 -']) }, wanted)['wal archive']!.detail).toBe('WAL archiving with pgBackRest is on (no segment archived yet)');
  });

  it('fails while archiving fails, and when PostgreSQL archives with another command or none', () => {
    const failing = byName({ ...healthy, walArchive: archive([`wal-archive ${command}`, `wal-stats 12 ${NOW - 7200} ${NOW - 5} 00000001000000000000000C`]) }, wanted)['wal archive']!;
    expect(failing.status).toBe('fail');
    expect(failing.detail).toBe('archiving fails: 00000001000000000000000C failed 5 s ago (12 failures so far), the last segment archived 2 h ago; WAL piles up on the server until it succeeds');
    expect(failing.fix).toContain('pgbackrest --config=/etc/pgbackrest/slipway-shop.conf --stanza=shop check');
    const other = byName({ ...healthy, walArchive: archive(['wal-archive cp %p /mnt/wal/%f']) }, wanted)['wal archive']!;
    expect(other).toMatchObject({ status: 'fail', fix: 'slipway setup prod' });
    expect(other.detail).toContain('(archive_command: cp %p /mnt/wal/%f)');
    expect(byName({ ...healthy, walArchive: 'unreadable' }, wanted)['wal archive']!.status).toBe('warn');
    // Not asked for (no pitr, or not the database's server): no check.
    expect(byName({ ...healthy, walArchive: 'unreadable' })['wal archive']).toBeUndefined();
  });
});
