// Judging a host for `slipway doctor` (pure): each check ok, warn or fail, and a one-line fix for the others.
import { UserError } from '../errors.js';
import { chooseNodeRuntime, type DeployerNode } from './node-deps.js';
import { pgbackrest } from '../render/pitr.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorFacts {
  user?: string;
  uid?: number;
  /** Undefined for root (no sudo needed). */
  sudo?: boolean;
  disk?: { totalKb: number; availableKb: number; mount: string };
  /** /proc/meminfo's MemTotal and MemAvailable, in kB. */
  memory?: { totalKb: number; availableKb: number };
  /** The server's clock, in seconds since the epoch. */
  clock?: number;
  systemd: boolean;
  /** supervisorctl as the login user: `ok`; `refused` (supervisord runs, its socket is not this user's); `down`; `missing`. */
  supervisor?: 'ok' | 'refused' | 'down' | 'missing';
  dpkg: boolean;
  commands: string[];
  packages: string[];
  /** `source: fetch` only: whether the server could list the repository, and git's last words if not. */
  gitRemote?: { ok: boolean; error?: string };
  /** A Node app: the server's own Node (without the v) and its machine type. */
  nodeSystem?: string;
  machine?: string;
  /** backups.pitr: PostgreSQL's archive_command and archiver counts, or `unreadable` (no psql, no sudo to postgres). */
  walArchive?: { command: string; failed: number; lastArchived: number; lastFailed: number; lastFailedWal: string } | 'unreadable';
}

export function parseDoctorFacts(output: string): DoctorFacts {
  const facts: DoctorFacts = { systemd: false, dpkg: false, commands: [], packages: [] };
  for (const line of output.split('\n')) {
    const [kind = '', ...words] = line.trim().split(' ');
    if (kind === 'user' && words.length === 2) {
      facts.user = words[0]!;
      facts.uid = Number(words[1]);
    } else if (kind === 'sudo') facts.sudo = words[0] === 'ok';
    else if (kind === 'disk' && words.length >= 3) facts.disk = { totalKb: Number(words[0]), availableKb: Number(words[1]), mount: words.slice(2).join(' ') };
    else if (kind === 'clock' && /^\d+$/.test(words[0] ?? '')) facts.clock = Number(words[0]);
    else if (kind === 'memory' && words.length === 2 && words.every((w) => /^\d+$/.test(w))) facts.memory = { totalKb: Number(words[0]), availableKb: Number(words[1]) };
    else if (kind === 'flag' && words[0] === 'systemd') facts.systemd = true;
    else if (kind === 'flag' && words[0] === 'dpkg') facts.dpkg = true;
    else if (kind === 'supervisor' && ['ok', 'refused', 'down', 'missing'].includes(words[0] ?? '')) facts.supervisor = words[0] as DoctorFacts['supervisor'];
    else if (kind === 'command' && words[0]) facts.commands.push(words[0]);
    else if (kind === 'package' && words[0]) facts.packages.push(words[0]);
    else if (kind === 'node-system' && /^v?\d+\.\d+\.\d+$/.test(words[0] ?? '')) facts.nodeSystem = words[0]!.replace(/^v/, '');
    else if (kind === 'machine' && words[0]) facts.machine = words[0];
    else if (kind === 'wal-archive') facts.walArchive = { command: words.join(' '), failed: 0, lastArchived: 0, lastFailed: 0, lastFailedWal: '-' };
    else if (kind === 'wal-archive-unreadable') facts.walArchive = 'unreadable';
    else if (kind === 'wal-stats' && typeof facts.walArchive === 'object' && words.slice(0, 3).every((w) => /^\d+$/.test(w))) {
      facts.walArchive = { ...facts.walArchive, failed: Number(words[0]), lastArchived: Number(words[1]), lastFailed: Number(words[2]), lastFailedWal: words[3] ?? '-' };
    } else if (kind === 'git-remote') facts.gitRemote = words[0] === 'ok' ? { ok: true } : { ok: false, error: words.slice(1).join(' ') };
  }
  return facts;
}

