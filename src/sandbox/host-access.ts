// How a sandbox server reaches package sources: through its host, as a real server reaches them through its own
// network. The host runs a forward proxy on the bridge (proxy.ts); each server gets one directory, bind-mounted
// read-only at HOST_ACCESS_DIR, that tells apt, pip and npm to use it, and the host's own certificate
// authorities (a network that inspects TLS signs with one of those; without it every https fetch would fail).
// The image links the tools' settings files into that directory, so the host can change what a running server
// uses (a server switched offline, the proxy on another port) by rewriting files, with no reboot.
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export const HOST_ACCESS_DIR = '/etc/slipway-sandbox';

export interface ProxyEndpoint {
  address: string;
  port: number;
}

export const proxyUrl = (p: ProxyEndpoint): string => `http://${p.address}:${p.port}/`;

/** Nothing a server must reach through the proxy: its own services and the other sandbox servers. */
const NO_PROXY = 'localhost,127.0.0.1,::1,10.77.0.0/16';

const OFFLINE_NOTE = 'offline: this sandbox server reaches no package source (sandbox up --offline, or SLIPWAY_SANDBOX_OFFLINE=1)';

/** Pure: the settings files for a server that uses `proxy`, or (undefined) for one that is offline. */
export function hostAccessFiles(proxy: ProxyEndpoint | undefined): { name: string; text: string }[] {
  if (!proxy) {
    return [
      { name: 'apt.conf', text: `// ${OFFLINE_NOTE}\n` },
      { name: 'pip.conf', text: `# ${OFFLINE_NOTE}\n` },
      { name: 'npmrc', text: `; ${OFFLINE_NOTE}\n` },
      { name: 'proxy.env', text: `# ${OFFLINE_NOTE}\n` },
    ];
  }
  const url = proxyUrl(proxy);
  const header = 'slipway sandbox: package sources through the host (rewritten by slipway at every sandbox up and down)';
  return [
    { name: 'apt.conf', text: `// ${header}\nAcquire::http::Proxy "${url}";\nAcquire::https::Proxy "${url}";\n` },
    { name: 'pip.conf', text: `# ${header}\n[global]\nproxy = ${url}\n` },
    // cafile: npm trusts only the roots bundled with Node unless told; the system bundle also holds the host's own.
    { name: 'npmrc', text: `; ${header}\nproxy=${url}\nhttps-proxy=${url}\nnoproxy=${NO_PROXY}\ncafile=/etc/ssl/certs/ca-certificates.crt\n` },
    // For anything else (curl, git over https): `set -a; . /etc/slipway-sandbox/proxy.env; set +a`.
    {
      name: 'proxy.env',
      text: `# ${header}\nhttp_proxy=${url}\nhttps_proxy=${url}\nHTTP_PROXY=${url}\nHTTPS_PROXY=${url}\nno_proxy=${NO_PROXY}\nNO_PROXY=${NO_PROXY}\n`,
    },
  ];
}

/** Where each tool reads its settings (both npmrc places: Debian's npm, and an npm installed under /usr). */
export const hostAccessLinks: readonly { path: string; target: string }[] = [
  { path: '/etc/apt/apt.conf.d/80slipway-sandbox-proxy', target: `${HOST_ACCESS_DIR}/apt.conf` },
  { path: '/etc/pip.conf', target: `${HOST_ACCESS_DIR}/pip.conf` },
  { path: '/etc/npmrc', target: `${HOST_ACCESS_DIR}/npmrc` },
  { path: '/usr/etc/npmrc', target: `${HOST_ACCESS_DIR}/npmrc` },
];

export const HOST_CA_UNIT = 'slipway-sandbox-host-ca.service';
export const HOST_CA_SCRIPT = '/usr/local/sbin/slipway-sandbox-host-ca';

/**
 * At boot: the host's certificate authorities join the server's. Appending to the bundle takes milliseconds
 * where update-ca-certificates takes over a second of every boot; the copy under /usr/local/share keeps them in
 * the bundle when a package later runs update-ca-certificates. A persistent server appends only when they changed.
 */
export const hostCaScript = `#!/bin/sh
set -eu
dir=/usr/local/share/ca-certificates/slipway-host
if diff -rq ${HOST_ACCESS_DIR}/ca "$dir" >/dev/null 2>&1; then exit 0; fi
rm -rf "$dir" && mkdir -p "$dir" && cp ${HOST_ACCESS_DIR}/ca/*.crt "$dir"/
for cert in "$dir"/*.crt; do cat "$cert"; echo; done >> /etc/ssl/certs/ca-certificates.crt
`;

export const hostCaUnit = `[Unit]
Description=slipway sandbox: trust the host's own certificate authorities
ConditionDirectoryNotEmpty=${HOST_ACCESS_DIR}/ca
Before=ssh.service

[Service]
Type=oneshot
ExecStart=${HOST_CA_SCRIPT}

[Install]
WantedBy=multi-user.target
`;

/** The certificate authorities this host added to its own (update-ca-certificates reads them from here). */
export const HOST_LOCAL_CA_DIR = '/usr/local/share/ca-certificates';

/** Every *.crt under `dir`, as paths relative to it. */
async function localCertificates(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && e.name.endsWith('.crt'))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/**
 * Writes one server's host-access directory: the settings files, and a copy of the host's own CAs. False when
 * the server's own directory is gone: a `down` running beside this one removed it, and nothing is recreated.
 */
export async function writeHostAccess(dir: string, proxy: ProxyEndpoint | undefined, caDir = HOST_LOCAL_CA_DIR): Promise<boolean> {
  try {
    await fillHostAccess(dir, proxy, caDir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function fillHostAccess(dir: string, proxy: ProxyEndpoint | undefined, caDir: string): Promise<void> {
  // Not recursive: the server's directory (the parent) must still be there.
  for (const d of [dir, join(dir, 'ca')]) {
    await mkdir(d).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  // In place (same inode): the directory is bind-mounted into a running server.
  for (const file of hostAccessFiles(proxy)) await writeFile(join(dir, file.name), file.text);
  const wanted = proxy ? await localCertificates(caDir) : [];
  const flat = (path: string): string => path.replaceAll('/', '_');
  for (const name of await readdir(join(dir, 'ca'))) {
    if (!wanted.some((w) => flat(w) === name)) await rm(join(dir, 'ca', name), { force: true });
  }
  for (const cert of wanted) await cp(join(caDir, cert), join(dir, 'ca', flat(cert)), { dereference: true });
}
