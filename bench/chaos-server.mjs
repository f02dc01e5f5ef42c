// What the chaos bench reads after each fault: the app's state as slipway reports it (releases, status, history)
// and as the server shows it (units, timers, nginx's upstream, stray files and processes, the page served).
import { readFileSync } from 'node:fs';
import { CLI, exec } from './lib.mjs';
import { alive, onServer, run, sleep } from './chaos-tools.mjs';

export const APP = 'hello';
const BASE = `/opt/${APP}`;

/** `slipway -c repo ...argv --json`, parsed; undefined when it fails. */
export async function cliJson(repo, env, ...argv) {
  const result = await run(process.execPath, [CLI, '-c', repo, ...argv, '--json'], { env, timeoutMs: 60_000 });
  if (result.code !== 0) return undefined;
  try {
    return JSON.parse(result.stdout);
  } catch {
    return undefined;
  }
}

export async function historyOf(repo, env) {
  return (await cliJson(repo, env, 'history', 'sandbox', '-n', '1000'))?.[0]?.entries ?? [];
}

const LOCK_HOLDERS = `for p in /proc/[0-9]*; do
  if ls -l $p/fd 2>/dev/null | grep -q 'deploy.lock'; then
    pid=\${p#/proc/}; echo "pid $pid: $(tr '\\0' ' ' < $p/cmdline | cut -c1-120) state=$(awk '/^State/ {print $2}' $p/status) wchan=$(cat $p/wchan)"
    ls -l $p/fd 2>/dev/null | sed 's/^/    /' | grep -v ' -> /dev/null'
  fi
done
ps -eo pid,ppid,stat,etimes,wchan:20,args --forest | grep -v ' \\[' | tail -40`;

/** Waits until no slipway agent holds the deploy lock (the host finished repairing); false after `ms`. */
export async function lockFree(address, ms = 60_000) {
  const deadline = Date.now() + ms;
  // An ssh that fails (exit 255: just after a link came back, the first connection can time out) says nothing
  // about the lock: ask again until the deadline. Counting it as "held" was finding 7 of docs/reliability.md.
  for (;;) {
    const tries = Math.max(1, Math.ceil((deadline - Date.now()) / 250));
    const script = `for i in $(seq ${tries}); do [ ! -e ${BASE}/.slipway/deploy.lock ] && exit 0; flock -n ${BASE}/.slipway/deploy.lock true && exit 0; sleep 0.25; done; exit 1`;
    const probe = await onServer(address, script, Math.max(1_000, deadline - Date.now()) + 10_000);
    if (probe.code === 0) return true;
    if (probe.code === 255 && Date.now() < deadline) {
      console.log(`  (ssh to ${address} failed while waiting for the lock, asking again: ${probe.stderr.trim().split('\n').pop()})`);
      await new Promise((r) => setTimeout(r, 1_000));
      continue;
    }
    // Who holds it, when something still does: each process with the lock open, its state and its parents.
    console.log(`lock held after ${ms / 1000} s on ${address} (last probe exit ${probe.code}):\n${(await onServer(address, LOCK_HOLDERS)).stdout}`);
    return false;
  }
}

// One ssh round trip: everything of the app the server runs or holds, as `key=value` lines.
const PROBE = `
units=$(systemctl list-units --type=service --state=active,activating,reloading --plain --no-legend '${APP}*' | awk '{print $1}' | sort | tr '\\n' ' ')
timers=$(systemctl list-units --type=timer --state=active --plain --no-legend '${APP}-drain*' | awk '{print $1}' | tr '\\n' ' ')
echo "units=$units"
echo "timers=$timers"
echo "upstream=$(grep -ho '127.0.0.1:[0-9]*' /etc/nginx/slipway/${APP}.upstream.conf 2>/dev/null | tr '\\n' ' ')"
echo "link=$(grep -q 'server unix:' /etc/nginx/slipway/${APP}.upstream.conf 2>/dev/null && readlink ${BASE}/run/web.sock)"
for unit in $units; do echo "port:$unit=$(systemctl show -p Environment --value "$unit" | grep -o 'PORT=[0-9]*')$(cat /proc/$(systemctl show -p MainPID --value "$unit")/environ 2>/dev/null | tr '\\0' '\\n' | grep '^PORT=' | head -1)"; done
echo "files=$(find ${BASE} /etc/nginx /etc/systemd/system -maxdepth 5 \\( -name '*.slipway-new' -o -name '*.slipway-prev' -o -name '*.tmp' -o -name '*.tmp.*' \\) 2>/dev/null | tr '\\n' ' ')"
echo "mktemp=$(find /tmp -maxdepth 1 -name 'tmp.*' -type f 2>/dev/null | wc -l)"
echo "agents=$(pgrep -fc '[e]val "\\$agent"')"
echo "hooks=$(pgrep -fc '^sleep [0-9]+$')"
echo "apps=$(pgrep -fc '^python3 app.py( |$)')"
`;

function parseProbe(text) {
  const facts = { ports: {} };
  for (const line of text.split('\n')) {
    const m = /^([a-z]+)(?::([^=]+))?=(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'port') facts.ports[m[2]] = /PORT=(\d+)/.exec(m[3])?.[1];
    else facts[m[1]] = m[3].trim();
  }
  return facts;
}

