// The image is built from the archive mirror this machine already uses, read at run time: the repository must
// never name a mirror, and a machine that can install packages can build the image.
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';

/** The first URI of the first stanza of a deb822 `.sources` file (the format Debian 12 installs). */
export function mirrorFromDeb822(text: string): string | undefined {
  const firstStanza = text.split(/\n[ \t]*\n/).find((s) => /^URIs:/im.test(s));
  const uris = firstStanza?.match(/^URIs:[ \t]*(.+)$/im)?.[1];
  return uris?.trim().split(/\s+/)[0]?.replace(/\/+$/, '');
}

/** The URI of the first `deb` line of a one-line-style `sources.list`, skipping `[options]`. */
export function mirrorFromOneLine(text: string): string | undefined {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = line.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/);
    if (m?.[1]) return m[1].replace(/\/+$/, '');
  }
  return undefined;
}

export interface MirrorSource {
  /** Files tried in order; the first that names a mirror wins. */
  deb822Files: string[];
  oneLineFiles: string[];
  /** An environment variable that overrides the files (a machine whose archive is configured elsewhere). */
  envVar: string;
}

export const debianMirrorSource: MirrorSource = {
  deb822Files: ['/etc/apt/sources.list.d/debian.sources'],
  oneLineFiles: ['/etc/apt/sources.list'],
  envVar: 'SLIPWAY_DEBIAN_MIRROR',
};

export const ubuntuMirrorSource: MirrorSource = {
  deb822Files: ['/etc/apt/sources.list.d/ubuntu.sources'],
  oneLineFiles: [],
  envVar: 'SLIPWAY_UBUNTU_MIRROR',
};

export async function readMirror(source: MirrorSource, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env[source.envVar];
  if (fromEnv) return fromEnv.replace(/\/+$/, '');
  const attempts: [string[], (t: string) => string | undefined][] = [
    [source.deb822Files, mirrorFromDeb822],
    [source.oneLineFiles, mirrorFromOneLine],
  ];
  for (const [files, parse] of attempts) {
    for (const file of files) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      const mirror = text === undefined ? undefined : parse(text);
      if (mirror) return mirror;
    }
  }
  const files = [...source.deb822Files, ...source.oneLineFiles].join(' or ');
  throw new UserError(
    `no package mirror is configured: found no URIs in ${files}`,
    `configure apt on this machine, or set ${source.envVar}=<archive URL>`,
  );
}

/** Fetches the suite's Release file: cheap, and proves both the network path and the suite name. */
export async function checkMirrorReachable(mirror: string, suite: string, timeoutMs = 15_000): Promise<void> {
  const url = `${mirror}/dists/${suite}/Release`;
  let reason: string;
  try {
    const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    if (res.ok) return;
    reason = `HTTP ${res.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    reason = cause?.code ?? cause?.message ?? (err as Error).message;
  }
  throw new UserError(
    `the package mirror ${mirror} is not reachable (${reason} for ${url})`,
    'the image is built from the mirror apt uses on this machine: check the network, or the URIs: line in /etc/apt/sources.list.d/debian.sources',
  );
}
