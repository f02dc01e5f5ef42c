// The read-only probe of `slipway setup`: what is installed and configured on a host, in one round trip, as
// `kind value...` lines parsed by plan/setup-facts.ts. It runs as root (as the setup itself) and changes nothing.
import type { Snippet } from './command.js';
import { quote } from './shell.js';

export interface SetupProbeWants {
  packages: readonly string[];
  appUser: string;
  dirs: readonly string[];
  /** Files whose sha256 decides whether they are rewritten. */
  files: readonly string[];
  /** The user slipway logs in as: sshd hardening needs to know whether that user has a key. */
  loginUser: string;
  /** PostgreSQL role and database of the app, when this host holds the database. */
  database?: { name: string; user: string; server?: { dropInName: string; certFile: string } };
  redisConf?: { file: string; includeLine: string };
  timer?: string;
  /** backups.verify_schedule: the restore drill's timer. */
  drillTimer?: string;
  /** process_manager supervisor: whether supervisord is enabled and answers. */
  supervisor?: boolean;
}

/** `file SHA256 PATH` for each of the files that exist: setup rewrites only those that differ. */
export const fileHashes = (paths: readonly string[]) => paths.map((f) => `if [ -f ${quote(f)} ]; then echo "file $(sha256sum < ${quote(f)} | cut -d' ' -f1) ${quote(f)}"; fi`);

const SSHD_KEYS = ['port', 'passwordauthentication', 'kbdinteractiveauthentication', 'permitrootlogin', 'authorizedkeysfile', 'authorizedkeyscommand'];

/** sshd's effective settings for the login user, and how many keys that user has in the files sshd reads. */
function sshdProbe(user: string): string[] {
  const u = quote(user);
  return [
    `if command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; then`,
    `  PATH="$PATH:/usr/sbin"`,
    `  sshd -T -C user=${u},host=localhost,addr=127.0.0.1 2>/dev/null | awk '${SSHD_KEYS.map((k) => `$1=="${k}"`).join(' || ')} { print "sshd", $0 }' || true`,
    `  home=$(getent passwd ${u} | cut -d: -f6); uid=$(id -u ${u} 2>/dev/null || echo x); n=0`,
    // AuthorizedKeysFile tokens: %h home, %u user, %U uid, %% a percent sign; relative paths start at home.
    `  for f in $(sshd -T -C user=${u},host=localhost,addr=127.0.0.1 2>/dev/null | awk '$1=="authorizedkeysfile" { $1=""; print }'); do`,
    `    f=\${f//%h/$home}; f=\${f//%u/${u}}; f=\${f//%U/$uid}; f=\${f//%%/%}`,
    `    case "$f" in /*) ;; *) f="$home/$f" ;; esac`,
    `    if [ -f "$f" ]; then n=$((n + $(grep -cE '^[[:space:]]*[^#[:space:]]' "$f" || true))); fi`,
    '  done',
    '  echo "authorized-keys $n"',
    'fi',
  ];
}

/** ufw's state, and whether the kernel lets this host filter packets at all (containers often cannot). */
function firewallProbe(): string[] {
  return [
    'if command -v ufw >/dev/null 2>&1; then',
    '  if err=$(iptables -w -S INPUT 2>&1 >/dev/null); then echo "firewall usable"; else echo "firewall unusable $(printf %s "$err" | head -n 1)"; fi',
    '  ufw status verbose 2>/dev/null | sed "s/^/ufw /" || true',
    'fi',
  ];
}

/** A database server's own settings: where its files are, how it listens, and the sha256 of what slipway writes there. */
function postgresServerProbe(psql: string, server: { dropInName: string; certFile: string }): string[] {
  return [
    `  conf=$(${psql} 'SHOW config_file'); hba=$(${psql} 'SHOW hba_file')`,
    '  echo "pg-config-file $conf"; echo "pg-hba-file $hba"',
    `  echo "pg-ssl $(${psql} 'SHOW ssl')"`,
    `  ${psql} ${quote("SELECT 'pg-listen-source ' || coalesce(sourcefile, '-') FROM pg_settings WHERE name = 'listen_addresses'")}`,
    `  for f in "\${conf%/*}/conf.d/${server.dropInName}" "$hba"; do if [ -f "$f" ]; then echo "file $(sha256sum < "$f" | cut -d' ' -f1) $f"; fi; done`,
    `  if [ -s ${quote(server.certFile)} ]; then echo "pg-cert"; fi`,
  ];
}

