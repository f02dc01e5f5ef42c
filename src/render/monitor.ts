// The health monitor between deploys (`monitor.enabled`): a systemd timer on each server that runs the app's web
// process starts a oneshot service, which runs one check. The check asks for the live release's health as the
// deploy's own check does, and it checks that each of the app's services on this server is active (by its process manager). It writes the
// outcome to a state file, and it tells the webhooks only when the outcome changes: one alert when the check
// starts failing, and one recovery when it passes again, so there is no alert storm. A heartbeat URL is pinged
// after each passing check. Everything here is pure text; the webhook URLs live only in the 0600 env file.
import { currentHealthProbe } from '../ops/status.js';
import { quote } from '../ops/shell.js';
import { managerOf } from '../ops/managers.js';
import type { Layout } from '../plan/layout.js';
import { monitorEnvPath, monitorScriptPath, monitorStatePath } from './monitor-paths.js';

export { monitorEnvPath, monitorScriptPath, monitorStatePath, monitorTimerName, monitorUnitName } from './monitor-paths.js';

export interface MonitorSpec {
  app: string;
  env: string;
  host: string;
  /** Services that must be active: the host's processes that are not blue/green slots. */
  services: string[];
  /** The blue/green web process, whose live slot's unit is `<prefix>-<process>@<slot>.service`. */
  slotProcess?: string;
  expectedStatus: number;
  timeoutSeconds: number;
  intervalSeconds: number;
  /** Webhooks subscribed to alert or recovery: format and URL (secret). */
  hooks: { format: 'json' | 'slack'; url: string; events: string[] }[];
  heartbeatUrl?: string;
}

/** The secrets file: one `HOOK_<n>=format events url` line per webhook, the heartbeat URL. Sourced by bash. */
export function renderMonitorEnv(spec: Pick<MonitorSpec, 'hooks' | 'heartbeatUrl'>): string {
  return [
    '# Written by slipway (monitor): the webhooks the health monitor tells. Secrets: root-only.',
    ...spec.hooks.map((h, i) => `HOOK_${i}=${quote(`${h.format} ${h.events.join(',')} ${h.url}`)}`),
    `HOOKS=${spec.hooks.length}`,
    `HEARTBEAT_URL=${quote(spec.heartbeatUrl ?? '')}`,
    '',
  ].join('\n');
}

/**
 * The bash function `tell EVENT TEXT` that sends an event to each webhook of the sourced env file subscribed to
 * it (HOOK_<n>, HOOKS); the script sets `$now` (ISO time) and `$problems` (the detail) first.
 */
export function renderTell(spec: Pick<MonitorSpec, 'app' | 'env' | 'host'>): string {
  return `json() { printf '%s' "$1" | sed 's/\\\\/\\\\\\\\/g; s/"/\\\\"/g'; }
tell() {
  local event=$1 text=$2 i var spec format events url body try
  for ((i = 0; i < HOOKS; i++)); do
    var="HOOK_$i"; spec=\${!var}
    format=\${spec%% *}; spec=\${spec#* }; events=\${spec%% *}; url=\${spec#* }
    case ",$events," in *",$event,"*) ;; *) continue ;; esac
    if [ "$format" = slack ]; then body="{\\"text\\":\\"$(json "$text")\\"}"
    else body="{\\"event\\":\\"$event\\",\\"app\\":\\"$(json ${quote(spec.app)})\\",\\"env\\":\\"$(json ${quote(spec.env)})\\",\\"host\\":\\"$(json ${quote(spec.host)})\\",\\"at\\":\\"$now\\",\\"detail\\":\\"$(json "$problems")\\",\\"text\\":\\"$(json "$text")\\"}"; fi
    # 5 s a try, 3 tries, as the deploy's notifications; the URL never reaches a command line shown anywhere.
    for try in 1 2 3; do
      curl -fsS -m 5 -o /dev/null -H 'content-type: application/json' --data-binary @- "$url" <<<"$body" 2>/dev/null && break
      sleep 1
    done
  done
}`;
}

export function renderMonitorScript(layout: Layout, spec: MonitorSpec): string {
  const label = `${spec.app} ${spec.env} on ${spec.host}`;
  const slot = spec.slotProcess ? `if [ -f ${quote(layout.liveSlotFile)} ]; then units="$units ${layout.unitPrefix}-${spec.slotProcess}@$(cat ${quote(layout.liveSlotFile)}).service"; fi` : ':';
  return `#!/bin/bash
# Written by slipway (monitor): one health check of ${label}; alerts only when the outcome changes.
set -u
. ${quote(monitorEnvPath(layout))}
state_file=${quote(monitorStatePath(layout))}
problems=''
add() { problems="\${problems:+$problems; }$1"; }

# The live release's health, as the deploy checks it (its manifest's URL, the live slot, the socket nginx uses).
answer=$( (
${currentHealthProbe(layout, spec.timeoutSeconds).shell}
) 2>/dev/null )
code=$(printf '%s\\n' "$answer" | sed -n 's/^health //p')
url=$(printf '%s\\n' "$answer" | sed -n 's/^healthurl //p')
if [ -z "$url" ]; then add 'no live release with a health check'
elif [ "$code" != ${spec.expectedStatus} ]; then add "health $url answered \${code:-nothing}, expected ${spec.expectedStatus}"; fi

units=${quote(spec.services.join(' '))}
${slot}
for unit in $units; do
  state=$(${managerOf(layout).stateShell})
  [ "$state" = active ] || add "$unit is \${state:-unknown}"
done

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
if [ -n "$problems" ]; then outcome=failing; else outcome=ok; fi
previous=$(cut -d' ' -f1 "$state_file" 2>/dev/null)

${renderTell(spec)}
if [ "$outcome" != "$previous" ]; then
  printf '%s %s %s\\n' "$outcome" "$now" "$problems" > "$state_file.new" && mv -f "$state_file.new" "$state_file"
  if [ "$outcome" = failing ]; then tell alert ${quote(`${label}: failing:`)}" $problems"
  elif [ -n "$previous" ]; then tell recovery ${quote(`${label}: recovered`)}; fi
fi
if [ "$outcome" = ok ] && [ -n "$HEARTBEAT_URL" ]; then curl -fsS -m 10 -o /dev/null "$HEARTBEAT_URL" 2>/dev/null || true; fi
exit 0
`;
}

export function renderMonitorService(layout: Layout, spec: Pick<MonitorSpec, 'app'>): string {
  return [
    '# Written by slipway (monitor): one health check of the app, started by its timer.',
    '[Unit]',
    `Description=${spec.app}: health monitor (slipway)`,
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=/bin/bash ${monitorScriptPath(layout)}`,
    'TimeoutStartSec=120',
    '',
  ].join('\n');
}

export function renderMonitorTimer(layout: Layout, spec: Pick<MonitorSpec, 'app' | 'intervalSeconds'>): string {
  return [
    '# Written by slipway (monitor): how often the app is checked between deploys.',
    '[Unit]',
    `Description=${spec.app}: health monitor every ${spec.intervalSeconds} s (slipway)`,
    '',
    '[Timer]',
    'OnBootSec=60',
    `OnUnitActiveSec=${spec.intervalSeconds}`,
    'AccuracySec=5',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}
