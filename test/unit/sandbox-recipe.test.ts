import { describe, expect, it } from 'vitest';
import {
  aptScript,
  debootstrapArgs,
  imageKey,
  imageRecipes,
  inTreeArgs,
  sourcesList,
  type ImageRecipe,
} from '../../src/sandbox/recipe.js';

const bookworm = imageRecipes.bookworm!;
const tiny: ImageRecipe = { ...bookworm, base: ['systemd'], packages: ['nginx', 'git'], offline: ['wrk'], masked: [] };

describe('image key', () => {
  it('is a 12-hex-digit hash, stable across calls', () => {
    expect(imageKey(bookworm)).toMatch(/^[0-9a-f]{12}$/);
    expect(imageKey(bookworm)).toBe(imageKey({ ...bookworm }));
  });

  it('ignores package order but not package lists', () => {
    expect(imageKey(tiny)).toBe(imageKey({ ...tiny, packages: ['git', 'nginx'] }));
    expect(imageKey(tiny)).not.toBe(imageKey({ ...tiny, packages: ['git', 'nginx', 'redis-server'] }));
    expect(imageKey(tiny)).not.toBe(imageKey({ ...tiny, offline: [] }));
  });

  it('changes with the recipe version, not with the mirror or the name', () => {
    expect(imageKey(tiny, 1)).not.toBe(imageKey(tiny, 2));
    expect(imageKey(tiny)).toBe(imageKey({ ...tiny, name: 'other' }));
  });
});

describe('image build commands', () => {
  it('debootstraps a minbase tree with the base packages', () => {
    expect(debootstrapArgs(tiny, '/cache/.build', 'http://mirror.invalid/debian').join(' ')).toBe(
      'debootstrap --variant=minbase --components=main --include=systemd bookworm /cache/.build http://mirror.invalid/debian',
    );
  });

  it('writes the suite and its updates into the image sources', () => {
    expect(sourcesList(tiny, 'http://mirror.invalid/debian')).toBe(
      'deb http://mirror.invalid/debian bookworm main\ndeb http://mirror.invalid/debian bookworm-updates main\n',
    );
  });

  it('runs apt inside the tree with nspawn', () => {
    expect(inTreeArgs('/t', 'apt-get update')).toEqual([
      'systemd-nspawn', '--quiet', '--directory=/t', '--register=no', '--keep-unit', '--resolv-conf=copy-host',
      '--pipe', '--setenv=DEBIAN_FRONTEND=noninteractive', 'sh', '-euc', 'apt-get update',
    ]);
    expect(inTreeArgs('/t', 'true', true)).not.toContain('--keep-unit');
  });

  it('installs the stack with its recommends, as a stock server would, then keeps only the offline packages (and theirs) in the apt cache', () => {
    expect(aptScript(tiny)).toBe(
      [
        'apt-get -q -o Dpkg::Use-Pty=0 update',
        'apt-get -q -o Dpkg::Use-Pty=0 install -y --install-recommends nginx git',
        'if command -v python3 >/dev/null; then python3 -m compileall -q /usr/lib/python3/dist-packages >/dev/null; fi',
        'apt-get -q -o Dpkg::Use-Pty=0 clean',
        'apt-get -q -o Dpkg::Use-Pty=0 install -y --install-recommends --download-only wrk',
      ].join('\n'),
    );
  });

  it('has the stack the scenarios need in the default image', () => {
    for (const p of ['openssh-server', 'systemd-sysv']) expect(bookworm.base).toContain(p);
    for (const p of ['nginx', 'postgresql', 'redis-server', 'python3-django', 'gunicorn', 'nodejs']) {
      expect(bookworm.packages).toContain(p);
    }
  });
});
