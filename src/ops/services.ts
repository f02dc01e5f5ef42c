// Builders for systemd: install changed unit files, the app user, restarts.
import { createHash } from 'node:crypto';
import { cmd, unless, type Cmd } from './command.js';
import type { Layout } from '../plan/layout.js';

export interface UnitFile {
  name: string;
  text: string;
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function ensureAppUser(layout: Layout): Cmd {
  return unless(
    { argv: ['id', '-u', layout.appUser], quiet: true },
    cmd('useradd', '--system', '--user-group', '--home-dir', layout.root, '--no-create-home', '--shell', '/usr/sbin/nologin', layout.appUser),
  );
}

/** Writes only the units whose text differs from what is installed, and reloads systemd only then. */
export function installUnits(units: readonly UnitFile[], installed: Record<string, string>): Cmd[] {
  const changed = units.filter((unit) => installed[unit.name] !== sha256(unit.text));
  if (changed.length === 0) return [];
  const commands: Cmd[] = [];
  for (const unit of changed) {
    const path = `/etc/systemd/system/${unit.name}`;
    commands.push(
      { argv: ['tee', `${path}.slipway-new`], stdin: { text: unit.text }, stdoutTo: '/dev/null' },
      cmd('mv', '-f', `${path}.slipway-new`, path),
    );
  }
  commands.push(cmd('systemctl', 'daemon-reload'), cmd('systemctl', 'enable', '--quiet', ...units.map((u) => u.name)));
  return commands;
}

/**
 * slipway's own restarts must not count toward systemd's crash-loop limit (StartLimitBurst, 5 starts in 10 s):
 * without the reset, the sixth deploy or rollback within 10 s fails to start the app, and so does the switch back.
 */
export function restartUnits(units: readonly string[]): Cmd[] {
  return units.length === 0 ? [] : [cmd('systemctl', 'reset-failed', ...units), cmd('systemctl', 'restart', ...units)];
}

export function stopUnits(units: readonly string[]): Cmd[] {
  return units.length === 0 ? [] : [cmd('systemctl', 'stop', ...units)];
}

/** The app's writable paths belong to the app user; code stays owned by the deployer. */
export function ownShared(layout: Layout): Cmd {
  return cmd('chown', '-R', `${layout.appUser}:${layout.appUser}`, layout.shared);
}
