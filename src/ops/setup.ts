// Builders for `slipway setup`: the commands of each item, as data. Files go through installConfigFile.
import { cmd, unless, type Cmd, type Command } from './command.js';
import { installConfigFile, type ConfigFile } from './config-file.js';
import { quote } from './shell.js';

/** Directories with their owner and mode, created or corrected in place. */
export function ensureDirectory(path: string, mode: string, owner: string, group?: string): Command {
  return cmd('install', '-d', '-m', mode, '-o', owner, ...(group ? ['-g', group] : []), path);
}

/**
 * Incoming traffic only to sshd's ports, 80 and 443. SSH is allowed before the firewall comes up, so the
 * connection slipway is using is never cut.
 */
export function firewallCommands(sshPorts: readonly string[]): Cmd[] {
  return [
    cmd('ufw', 'default', 'deny', 'incoming'),
    cmd('ufw', 'default', 'allow', 'outgoing'),
    ...[...sshPorts, '80', '443'].map((port) => cmd('ufw', 'allow', `${port}/tcp`)),
    cmd('ufw', '--force', 'enable'),
  ];
}

/** What sshd applies to the login user, checked after the drop-in is written: another file could win. */
export function sshdEffective(user: string): Cmd {
  // grep reads all of it: with pipefail, `grep -q` stopping early would fail the pipeline (SIGPIPE).
  return { shell: `sshd -t && sshd -T -C user=${quote(user)},host=localhost,addr=127.0.0.1 | grep -x 'passwordauthentication no' >/dev/null` };
}

export function sshdHardening(file: ConfigFile, user: string): Cmd[] {
  return [
    ...installConfigFile(file, { check: sshdEffective(user), message: 'sshd refused the new configuration, or another file turns password login on first' }),
    // Debian and Ubuntu call the unit ssh, others sshd. A reload keeps every open connection.
    { either: cmd('systemctl', 'reload', 'ssh'), orElse: cmd('systemctl', 'reload', 'sshd') },
  ];
}

export function nginxBase(file: ConfigFile): Cmd[] {
  return [
    ...installConfigFile(file, { check: { argv: ['nginx', '-t', '-q'] }, message: 'nginx -t refused the configuration' }),
    cmd('systemctl', 'reload-or-restart', 'nginx'),
  ];
}

export function logrotateConfig(file: ConfigFile): Cmd[] {
  return installConfigFile(file, { check: { argv: ['logrotate', '-d', file.path], quiet: true }, message: 'logrotate -d refused the configuration' });
}

export function journaldLimits(file: ConfigFile): Cmd[] {
  return [...installConfigFile(file), cmd('systemctl', 'restart', 'systemd-journald')];
}

/** listen_addresses through ALTER SYSTEM (postgresql.auto.conf), so it holds whatever the distribution's file says. */
export function postgresLocalOnly(): Cmd[] {
  return [
    { argv: ['psql', '-v', 'ON_ERROR_STOP=1', '-qX', '-c', "ALTER SYSTEM SET listen_addresses = 'localhost'"], user: 'postgres', cwd: '/' },
    cmd('systemctl', 'restart', 'postgresql'),
  ];
}

export interface RedisFiles {
  file: ConfigFile;
  /** redis.conf, which gets `include <file>` at its end. */
  mainConf: string;
  includeLine: string;
}

/** Redis restarts on the new file; if it cannot start, the previous file comes back and it restarts on that. */
export function redisConfig({ file, mainConf, includeLine }: RedisFiles): Cmd[] {
  const restart = cmd('systemctl', 'restart', 'redis-server');
  return installConfigFile(file, {
    prepare: [unless({ argv: ['grep', '-qxF', includeLine, mainConf] }, { argv: ['tee', '-a', mainConf], stdin: { text: `${includeLine}\n` }, stdoutTo: '/dev/null' })],
    check: restart,
    message: 'redis-server did not start with the new configuration',
    afterRestore: [unless(restart, cmd('true'))],
  });
}

export interface TimerFiles {
  script: ConfigFile;
  service: ConfigFile;
  timer: ConfigFile;
  timerName: string;
  schedule: string;
}

/** Writes only what changed (the caller passes those), then enables and starts the timer. */
export function backupTimer(changed: readonly ConfigFile[], { timerName, schedule }: Pick<TimerFiles, 'timerName' | 'schedule'>): Cmd[] {
  return [
    // A schedule systemd cannot parse fails here, before anything is written.
    { argv: ['systemd-analyze', 'calendar', schedule], quiet: true },
    ...changed.flatMap((file) => installConfigFile(file)),
    cmd('systemctl', 'daemon-reload'),
    cmd('systemctl', 'enable', '--now', '--quiet', timerName),
  ];
}
