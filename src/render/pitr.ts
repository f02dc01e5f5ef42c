// Point-in-time recovery (backups.pitr) with pgBackRest, as it runs on the servers. The first copy server of
// backups.copy_to is the repository host: it holds the stanza (full backups weekly, differentials daily, the WAL
// in between), runs the backups on its timers, and reaches the database server as postgres to read the cluster.
// The database server pushes each WAL segment there as soon as PostgreSQL completes it (archive_timeout bounds
// the wait: at most a minute of commits is ever only on the database server). Each side reaches the other with a
// key of its own and a forced command that runs pgBackRest's remote and nothing else.
import { quote } from '../ops/shell.js';
import { AS_POSTGRES } from '../ops/postgres.js';

export interface PitrSpec {
  /** The stanza: the app's unit prefix. */
  stanza: string;
  /** The database server as the repository host reaches it, and the repository host as the database server does. */
  dbAddress: string;
  dbPort: number;
  repoAddress: string;
  repoPort: number;
  /** PostgreSQL's data directory and version on the database server. */
  pgPath: string;
  pgVersion: string;
  retentionFull: number;
  fullSchedule: string;
  diffSchedule: string;
}

const LIB = '/usr/local/lib/slipway';
export const pitrAccount = (stanza: string) => `${stanza}-pgbackrest`.slice(0, 32);
export const pitrRepoPath = (stanza: string) => `/var/lib/slipway/pgbackrest/${stanza}`;
/**
 * The stanza's configuration, a file of its own named on every command line (`--config`): Debian's
 * /etc/pgbackrest.conf belongs to postgres, unreadable by the repository's account, and holds nothing of ours.
 */
export const pitrConfPath = (stanza: string) => `/etc/pgbackrest/slipway-${stanza}.conf`;
/** `pgbackrest --config=… --stanza=…`: how slipway runs pgBackRest for a stanza, everywhere. */
export const pgbackrest = (stanza: string) => `pgbackrest --config=${pitrConfPath(stanza)} --stanza=${stanza}`;
export const pitrRemotePath = (stanza: string) => `${LIB}/${stanza}-pgbackrest-remote.sh`;
export const pitrSshPath = (stanza: string) => `${LIB}/${stanza}-pgbackrest-ssh.sh`;
/** The repository host's key, its account's own (the backups run as that account). */
export const pitrRepoKeyDir = (stanza: string) => `/etc/slipway/pgbackrest/${stanza}`;
/** The database server's key, postgres's own (archive_command runs as postgres). */
export const pitrDbKeyDir = (stanza: string) => `/var/lib/postgresql/.slipway-pgbackrest/${stanza}`;
export const pitrBackupUnit = (stanza: string, type: 'full' | 'diff') => `${stanza}-pgbackrest-${type}.service`;
export const pitrBackupTimer = (stanza: string, type: 'full' | 'diff') => `${stanza}-pgbackrest-${type}.timer`;
/** archive_timeout: the longest a commit waits to leave the database server in WAL. */
export const ARCHIVE_TIMEOUT_SECONDS = 60;

/**
 * The forced command of the other side's key: pgBackRest's remote (`pgbackrest … <command>:remote`, the request
 * pgBackRest itself sends) and nothing else; no shell ever reads the request.
 */
export function renderPitrRemote(stanza: string): string {
  return [
    '#!/bin/bash',
    `# Written by slipway setup: the only command the pgBackRest key of ${stanza} may run here (a forced command).`,
    'set -euo pipefail',
    'read -r -a words <<< "${SSH_ORIGINAL_COMMAND:-}"',
    'case "${words[0]:-}" in pgbackrest | /usr/bin/pgbackrest) ;; *) echo "refused: this key runs pgBackRest\'s remote only" >&2; exit 1 ;; esac',
    '[[ ${words[-1]} =~ ^[a-z-]+:remote$ ]] || { echo "refused: this key runs pgBackRest\'s remote only" >&2; exit 1; }',
    `for w in "\${words[@]:1}"; do [[ $w =~ ^--stanza= ]] && [ "$w" != ${quote(`--stanza=${stanza}`)} ] && { echo "refused: stanza ${stanza} only" >&2; exit 1; }; done`,
    'exec /usr/bin/pgbackrest "${words[@]:1}"',
    '',
  ].join('\n');
}

/** pgBackRest's ssh, with this side's key and the other side's host keys only. */
export function renderPitrSsh(keyDir: string): string {
  return [
    '#!/bin/bash',
    '# Written by slipway setup: the ssh pgBackRest uses (cmd-ssh), with its own key and known hosts.',
    `exec ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -i ${quote(`${keyDir}/id_ed25519`)} -o UserKnownHostsFile=${quote(`${keyDir}/known_hosts`)} -o StrictHostKeyChecking=yes -o ConnectTimeout=10 -o ServerAliveInterval=15 "$@"`,
    '',
  ].join('\n');
}

