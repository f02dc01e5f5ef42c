// Point-in-time recovery planned (pure): what setup reads on the database server and the repository host, and the
// items that bring each to the wanted state (render/pitr.ts), in the order they must run.
import type { Config } from '../config/types.js';
import { installPackages } from '../ops/apt.js';
import { ensureKey } from '../ops/backup-copies.js';
import { cmd, unless, type Cmd } from '../ops/command.js';
import { installConfigFile, type ConfigFile } from '../ops/config-file.js';
import { sha256 } from '../ops/services.js';
import { quote } from '../ops/shell.js';
import { AS_POSTGRES } from '../ops/postgres.js';
import { knownHostName } from '../render/backup-copies.js';
import {
  archiveSettings,
  authorizedRemoteLine,
  pgbackrest,
  pitrAccount,
  pitrBackupTimer,
  pitrBackupUnit,
  pitrConfPath,
  pitrDbKeyDir,
  pitrRemotePath,
  pitrRepoKeyDir,
  pitrRepoPath,
  pitrSshPath,
  renderBackupTimerUnit,
  renderBackupUnit,
  renderDbConf,
  renderPitrRemote,
  renderPitrSsh,
  renderRepoConf,
  type PitrSpec,
} from '../render/pitr.js';
import type { SetupItem } from './setup.js';

/** What the probe of either side prints. */
export interface PitrFacts {
  installed: boolean;
  publicKey?: string;
  files: Record<string, string>;
  /** Lines of the forced-command key already authorized (authorized_keys of the account or of postgres). */
  authorized: string[];
  hostKeys: string[];
  /** Database server: PostgreSQL's data directory, major version and archive settings. */
  pg?: { path: string; version: string; settings: Record<string, string> };
  /** Repository host: the account exists; its timers are enabled; the stanza's `info` status code. */
  account?: boolean;
  timers?: string[];
  stanza?: number;
}

export function parsePitrFacts(lines: readonly string[]): PitrFacts {
  const facts: PitrFacts = { installed: false, files: {}, authorized: [], hostKeys: [] };
  const settings: Record<string, string> = {};
  let path = '';
  let version = '';
  for (const line of lines) {
    const [word = '', ...rest] = line.trim().split(' ');
    const value = rest.join(' ');
    if (word === 'installed') facts.installed = true;
    else if (word === 'pubkey' && value) facts.publicKey = value;
    else if (word === 'file' && rest.length === 2) facts.files[rest[1]!] = rest[0]!;
    else if (word === 'authorized' && value) facts.authorized.push(value);
    else if (word === 'hostkey' && rest.length === 2) facts.hostKeys.push(value);
    else if (word === 'pgpath' && value) path = value;
    else if (word === 'pgversion' && /^\d+$/.test(value)) version = String(Math.floor(Number(value) / 10000));
    else if (word === 'pgsetting' && rest.length >= 1) settings[rest[0]!] = rest.slice(1).join(' ');
    else if (word === 'account') facts.account = true;
    else if (word === 'timer' && value) (facts.timers ??= []).push(value);
    else if (word === 'stanza' && /^\d+$/.test(value)) facts.stanza = Number(value);
  }
  if (path && version) facts.pg = { path, version, settings };
  return facts;
}

export const pitrSchedules = (backups: Config['backups']) => ({ fullSchedule: backups.pitr_full, diffSchedule: backups.pitr_differential, retentionFull: backups.pitr_retention_full });

const changed = (facts: PitrFacts, file: ConfigFile) => facts.files[file.path] !== sha256(file.text);
const item = (id: string, title: string, commands: Cmd[]): SetupItem => ({ id, title, commands, warnings: [] });

/** Replaces the one line of `authorized_keys` that runs this remote, keeping every other line. */
function authorizeRemote(file: string, owner: string, line: string, remotePath: string): Cmd {
  const q = quote(file);
  return {
    shell: [
      `install -d -m 700 -o ${quote(owner)} -g ${quote(owner)} "$(dirname ${q})"`,
      `{ grep -vF ${quote(`command="${remotePath}"`)} ${q} 2>/dev/null || true; printf '%s' ${quote(line)}; } > ${q}.slipway-new`,
      `chown ${quote(`${owner}:${owner}`)} ${q}.slipway-new && chmod 600 ${q}.slipway-new && mv -f ${q}.slipway-new ${q}`,
    ].join('\n'),
  };
}

const known = (address: string, port: number, keys: readonly string[]) => `${keys.map((k) => `${knownHostName(address, port)} ${k}`).join('\n')}\n`;

