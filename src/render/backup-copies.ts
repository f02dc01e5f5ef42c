// Off-server copies of the dumps (backups.copy_to), as they run on the servers. On each copy server: an account
// whose one key may run only the receiver below (list, add a dump, read one back, record the live release:
// never delete, overwrite or reach anything else), and a daily timer, run as root, applying the copy's
// retention. On the database server: the key, the copy servers' host keys, and the script that sends every
// dump the copy server lacks (run after each backup, and started by a deploy that made a pre-migrate dump).
import { quote } from '../ops/shell.js';

/** One copy server as the scripts see it. */
export interface CopyDestination {
  kind: 'server';
  name: string;
  /** The restricted account there. */
  account: string;
  /** Where the database server reaches it. */
  address: string;
  port: number;
  dir: string;
  retentionDays: number;
}

/** A bucket as the scripts see it: `base` is `<endpoint>/<bucket>`; the credentials are in `curlConfig` (root only). */
export interface BucketDestination {
  kind: 'bucket';
  name: string;
  base: string;
  prefix: string;
  region: string;
  curlConfig: string;
  retentionDays: number;
}

export type AnyDestination = CopyDestination | BucketDestination;

export interface CopySource {
  /** The app's dumps (shared/backups). */
  dir: string;
  prefix: string;
  /** The app's `current` link, for the live-release record (absent on a database-only server). */
  current: string;
  /** The app's per-release records, `<meta>/releases/<id>/manifest.json`. */
  releasesMeta: string;
  destinations: AnyDestination[];
}

const LIB = '/usr/local/lib/slipway';
export const copyConfigDir = (prefix: string) => `/etc/slipway/backup-copies/${prefix}`;
export const copyKeyPath = (prefix: string) => `${copyConfigDir(prefix)}/id_ed25519`;
export const copyKnownHosts = (prefix: string) => `${copyConfigDir(prefix)}/known_hosts`;
/** A bucket's credentials, as a curl config file (`user = "KEY:SECRET"`): never on a command line. */
export const bucketCurlConfig = (prefix: string, name: string) => `${copyConfigDir(prefix)}/s3-${name}.curl`;
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
 * A bucket as a copy server: `bucket CFG REGION BASE PREFIX <request>` answers the receiver's requests (`list`,
 * `put NAME SHA256` with the dump on stdin, `get NAME`, `live RELEASE SHA`) with curl's AWS signature v4, plus
 * `expire DAYS` (the bucket has no timer of its own). A put signs the payload's sha256 (the service refuses a body
 * that does not match it), records it as x-amz-meta-sha256, and checks the MD5 the bucket returns as its ETag.
 */
