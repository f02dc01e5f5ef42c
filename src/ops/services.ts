// Builders for systemd: install changed unit files, the app user, restarts.
import { createHash } from 'node:crypto';
import { cmd, unless, type Cmd } from './command.js';
import { writeFile } from './files.js';
import type { Layout } from '../plan/layout.js';

export interface UnitFile {
  name: string;
  text: string;
}

/** Units are written here first and verified by systemd before they move into /etc/systemd/system. */
export const VERIFY_DIR = '/run/slipway/verify';

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
  const commands: Cmd[] = [cmd('mkdir', '-p', VERIFY_DIR)];
  // Checked by systemd before they are installed: a unit systemd would reject never replaces a working one.
  for (const unit of changed) commands.push(...writeFile({ path: `${VERIFY_DIR}/${unit.name}`, text: unit.text }));
  commands.push(cmd('systemd-analyze', 'verify', ...changed.map((u) => `${VERIFY_DIR}/${u.name}`)));
  for (const unit of changed) {
    const path = `/etc/systemd/system/${unit.name}`;
    commands.push(cmd('cp', `${VERIFY_DIR}/${unit.name}`, `${path}.slipway-new`), cmd('mv', '-f', `${path}.slipway-new`, path));
  }
  // Template units (blue/green slots) are enabled per instance when a slot goes live.
  const enable = units.filter((u) => !u.name.includes('@.')).map((u) => u.name);
  commands.push(cmd('systemctl', 'daemon-reload'), cmd('systemctl', 'enable', '--quiet', ...enable));
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
