import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAccessFiles, writeHostAccess } from '../../src/sandbox/host-access.js';
import { parseConnectTarget, parseRequestTarget, refusedAddress, refusedTarget, usableAddresses } from '../../src/sandbox/proxy-policy.js';
import { serveProxy } from '../../src/sandbox/proxy.js';

describe('what the sandbox proxy lets a server reach', () => {
  it('parses CONNECT authorities and absolute-form http requests, and nothing else', () => {
    expect(parseConnectTarget('registry.example:443')).toEqual({ host: 'registry.example', port: 443 });
    expect(parseConnectTarget('[2001:db8::1]:443')).toEqual({ host: '2001:db8::1', port: 443 });
    expect(parseConnectTarget('registry.example')).toBeUndefined();
    expect(parseConnectTarget('a:99999')).toBeUndefined();
    expect(parseRequestTarget('http://mirror.example/debian/dists/x?y=1')).toEqual({ host: 'mirror.example', port: 80, path: '/debian/dists/x?y=1' });
    expect(parseRequestTarget('http://mirror.example:8080/')).toEqual({ host: 'mirror.example', port: 8080, path: '/' });
    expect(parseRequestTarget('/relative')).toBeUndefined();
    expect(parseRequestTarget('https://mirror.example/')).toBeUndefined();
  });

  it('refuses this host, the sandbox network, link-local and non-web ports; allows private mirrors', () => {
    expect(refusedAddress('127.0.0.53')).toBe('loopback');
    expect(refusedAddress('::1')).toBe('loopback');
    expect(refusedAddress('::ffff:127.0.0.1')).toBe('loopback');
    expect(refusedAddress('10.77.3.2')).toBe('the sandbox network');
    expect(refusedAddress('169.254.169.254')).toBe('link-local');
    expect(refusedAddress('fe80::1')).toBe('link-local');
    expect(refusedAddress('0.0.0.0')).toBe('unspecified');
    expect(refusedAddress('224.0.0.1')).toBe('multicast or reserved');
    expect(refusedAddress('172.17.0.5', new Set(['172.17.0.5']))).toBe('this host');
    expect(refusedAddress('192.168.1.10')).toBeUndefined();
    expect(refusedAddress('10.1.2.3')).toBeUndefined();
    expect(refusedAddress('2001:db8::1')).toBeUndefined();
    expect(refusedTarget({ host: 'mirror.example', port: 22 })).toBe('port 22 (only 80 and 443)');
    expect(refusedTarget({ host: 'LOCALHOST', port: 80 })).toBe('loopback');
    expect(refusedTarget({ host: 'mirror.example', port: 443 })).toBeUndefined();
  });

  it('connects to IPv4 first and never to a refused address a name resolved to', () => {
    const found = [
      { address: '2001:db8::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
      { address: '192.0.2.7', family: 4 },
    ];
    expect(usableAddresses(found)).toEqual(['192.0.2.7', '2001:db8::1']);
  });
});

describe('the settings a sandbox server reads', () => {
  it('points apt, pip and npm at the proxy, and says offline when there is none', () => {
    const files = Object.fromEntries(hostAccessFiles({ address: '10.77.0.1', port: 3128 }).map((f) => [f.name, f.text]));
    expect(files['apt.conf']).toContain('Acquire::http::Proxy "http://10.77.0.1:3128/";\nAcquire::https::Proxy "http://10.77.0.1:3128/";');
    expect(files['pip.conf']).toContain('[global]\nproxy = http://10.77.0.1:3128/');
    expect(files['npmrc']).toContain('https-proxy=http://10.77.0.1:3128/');
    expect(files['npmrc']).toContain('cafile=/etc/ssl/certs/ca-certificates.crt');
    expect(files['proxy.env']).toContain('no_proxy=localhost,127.0.0.1,::1,10.77.0.0/16');
    const offline = hostAccessFiles(undefined);
    expect(offline.map((f) => f.name)).toEqual(['apt.conf', 'pip.conf', 'npmrc', 'proxy.env']);
    for (const f of offline) expect(f.text).not.toContain('http://');
  });

  it('copies the host\'s own CAs for an online server, drops them when it goes offline', async () => {
    const root = await mkdtemp(join(tmpdir(), 'slipway-access-'));
    try {
      await mkdir(join(root, 'ca/corp'), { recursive: true });
      await writeFile(join(root, 'ca/corp/egress.crt'), 'PEM');
      await writeFile(join(root, 'ca/notes.txt'), 'not a certificate');
      const dir = join(root, 'server');
      await writeHostAccess(dir, { address: '10.77.0.1', port: 3128 }, join(root, 'ca'));
      expect(await readdir(join(dir, 'ca'))).toEqual(['corp_egress.crt']);
      expect(await readFile(join(dir, 'ca/corp_egress.crt'), 'utf8')).toBe('PEM');
      await writeHostAccess(dir, undefined, join(root, 'ca'));
      expect(await readdir(join(dir, 'ca'))).toEqual([]);
      expect(await readFile(join(dir, 'apt.conf'), 'utf8')).toMatch(/^\/\/ offline/);
      // A server whose directory a parallel `down` removed is skipped, and its directory is not made again.
      expect(await writeHostAccess(join(root, 'gone', 'host-access'), { address: '10.77.0.1', port: 3128 }, join(root, 'ca'))).toBe(false);
      expect(await readdir(root)).not.toContain('gone');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('the proxy process, on loopback', () => {
  let root: string;
  let proxy: http.Server;
  let port = 0;
  const clientsFile = () => join(root, 'clients');

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'slipway-proxy-'));
    await writeFile(clientsFile(), '127.0.0.1\n');
    await new Promise<void>((resolve) => {
      proxy = serveProxy({ address: '127.0.0.1', port: 0, clientsFile: clientsFile(), logFile: join(root, 'log'), onListening: (p) => ((port = p), resolve()) });
    });
  });
  afterAll(async () => {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    await rm(root, { recursive: true, force: true });
  });

  const get = (url: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: url, headers: { host: new URL(url, 'http://x').host } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  const connect = (authority: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
      let answer = '';
      socket.setEncoding('utf8').on('data', (c: string) => (answer += c));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });

  it('refuses the host itself, by name and by address, for plain requests and tunnels', async () => {
    expect(await get('http://127.0.0.1/')).toMatchObject({ status: 403, body: expect.stringContaining('this host') });
    expect(await get('http://localhost/')).toMatchObject({ status: 403, body: expect.stringContaining('loopback') });
    expect(await connect('127.0.0.1:443')).toMatch(/^HTTP\/1\.1 403 .*this host/s);
    expect(await connect('10.77.1.2:443')).toMatch(/^HTTP\/1\.1 403 .*the sandbox network/s);
    expect(await connect('mirror.example:22')).toMatch(/^HTTP\/1\.1 403 .*port 22/s);
  });

  it('answers 400 to a request that is not for a proxy', async () => {
    expect((await get('/index.html')).status).toBe(400);
  });

  it('serves only the servers listed as online, re-reading the list when it changes', async () => {
    await writeFile(clientsFile(), '10.77.1.2\n');
    // The list is read again when its mtime changes; make sure it does, even on a coarse clock.
    await new Promise((r) => setTimeout(r, 20));
    expect(await get('http://127.0.0.1/')).toMatchObject({ status: 403, body: expect.stringContaining('offline') });
    await writeFile(clientsFile(), '127.0.0.1\n');
    const log = await readFile(join(root, 'log'), 'utf8');
    expect(log).toMatch(/127\.0\.0\.1 CONNECT 127\.0\.0\.1:443 refused: this host/);
  });
});
