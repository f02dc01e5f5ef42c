// Off-server copies of the dumps (backups.copy_to), as they run on the servers. On each copy server: an account
// whose one key may run only the receiver below (list, add a dump, read one back, record the live release:
// never delete, overwrite or reach anything else), and a daily timer, run as root, applying the copy's
// retention. On the database server: the key, the copy servers' host keys, and the script that sends every
// dump the copy server lacks (run after each backup, and started by a deploy that made a pre-migrate dump).
import { quote } from '../ops/shell.js';

/** One copy server as the scripts see it. */
export interface CopyDestination {
  name: string;
  /** The restricted account there. */
  account: string;
  /** Where the database server reaches it. */
  address: string;
  port: number;
  dir: string;
  retentionDays: number;
}

export interface CopySource {
  /** The app's dumps (shared/backups). */
  dir: string;
  prefix: string;
  /** The app's `current` link, for the live-release record (absent on a database-only server). */
  current: string;
  /** The app's per-release records, `<meta>/releases/<id>/manifest.json`. */
  releasesMeta: string;
  destinations: CopyDestination[];
}

const LIB = '/usr/local/lib/slipway';
export const copyConfigDir = (prefix: string) => `/etc/slipway/backup-copies/${prefix}`;
export const copyKeyPath = (prefix: string) => `${copyConfigDir(prefix)}/id_ed25519`;
export const copyKnownHosts = (prefix: string) => `${copyConfigDir(prefix)}/known_hosts`;
export const copyScriptPath = (prefix: string) => `${LIB}/${prefix}-backup-copy.sh`;
export const copyUnit = (prefix: string) => `${prefix}-backup-copy.service`;
export const receiverPath = (prefix: string) => `${LIB}/${prefix}-backup-receive.sh`;
export const expireScriptPath = (prefix: string) => `${LIB}/${prefix}-backup-copies-expire.sh`;
export const expireUnit = (prefix: string) => `${prefix}-backup-copies-expire.service`;
export const expireTimer = (prefix: string) => `${prefix}-backup-copies-expire.timer`;
/** The account on a copy server: one per app, so one app's key never reaches another app's copies. */
export const copyAccount = (prefix: string) => `${prefix}-backups`.slice(0, 32);
/** Per unit prefix: the apps (and per-branch deploys) of one copy server never share a directory. */
export const defaultCopyDir = (prefix: string) => `/var/backups/slipway/${prefix}`;

/** ssh's name for a host in known_hosts: `[host]:port` unless the port is 22. */
export const knownHostName = (address: string, port: number) => (port === 22 ? address : `[${address}]:${port}`);

/** The receiver's names: dumps as slipway names them, never a path. */
const DUMP = '^[A-Za-z0-9][A-Za-z0-9_.-]*\\.dump$';

/**
 * The forced command of the backup account's key. sshd hands it the client's request in SSH_ORIGINAL_COMMAND;
 * anything but the four requests below (a shell, scp, sftp, a path) is refused. A dump is stored only once
 * whole and with the checksum the sender computed, under a name that did not exist.
 */