/** The page nginx serves now, on a new connection: its version, or `HTTP <status>` / the error. */
export async function servedVersion(address) {
  try {
    const response = await fetch(`http://${address}/`, { signal: AbortSignal.timeout(3000), headers: { connection: 'close' } });
    const body = await response.text();
    return response.ok ? (/<p>version ([^<]*)<\/p>/.exec(body)?.[1] ?? '(no version)') : `HTTP ${response.status}`;
  } catch (error) {
    return error.cause?.code ?? error.name;
  }
}

/**
 * The state after a fault: which release is current and its status, what the page shows, and orphans: a unit
 * running beyond the one serving, a drain timer still armed once its drain period is over, stray files, processes
 * of slipway left on the server or on this machine.
 */
export async function inspect({ repo, env, address, strategy, versions, localPids = [], steadyFiles = [] }) {
  // The probe first: `releases` and `status` run agents of their own, which it would count as left over.
  const [probe, served] = await Promise.all([onServer(address, PROBE), servedVersion(address)]);
  const [releases, status] = await Promise.all([cliJson(repo, env, 'releases', 'sandbox'), cliJson(repo, env, 'status', 'sandbox')]);
  const host = releases?.[0];
  const current = host?.releases.find((r) => r.id === host.current);
  const facts = parseProbe(probe.stdout);
  const units = facts.units ? facts.units.split(' ') : [];
  const orphans = [];
  const webUnits = units.filter((u) => u.startsWith(`${APP}-web`));
  if (strategy === 'blue-green') {
    // Through the socket link (web.sock -> web-<slot>.sock), the slot it names; else the port the upstream names.
    const linked = /^web-(blue|green)\.sock$/.exec(facts.link ?? '')?.[1];
    const serving = webUnits.filter((u) => (linked ? u === `${APP}-web@${linked}.service` : facts.upstream?.includes(`:${facts.ports[u]}`)));
    if (serving.length === 0) orphans.push('no unit behind nginx');
    const extra = webUnits.filter((u) => !serving.includes(u));
    if (extra.length) orphans.push(`extra ${extra.join(',')}`);
  } else if (webUnits.length !== 1) orphans.push(webUnits.length ? `units ${webUnits.join(',')}` : 'no web unit');
  if (facts.timers) orphans.push(`timer ${facts.timers}`);
  const files = (facts.files ? facts.files.split(' ') : []).filter((f) => !steadyFiles.includes(f));
  if (files.length) orphans.push(`files ${files.join(' ').replaceAll(`${BASE}/`, '')}`);
  if (Number(facts.mktemp) > 0) orphans.push(`/tmp files ${facts.mktemp}`);
  if (Number(facts.agents) > 0) orphans.push(`agents ${facts.agents}`);
  if (Number(facts.hooks) > 0) orphans.push(`hook processes ${facts.hooks}`);
  if (Number(facts.apps) > webUnits.length) orphans.push(`app processes ${facts.apps} for ${webUnits.length} unit(s)`);
  const leftLocal = localPids.filter((pid) => alive(pid) && commandOf(pid) === 'ssh');
  if (leftLocal.length) orphans.push(`local ssh ${leftLocal.join(',')}`);
  if (probe.code !== 0) orphans.push(`(server probe failed: ${probe.stderr.trim().split('\n').pop()})`);
  const version = current ? versions.get(current.manifest?.sha?.slice(0, 7)) ?? '?' : undefined;
  return {
    current: current ? `${version} ${current.status}` : host ? 'none' : 'unreadable',
    currentId: current?.id,
    served,
    // Half-switched: the page nginx serves is not the release `current` names.
    agree: version !== undefined && served === version,
    health: status?.[0]?.health?.ok === true,
    files: facts.files ? facts.files.split(' ') : [],
    detail: `units: ${facts.units || 'none'}; nginx upstream: ${facts.link ? `the socket link, to ${facts.link}` : facts.upstream || 'none'}`,
    orphans,
  };
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Waits for a rebooted or killed server's nspawn to be gone, then boots it again; returns its new address. */
export async function bootAgain(name, pid, env) {
  for (let i = 0; i < 120 && alive(pid); i++) await sleep(250);
  const up = await run(process.execPath, [CLI, 'sandbox', 'up', name], { env, timeoutMs: 120_000 });
  if (up.code !== 0) throw new Error(`sandbox up ${name} after its reboot failed:\n${up.stderr}`);
  return sandboxEntry(name, env).then((s) => s.address);
}

export async function sandboxEntry(name, env) {
  const listed = await run(process.execPath, [CLI, 'sandbox', 'list', '--json'], { env, timeoutMs: 30_000 });
  const entry = JSON.parse(listed.stdout).find((s) => s.name === name);
  if (!entry) throw new Error(`sandbox server ${name} is not listed`);
  return entry;
}

/** Every process of a sandbox server (its namespace) and its nspawn, SIGKILLed at once: a power cut. */
export async function powerOff(name, nspawnPid) {
  const pids = (await exec('ip', ['netns', 'pids', `slw-${name}`])).stdout.split(/\s+/).filter(Boolean).map(Number);
  for (const pid of [nspawnPid, ...pids]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
