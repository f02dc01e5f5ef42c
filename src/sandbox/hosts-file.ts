// Servers find each other by name through /etc/hosts. Each server has its own hosts file in its state directory,
// bind-mounted read-write onto its /etc/hosts, holding one block slipway owns (every live server's name and
// address) and whatever else the server writes there itself. One shared file would not do: a test or a user adds
// local names (`echo '127.0.0.1 shop.test' >> /etc/hosts`), which must stay on that server and survive the next
// rewrite. Docker keeps a container's /etc/hosts the same way.
import { open, readFile, writeFile } from 'node:fs/promises';

export interface HostsEntry {
  name: string;
  address: string;
}

export const BLOCK_BEGIN = '# BEGIN slipway sandbox: every running sandbox server, rewritten at each up and down';
export const BLOCK_END = '# END slipway sandbox';

/** What the image's own /etc/hosts says; the file of a server starts from it. */
export const BASE_HOSTS = '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n';

export function sandboxBlock(servers: readonly HostsEntry[]): string[] {
  return [BLOCK_BEGIN, ...servers.map((s) => `${s.address}\t${s.name}`), BLOCK_END];
}

/** Pure: `current` with slipway's block replaced where it is (appended if absent), every other line kept. */
export function withSandboxBlock(current: string, servers: readonly HostsEntry[]): string {
  const lines = current.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const begin = lines.indexOf(BLOCK_BEGIN);
  const end = begin < 0 ? -1 : lines.indexOf(BLOCK_END, begin);
  if (begin < 0) lines.push(...sandboxBlock(servers));
  else lines.splice(begin, (end < 0 ? lines.length : end + 1) - begin, ...sandboxBlock(servers));
  return `${lines.join('\n')}\n`;
}

/**
 * Text to write over a file of `oldSize` bytes in one write: shorter text is padded with a comment line to the
 * old length, so until the truncate that follows, a reader sees whole new lines and no tail of old ones.
 */
export function paddedText(text: string, oldSize: number): Buffer {
  const bytes = Buffer.from(text);
  const missing = oldSize - bytes.length;
  if (missing <= 0) return bytes;
  return Buffer.concat([bytes, Buffer.from(missing === 1 ? '\n' : `#${' '.repeat(missing - 2)}\n`)]);
}

/**
 * A running server keeps seeing the inode that was bind-mounted at boot, so the file is rewritten in place, never
 * replaced by a rename: one write at offset 0, then the truncate. A lookup meanwhile reads the old lines or the
 * new ones, never an empty file.
 */
export async function rewriteInPlace(file: string, text: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const { size } = await handle.stat();
    const bytes = paddedText(text, size);
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.truncate(Buffer.byteLength(text));
  } finally {
    await handle.close();
  }
}

/**
 * Puts the block into one server's hosts file, creating the file (before its server boots) if it is missing.
 * False if the server's directory is gone: a `down` running outside the lock removed it meanwhile.
 */
export async function writeHostsBlock(file: string, servers: readonly HostsEntry[]): Promise<boolean> {
  const current = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  const text = withSandboxBlock(current ?? BASE_HOSTS, servers);
  if (text === current) return true;
  try {
    if (current === undefined) await writeFile(file, text);
    else await rewriteInPlace(file, text);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
