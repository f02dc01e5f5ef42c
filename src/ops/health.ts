// The health check, run on the host against the process itself (not through a proxy), with backoff.
import type { Snippet } from './command.js';
import { listenerCheck } from './ports.js';
import { ownerTest } from './managers.js';
import { quote } from './shell.js';

export interface HealthCheck {
  url: string;
  expectedStatus: number;
  timeoutSeconds: number;
  retries: number;
  /** The unit that must own the listener the answer came from (absent in manifests written before it existed). */
  unit?: string;
  /** Who keeps that unit running; unset: systemd (and manifests written before supervisor was one). */
  manager?: 'supervisor';
  /** The Unix socket the request goes through (http.switch socket); the URL then gives only path and Host. */
  socket?: string;
}

/** A check's `manager` field for a unit the given manager keeps (systemd's is the default, left out). */
export const keptBy = (kind: 'systemd' | 'supervisor'): Pick<HealthCheck, 'manager'> => (kind === 'supervisor' ? { manager: 'supervisor' } : {});

/** The check as `plan` names it: the URL, and the socket it goes through. */
export const healthTarget = (check: Pick<HealthCheck, 'url' | 'socket'>) => (check.socket ? `${check.url} through ${check.socket}` : check.url);

/** Delays between attempts: start fast (a restarted app is often up within 100 ms), double up to 2 s. */
export function backoffDelays(retries: number): string[] {
  const delays: string[] = [];
  let delay = 0.1;
  for (let i = 1; i < retries; i += 1) {
    delays.push(delay.toFixed(1));
    delay = Math.min(delay * 2, 2);
  }
  return delays;
}

/** How often a port that refuses connections is looked at again, within a delay. */
export const REFUSED_POLL_SECONDS = 0.05;

/**
 * `retries` attempts of `timeoutSeconds` each, with the backoff delays between them. While nothing listens yet
 * (curl exits 7 at once: connection refused), the port is looked at again every 50 ms during the delay, and the
 * first answer is the next attempt: an app listening at 0.75 s is seen then, not at the attempt at 1.5 s. Those
 * looks count as no attempt and add no time: an app that answers wrongly still waits each whole delay before
 * its next attempt, and one that never listens is given up on after the same delays as before.
 */
export function healthProbe(check: HealthCheck): Snippet {
  const through = check.socket ? ` --unix-socket ${quote(check.socket)}` : '';
  const curl = `curl -s -o /dev/null -w '%{http_code}'${through} --max-time ${check.timeoutSeconds} ${quote(check.url)}`;
  const attempt = `rc=0; status=$(${curl}) || rc=$?`;
  const expected = String(check.expectedStatus);
  const backoff = backoffDelays(check.retries);
  /** How many refused looks fit in a delay. */
  const looks = (delay: string) => Math.round(Number(delay) / REFUSED_POLL_SECONDS);
  const delays = backoff.map((d) => `${d}:${looks(d)}`);
  // Through a socket, the first attempt waits (within the first delay, 50 ms at a time) for the socket to exist: a
  // slot just restarted has none yet, and a curl would only be refused (a curl costs the server 8 ms of CPU, a
  // look at the file nothing). A socket file left by a killed process is refused as before.
  const socketWait =
    check.socket && backoff[0] ? [`ticks=${looks(backoff[0])}; while [ ! -S ${quote(check.socket)} ] && [ "$ticks" -gt 0 ]; do sleep ${REFUSED_POLL_SECONDS}; ticks=$((ticks - 1)); done`] : [];
  return {
    shell: [
      ...socketWait,
      attempt,
      `for delay in ${delays.join(' ')}; do [ "$status" = ${expected} ] && break`,
      `  if [ "$rc" = 7 ]; then ticks=\${delay#*:}; while :; do sleep ${REFUSED_POLL_SECONDS}; ticks=$((ticks - 1)); ${attempt}; [ "$rc" = 7 ] && [ "$ticks" -gt 0 ] || break; done`,
      `  else sleep "\${delay%:*}"; ${attempt}; fi`,
      'done',
      // The URL carries the configured path: quoted like every other value, never inside double quotes.
      `[ "$status" = ${expected} ] || { printf 'health check failed: %s answered %s, expected %s\\n' ${quote(healthTarget(check))} "$status" ${expected}; false; }`,
      // The answer counts only if it came from the process just started, not from whatever held the port.
      ...(check.unit ? [listenerCheck({ port: urlPort(check.url), ...(check.socket ? { socket: check.socket } : {}), units: [check.unit], owns: ownerTest(check.manager), mustListen: true }).shell] : []),
    ].join('\n'),
  };
}

const urlPort = (url: string) => {
  const parsed = new URL(url);
  return Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
};
