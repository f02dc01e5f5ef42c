// The app's service files as data, and the host-wide pieces every process manager shares: the app user and
// the ownership of its writable paths. Installing, restarting and stopping are the manager's
// (ops/process-manager.ts).
import { createHash } from 'node:crypto';
import { cmd, unless, type Cmd } from './command.js';
import type { Layout } from '../plan/layout.js';

export interface UnitFile {
  /** The service name (`shop-web.service`): what the facts probe reports the installed file under. */
  name: string;
  text: string;
  /** Files written with it, before it (supervisor's launcher): `text` names their hash, so a change shows. */
  beside?: { path: string; text: string }[];
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function ensureAppUser(layout: Layout): Cmd {
  return unless(
    { argv: ['id', '-u', layout.appUser], quiet: true },
    cmd('useradd', '--system', '--user-group', '--home-dir', layout.root, '--no-create-home', '--shell', '/usr/sbin/nologin', layout.appUser),
  );
}

/** The app's writable paths belong to the app user; code stays owned by the deployer. */
export function ownShared(layout: Layout): Cmd {
  return cmd('chown', '-R', `${layout.appUser}:${layout.appUser}`, layout.shared);
}