export function postgresProbe(db: NonNullable<SetupProbeWants['database']>): string[] {
  const psql = `runuser -u postgres -- psql -AtX -q -d postgres -c`;
  const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;
  return [
    'if command -v psql >/dev/null 2>&1 && runuser -u postgres -- psql -AtX -q -d postgres -c "SELECT 1" >/dev/null 2>&1; then',
    '  echo "pg-running"',
    `  echo "pg-listen $(${psql} 'SHOW listen_addresses')"`,
    `  ${psql} ${quote(`SELECT 'pg-role ' || coalesce(rolpassword, 'none') FROM pg_authid WHERE rolname = ${literal(db.user)}`)}`,
    `  ${psql} ${quote(`SELECT 'pg-db ' || datname FROM pg_database WHERE datname = ${literal(db.name)}`)}`,
    `  ${psql} ${quote("SELECT 'pg-hba ' || line_number || ' ' || type || ' ' || array_to_string(database, ',') || ' ' || coalesce(address, '-') || ' ' || coalesce(netmask, '-') FROM pg_hba_file_rules WHERE type LIKE 'host%'")}`,
    ...(db.server ? postgresServerProbe(psql, db.server) : []),
    'fi',
  ];
}

export function setupProbe(wants: SetupProbeWants): Snippet {
  const lines = [
    // Commands run as postgres below cannot enter root's home.
    'cd /',
    `if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then echo "flag systemd"; fi`,
    ...(wants.packages.length > 0
      ? [`dpkg-query -W -f=${quote('${Package} ${db:Status-Abbrev}\n')} ${wants.packages.map(quote).join(' ')} 2>/dev/null | while read -r name state; do if [ "$state" = ii ]; then echo "package $name"; fi; done`]
      : []),
    `if id -u ${quote(wants.appUser)} >/dev/null 2>&1; then echo "flag app-user"; fi`,
    ...wants.dirs.map((d) => `if [ -d ${quote(d)} ]; then echo "dir $(stat -c '%a %U %G' ${quote(d)}) ${quote(d)}"; fi`),
    ...fileHashes(wants.files),
    ...sshdProbe(wants.loginUser),
    ...firewallProbe(),
    ...(wants.database ? postgresProbe(wants.database) : []),
    ...(wants.redisConf ? [`if grep -qxF ${quote(wants.redisConf.includeLine)} ${quote(wants.redisConf.file)} 2>/dev/null; then echo "flag redis-include"; fi`] : []),
    ...(wants.supervisor ? ['if systemctl is-enabled --quiet supervisor 2>/dev/null && supervisorctl pid >/dev/null 2>&1; then echo "flag supervisor"; fi'] : []),
    ...(wants.timer ? [`if [ "$(systemctl is-enabled ${quote(wants.timer)} 2>/dev/null)" = enabled ] && systemctl is-active --quiet ${quote(wants.timer)}; then echo "flag timer"; fi`] : []),
    ...(wants.drillTimer ? [`if [ "$(systemctl is-enabled ${quote(wants.drillTimer)} 2>/dev/null)" = enabled ] && systemctl is-active --quiet ${quote(wants.drillTimer)}; then echo "flag drill-timer"; fi`] : []),
    'true',
  ];
  return { shell: lines.join('\n') };
}

/** Only PostgreSQL's state: what a deploy reads on the database server before configuring it. */
export function databaseProbe(db: NonNullable<SetupProbeWants['database']>): Snippet {
  return { shell: ['cd /', ...postgresProbe(db), 'true'].join('\n') };
}