export function authorizedRemoteLine(stanza: string, publicKey: string): string {
  return `restrict,command="${pitrRemotePath(stanza)}" ${publicKey.trim()}\n`;
}

/** The database server's stanza: its cluster, and the repository host it pushes WAL to and restores from. */
export function renderDbConf(spec: PitrSpec): string {
  return [
    '# Written by slipway setup (backups.pitr): changes here are replaced on the next `slipway setup`.',
    `[${spec.stanza}]`,
    `pg1-path=${spec.pgPath}`,
    `repo1-host=${spec.repoAddress}`,
    `repo1-host-port=${spec.repoPort}`,
    `repo1-host-user=${pitrAccount(spec.stanza)}`,
    `repo1-host-config=${pitrConfPath(spec.stanza)}`,
    `cmd-ssh=${pitrSshPath(spec.stanza)}`,
    'log-level-file=off',
    'log-level-console=warn',
    '',
  ].join('\n');
}

/** The repository host's stanza: where the repository is, how long full backups are kept, the cluster to back up. */
export function renderRepoConf(spec: PitrSpec): string {
  return [
    '# Written by slipway setup (backups.pitr): changes here are replaced on the next `slipway setup`.',
    `[${spec.stanza}]`,
    `repo1-path=${pitrRepoPath(spec.stanza)}/repo`,
    `repo1-retention-full=${spec.retentionFull}`,
    `lock-path=${pitrRepoPath(spec.stanza)}/lock`,
    `pg1-host=${spec.dbAddress}`,
    `pg1-host-port=${spec.dbPort}`,
    'pg1-host-user=postgres',
    `pg1-host-config=${pitrConfPath(spec.stanza)}`,
    `pg1-path=${spec.pgPath}`,
    `cmd-ssh=${pitrSshPath(spec.stanza)}`,
    // A backup starts with an immediate checkpoint: the timer's run, not the next scheduled checkpoint, decides when.
    'start-fast=y',
    'log-level-file=off',
    'log-level-console=warn',
    '',
  ].join('\n');
}

/** PostgreSQL's side: WAL archived through pgBackRest, at least every ARCHIVE_TIMEOUT_SECONDS. */
export function archiveSettings(stanza: string): { archive_mode: string; archive_command: string; archive_timeout: string } {
  return { archive_mode: 'on', archive_command: `${pgbackrest(stanza)} archive-push %p`, archive_timeout: String(ARCHIVE_TIMEOUT_SECONDS) };
}

export function renderBackupUnit(spec: PitrSpec, type: 'full' | 'diff'): string {
  return [
    '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
    '[Unit]',
    `Description=pgBackRest ${type === 'full' ? 'full' : 'differential'} backup of ${spec.stanza} (slipway)`,
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    `User=${pitrAccount(spec.stanza)}`,
    `ExecStart=/usr/bin/${pgbackrest(spec.stanza)} --type=${type} backup`,
    'Nice=10',
    'IOSchedulingClass=idle',
    '',
  ].join('\n');
}

