// System packages: only the missing ones, non-interactively; the package lists are refreshed only if needed.
// Recommended packages follow the server's own apt settings, as a plain `apt-get install` there would: a
// package whose recommends are left out can break at run time (python3-django's admin links the jQuery a
// recommended package provides).
import type { Cmd, Command } from './command.js';
import { failWith } from './reason.js';

/** Said when the package lists cannot be refreshed: the usual cause is a server with no way to a mirror. */
export const NO_PACKAGE_SOURCE = 'this server cannot reach a package source: apt-get update could not download every package list (its network, proxy or apt sources)';

export function installPackages(packages: readonly string[]): Cmd {
  const install = (): Command => ({ argv: ['apt-get', 'install', '-y', '-q', ...packages], env: { DEBIAN_FRONTEND: 'noninteractive' } });
  // Error-Mode any: a list that failed to download fails the update instead of a warning (older apt ignores it).
  const update: Command = { argv: ['apt-get', 'update', '-q', '-o', 'APT::Update::Error-Mode=any'] };
  return { either: install(), orElse: { if: update, then: [install()], else: [failWith(NO_PACKAGE_SOURCE)] } };
}