export interface DoctorInput {
  env: string;
  basePath: string;
  source: { mode: 'push' } | { mode: 'fetch'; url: string };
  /** apt packages a deploy needs (it installs the missing ones itself, given apt access). */
  packages: readonly string[];
  /** Programs a deploy runs. */
  commands: readonly string[];
  /** The app has processes, which run under its process manager. */
  needsSystemd: boolean;
  processManager: 'systemd' | 'supervisor';
  /** Deployer's clock, in seconds since the epoch, at the middle of the probe's round trip. */
  localClock: number;
  /** A Node app: the major it asks for (project.node_version), and the Node this machine could copy. */
  node?: { wanted: string | undefined; deployer: DeployerNode };
  /** backups.pitr on a server holding the database: the archive_command setup installs, and the stanza. */
  walArchive?: { command: string; stanza: string };
}

const GB = 1024 * 1024;
export const MAX_SKEW_SECONDS = 30;

export function judgeHost(facts: DoctorFacts, input: DoctorInput): Check[] {
  const checks: Check[] = [];
  const add = (name: string, status: CheckStatus, detail: string, fix?: string) => checks.push({ name, status, detail, ...(fix && status !== 'ok' ? { fix } : {}) });

  if (facts.uid === 0) add('sudo', 'ok', 'logged in as root');
  else if (facts.sudo) add('sudo', 'ok', `${facts.user} has passwordless sudo`);
  else add('sudo', 'fail', `${facts.user ?? 'the login user'} cannot run sudo without a password`, `as root on the server: echo '${facts.user ?? '<user>'} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/${facts.user ?? '<user>'}`);

  if (!facts.disk) add('disk', 'warn', `could not read the free space of ${input.basePath}`, 'check that df works on the server');
  else {
    const { totalKb, availableKb, mount } = facts.disk;
    const percent = totalKb > 0 ? Math.round((availableKb / totalKb) * 100) : 0;
    const detail = `${(availableKb / GB).toFixed(1)} GB free on ${mount} (${percent} %)`;
    const low = availableKb < GB || percent < 10;
    add('disk', low ? 'warn' : 'ok', detail, `free space on ${mount}: fewer releases (keep_releases), shorter backups.retention_days, journalctl --vacuum-size=200M`);
  }

  if (facts.memory && facts.memory.totalKb > 0) {
    const { totalKb, availableKb } = facts.memory;
    const percent = Math.round((availableKb / totalKb) * 100);
    // Below a tenth available the kernel reclaims hard and the OOM killer is near: a deploy starts a second slot.
    add('memory', percent < 10 ? 'warn' : 'ok', `${(availableKb / GB).toFixed(1)} GB of ${(totalKb / GB).toFixed(1)} GB available (${percent} %)`, 'a blue/green deploy runs two web slots for a while: fewer workers, a bigger server, or http.strategy: restart');
  }

  if (input.source.mode === 'fetch') {
    if (!facts.commands.includes('git')) add('git access', 'fail', 'git is not installed', 'apt-get install git (or slipway setup)');
    else if (facts.gitRemote?.ok) add('git access', 'ok', `the server can read ${input.source.url}`);
    else add('git access', 'fail', `the server cannot read ${input.source.url}: ${facts.gitRemote?.error || 'git ls-remote failed'}`, 'give the server read access (a deploy key in ~/.ssh of the login user, and the git host in its known_hosts), or use source: push');
  } else {
    add('git access', facts.commands.includes('git') ? 'ok' : 'fail', facts.commands.includes('git') ? 'git is installed (slipway sends the code over its SSH connection)' : 'git is not installed', 'apt-get install git (or slipway setup)');
  }

  const missingCommands = input.commands.filter((c) => !facts.commands.includes(c));
  add('programs', missingCommands.length === 0 ? 'ok' : 'fail', missingCommands.length === 0 ? `${input.commands.join(', ')} found` : `missing: ${missingCommands.join(', ')}`, `apt-get install ${missingCommands.map((c) => (c === 'flock' ? 'util-linux' : c)).join(' ')}`);
  if (input.packages.length > 0) {
    if (!facts.dpkg) add('packages', 'warn', 'not a Debian/Ubuntu server (no dpkg): install the packages yourself', `install: ${input.packages.join(' ')}`);
    else {
      const missing = input.packages.filter((p) => !facts.packages.includes(p));
      add('packages', missing.length === 0 ? 'ok' : 'warn', missing.length === 0 ? `${input.packages.join(', ')} installed` : `not installed: ${missing.join(', ')} (a deploy installs them, given apt access)`, `slipway setup ${input.env}, or apt-get install ${missing.join(' ')}`);
    }
  }

  if (facts.clock === undefined) add('clock', 'warn', 'could not read the server clock', 'check that date works on the server');
  else {
    const skew = facts.clock - input.localClock;
    const detail = Math.abs(skew) <= 1 ? 'in step with this machine' : `${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} this machine`;
    add('clock', Math.abs(skew) > MAX_SKEW_SECONDS ? 'warn' : 'ok', detail, 'enable time sync on the server: timedatectl set-ntp true (systemd-timesyncd or chrony)');
  }

  if (input.node) {
    try {
      const runtime = chooseNodeRuntime(undefined, input.node.wanted, { ...(facts.nodeSystem ? { nodeSystem: facts.nodeSystem } : {}), nodeRuntimes: [], ...(facts.machine ? { machine: facts.machine } : {}) }, input.node.deployer);
      add('node', 'ok', runtime.kind === 'upload' ? `${facts.nodeSystem ? `the server has Node ${facts.nodeSystem}: ` : 'the server has no Node: '}a deploy copies this machine's Node ${runtime.version} to the app` : `the server's Node ${runtime.version} runs the app`);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      add('node', 'fail', error.message, error.hint);
    }
  }

  if (input.processManager === 'supervisor') {
    const state = facts.supervisor ?? 'missing';
    const detail = { ok: `supervisord runs and ${facts.user ?? 'the login user'} may control it`, refused: `supervisord runs, but ${facts.user ?? 'the login user'} may not use its socket (supervisorctl is refused)`, down: 'supervisor is installed but supervisord does not answer', missing: 'supervisor is not installed (a deploy installs it, given apt access)' }[state];
    const fix = { ok: '', refused: 'log in as root, or give the user the socket: chown= in [unix_http_server] of /etc/supervisor/supervisord.conf', down: 'systemctl enable --now supervisor, and see /var/log/supervisor/supervisord.log', missing: `slipway setup ${input.env}, or apt-get install supervisor` }[state];
    add('supervisor', state === 'ok' ? 'ok' : state === 'missing' ? 'warn' : 'fail', detail, fix);
  }
  if (input.walArchive) checks.push(walArchiveCheck(facts.walArchive, input.walArchive, input.env, input.localClock));
  const systemdNeeded = input.needsSystemd && input.processManager === 'systemd';
  if (facts.systemd) add('systemd', 'ok', 'systemd runs the server');
  else add('systemd', systemdNeeded ? 'fail' : 'warn', 'systemd does not run on this server', systemdNeeded ? 'deploy the processes to a server with systemd, or set process_manager: supervisor' : 'the monitor and backup timers need systemd');
  return checks;
}