export const POSTGRES_KEYS = '/var/lib/postgresql/.ssh/authorized_keys';
export const repoAccountHome = (stanza: string) => `/var/lib/slipway/backup-accounts/${pitrAccount(stanza)}`;

/** The first items on the database server: pgBackRest, and postgres's key (its public half goes to the repository host). */
export function dbKeyItems(stanza: string, label: string, facts: PitrFacts): SetupItem[] {
  return [
    item('pitr-package', 'pgBackRest installed', facts.installed ? [] : [installPackages(['pgbackrest'])]),
    item('pitr-key', 'Key of postgres for pgBackRest', facts.publicKey ? [] : ensureKey(pitrDbKeyDir(stanza), `slipway pgbackrest ${stanza} on ${label}`, 'postgres')),
  ];
}

export function repoFiles(spec: PitrSpec, dbHostKeys: readonly string[]): ConfigFile[] {
  const { stanza } = spec;
  const account = pitrAccount(stanza);
  return [
    { path: pitrConfPath(stanza), text: renderRepoConf(spec), mode: '644' },
    { path: pitrSshPath(stanza), text: renderPitrSsh(pitrRepoKeyDir(stanza)), mode: '755' },
    { path: pitrRemotePath(stanza), text: renderPitrRemote(stanza), mode: '755' },
    { path: `${pitrRepoKeyDir(stanza)}/known_hosts`, text: known(spec.dbAddress, spec.dbPort, dbHostKeys), mode: '644', owner: account, group: account },
    ...(['full', 'diff'] as const).flatMap((type) => [
      { path: `/etc/systemd/system/${pitrBackupUnit(stanza, type)}`, text: renderBackupUnit(spec, type) },
      { path: `/etc/systemd/system/${pitrBackupTimer(stanza, type)}`, text: renderBackupTimerUnit(spec, type) },
    ]),
  ];
}

/**
 * The repository host: pgBackRest, the account that owns the repository (no password, a home owned by root, a
 * key of its own to reach postgres on the database server), the database server's key allowed to run the remote
 * only, the stanza's configuration and the backup timers.
 */
export function repoItems(spec: PitrSpec, dbPublicKey: string, dbHostKeys: readonly string[], facts: PitrFacts): SetupItem[] {
  const { stanza } = spec;
  const account = pitrAccount(stanza);
  const home = repoAccountHome(stanza);
  const line = authorizedRemoteLine(stanza, dbPublicKey);
  const files = repoFiles(spec, dbHostKeys);
  const timers = (['full', 'diff'] as const).map((t) => pitrBackupTimer(stanza, t));
  const accountReady = facts.account && facts.publicKey !== undefined && facts.authorized.includes(line.trim());
  return [
    item('pitr-package', 'pgBackRest installed', facts.installed ? [] : [installPackages(['pgbackrest'])]),
    item(
      'pitr-account',
      `pgBackRest account ${account}: the repository in ${pitrRepoPath(stanza)}, the database server's key runs its remote only`,
      accountReady
        ? []
        : [
            unless({ argv: ['id', '-u', account], quiet: true }, cmd('useradd', '--system', '--user-group', '--home-dir', home, '--no-create-home', '--shell', '/bin/sh', account)),
            cmd('usermod', '-p', '*', account),
            cmd('install', '-d', '-m', '755', '-o', 'root', '-g', 'root', home),
            cmd('install', '-d', '-m', '750', '-o', account, '-g', account, pitrRepoPath(stanza), `${pitrRepoPath(stanza)}/repo`, `${pitrRepoPath(stanza)}/lock`),
            ...ensureKey(pitrRepoKeyDir(stanza), `slipway pgbackrest ${stanza} repository`, account),
            authorizeRemote(`${home}/.ssh/authorized_keys`, account, line, pitrRemotePath(stanza)),
            // sshd wants a home and .ssh it trusts: root's, as for the copies' account.
            cmd('chown', 'root:root', `${home}/.ssh`),
            cmd('chmod', '755', `${home}/.ssh`),
          ],
    ),
    item(
      'pitr-repo',
      `pgBackRest stanza ${stanza}: full backups ${spec.fullSchedule} (${spec.retentionFull} kept), differentials ${spec.diffSchedule}`,
      files.some((f) => changed(facts, f)) || timers.some((t) => !facts.timers?.includes(t))
        ? [...files.flatMap((f) => installConfigFile(f)), cmd('systemctl', 'daemon-reload'), ...timers.map((t) => cmd('systemctl', 'enable', '--now', '--quiet', t))]
        : [],
    ),
  ];
}

