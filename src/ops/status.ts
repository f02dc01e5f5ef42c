// The read-only probes behind `slipway status` (and the unit list of `env set` and `logs`). Their line
// records are parsed by plan/status.ts; nothing here changes the host.
import { lockStatusProbe } from './agent.js';
import type { Snippet } from './command.js';
import { MEMORY_PROBE, filesystemProbe } from './server-probe.js';
import { quote } from './shell.js';
import { managerOf } from './managers.js';
import type { Layout } from '../plan/layout.js';
import { BALANCER_HEADER } from '../render/balancer.js';
import { drillStatePath, monitorStatePath } from '../render/monitor-paths.js';

/**
 * `service NAME ActiveState=.. SubState=.. MainPID=..` for each installed service of the app and each
 * running blue/green slot, from its process manager.
 */
export const servicesProbe = (layout: Layout): Snippet => managerOf(layout).statusProbe;

/** `health CODE`: one request to the health URL the current release recorded in its manifest (000: no answer). */
export function currentHealthProbe(layout: Pick<Layout, 'current' | 'meta' | 'liveSlotFile'>, timeoutSeconds: number): Snippet {
  const manifest = `${quote(layout.meta)}/releases/"$(basename "$(readlink ${quote(layout.current)})")"/manifest.json`;
  return {
    shell: [
      `[ -L ${quote(layout.current)} ] || exit 0`,
      // The manifest is slipway's own JSON: the health URL is the only "url" key in it.
      `url=$(grep -o '"url": *"[^"]*"' ${manifest} 2>/dev/null | head -n 1 | sed 's/^"url": *"//; s/"$//')`,
      `[ -n "$url" ] || exit 0`,
      // Blue/green: the release serves from the live slot, whose port may differ from the one it started on.
      `if [ -f ${quote(layout.liveSlotFile)} ]; then port=$(sed -n 's/^PORT=//p' ${quote(layout.meta)}/slot-"$(cat ${quote(layout.liveSlotFile)})".env 2>/dev/null); ` +
        `if [ -n "$port" ]; then url=$(printf '%s' "$url" | sed "s#^\\(http://[^/:]*\\):[0-9]*#\\1:$port#"); fi; fi`,
      // http.switch socket: the link nginx proxies to, which the manifest's web tier names after its health
      // check's (a slot's own socket): the last "socket" key.
      `socket=$(grep -o '"socket": *"[^"]*"' ${manifest} 2>/dev/null | tail -n 1 | sed 's/^"socket": *"//; s/"$//')`,
      'echo "healthurl $url${socket:+ through $socket}"',
      `echo "health $(curl -s -o /dev/null -w '%{http_code}' \${socket:+--unix-socket "$socket"} --max-time ${Math.max(1, Math.floor(timeoutSeconds))} "$url" || true)"`,
    ].join('\n'),
  };
}

/** `disk NAME KB` for releases/, venvs/, node-deps/, node/ and shared/backups/, `last JSON` (latest history entry), `lock STATE [HOLDER JSON]`. */
export function statusProbe(layout: Layout): Snippet {
  const root = quote(layout.root);
  return {
    shell: [
      `for d in releases venvs node-deps node shared/backups; do if [ -d ${root}/"$d" ]; then echo "disk $d $(du -sk ${root}/"$d" 2>/dev/null | cut -f1)"; fi; done`,
      `if [ -f ${quote(layout.history)} ]; then echo "last $(tail -n 1 ${quote(layout.history)})"; fi`,
      `echo "lock $( (${lockStatusProbe(layout.lockFile, layout.holderFile).replaceAll('\n', '; ')}) 2>/dev/null | tr '\\n' ' ')"`,
      `if [ -f ${quote(monitorStatePath(layout))} ]; then echo "monitor $(head -n 1 ${quote(monitorStatePath(layout))})"; fi`,
      `if [ -f ${quote(drillStatePath(layout))} ]; then echo "drill $(head -n 1 ${quote(drillStatePath(layout))})"; fi`,
      // The server itself: load averages, memory, and the disk the app lives on (the nearest existing parent).
      'if [ -r /proc/loadavg ]; then echo "load $(cut -d" " -f1-3 /proc/loadavg)"; fi',
      MEMORY_PROBE,
      filesystemProbe(layout.root, 'fs'),
    ].join('\n'),
  };
}

/**
 * `balance LINE` for each `server` line of a load balancer's upstream (only a load balancer's: its header says
 * so): the first of `upstreamFiles` that is one (the balancing tier's, then a public site's from before the tier).
 */
export function balancerProbe(...upstreamFiles: string[]): Snippet {
  // -F: the header is matched as written, not as a pattern.
  const lines = (file: string) => `if grep -qF ${quote(BALANCER_HEADER)} ${file} 2>/dev/null; then grep '^ *server ' ${file} | head -n 200 | sed 's/^ *server /balance /'`;
  return { shell: `${upstreamFiles.map((f) => lines(quote(f))).join('\nel')}\nfi` };
}
