// Who listens on a port, by the service that runs it: a health check that got its answer from a process slipway did not
// start proves nothing (a stranger on the port once passed for the new release, and nginx was switched to it).
import type { Snippet } from './command.js';
import { quote } from './shell.js';
import type { OwnerTest } from './process-manager.js';

export interface ListenerCheck {
  port: number;
  /** A Unix socket to look at instead of the port (the web process behind http.switch socket). */
  socket?: string;
  /** Services whose processes may listen there. */
  units: readonly string[];
  /** How a process is told to belong to one of them (its manager's test: a systemd unit's cgroup...). */
  owns: OwnerTest;
  /** Also require that one of them does listen (after a health check); otherwise only strangers fail it. */
  mustListen: boolean;
}

/**
 * Lists the pids listening on the port (`ss -p` sees other users' sockets only as root, hence sudo), then
 * each pid's owner (its cgroup, its supervisor program): one outside the given services is a stranger, named with its command line.
 * Only `ss` is a process of its own: the pids are taken from its output by the shell (every health check runs this,
 * on every server; the pipe of grep, cut and sort it replaced cost five processes).
 */
export function listenerCheck({ port, socket, units, owns, mustListen }: ListenerCheck): Snippet {
  const ss = socket ? `ss -Hxlp src ${quote(socket)}` : `ss -Hltnp ${quote(`sport = :${port}`)}`;
  const where = socket ? `socket ${socket}` : `port ${port}`;
  const lines = [
    `command -v ss >/dev/null || { echo 'ss is not installed: install iproute2'; false; }`,
    // No listener at all is an empty list, not a failure.
    `slipway_ss=$(if [ "$EUID" = 0 ]; then ${ss}; else sudo -n ${ss}; fi) || true`,
    // Each `pid=N` once, in order: the leftmost match, then what follows it.
    'slipway_listeners=; while [[ $slipway_ss =~ pid=([0-9]+) ]]; do pid=${BASH_REMATCH[1]}; slipway_ss=${slipway_ss#*pid=$pid}',
    '  case " $slipway_listeners " in *" $pid "*) ;; *) slipway_listeners="$slipway_listeners $pid" ;; esac; done',
    'slipway_ours=0; slipway_strangers=',
    'for pid in $slipway_listeners; do',
    `  if ${owns(units)}; then slipway_ours=1; else slipway_strangers="$slipway_strangers $pid"; fi`,
    'done',
    'if [ -n "$slipway_strangers" ]; then',
    `  printf '%s is held by a process slipway did not start (not %s):\\n' ${quote(where)} ${quote(units.join(' or '))}`,
    '  ps -o pid=,user=,args= -p "${slipway_strangers# }" | sed "s/^/  /" || true',
    `  printf 'stop it, or give the process another port\\n'`,
    '  false',
  ];
  if (mustListen) {
    lines.push(`elif [ "$slipway_ours" = 0 ]; then`, `  printf 'nothing of %s listens on %s\\n' ${quote(units.join(' or '))} ${quote(where)}`, '  false');
  }
  lines.push('fi');
  return { shell: lines.join('\n') };
}
