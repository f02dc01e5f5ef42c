// Sandbox servers have no route to a package mirror, and their image holds only the packages deploys use. For
// packages `slipway setup` installs beyond those (ufw, unattended-upgrades), this puts the .deb files a server's
// apt would download into its apt cache, so `apt-get install` there works as on a server with a mirror. The
// server names the files from its own package lists; this machine downloads them once (kept under
// /var/cache/slipway/e2e-debs) from the mirror the image was built from.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestServer } from './sandbox.js';

const CACHE = '/var/cache/slipway/e2e-debs';

/** `'URL' FILE SIZE HASH` lines of `apt-get install --print-uris`. */
export function parsePrintUris(output: string): { url: string; file: string }[] {
  return output
    .split('\n')
    .map((line) => /^'([^']+)' (\S+) \d+ /.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ url: m[1]!, file: m[2]! }));
}

function upload(server: TestServer, data: Buffer, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...server.sshArgs, server.address, `cat > '${path}'`], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`upload of ${path} to ${server.name} failed: ${stderr}`))));
    child.stdin.end(data);
  });
}

export async function stageDebs(server: TestServer, packages: string[]): Promise<string[]> {
  const plan = await server.run(`apt-get install --print-uris -qq -y --no-install-recommends ${packages.join(' ')}`);
  if (plan.code !== 0) throw new Error(`apt-get --print-uris on ${server.name} failed: ${plan.stderr}`);
  const debs = parsePrintUris(plan.stdout);
  await mkdir(CACHE, { recursive: true });
  for (const { url, file } of debs) {
    const cached = join(CACHE, file);
    if (!existsSync(cached)) {
      const response = await fetch(url, { signal: AbortSignal.timeout(60_000) }).catch((error: unknown) => {
        throw new Error(`${file} is not in ${CACHE} and the mirror is not reachable (${String(error)}): these tests need it once`);
      });
      if (!response.ok) throw new Error(`download of ${url} failed: HTTP ${response.status}`);
      await writeFile(`${cached}.partial`, Buffer.from(await response.arrayBuffer()));
      await rename(`${cached}.partial`, cached);
    }
    await upload(server, await readFile(cached), `/var/cache/apt/archives/${file}`);
  }
  return debs.map((d) => d.file);
}
