// What the sandbox's forward proxy (proxy.ts) lets a server reach, as pure decisions. The proxy carries a
// server's package downloads to what the host itself can reach on the web ports; it never becomes a way into
// the host's own services, the other sandbox servers' back doors, or a cloud's metadata service.
import { isIP } from 'node:net';

/** Package sources are web servers: plain HTTP and HTTPS, nothing else. */
export const PROXY_PORTS: readonly number[] = [80, 443];

/** Where the proxy listens: the bridge's own address, which every server reaches on its link. */
export const PROXY_LISTEN_ADDRESS = '10.77.0.1';
/** Squid's port, as tools expect; another one is taken when something else holds it. */
export const PROXY_DEFAULT_PORT = 3128;

export interface Target {
  host: string;
  port: number;
}

/** `host:port` of a CONNECT request (`[v6]:port` too); undefined when it is not one. */
export function parseConnectTarget(authority: string): Target | undefined {
  const m = authority.match(/^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/[\]]+)):(\d{1,5})$/);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** The target of an absolute-form request (`GET http://host/path`); only http, the rest goes through CONNECT. */
export function parseRequestTarget(url: string): (Target & { path: string }) | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' || parsed.hostname === '') return undefined;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: parsed.port === '' ? 80 : Number(parsed.port), path: `${parsed.pathname}${parsed.search}` };
}

function ipv4Number(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

const inV4 = (address: string, network: string, bits: number): boolean =>
  Math.floor(ipv4Number(address) / 2 ** (32 - bits)) === Math.floor(ipv4Number(network) / 2 ** (32 - bits));

/**
 * Why an address the target resolved to is refused, or undefined when it is allowed: this host (loopback and
 * `own`, the host's interface addresses), the sandbox network, link-local (metadata services), and addresses
 * that are no single host. Private networks stay allowed: a host's package mirror may well be on one.
 */
export function refusedAddress(address: string, own: ReadonlySet<string> = new Set()): string | undefined {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  if (own.has(address.toLowerCase())) return 'this host';
  if (family === 6) {
    const lower = address.toLowerCase();
    const mapped = lower.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
    if (mapped?.[1]) return refusedAddress(mapped[1], own);
    if (lower === '::1') return 'loopback';
    if (lower === '::') return 'unspecified';
    if (/^fe[89ab]/.test(lower)) return 'link-local';
    if (lower.startsWith('ff')) return 'multicast';
    return undefined;
  }
  if (inV4(address, '127.0.0.0', 8)) return 'loopback';
  if (inV4(address, '10.77.0.0', 16)) return 'the sandbox network';
  if (inV4(address, '169.254.0.0', 16)) return 'link-local';
  if (inV4(address, '0.0.0.0', 8)) return 'unspecified';
  if (inV4(address, '224.0.0.0', 4) || inV4(address, '240.0.0.0', 4)) return 'multicast or reserved';
  return undefined;
}

/** Why a request for `target` is refused before any lookup, or undefined. */
export function refusedTarget(target: Target, own: ReadonlySet<string> = new Set()): string | undefined {
  if (!PROXY_PORTS.includes(target.port)) return `port ${target.port} (only ${PROXY_PORTS.join(' and ')})`;
  if (/^(localhost|.*\.localhost)$/i.test(target.host)) return 'loopback';
  return isIP(target.host) === 0 ? undefined : refusedAddress(target.host, own);
}

/** Addresses to try in order: IPv4 first (a host often has no IPv6 route), refused ones left out. */
export function usableAddresses(addresses: readonly { address: string; family: number }[], own: ReadonlySet<string> = new Set()): string[] {
  return [...addresses]
    .sort((a, b) => a.family - b.family)
    .map((a) => a.address)
    .filter((a) => refusedAddress(a, own) === undefined);
}
