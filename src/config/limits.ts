// Bounds on every configuration input (deploy.yml, deploy-<env>.yml, the secrets file), so no file, however
// written, can make slipway hang or run out of memory: each breach is a one-line error naming the file and line.
import { open } from 'node:fs/promises';
import { UserError } from '../errors.js';

export const LIMITS = {
  /** Bytes read from one file: a real configuration is a few KiB. */
  fileBytes: 1024 * 1024,
  /**
   * YAML tokens in one file, which bound the parser's time (about 2 µs each, more when malformed) where bytes
   * do not: a megabyte of blank lines is a million tokens. A 300-line configuration has about 2,000.
   */
  tokens: 10_000,
  /** Levels of mappings and lists; slipway's own keys need 4, the rest is room for `x-` templates. */
  depth: 32,
  /** Keys in one mapping or items in one list. */
  items: 1_000,
  /** Values in a whole file once aliases are expanded (a billion-laughs document stops here). */
  nodes: 50_000,
  /** Characters of text in a whole file once aliases are expanded. */
  expandedChars: 4 * 1024 * 1024,
  /** Variables in one secrets file. */
  secrets: 10_000,
  /** One value once its ${NAME} placeholders are filled in: Linux refuses longer single arguments anyway. */
  resolvedValue: 128 * 1024,
} as const;

export const MIB = (bytes: number): string => `${bytes / (1024 * 1024)} MiB`;

/** Line and column (1-based) of a character offset. */
export function lineColAt(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line += 1;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

// Tabs and line breaks are text; any other C0 control character (NUL above all) or DEL means a binary file,
// and could not be carried by a command line, an environment variable or a unit file anyway.
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/** Refuses what is not UTF-8 text, naming the first offending place. */
export function checkText(text: string, valid: boolean, file: string): void {
  const bad = valid ? -1 : text.indexOf('\uFFFD');
  if (bad !== -1) {
    const at = lineColAt(text, bad);
    throw new UserError(`${file}:${at.line}:${at.col}: not UTF-8 text: save the file as UTF-8`);
  }
  const control = CONTROL.exec(text);
  if (control) {
    const at = lineColAt(text, control.index);
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new UserError(`${file}:${at.line}:${at.col}: control character U+${code} in the file: only tabs and line breaks may appear (is it a binary file?)`);
  }
}

/**
 * Reads at most `LIMITS.fileBytes` (+1, to tell a file that fits from one that does not) of a file; undefined
 * when it does not exist. Reading is bounded too: a multi-gigabyte file is never loaded to be measured.
 */
export async function readBoundedText(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const buffer = Buffer.alloc(LIMITS.fileBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EISDIR') throw new UserError(`${file} is a directory, not a file`);
        throw error;
      });
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    const bytes = buffer.subarray(0, Math.min(length, LIMITS.fileBytes));
    const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(bytes);
    if (length > LIMITS.fileBytes) {
      const at = lineColAt(text, text.length);
      throw new UserError(`${file}:${at.line}:1: the file is larger than ${MIB(LIMITS.fileBytes)}, the most slipway reads: keep only configuration in it`);
    }
    let valid = true;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      valid = false;
    }
    checkText(text, valid, file);
    return text;
  } finally {
    await handle.close();
  }
}