const ago = (seconds: number) => (seconds < 120 ? `${seconds} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`);

/**
 * backups.pitr: whether PostgreSQL archives with the stanza's command, and whether its last attempt failed (a
 * failing archive is a restore point that silently stops moving). An idle database archives nothing, so the
 * time since the last segment alone says nothing wrong.
 */
export function walArchiveCheck(found: DoctorFacts['walArchive'], wanted: NonNullable<DoctorInput['walArchive']>, env: string, now: number): Check {
  const name = 'wal archive';
  if (found === undefined || found === 'unreadable') {
    return { name, status: 'warn', detail: "could not read PostgreSQL's archive state (psql as postgres, through root or sudo)", fix: 'run doctor as a user with passwordless sudo, or root' };
  }
  if (found.command !== wanted.command) {
    return { name, status: 'fail', detail: `PostgreSQL does not archive its WAL with pgBackRest's stanza ${wanted.stanza} (archive_command: ${found.command || 'none'}): no point in time after its last archived segment can be restored`, fix: `slipway setup ${env}` };
  }
  if (found.lastFailed > found.lastArchived) {
    const last = found.lastArchived > 0 ? `the last segment archived ${ago(now - found.lastArchived)} ago` : 'no segment archived yet';
    return { name, status: 'fail', detail: `archiving fails: ${found.lastFailedWal} failed ${ago(Math.max(0, now - found.lastFailed))} ago (${found.failed} failures so far), ${last}; WAL piles up on the server until it succeeds`, fix: `as postgres on the server: ${pgbackrest(wanted.stanza)} check; the repository host must be up and reachable, and see PostgreSQL's log` };
  }
  return { name, status: 'ok', detail: found.lastArchived > 0 ? `WAL archived with pgBackRest, the last segment ${ago(Math.max(0, now - found.lastArchived))} ago` : 'WAL archiving with pgBackRest is on (no segment archived yet)' };
}