export function renderReceiver(prefix: string, dir: string): string {
  return [
    '#!/bin/bash',
    `# Written by slipway setup: the only command the key of ${copyAccount(prefix)} may run (a forced command in its`,
    `# authorized_keys). It keeps ${prefix}'s database dumps in ${dir}: list them, add one, read one back,`,
    '# record the live release. It never deletes or overwrites a dump; the retention timer (root) does.',
    'set -euo pipefail',
    `dir=${quote(dir)}`,
    'umask 077',
    'refuse() { echo "refused: $*" >&2; exit 1; }',
    // Split on blanks only: read expands no pattern, and every word is used quoted.
    'read -r -a words <<< "${SSH_ORIGINAL_COMMAND:-}"',
    'name_ok() { [[ $1 =~ ' + DUMP + ' ]] || refuse "$1 is not a dump name"; }',
    'case "${words[0]:-}" in',
    '  list)',
    '    [ ${#words[@]} -eq 1 ] || refuse "list takes no arguments"',
    '    for f in "$dir"/*.dump; do',
    '      [ -f "$f" ] || continue',
    '      sum=$(cut -d" " -f1 "$f.sha256" 2>/dev/null || echo -)',
    '      echo "copy $(stat -c "%s %Y" "$f") ${sum:--} ${f##*/}"',
    '    done',
    '    if [ -f "$dir/live" ]; then echo "live $(cat "$dir/live")"; fi',
    '    ;;',
    '  put)',
    '    [ ${#words[@]} -eq 3 ] || refuse "usage: put NAME SHA256"',
    '    name=${words[1]} sum=${words[2]}',
    '    name_ok "$name"',
    '    [[ $sum =~ ^[0-9a-f]{64}$ ]] || refuse "$sum is not a sha256 checksum"',
    // Two senders of one dump: the second finds it stored.
    '    exec 9> "$dir/.lock"',
    '    flock 9',
    '    if [ -e "$dir/$name" ]; then',
    '      [ "$(cut -d" " -f1 "$dir/$name.sha256" 2>/dev/null)" = "$sum" ] || refuse "$name exists with another checksum: a copy is never overwritten"',
    '      echo "have $name $sum"',
    '      exit 0',
    '    fi',
    '    tmp="$dir/.$name.partial"',
    '    trap \'rm -f "$tmp"\' EXIT',
    '    cat > "$tmp"',
    '    got=$(sha256sum < "$tmp" | cut -d" " -f1)',
    '    [ "$got" = "$sum" ] || refuse "$name arrived with checksum $got, not $sum: not stored"',
    '    printf "%s  %s\\n" "$sum" "$name" > "$dir/$name.sha256"',
    '    mv -T "$tmp" "$dir/$name"',
    '    echo "stored $name $sum"',
    '    ;;',
    '  get)',
    '    [ ${#words[@]} -eq 2 ] || refuse "usage: get NAME"',
    '    name_ok "${words[1]}"',
    '    [ -f "$dir/${words[1]}" ] || refuse "no copy ${words[1]}"',
    '    exec cat -- "$dir/${words[1]}"',
    '    ;;',
    '  live)',
    '    [ ${#words[@]} -eq 3 ] || refuse "usage: live RELEASE SHA"',
    '    [[ ${words[1]} =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$ ]] || refuse "${words[1]} is not a release id"',
    '    [[ ${words[2]} =~ ^[0-9a-f]{7,64}$ ]] || refuse "${words[2]} is not a commit"',
    '    printf "%s %s %s\\n" "${words[1]}" "${words[2]}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$dir/.live.partial"',
    '    mv -T "$dir/.live.partial" "$dir/live"',
    '    ;;',
    '  *) refuse "this key may only list, put, get and live (slipway backup copies)" ;;',
    'esac',
    '',
  ].join('\n');
}

/** The authorized_keys line of the database server's key: the receiver and nothing else (no pty, no forwarding). */
export function authorizedKeyLine(prefix: string, publicKey: string): string {
  return `restrict,command="${receiverPath(prefix)}" ${publicKey.trim()}\n`;
}

export function renderExpireScript(prefix: string, dir: string, retentionDays: number): string {
  return [
    '#!/bin/bash',
    `# Written by slipway setup: deletes copies of ${prefix}'s dumps in ${dir} older than ${retentionDays} days,`,
    `# never the newest. Run daily by ${expireTimer(prefix)}, as root: the backup account itself cannot delete.`,
    'set -euo pipefail',
    `dir=${quote(dir)}`,
    `keep_days=${retentionDays}`,
    'newest=$(ls -1t "$dir"/*.dump 2>/dev/null | sed -n 1p)',
    'find "$dir" -maxdepth 1 -type f -name "*.dump" -mmin +$((keep_days * 1440)) | sort | while IFS= read -r old; do',
    '  [ "$old" = "$newest" ] && continue',
    '  rm -f -- "$old" "$old.sha256"',
    '  echo "expired $old"',
    'done',
    '',
  ].join('\n');
}

export function renderExpireService(prefix: string): string {
  return ['# Written by slipway setup: changes here are replaced on the next `slipway setup`.', '[Unit]', `Description=Expire old copies of ${prefix}'s database dumps (slipway)`, '', '[Service]', 'Type=oneshot', `ExecStart=${expireScriptPath(prefix)}`, 'Nice=10', ''].join('\n');
}

export function renderExpireTimer(prefix: string): string {
  return ['# Written by slipway setup: changes here are replaced on the next `slipway setup`.', '[Unit]', `Description=Expire old copies of ${prefix}'s database dumps daily (slipway)`, '', '[Timer]', 'OnCalendar=daily', 'Persistent=true', 'RandomizedDelaySec=30min', '', '[Install]', 'WantedBy=timers.target', ''].join('\n');
}

/** How the database server's scripts reach one copy server: its own key and host keys, nothing of root's. */
export function copySsh(prefix: string, d: CopyDestination): string {
  return [
    'ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes',
    `-i ${quote(copyKeyPath(prefix))}`,
    `-o UserKnownHostsFile=${quote(copyKnownHosts(prefix))} -o StrictHostKeyChecking=yes`,
    '-o ConnectTimeout=10 -o ServerAliveInterval=15',
    `-p ${d.port} ${quote(`${d.account}@${d.address}`)}`,
  ].join(' ');
}

/**
 * Sends every dump younger than a copy's retention that the copy server lacks (so a copy that failed is sent by
 * the next run), then the live release. Prints `copied NAME DEST SUM` and `copy-failed DEST: why`; exits 3
 * when any copy failed, after trying every destination.
 */
