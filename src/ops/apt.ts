// System packages: only the missing ones, non-interactively; the package lists are refreshed only if needed.
import type { Cmd, Command } from './command.js';

export function installPackages(packages: readonly string[]): Cmd {
  const install = (): Command => ({
    argv: ['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...packages],
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
  return { either: install(), orElse: { if: { argv: ['apt-get', 'update', '-q'] }, then: [install()], else: [{ argv: ['false'] }] } };
}
