// Where processes run across servers: singleton placement, switch batches, moves off removed servers, and the
// config rules that refuse a topology that cannot work.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { UserError } from '../../src/errors.js';
import { processesOn } from '../../src/plan/processes.js';
import { batchSize, singletonMoves, singletonPlacement, switchBatches, topologyNotes } from '../../src/plan/topology.js';
import { sshTarget } from './fixtures/config.js';
import type { Target } from '../../src/plan/target.js';

const processes = {
  web: { command: 'serve', port: 8000, roles: ['web'] },
  scheduler: { command: 'tick', roles: ['worker'], singleton: true },
  worker: { command: 'work', roles: ['worker'] },
};
const servers = [
  { host: 'web1', roles: ['web'] },
  { sandbox: 'work1', roles: ['web', 'worker'] },
  { host: 'work2', roles: ['worker'] },
];

describe('singleton placement', () => {
  it('is the first server in config order with one of its roles, for singletons only', () => {
    expect(singletonPlacement(processes, servers)).toEqual({ scheduler: 'work1' });
    expect(singletonPlacement(processes, [servers[2]!, servers[1]!])).toEqual({ scheduler: 'work2' });
    expect(singletonPlacement(processes, [servers[0]!])).toEqual({});
  });

  it('runs a singleton only where it is placed, other processes by roles', () => {
    const on = (label: string, roles: string[]) => processesOn(processes, { ...sshTarget, label, roles } as Target, { scheduler: 'work1' });
    expect(on('web1', ['web'])).toEqual(['web']);
    expect(on('work1', ['web', 'worker'])).toEqual(['web', 'scheduler', 'worker']);
    expect(on('work2', ['worker'])).toEqual(['worker']);
  });
});

describe('switch batches', () => {
  it('a count, a percentage rounded up, at least one, at most all', () => {
    expect(batchSize(10, '2')).toBe(2);
    expect(batchSize(10, '25%')).toBe(3);
    expect(batchSize(3, '1%')).toBe(1);
    expect(batchSize(3, '100%')).toBe(3);
    expect(batchSize(3, '7')).toBe(3);
    expect(batchSize(4, undefined)).toBe(4);
  });

  it('go in config order; blue/green defaults to all at once, restart to one at a time', () => {
    expect(switchBatches(5, '2', 'blue-green')).toEqual([[0, 1], [2, 3], [4]]);
    expect(switchBatches(3, undefined, 'blue-green')).toEqual([[0, 1, 2]]);
    expect(switchBatches(3, undefined, 'restart')).toEqual([[0], [1], [2]]);
    expect(switchBatches(4, '50%', 'restart')).toEqual([[0, 1], [2, 3]]);
    expect(switchBatches(0, '1', 'restart')).toEqual([]);
  });
});

describe('a singleton recorded on another server', () => {
  const unit = (p: string) => `hello-${p}.service`;
  const recorded = [{ scheduler: { server: 'web3', host: '10.0.0.3', user: 'deploy' } }, undefined];

  it('is a move when that server left the config', () => {
    const moves = singletonMoves({ placement: { scheduler: 'web1' }, recorded, reached: ['web1', 'web2'], configured: ['web1', 'web2'], unit });
    expect(moves).toEqual([{ process: 'scheduler', unit: 'hello-scheduler.service', from: { server: 'web3', host: '10.0.0.3', user: 'deploy' }, to: 'web1' }]);
    expect(topologyNotes({ scheduler: 'web1' }, moves, [[0], [1]], ['web1', 'web2'])).toEqual([
      'the scheduler process (singleton) runs on web1',
      'the scheduler process moves from web3 (no longer in the config) to web1: the deploy stops it there before anything switches',
      'switch in 2 batches: web1 | web2',
    ]);
  });

  it('is left to that server\'s own plan when the deploy reaches it, and nothing when it stays', () => {
    expect(singletonMoves({ placement: { scheduler: 'web1' }, recorded, reached: ['web1', 'web3'], configured: ['web1', 'web3'], unit })).toEqual([]);
    expect(singletonMoves({ placement: { scheduler: 'web3' }, recorded, reached: ['web1'], configured: ['web1', 'web3'], unit })).toEqual([]);
  });

  it('refuses a partial deploy that would leave it running there', () => {
    const partial = () => singletonMoves({ placement: { scheduler: 'web1' }, recorded, reached: ['web1'], configured: ['web1', 'web3'], unit });
    expect(partial).toThrow(UserError);
    expect(partial).toThrow('the scheduler process (singleton) moves from web3 to web1, but web3 is not part of this deploy');
    try {
      partial();
    } catch (error) {
      expect((error as UserError).hint).toBe('deploy without --host, so web3 stops it before web1 starts it');
    }
  });
});

describe('topology rules', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  async function load(text: string) {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-topology-'));
    dirs.push(dir);
    await writeFile(join(dir, 'deploy-prod.yml'), `project:\n  name: shop\nservers:\n  - host: web1\n  - host: web2\n${text}`);
    return loadConfig({ dir, env: 'prod', processEnv: {} }).then(
      (loaded) => ({ errors: [] as string[], warnings: loaded.warnings.map((w) => w.replaceAll(dir, '<dir>')) }),
      (error: unknown) => ({ errors: (error as Error).message.replaceAll(dir, '<dir>').split('\n'), warnings: [] }),
    );
  }

  it('refuses a singleton no server can run', async () => {
    expect((await load('processes:\n  scheduler:\n    command: tick\n    roles: [worker]\n    singleton: true\n')).errors).toEqual([
      '<dir>/deploy-prod.yml:10:16: processes.scheduler.singleton: no server has one of its roles (worker), so the singleton runs nowhere: give one server one of these roles',
    ]);
  });

  it('warns about a process whose roles match no server', async () => {
    expect(await load('processes:\n  worker:\n    command: work\n    roles: [worker, jobs]\n')).toEqual({
      errors: [],
      warnings: ['<dir>/deploy-prod.yml:9:12: processes.worker.roles: no server has one of these roles (worker, jobs): the worker process runs nowhere'],
    });
  });

  it('refuses a batch size of 0, 0% or more than 100%, and accepts a count or a percentage', async () => {
    expect((await load('deploy:\n  batch_size: 0\n')).errors).toEqual(['<dir>/deploy-prod.yml:7:15: deploy.batch_size: 0 switches no server: give at least 1 (or a percentage from 1% to 100%)']);
    expect((await load('deploy:\n  batch_size: 0%\n')).errors).toEqual(['<dir>/deploy-prod.yml:7:15: deploy.batch_size: 0% switches no server: give at least 1 (or a percentage from 1% to 100%)']);
    expect((await load('deploy:\n  batch_size: 150%\n')).errors).toEqual(['<dir>/deploy-prod.yml:7:15: deploy.batch_size: 150% is more than all the servers: give a percentage from 1% to 100%']);
    expect((await load('deploy:\n  batch_size: half\n')).errors).toEqual(['<dir>/deploy-prod.yml:7:15: deploy.batch_size: "half" is not a count such as 2 or a percentage such as 25%']);
    expect(await load('deploy:\n  batch_size: 25%\n')).toEqual({ errors: [], warnings: [] });
    expect(await load('deploy:\n  batch_size: 3\n')).toEqual({ errors: [], warnings: [] });
  });
});
