// The sandbox's own state files (a server's state, the proxy's, a rehearsal's record) are small JSON documents
// that a crash can leave torn or missing: either way there is no state, and the caller treats it as such.
import { readFile } from 'node:fs/promises';

export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