export function renderBackupTimerUnit(spec: PitrSpec, type: 'full' | 'diff'): string {
  return [
    '# Written by slipway setup: changes here are replaced on the next `slipway setup`.',
    '[Unit]',
    `Description=pgBackRest ${type === 'full' ? 'full' : 'differential'} backup of ${spec.stanza} on schedule (slipway)`,
    '',
    '[Timer]',
    `OnCalendar=${type === 'full' ? spec.fullSchedule : spec.diffSchedule}`,
    'Persistent=true',
    'RandomizedDelaySec=30min',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
}

/**
 * Waits up to `seconds` for the cluster `psql` reaches to leave recovery (it promotes at the target or at the end
 * of the WAL), else runs `failure` and exits; then prints `reached TIME`, its last commit replayed (nothing after
 * `reached` when PostgreSQL does not know it).
 */
function untilPromoted(psql: string, seconds: number, failure: string): string[] {
  const inRecovery = `${psql} -c 'SELECT pg_is_in_recovery()'`;
  return [
    `for _ in $(seq 1 ${seconds * 2}); do [ "$(${inRecovery} 2>/dev/null)" = f ] && break; sleep 0.5; done`,
    `[ "$(${inRecovery})" = f ] || { ${failure}; exit 1; }`,
    `echo "reached $(${psql} -c "SELECT to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\\"T\\"HH24:MI:SS.MSZ')")"`,
  ];
}

/** Where a point-in-time restore builds its scratch cluster, and the socket the scratch cluster listens on. */
export const pitrScratch = (stanza: string) => `/var/lib/postgresql/slipway-pitr-${stanza}`;
export const PITR_PORT = 55432;

/**
 * A point-in-time restore, as root on the database server: the newest WAL pushed first (`check` switches and
 * waits), the cluster restored from the repository into a scratch directory as of `target` (never archiving
 * from there), started on a Unix socket only until it has replayed to the target and promoted, the app's
 * database dumped from it into `dumpFile`, and the scratch cluster stopped and removed whatever happens.
 */
export function renderPitrRestore(spec: Pick<PitrSpec, 'stanza' | 'pgVersion'>, target: string, database: string, dumpFile: string): string {
  const dir = pitrScratch(spec.stanza);
  const bin = `/usr/lib/postgresql/${spec.pgVersion}/bin`;
  const socket = `${dir}.sock`;
  return [
    `dir=${quote(dir)}`,
    `socket=${quote(socket)}`,
    `stop() { if [ -f "$dir/postmaster.pid" ]; then ${AS_POSTGRES} ${bin}/pg_ctl -D "$dir" -m immediate stop >/dev/null 2>&1 || true; fi; rm -rf "$dir" "$socket"; }`,
    'trap stop EXIT',
    'stop',
    // The newest commits leave the live server now, so a target of a moment ago is in the repository.
    `if ${AS_POSTGRES} psql -XAtqc 'SELECT 1' >/dev/null 2>&1; then ${AS_POSTGRES} ${pgbackrest(spec.stanza)} check >/dev/null || echo "warning: the newest WAL could not be pushed: the restore reaches what the repository has"; fi`,
    'install -d -o postgres -g postgres -m 700 "$dir" "$socket"',
    `${AS_POSTGRES} ${pgbackrest(spec.stanza)} --pg1-path="$dir" --type=time --target=${quote(target)} --target-action=promote --archive-mode=off restore`,
    // Debian keeps the cluster's configuration in /etc: the scratch cluster gets a minimal one, and the settings the
    // live cluster's postgresql.auto.conf may carry (listen_addresses, ssl, archiving) are overridden on its command line.
    `printf '%s\\n' 'local all postgres peer' > "$dir/pg_hba.conf"`,
    ': > "$dir/pg_ident.conf"',
    ': > "$dir/postgresql.conf"',
    'chown postgres:postgres "$dir/postgresql.conf" "$dir/pg_hba.conf" "$dir/pg_ident.conf"',
    `options="-c listen_addresses='' -c port=${PITR_PORT} -c unix_socket_directories='$socket' -c hba_file='$dir/pg_hba.conf' -c ident_file='$dir/pg_ident.conf' -c ssl=off -c archive_mode=off"`,
    `${AS_POSTGRES} ${bin}/pg_ctl -D "$dir" -l "$dir/startup.log" -o "$options" -w -t 600 start >/dev/null || { tail -n 5 "$dir/startup.log"; exit 1; }`,
    `psql_scratch() { ${AS_POSTGRES} psql -XAtq -h "$socket" -p ${PITR_PORT} "$@"; }`,
    ...untilPromoted('psql_scratch', 300, 'echo "the restored cluster did not reach the target: $(tail -n 3 "$dir/startup.log")"'),
    `umask 077`,
    `${AS_POSTGRES} pg_dump -Fc -h "$socket" -p ${PITR_PORT} ${quote(database)} > ${quote(`${dumpFile}.partial`)}`,
    `mv -T ${quote(`${dumpFile}.partial`)} ${quote(dumpFile)}`,
    `echo ${quote(`pitr ${dumpFile}`)}`,
  ].join('\n');
}

/**
 * A lost database server's cluster restored onto a new one from the repository, in place of the empty cluster
 * setup made: the same cluster (its system identifier, roles and databases), replayed to the end of the archived
 * WAL or to `target`, then promoted; archiving resumes from it into the same stanza.
 */
export function renderPitrRecover(stanza: string, target: string | undefined): string {
  const type = target ? ` --type=time --target=${quote(target)} --target-action=promote` : '';
  return [
    `data=$(${AS_POSTGRES} psql -XAtqc 'SHOW data_directory')`,
    // The cluster's own unit (Debian and Ubuntu: postgresql@<version>-<cluster>), found by its data directory.
    'unit="postgresql@$(pg_lsclusters -h | awk -v d="$data" \'$6 == d { print $1 "-" $2 }\').service"',
    'systemctl stop "$unit"',
    `${AS_POSTGRES} ${pgbackrest(stanza)} --pg1-path="$data" --delta${type} restore`,
    'systemctl start "$unit"',
    ...untilPromoted(`${AS_POSTGRES} psql -XAtq`, 600, 'echo "PostgreSQL did not finish replaying the WAL"'),
  ].join('\n');
}
