// A sandbox server's network cut from this host, the way a partition looks to slipway: the host end of its veth
// (slwNh) taken down, then up again. With that link down, the server's address could follow the machine's default
// route off this machine, so a blackhole for the whole sandbox range (less specific than every sandbox route, so
// used only while the link is down) is in place for as long as a cut lasts, and removed afterwards, also on failure.
// Its metric is this helper's own, so another test adding or removing its blackhole meanwhile changes nothing here.
import { runHost } from '../../../src/sandbox/host.js';
import type { TestServer } from './sandbox.js';

const BLACKHOLE = ['blackhole', '10.77.0.0/16', 'metric', '9996'];

/** `slwNh` for a server at 10.77.N.2. */
export const hostVethOf = (server: TestServer): string => `slw${server.address.split('.')[2]}h`;

async function must(argv: string[]): Promise<string> {
  const result = await runHost(argv);
  if (result.code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

/**
 * Takes the server's link down for `seconds` (a blackhole route in place first, checked to be what the server's
 * address routes to), then brings it up again and removes the blackhole, whatever happens in between.
 */
export async function cutLink(server: TestServer, seconds: number): Promise<void> {
  await runHost(['ip', 'route', 'del', ...BLACKHOLE]); // left by a run that was killed
  await must(['ip', 'route', 'add', ...BLACKHOLE]);
  const veth = hostVethOf(server);
  try {
    await must(['ip', 'link', 'set', veth, 'down']);
    try {
      const route = await must(['ip', 'route', 'get', server.address]);
      if (!/blackhole|slwbr0|slw\d+h/.test(route)) throw new Error(`with ${veth} down, ${server.address} would leave this machine: ${route}`);
      await new Promise((r) => setTimeout(r, seconds * 1000));
    } finally {
      await must(['ip', 'link', 'set', veth, 'up']);
    }
  } finally {
    await runHost(['ip', 'route', 'del', ...BLACKHOLE]);
  }
}
