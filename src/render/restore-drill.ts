// The restore drill (backups.verify_schedule) as it runs on the database server: the newest copy on the first
// copy server (fetched with the server's own key, its checksum checked) or, without copies, the newest dump,
// restored into a scratch database with the same commands as `slipway restore --verify`, every table's rows
// compared with the dump. The result goes to a state file (`slipway status` reads it) and to the webhooks
// subscribed to `drill`; a failed drill also fails its unit.
import { verifyBackup } from '../ops/backups.js';
import { quote, renderCmd } from '../ops/shell.js';
import { renderTell } from './monitor.js';

export interface DrillSpec {
  app: string;
  env: string;
  host: string;
  prefix: string;
  database: string;
  /** The app's dumps (shared/backups). */
  dir: string;
  statePath: string;
  envPath: string;
  /** backups.copy_to: the copy script, which fetches the newest copy on the first copy server; unset: the newest dump here. */
  copyScript?: string;
}

export const drillScriptPath = (prefix: string) => `/usr/local/lib/slipway/${prefix}-restore-drill.sh`;
export const drillUnit = (prefix: string) => `${prefix}-restore-drill.service`;
export const drillTimer = (prefix: string) => `${prefix}-restore-drill.timer`;
export const drillEnvPath = (prefix: string) => `/etc/slipway/${prefix}-restore-drill.env`;
export { drillStatePath } from './monitor-paths.js';

/** The scratch database of the drill, within PostgreSQL's 63-byte names. */
export const drillDatabase = (database: string) => `${database.slice(0, 63 - '_drill'.length)}_drill`;

export function renderDrillScript(spec: DrillSpec): string {
  const label = `${spec.app} ${spec.env} on ${spec.host}`;
  const file = `${spec.dir}/.drill.dump`;
  const scratch = drillDatabase(spec.database);
  const verify = verifyBackup(file, scratch).map((c) => renderCmd(c)).join('\n');
  const pick = spec.copyScript
    ? [
        `fetched=$(${quote(spec.copyScript)} newest "$file" 2>&1) || finish failed "$(tail -n 1 <<< "$fetched")"`,
        'read -r _ backup source <<< "$(grep "^fetched " <<< "$fetched")"',
      ]
    : [
        'source=local',
        'newest=$(ls -1t "$dir"/*.dump 2>/dev/null | head -n 1)',
        '[ -n "$newest" ] || finish failed "no dump in $dir"',
        'backup=${newest##*/}',
        // A second name for the newest dump, not a copy of it: the drill only reads it.
        'ln -f "$newest" "$file"',
      ];
  return `#!/bin/bash
# Written by slipway setup: the restore drill of ${spec.database} (backups.verify_schedule). Run by ${drillTimer(spec.prefix)}.
set -uo pipefail
HOOKS=0
if [ -f ${quote(spec.envPath)} ]; then . ${quote(spec.envPath)}; fi
dir=${quote(spec.dir)}
file=${quote(file)}
state_file=${quote(spec.statePath)}
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
problems=''
backup='' source=''
cd /
exec 8> "$dir/.drill.lock"
flock -n 8 || { echo "a restore drill is running already"; exit 1; }
trap 'rm -f "$file"' EXIT
${renderTell(spec)}
finish() {
  local result=$1
  problems=$2
  mkdir -p "$(dirname "$state_file")"
  printf '%s %s %s %s %s\\n' "$result" "$now" "\${backup:--}" "\${source:--}" "$problems" > "$state_file.new" && mv -f "$state_file.new" "$state_file"
  echo "drill $result: $problems"
  tell drill ${quote(`${label}: restore drill`)}" $result: $problems"
  [ "$result" = ok ]
  exit
}
${pick.join('\n')}
# A scratch database left by a drill that was killed.
runuser -u postgres -- dropdb --if-exists ${quote(scratch)} >/dev/null 2>&1
out=$( (
${verify}
) 2>&1 )
rc=$?
found=$(awk '/^dump / { d[$2] = $3 } /^restored / { r[$2] = $3 } END { for (t in d) { if (!(t in r)) print t ": in the dump, but not restored"; else if (d[t] != r[t]) print t ": " d[t] " rows in the dump, " r[t] " restored" } for (t in r) if (!(t in d)) print t ": restored, but the dump has no data for it" }' <<< "$out" | sort | paste -sd ';' -)
if [ "$rc" != 0 ]; then found="\${found:+$found; }pg_restore failed: $(grep -v '^\\(dump\\|restored\\) ' <<< "$out" | tail -n 1)"; fi
[ -z "$found" ] || finish failed "$backup from $source: $found"
tables=$(grep -c '^restored ' <<< "$out")
rows=$(awk '/^restored / { n += $3 } END { print n + 0 }' <<< "$out")
finish ok "$backup from $source: $tables tables, $rows rows restored, as in the dump"
`;
}

export function renderDrillService(spec: Pick<DrillSpec, 'prefix' | 'database'>): string {
  return [
    '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
    '[Unit]',
    `Description=Restore drill of the ${spec.database} database (slipway)`,
    'After=postgresql.service network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${drillScriptPath(spec.prefix)}`,
    'Nice=10',
    'IOSchedulingClass=idle',
    '',
  ].join('\n');
}

export function renderDrillTimer(spec: Pick<DrillSpec, 'database'>, schedule: string): string {
  return [
    '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
    '[Unit]',
    `Description=Restore drill of the ${spec.database} database on schedule (slipway)`,
    '',
    '[Timer]',
    `OnCalendar=${schedule}`,
    'Persistent=true',
    'RandomizedDelaySec=1h',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}
