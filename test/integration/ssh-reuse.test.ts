// ssh.reuse_seconds against a real sshd on 127.0.0.1: the first command leaves its connection open, the next one
// rides on it (no new connection to sshd), a master told to exit is replaced, a master whose server stopped
// answering is given up on and replaced, and 0 keeps nothing open.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedControlDir } from '../../src/execute/ssh-control.js';
import { cli, makeProject, type Project } from './helpers/project.js';
import { sshdServerLines, startSshd, type LocalSshd } from './helpers/sshd.js';

let sshd: LocalSshd;
let project: Project;
let dir: string;

/** The shared masters to this test's sshd. */
const masters = () => readdirSync(dir).filter((name) => name.startsWith(`root@127.0.0.1:${sshd.port}.`));
/** Established TCP connections to this test's sshd, counted on the server side. */
const connections = () => execFileSync('ss', ['-Htn', 'state', 'established', `( sport = :${sshd.port} )`], { encoding: 'utf8' }).split('\n').filter(Boolean).length;

function configure(reuseSeconds: number): void {
  project.writeConfig(
    'deploy-dev.yml',
    [
      'project:',
      '  name: shop',
      'servers:',
      ...sshdServerLines(sshd),
      `base_path: ${project.basePath}`,
      'ssh:',
      `  reuse_seconds: ${reuseSeconds}`,
      '',
    ].join('\n'),
  );
}

/** Every process below the test's sshd: the server side of each connection to it (its listener excluded). */
function connectionProcesses(): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = (() => {
      try {
        return readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        return undefined; // exited meanwhile
      }
    })();
    if (stat) parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const below = new Set([sshd.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parents) if (below.has(parent) && !below.has(pid)) grew = below.add(pid).size > 0;
  }
  below.delete(sshd.pid);
  return [...below];
}

const exitMaster = (name: string) => execFileSync('ssh', ['-o', `ControlPath=${join(dir, name)}`, '-O', 'exit', 'x'], { stdio: 'ignore' });

beforeAll(async () => {
  sshd = await startSshd();
  dir = (await sharedControlDir())!;
  project = makeProject();
  project.commit({ VERSION: 'v1\n', '.gitignore': '.slipway/\n' });
});
afterAll(async () => {
  for (const name of masters()) exitMaster(name);
  await sshd?.stop();
  project?.cleanup();
});

describe('ssh.reuse_seconds', () => {
  it('keeps the connection for the next command, in a directory only its user may enter', async () => {
    expect(lstatSync(dir).mode & 0o777).toBe(0o700);
    configure(60);
    const first = await cli(project.dir, ['deploy', 'dev']);
    expect(first.code, first.err).toBe(0);
    expect(masters()).toHaveLength(1);
    const open = connections();
    expect(open).toBe(1); // the master, its sessions (agent, git push) closed
    const second = await cli(project.dir, ['releases', 'dev']);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toMatch(/127\.0\.0\.1 +\* +\S+ +ok/); // the release deployed, current (*) and ok
    // Still that one connection: the second command rode on it.
    expect(connections()).toBe(1);
  });

  it('gives up on a master whose server stopped answering, and connects afresh', async () => {
    expect(masters()).toHaveLength(1);
    // The server side of the kept connection stops (as a server powered off would): the master still looks
    // alive to ssh, and a session through it would wait for its keep-alives to give up (15 s).
    const frozen = connectionProcesses();
    expect(frozen.length).toBeGreaterThan(0);
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      const after = await cli(project.dir, ['releases', 'dev']);
      expect(after.code, after.err).toBe(0);
      expect(after.out).toMatch(/127\.0\.0\.1 +\* +\S+ +ok/);
      // A new connection carried it, and the new master is the one kept.
      expect(connectionProcesses().filter((pid) => !frozen.includes(pid)).length).toBeGreaterThan(0);
      expect(masters()).toHaveLength(1);
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
  }, 30_000);

  it('replaces a master that is gone, and with 0 keeps none', async () => {
    exitMaster(masters()[0]!);
    expect(masters()).toHaveLength(0);
    const again = await cli(project.dir, ['releases', 'dev']);
    expect(again.code, again.err).toBe(0);
    expect(masters()).toHaveLength(1);
    exitMaster(masters()[0]!);

    configure(0);
    const off = await cli(project.dir, ['releases', 'dev']);
    expect(off.code, off.err).toBe(0);
    expect(masters()).toHaveLength(0);
    expect(existsSync(dir)).toBe(true);
  });
});
