// The note a failed step gets when the filesystem is full, by a real bash and awk over a fake df.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { fullDiskNote } from '../../src/ops/release.js';

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