const BUCKET_FUNCTION = [
  'EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'bucket() {',
  '  local cfg=$1 region=$2 base=$3 prefix=$4 request=$5 page after="" key lm size name sum headers etag md5 now newest body',
  '  shift 5',
  '  s3() { curl -sS --fail-with-body --connect-timeout 10 -K "$cfg" --aws-sigv4 "aws:amz:$region:s3" "$@"; }',
  // The service's own words (its XML error's Code and Message), for the line that says why.
  '  said() { sed -n "s/.*<Code>\\([^<]*\\)<\\/Code>.*<Message>\\([^<]*\\)<\\/Message>.*/\\1: \\2/p" <<< "$1" >&2; }',
  '  recorded() { s3 -I -H "x-amz-content-sha256: $EMPTY_SHA" "$base/$prefix$1" | tr -d "\\r" | sed -n "s/^x-amz-meta-sha256: *//Ip"; }',
  '  case $request in',
  '    list)',
  '      while :; do',
  '        page=$(s3 -H "x-amz-content-sha256: $EMPTY_SHA" "$base?list-type=2&prefix=$prefix${after:+&start-after=$after}") || { said "$page"; return 1; }',
  '        while read -r key lm size; do',
  '          after=$key',
  '          name=${key#"$prefix"}',
  '          [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*\\.dump$ ]] || continue',
  '          sum=$(recorded "$name")',
  '          echo "copy $size $(date -d "$lm" +%s) ${sum:--} $name"',
  '        done < <(sed "s/<Contents>/\\n/g" <<< "$page" | sed -n "s/.*<Key>\\([^<]*\\)<\\/Key>.*<LastModified>\\([^<]*\\)<\\/LastModified>.*<Size>\\([0-9]*\\)<\\/Size>.*/\\1 \\2 \\3/p")',
  '        grep -q "<IsTruncated>true</IsTruncated>" <<< "$page" || break',
  '      done',
  '      if body=$(s3 -H "x-amz-content-sha256: $EMPTY_SHA" "$base/${prefix}live" 2>/dev/null); then echo "live $body"; fi',
  '      ;;',
  '    put)',
  // /dev/stdin is the dump file: curl and md5sum each open it anew, and curl sends its length (no chunked upload).
  '      md5=$(md5sum < /dev/stdin | cut -d" " -f1)',
  '      headers=$(s3 -T /dev/stdin -H "x-amz-content-sha256: $2" -H "x-amz-meta-sha256: $2" -D - -o /dev/null "$base/$prefix$1") || { echo "$headers" >&2; return 1; }',
  '      etag=$(tr -d "\\r\\"" <<< "$headers" | sed -n "s/^etag: *//Ip" | tail -n 1)',
  '      [ "$etag" = "$md5" ] || { echo "the bucket holds MD5 ${etag:-none} for $1, sent $md5" >&2; return 1; }',
  '      echo "stored $1 $2"',
  '      ;;',
  '    get) s3 -H "x-amz-content-sha256: $EMPTY_SHA" "$base/$prefix$1" ;;',
  '    live)',
  '      body="$1 $2 $(date -u +%Y-%m-%dT%H:%M:%SZ)"',
  '      s3 -X PUT --data-binary "$body" -H "x-amz-content-sha256: $(printf %s "$body" | sha256sum | cut -d" " -f1)" -o /dev/null "$base/${prefix}live"',
  '      ;;',
  '    expire)',
  // Older than the retention, never the newest: as the copy servers' timer does.
  '      page=$(bucket "$cfg" "$region" "$base" "$prefix" list) || return 1',
  '      now=$(date +%s)',
  '      newest=$(awk \'$1 == "copy" { print $3, $5 }\' <<< "$page" | sort -n | tail -n 1 | cut -d" " -f2)',
  '      while read -r lm name; do',
  '        [ "$name" = "$newest" ] && continue',
  '        [ $((now - lm)) -gt $(($1 * 86400)) ] || continue',
  '        s3 -X DELETE -H "x-amz-content-sha256: $EMPTY_SHA" -o /dev/null "$base/$prefix$name" && echo "expired $name"',
  '      done < <(awk \'$1 == "copy" { print $3, $5 }\' <<< "$page")',
  '      ;;',
  '    *) echo "unknown request $request" >&2; return 2 ;;',
  '  esac',
  '}',
];

/** The command words that reach one destination with the receiver's requests: ssh to its account, or the bucket function. */
export function destinationCommand(prefix: string, d: AnyDestination): string {
  if (d.kind === 'bucket') return ['bucket', quote(d.curlConfig), quote(d.region), quote(d.base), quote(d.prefix)].join(' ');
  return copySsh(prefix, d);
}

/**
 * Sends every dump younger than a copy's retention that the copy lacks (so a copy that failed is sent by the next
 * run), then the live release; a bucket's old copies are then expired. Prints `copied NAME DEST SUM` and
 * `copy-failed DEST: why`; exits 3 when any copy failed, after trying every destination. Also, for slipway:
 * `newest FILE` (the restore drill: the newest copy on the first destination), `list NAME`, `check NAME`
 * (every copy read back and hashed) and `get NAME DUMP FILE` (a copy fetched, kept only with its recorded checksum).
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
    'failed=0',
    ...(source.destinations.some((d) => d.kind === 'bucket') ? BUCKET_FUNCTION : []),
    // The release live here, for `slipway recover` to deploy again when this server is lost.
    `release=$(basename "$(readlink ${quote(source.current)} 2>/dev/null)" 2>/dev/null || true)`,
    'sha=',
    `if [ -n "$release" ]; then sha=$(sed -n 's/.*"sha": *"\\([0-9a-f]*\\)".*/\\1/p' ${quote(source.releasesMeta)}/"$release"/manifest.json 2>/dev/null | head -n 1); fi`,
    'send() {',
    '  local name=$1 days=$2 have f n sum out',
    '  shift 2',
    '  if ! have=$("$@" list 2>&1); then echo "copy-failed $name: cannot list the copies: $(tail -n 1 <<< "$have")"; failed=1; return 1; fi',
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
    // A copy fetched into FILE, kept only when its checksum is the one recorded on arrival (NAME DUMP FILE COMMAND...).
    'fetch() {',
    '  local name=$1 backup=$2 into=$3 remote sum got',
    '  shift 3',
    '  remote=$("$@" list 2>&1) || { echo "cannot list the copies on $name: $(tail -n 1 <<< "$remote")"; return 1; }',
    '  if [ "$backup" = newest ]; then backup=$(awk \'$1 == "copy" { print $3, $5 }\' <<< "$remote" | sort -n | tail -n 1 | cut -d" " -f2); fi',
    '  [ -n "$backup" ] || { echo "no copies on $name"; return 1; }',
    '  sum=$(awk -v n="$backup" \'$1 == "copy" && $5 == n { print $4 }\' <<< "$remote")',
    '  case $sum in "" ) echo "no copy $backup on $name"; return 1 ;; - ) echo "the copy of $backup on $name has no recorded checksum"; return 1 ;; esac',
    '  "$@" get "$backup" > "$into.partial" || { rm -f "$into.partial"; echo "could not fetch $backup from $name"; return 1; }',
    '  got=$(sha256sum < "$into.partial" | cut -d" " -f1)',
    '  [ "$got" = "$sum" ] || { rm -f "$into.partial"; echo "the copy of $backup on $name is damaged: its checksum is $got, recorded $sum"; return 1; }',
    '  mv -T "$into.partial" "$into"',
    '  echo "fetched $backup $name"',
    '}',
    // Every copy read back and hashed (NAME COMMAND...).
    'check() {',
    '  local name=$1 remote n',
    '  shift',
    '  remote=$("$@" list) || return 1',
    '  printf "%s\\n" "$remote"',
    '  awk \'$1 == "copy" { print $5 }\' <<< "$remote" | while read -r n; do echo "check $("$@" get "$n" | sha256sum | cut -d" " -f1) $n"; done',
    '}',
    'destination() {',
    '  case $1 in',
    ...source.destinations.map((d) => `    ${quote(d.name)}) echo ${quote(destinationCommand(prefix, d))} ;;`),
    '    *) return 1 ;;',
    '  esac',
    '}',
    'case "${1:-}" in',
    ...(source.destinations[0] ? [`  newest) fetch ${quote(source.destinations[0].name)} newest "$2" ${destinationCommand(prefix, source.destinations[0])}; exit ;;`] : []),
    '  list | check | get)',
    '    command=$(destination "${2:-}") || { echo "no copy ${2:-} here"; exit 2; }',
    '    eval "set -- $1 $2 ${3:+$(printf "%q " "${@:3}")} $command"',
    '    case $1 in list) shift 2; "$@" list ;; check) shift; check "$@" ;; get) fetch "$2" "$3" "$4" "${@:5}" ;; esac',
    '    exit',
    '    ;;',
    'esac',
    `exec 9> ${quote(`${copyConfigDir(prefix)}/lock`)}`,
    'flock 9',
  ];
  for (const d of source.destinations) {
    const send = `send ${quote(d.name)} ${d.retentionDays} ${destinationCommand(prefix, d)}`;
    // A bucket has no timer of its own: its old copies go once the new ones are in.
    lines.push(d.kind === 'bucket' ? `${send} && { ${destinationCommand(prefix, d)} expire ${d.retentionDays} || { echo "copy-failed ${d.name}: could not expire old copies"; failed=1; }; }` : send);
  }
  lines.push('[ "$failed" = 0 ] || exit 3', '');
  return lines.join('\n');
}

export function renderCopyService(prefix: string): string {
  return ['# Written by slipway setup: changes here are replaced on the next `slipway setup`.', '[Unit]', `Description=Copy ${prefix}'s database dumps off this server (slipway)`, 'After=network-online.target', '', '[Service]', 'Type=oneshot', `ExecStart=${copyScriptPath(prefix)}`, 'Nice=10', 'IOSchedulingClass=idle', ''].join('\n');
}
