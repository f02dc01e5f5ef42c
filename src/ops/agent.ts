// The remote agent: one long-lived shell per host and run. It optionally takes the deploy lock, then runs
// each script slipway sends (length-prefixed on stdin) in a subshell and reports its exit code. A script may
// come with data (a pack of commits, see Carried in ops/command.ts): `<size> <data size> <path>`, the script,
// then the data, which the agent writes to the path before the script starts.
//
// Why one process: the lock is a kernel `flock` held by this shell. When slipway dies (even by SIGKILL) or the
// connection drops, the agent's stdin closes, the loop ends and the kernel frees the lock: it cannot go stale.
// Every script runs inside the lock, and a script costs one round trip instead of one SSH session each.
import { finishPending } from './history.js';
import { quote, systemUp } from './shell.js';

export interface LockRequest {
  lockFile: string;
  holderFile: string;
  /** Holder details written next to the lock (no secrets: user, machine, pid, command, start time). */
  holder: Record<string, string | number>;
  /** Seconds to wait for another deploy to finish; 0 fails at once. */
  waitSeconds: number;
  /** Where an operation's pending history line is finished when slipway vanishes between two scripts. */
  history?: { history: string; pendingHistory: string };
  /**
   * The boot-time switch-back (ops/boot.ts): left armed only for a boot to finish. An agent that ends without a
   * goodbye on a running system disarms it, or a later reboot would switch back a release long settled.
   */
  bootRecovery?: string;
}

/** What slipway sends instead of a script's size when it is done: anything else ending the input is unclean. */
export const GOODBYE = '0';

export const LOCK_HELD_EXIT = 75;
/** The bootstrap's first line, before the agent is read or the lock waited for: the host answers at all. */
export const UP_MARKER = '##slipway-up';
export const READY_MARKER = '##slipway-ready';
export const LOCK_HELD_MARKER = '##slipway-lock-held';
export const exitMarker = (nonce: string) => `##slipway-exit-${nonce}`;

/** slipway sends an empty line this often for as long as it is connected, so the host can tell a silent partition. */
export const HEARTBEAT_SECONDS = 5;
/** A host that hears nothing for this long stops the script: longer than ssh's own dead-peer detection (15 s). */
export const SILENCE_SECONDS = 20;

export function agentScript(nonce: string, lock?: LockRequest, silenceSeconds = SILENCE_SECONDS): string {
  const lines: string[] = [];
  if (lock) {
    const dir = lock.lockFile.slice(0, lock.lockFile.lastIndexOf('/'));
    const wait = lock.waitSeconds > 0 ? `-w ${lock.waitSeconds}` : '-n';
    // The agent's own pid completes the holder record, so `lock release --force` can end exactly this agent.
    const rest = JSON.stringify(lock.holder).slice(1);
    lines.push(
      `mkdir -p ${quote(dir)} || exit 70`,
      `exec 9>>${quote(lock.lockFile)}`,
      `if ! flock ${wait} 9; then echo ${quote(LOCK_HELD_MARKER)}; cat ${quote(lock.holderFile)} 2>/dev/null; exit ${LOCK_HELD_EXIT}; fi`,
      `printf '{"agent_pid":%s,%s\\n' "$$" ${quote(rest)} > ${quote(lock.holderFile)}`,
    );
    // A line the last agent left unfinished (killed itself, or the server lost power between two scripts) goes
    // into history before this operation writes its own pending line over it.
    if (lock.history) lines.push(finishPending(lock.history, true));
  }
  lines.push(
    // fd 3 keeps the connection's stdin for the watchdog: background jobs otherwise get /dev/null.
    'exec 3<&0',
    `echo ${quote(READY_MARKER)}`,
    // Idle too, a silent input ends the agent (and frees the lock): a partition must not hold it for the hours
    // TCP takes to notice.
    `while IFS=' ' read -r -t ${silenceSeconds} size carried carried_to; do`,
    // A heartbeat that arrived after its script ended.
    '  [ -z "$size" ] && continue',
    `  [ "$size" = ${GOODBYE} ] && { slipway_done=1; break; }`,
    '  script=$(head -c "$size")',
    // Data that cannot be written whole would leave the rest of it in the input, read as the next script: the
    // agent ends instead (the error on stderr tells the client why; the lock is freed, the operation recorded).
    // Data cut short by a client that vanished is a truncated pack, which git refuses by its checksum.
    '  if [ -n "$carried" ]; then mkdir -p -- "${carried_to%/*}" && head -c "$carried" > "$carried_to" || break; fi',
    // The lock descriptor stays with the agent only: a service started by a script must not inherit it.
    `  ( ${lock ? 'exec 9>&-; ' : ''}eval "$script" ) </dev/null 2>&1 &`,
    '  job=$!',
    // While a script runs slipway sends only heartbeats (empty lines). End-of-file means slipway or the
    // connection is gone, and silence means a partition ssh has not noticed yet (the client gives up after
    // 15 s): either way the script is told to stop (it finishes its current command, then recovers) instead of
    // running on blind and going live while the client reports a failure.
    `  { while IFS= read -r -t ${silenceSeconds} _; do :; done; kill -TERM "$job" 2>/dev/null; } <&3 &`,
    '  watchdog=$!',
    '  wait "$job"; rc=$?',
    '  kill "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null',
    // In a subshell: with slipway gone, this write raises SIGPIPE, which must end the subshell, not the agent (the
    // agent still has the pending history line to finish).
    `  ( printf '\\n${exitMarker(nonce)} %s\\n' "$rc" ) 2>/dev/null`,
    'done',
  );
  // Gone without a goodbye while no script ran (a kill between two steps): the operation still gets its line.
  if (lock?.history) lines.push(`[ "\${slipway_done:-0}" = 1 ] || { ${finishPending(lock.history)}; }`);
  if (lock?.bootRecovery) {
    lines.push(`[ "\${slipway_done:-0}" = 1 ] || { ${systemUp} && rm -f ${quote(lock.bootRecovery)}; }`);
  }
  return lines.join('\n');
}

/**
 * The remote command line that starts the agent: it reads the agent itself from stdin, so nothing of it (the
 * lock holder's details) shows in the server's process list. `head -c` never reads past the agent's last byte.
 * It says it is up first: through a kept connection, that line is the proof the server still answers.
 */
export function agentBootstrap(agent: string): string {
  return `echo ${quote(UP_MARKER)}; agent=$(head -c ${Buffer.byteLength(agent)}) && eval "$agent"`;
}

/** Lock state as seen by `slipway lock status`: free, or held with the holder's details. */
export function lockStatusProbe(lockFile: string, holderFile: string): string {
  return [
    `if [ ! -e ${quote(lockFile)} ]; then echo free; exit 0; fi`,
    `if flock -n ${quote(lockFile)} true; then echo free; else echo held; cat ${quote(holderFile)} 2>/dev/null; fi`,
  ].join('\n');
}
