// Which sandbox servers a rehearsal (`slipway rehearse <env>`) booted, kept beside the servers' own state so
// `rehearse <env> --down` removes exactly those, also after a rehearsal that crashed half way; and the check
// that a rehearsal answers through nginx, from this machine, as a visitor would.
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runHost } from './host.js';
import { readJsonFile } from './json-file.js';
import type { SandboxPaths } from './paths.js';

export interface RehearsalRecord {
  project: string;
  env: string;
  /** The directory holding the config the rehearsal was of. */
  dir: string;
  /** Every server this rehearsal booted, in the order it booted them. */
  servers: string[];
  startedAt: string;
}

const rehearsalsDir = (p: SandboxPaths): string => join(p.stateDir, 'rehearsals');
const rehearsalFile = (p: SandboxPaths, project: string, env: string): string => join(rehearsalsDir(p), `${project}--${env}.json`);

export function readRehearsal(paths: SandboxPaths, project: string, env: string): Promise<RehearsalRecord | undefined> {
  return readJsonFile<RehearsalRecord>(rehearsalFile(paths, project, env));
}

export async function listRehearsals(paths: SandboxPaths): Promise<RehearsalRecord[]> {
  const files = await readdir(rehearsalsDir(paths)).catch(() => []);
  const records = await Promise.all(files.filter((f) => f.endsWith('.json')).map((f) => readJsonFile<RehearsalRecord>(join(rehearsalsDir(paths), f))));
  return records.flatMap((r) => (r ? [r] : []));
}

/** Written before any server boots, so a crash mid-way still leaves `--down` something to go by. */
export async function writeRehearsal(paths: SandboxPaths, record: RehearsalRecord): Promise<void> {
  await mkdir(rehearsalsDir(paths), { recursive: true });
  await writeFile(rehearsalFile(paths, record.project, record.env), `${JSON.stringify(record, null, 2)}\n`);
}

export async function removeRehearsal(paths: SandboxPaths, project: string, env: string): Promise<void> {
  await rm(rehearsalFile(paths, project, env), { force: true });
}

export interface SiteAnswer {
  url: string;
  /** The curl command a person runs to see the same page. */
  command: string[];
  status: number;
  error?: string;
}

/**
 * Asks nginx on `address` for the site's front page as its domain (or by address when it has none), over
 * HTTPS when the site has TLS: a self-signed certificate is accepted, the answer is what counts.
 */
export async function askSite(address: string, site: { domain?: string; tls: boolean }): Promise<SiteAnswer> {
  const host = site.domain ?? address;
  const url = `${site.tls ? 'https' : 'http'}://${host}/`;
  const command = ['curl', ...(site.tls ? ['-k'] : []), ...(site.domain ? ['--resolve', `${site.domain}:${site.tls ? 443 : 80}:${address}`] : []), url];
  const result = await runHost([command[0]!, '-sS', '-o', '/dev/null', '-m', '10', '-w', '%{http_code}', ...command.slice(1)], { timeoutMs: 15_000 });
  const status = Number(result.stdout.trim()) || 0;
  return { url, command, status, ...(result.code !== 0 ? { error: result.stderr.trim().split('\n').pop() ?? `curl exit ${result.code}` } : {}) };
}