export function renderCopyScript(source: CopySource): string {
  const { prefix } = source;
  const lines = [
    '#!/bin/bash',
    `# Written by slipway setup: copies the dumps in ${source.dir} to ${source.destinations.map((d) => d.name).join(', ')}`,
    `# (backups.copy_to). Run after every backup, and by ${copyUnit(prefix)}.`,
    'set -uo pipefail',
    `dir=${quote(source.dir)}`,
    'cd /',
    `exec 9> ${quote(`${copyConfigDir(prefix)}/lock`)}`,
    'flock 9',
    'failed=0',
    // The release live here, for `slipway recover` to deploy again when this server is lost.
    `release=$(basename "$(readlink ${quote(source.current)} 2>/dev/null)" 2>/dev/null || true)`,
    'sha=',
    `if [ -n "$release" ]; then sha=$(sed -n 's/.*"sha": *"\\([0-9a-f]*\\)".*/\\1/p' ${quote(source.releasesMeta)}/"$release"/manifest.json 2>/dev/null | head -n 1); fi`,
    'send() {',
    '  local name=$1 days=$2 have f n sum out',
    '  shift 2',
    '  if ! have=$("$@" list 2>&1); then echo "copy-failed $name: cannot list the copies: $(tail -n 1 <<< "$have")"; failed=1; return; fi',
    '  while IFS= read -r f; do',
    '    n=${f##*/}',
    '    grep -q " $n\\$" <<< "$have" && continue',
    '    sum=$(sha256sum < "$f" | cut -d" " -f1)',
    '    if out=$("$@" put "$n" "$sum" < "$f" 2>&1); then echo "copied $n $name $sum"; else echo "copy-failed $name: $n: $(tail -n 1 <<< "$out")"; failed=1; fi',
    // Not the hidden ones: a restore drill's or a check's fetched copy.
    '  done < <(find "$dir" -maxdepth 1 -type f -name "[!.]*.dump" -mmin -$((days * 1440)) | sort)',
    '  if [ -n "$sha" ] && ! grep -q "^live $release $sha " <<< "$have"; then',
    '    "$@" live "$release" "$sha" > /dev/null 2>&1 || { echo "copy-failed $name: could not record the live release"; failed=1; }',
    '  fi',
    '}',
  ];
  const first = source.destinations[0];
  if (first) {
    // For the restore drill: the newest copy on the first copy server into FILE, kept only with its recorded checksum.
    lines.push(
      'newest() {',
      '  local name=$1 into=$2 remote backup sum got',
      '  shift 2',
      '  remote=$("$@" list 2>&1) || { echo "cannot list the copies on $name: $(tail -n 1 <<< "$remote")"; return 1; }',
      '  read -r _ backup sum <<< "$(awk \'$1 == "copy" { print $3, $5, $4 }\' <<< "$remote" | sort -n | tail -n 1)"',
      '  [ -n "${backup:-}" ] || { echo "no copies on $name"; return 1; }',
      '  "$@" get "$backup" > "$into" || { echo "could not fetch $backup from $name"; return 1; }',
      '  got=$(sha256sum < "$into" | cut -d" " -f1)',
      '  [ "$got" = "$sum" ] || { echo "the copy of $backup on $name is damaged: its checksum is $got, recorded $sum"; return 1; }',
      '  echo "fetched $backup $name"',
      '}',
      `if [ "\${1:-}" = newest ]; then newest ${quote(first.name)} "$2" ${copySsh(prefix, first)}; exit; fi`,
    );
  }
  for (const d of source.destinations) lines.push(`send ${quote(d.name)} ${d.retentionDays} ${copySsh(prefix, d)}`);
  lines.push('[ "$failed" = 0 ] || exit 3', '');
  return lines.join('\n');
}

export function renderCopyService(prefix: string): string {
  return ['# Written by slipway setup: changes here are replaced on the next `slipway setup`.', '[Unit]', `Description=Copy ${prefix}'s database dumps off this server (slipway)`, 'After=network-online.target', '', '[Service]', 'Type=oneshot', `ExecStart=${copyScriptPath(prefix)}`, 'Nice=10', 'IOSchedulingClass=idle', ''].join('\n');
}

/** A copy fetched back by the database server (recover, restore --from): whole and with its recorded checksum, or not at all. */
export function fetchCopyScript(prefix: string, d: CopyDestination, name: string, sum: string, into: string): string {
  return [
    `tmp=${quote(`${into}.partial`)}`,
    'trap \'rm -f "$tmp"\' EXIT',
    `${copySsh(prefix, d)} get ${quote(name)} > "$tmp"`,
    'got=$(sha256sum < "$tmp" | cut -d" " -f1)',
    `if [ "$got" != ${quote(sum)} ]; then echo ${quote(`the copy of ${name} on ${d.name} is damaged: its checksum is`)} "$got, recorded ${sum}"; exit 1; fi`,
    `mv -T "$tmp" ${quote(into)}`,
    `echo ${quote(`fetched ${name} from ${d.name}`)}`,
  ].join('\n');
}
