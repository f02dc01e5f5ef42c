// The note a failed step gets when the filesystem is full (a real bash and awk over a fake df), and the hints a
// failed step's output earns.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { fullDiskNote } from '../../src/ops/release.js';
import { CommandFailedError } from '../../src/errors.js';

const bin = mkdtempSync(join(tmpdir(), 'slipway-df-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** df answering as a filesystem with `kib` KiB and `inodes` inodes free. */
function withDf(kib: number, inodes: number): string {
  writeFileSync(
    join(bin, 'df'),
    `#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\nif [ "$1" = -Pi ]; then echo "/dev/x 1000 900 ${inodes} 90% /opt"; else echo "/dev/x 100000 90000 ${kib} 90% /opt"; fi\n`,
  );
  chmodSync(join(bin, 'df'), 0o755);
  const result = spawnSync('bash', ['-c', `set -euo pipefail\n${fullDiskNote('/opt/shop').shell}`], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH}` } });
  expect(result.status).toBe(0);
  return result.stdout;
}

describe('full disk note', () => {
  it('names a filesystem out of space or inodes, and says nothing otherwise', () => {
    expect(withDf(12, 5000)).toBe('No space left on device: /opt has 12 KiB free\n');
    expect(withDf(500000, 3)).toBe('No space left on device: /opt has 3 inodes free\n');
    expect(withDf(500000, 5000)).toBe('');
  });
});

describe('hints of a failed step', () => {
  it('a full disk, a missing program, a Django 400 for a host it does not allow', () => {
    const failed = (code: number, tail: string[]) => new CommandFailedError('web1', 'Check the green slot', 'false', code, tail).hint;
    expect(failed(1, ['No space left on device: /opt has 12 KiB free'])).toMatch(/^free disk space on the host/);
    expect(failed(127, [])).toMatch(/^a program was not found/);
    expect(failed(1, ['health check failed: http://127.0.0.1:8001/health/ through /opt/shop/run/web-green.sock answered 400, expected 200'])).toMatch(/ALLOWED_HOSTS/);
    expect(failed(1, ['health check failed: http://127.0.0.1:8001/health/ answered 500, expected 200'])).toBeUndefined();
  });
});
