// ssh.reuse_seconds against a real sshd on 127.0.0.1: the first command leaves its connection open, the next one
// rides on it (no new connection to sshd), a master told to exit is replaced, and 0 keeps nothing open.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
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