export function dbFiles(spec: PitrSpec, repoHostKeys: readonly string[]): ConfigFile[] {
  const { stanza } = spec;
  return [
    { path: pitrConfPath(stanza), text: renderDbConf(spec), mode: '644' },
    { path: pitrSshPath(stanza), text: renderPitrSsh(pitrDbKeyDir(stanza)), mode: '755' },
    { path: pitrRemotePath(stanza), text: renderPitrRemote(stanza), mode: '755' },
    { path: `${pitrDbKeyDir(stanza)}/known_hosts`, text: known(spec.repoAddress, spec.repoPort, repoHostKeys), mode: '644', owner: 'postgres', group: 'postgres' },
  ];
}

/**
 * The database server: the repository host's key may run the remote as postgres, the stanza's configuration,
 * and PostgreSQL archiving through pgBackRest. archive_mode takes a restart of PostgreSQL (once: a second or two
 * in which the app's queries wait or fail); archive_command and archive_timeout a reload.
 */
export function dbItems(spec: PitrSpec, repoPublicKey: string, repoHostKeys: readonly string[], facts: PitrFacts): SetupItem[] {
  const { stanza } = spec;
  const line = authorizedRemoteLine(stanza, repoPublicKey);
  const files = dbFiles(spec, repoHostKeys);
  const wanted = archiveSettings(stanza);
  const current = facts.pg?.settings ?? {};
  const differs = Object.entries(wanted).filter(([k, v]) => current[k] !== v && !(k === 'archive_timeout' && current[k] === `${v}s`) && !(k === 'archive_timeout' && current[k] === '1min'));
  const restart = current.archive_mode !== 'on';
  const alter = differs.map(([k, v]) => `ALTER SYSTEM SET ${k} = ${quoteSql(v)}`);
  return [
    item('pitr-access', "pgBackRest: the repository host's key runs the remote as postgres, the stanza's configuration",
      !facts.authorized.includes(line.trim()) || files.some((f) => changed(facts, f)) ? [authorizeRemote(POSTGRES_KEYS, 'postgres', line, pitrRemotePath(stanza)), ...files.flatMap((f) => installConfigFile(f))] : []),
    item('pitr-archive', `PostgreSQL archives its WAL to the repository host (archive_timeout ${wanted.archive_timeout} s)${restart && differs.length > 0 ? ': restarts PostgreSQL' : ''}`,
      differs.length === 0
        ? []
        : [
            { shell: `printf '%s;\\n' ${alter.map(quote).join(' ')} | ${AS_POSTGRES} psql -XAtq -v ON_ERROR_STOP=1` },
            restart ? cmd('systemctl', 'restart', 'postgresql') : { shell: `${AS_POSTGRES} psql -XAtqc 'SELECT pg_reload_conf()' >/dev/null` },
          ]),
  ];
}

/**
 * A cluster archives its WAL to one place. An archive_command that is neither off nor this stanza's belongs to
 * someone else (another app's backups.pitr on the same cluster, or an archive made by hand): taking it over
 * would silently end theirs. Returns that command, or undefined when the cluster is free or already this one's.
 */
export function foreignArchive(stanza: string, settings: Record<string, string> | undefined): string | undefined {
  const command = settings?.archive_command?.trim();
  if (!command || command === '(disabled)' || command === archiveSettings(stanza).archive_command) return undefined;
  return command;
}

const quoteSql = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * Last, on the repository host as the account: the stanza created if missing, a check that the database
 * server's WAL arrives (pgBackRest switches a segment and waits for it), and a first full backup when there is
 * none, so that a point in time is restorable from the moment setup ends.
 */
export function stanzaItem(stanza: string, facts: PitrFacts): SetupItem {
  const account = pitrAccount(stanza);
  const as = (...argv: string[]): Cmd => ({ argv: ['env', '-C', '/', 'runuser', '-u', account, '--', ...pgbackrest(stanza).split(' '), ...argv] });
  // info's status: 0 ok, 1 missing stanza path, 2 no valid backups, 3 missing stanza data.
  if (facts.stanza === 0) return item('pitr-stanza', `pgBackRest stanza ${stanza}: WAL arrives, a full backup exists`, []);
  return item('pitr-stanza', `pgBackRest stanza ${stanza}: created, WAL arriving, a first full backup`, [
    ...(facts.stanza === 2 ? [] : [as('stanza-create')]),
    as('check'),
    as('--type=full', 'backup'),
  ]);
}
