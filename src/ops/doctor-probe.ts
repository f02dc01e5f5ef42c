// The read-only probe of `slipway doctor`, run as the login user (a deploy runs as that user too). Its
// `kind value...` lines are judged by plan/doctor.ts.
import type { Snippet } from './command.js';
import { MEMORY_PROBE, filesystemProbe } from './server-probe.js';
import { quote } from './shell.js';
import { NODE_PROBE } from './probe.js';

export interface DoctorProbeWants {
  basePath: string;
  packages: readonly string[];
  /** Programs every deploy runs on the server. */
  commands: readonly string[];
  /** For `source: fetch`: the repository the server must be able to read. */
  fetchUrl?: string;
  /** A Node app: the server's own Node and machine type. */
  node?: boolean;
  /** process_manager supervisor: whether supervisorctl answers the login user. */
  supervisor?: boolean;
  /** backups.pitr, on a server holding the database: PostgreSQL's archive_command and pg_stat_archiver. */
  walArchive?: boolean;
}

/**
 * As postgres, which only root or sudo can become: `wal-archive <archive_command>` and `wal-stats <failures>
 * <last archived> <last failed> <last failed WAL>` (times in seconds since the epoch, 0 for never).
 */
const WAL_ARCHIVE_PROBE = [
  'if [ "$(id -u)" = 0 ]; then pg="env -C / runuser -u postgres --"; else pg="sudo -n -u postgres"; fi',
  'if command -v psql >/dev/null 2>&1 && cmd=$($pg psql -XAtqc "SHOW archive_command" 2>/dev/null); then echo "wal-archive $cmd"; ' +
    `$pg psql -XAtq -F ' ' -c "SELECT failed_count, coalesce(extract(epoch from last_archived_time)::bigint, 0), coalesce(extract(epoch from last_failed_time)::bigint, 0), coalesce(last_failed_wal, '-') FROM pg_stat_archiver" 2>/dev/null | sed 's/^/wal-stats /'; else echo "wal-archive-unreadable"; fi`,
];

export function doctorProbe(wants: DoctorProbeWants): Snippet {
  const lines = [
    'echo "user $(id -un) $(id -u)"',
    'if [ "$(id -u)" != 0 ]; then if sudo -n true >/dev/null 2>&1; then echo "sudo ok"; else echo "sudo no"; fi; fi',
    filesystemProbe(wants.basePath, 'disk'),
    'echo "clock $(date +%s)"',
    MEMORY_PROBE,
    'if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then echo "flag systemd"; fi',
    ...(wants.supervisor
      ? [
          // As the deploy runs it: as the login user. Refused but fine through sudo: supervisord runs, the socket is root's.
          'if ! command -v supervisorctl >/dev/null 2>&1; then echo "supervisor missing"; elif supervisorctl pid >/dev/null 2>&1; then echo "supervisor ok"; ' +
            'elif [ "$(id -u)" != 0 ] && sudo -n supervisorctl pid >/dev/null 2>&1; then echo "supervisor refused"; else echo "supervisor down"; fi',
        ]
      : []),
    `for c in ${wants.commands.map(quote).join(' ')}; do if command -v "$c" >/dev/null 2>&1; then echo "command $c"; fi; done`,
    ...(wants.packages.length > 0
      ? [
          'if command -v dpkg-query >/dev/null 2>&1; then echo "flag dpkg"; fi',
          `dpkg-query -W -f=${quote('${Package} ${db:Status-Abbrev}\n')} ${wants.packages.map(quote).join(' ')} 2>/dev/null | while read -r name state; do if [ "$state" = ii ]; then echo "package $name"; fi; done`,
        ]
      : []),
    ...(wants.fetchUrl
      ? [
          // As the deploy fetches: no prompt may wait for an answer that never comes.
          `if command -v git >/dev/null 2>&1; then if out=$(GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND='ssh -o BatchMode=yes' timeout 30 git ls-remote -- ${quote(wants.fetchUrl)} HEAD 2>&1 >/dev/null); then echo "git-remote ok"; else msg=$(printf '%s\\n' "$out" | grep '^fatal:' | head -n 1); echo "git-remote fail \${msg:-$(printf '%s\\n' "$out" | tail -n 1)}"; fi; fi`,
        ]
      : []),
    ...(wants.node ? NODE_PROBE : []),
    ...(wants.walArchive ? WAL_ARCHIVE_PROBE : []),
    'true',
  ];
  return { shell: lines.join('\n') };
}
