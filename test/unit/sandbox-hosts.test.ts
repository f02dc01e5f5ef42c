import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE_HOSTS, paddedText, rewriteInPlace, withSandboxBlock, writeHostsBlock } from '../../src/sandbox/hosts-file.js';

const BEGIN = '# BEGIN slipway sandbox: every running sandbox server, rewritten at each up and down';
const END = '# END slipway sandbox';
const web1 = { name: 'web1', address: '10.77.1.2' };
const db1 = { name: 'db1', address: '10.77.2.2' };

describe('the sandbox block of a hosts file', () => {
  it('is appended to the base file', () => {
    expect(withSandboxBlock(BASE_HOSTS, [web1, db1])).toBe(
      `127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n${BEGIN}\n10.77.1.2\tweb1\n10.77.2.2\tdb1\n${END}\n`,
    );
  });

  it('is replaced where it stands, keeping the lines the server added before and after it', () => {
    const current = `127.0.0.1 localhost\n${BEGIN}\n10.77.1.2\tweb1\n10.77.2.2\tdb1\n${END}\n127.0.0.1 shop.test\n`;
    expect(withSandboxBlock(current, [web1])).toBe(`127.0.0.1 localhost\n${BEGIN}\n10.77.1.2\tweb1\n${END}\n127.0.0.1 shop.test\n`);
  });

  it('replaces a block cut short (no end line) up to the end of the file', () => {
    expect(withSandboxBlock(`127.0.0.1 localhost\n${BEGIN}\n10.77.9.2\told`, [web1])).toBe(
      `127.0.0.1 localhost\n${BEGIN}\n10.77.1.2\tweb1\n${END}\n`,
    );
  });

  it('pads shorter text with a comment line to the old length', () => {
    expect(paddedText('a\n', 2).toString()).toBe('a\n');
    expect(paddedText('a\n', 3).toString()).toBe('a\n\n');
    expect(paddedText('a\n', 7).toString()).toBe('a\n#   \n');
    expect(paddedText('longer\n', 2).toString()).toBe('longer\n');
  });
});

describe('writing a hosts file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-hosts-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the inode a running server has bind-mounted, shrinking and growing', async () => {
    const file = join(dir, 'hosts');
    await writeFile(file, 'a long line that is going to be replaced by something shorter\n');
    const { ino } = await stat(file);
    await rewriteInPlace(file, 'short\n');
    expect(await readFile(file, 'utf8')).toBe('short\n');
    await rewriteInPlace(file, 'longer than before, by a fair bit\n');
    expect(await readFile(file, 'utf8')).toBe('longer than before, by a fair bit\n');
    expect((await stat(file)).ino).toBe(ino);
  });

  it('creates a missing file from the base, then updates only the block', async () => {
    const file = join(dir, 'hosts');
    expect(await writeHostsBlock(file, [web1, db1])).toBe(true);
    await writeFile(file, `${await readFile(file, 'utf8')}127.0.0.1 shop.test\n`, { flag: 'w' });
    expect(await writeHostsBlock(file, [web1])).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(`${BASE_HOSTS}${BEGIN}\n10.77.1.2\tweb1\n${END}\n127.0.0.1 shop.test\n`);
  });

  it('says so when the server directory is gone (a down removed it meanwhile)', async () => {
    expect(await writeHostsBlock(join(dir, 'gone', 'hosts'), [web1])).toBe(false);
  });
});
