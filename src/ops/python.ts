// Builders for Python apps: the venv, created once per dependency set and reused after.
import { cmd, type Cmd, type Command } from './command.js';
import { COMPLETE_MARK, removeOrWarn } from './files.js';
import type { Layout } from '../plan/layout.js';

export const venvDir = (layout: Layout, key: string) => `${layout.root}/venvs/${key}`;

export interface PipOptions {
  indexUrl?: string;
  extraIndexUrls: readonly string[];
  /** Absolute paths or URLs. */
  findLinks: readonly string[];
  noIndex: boolean;
}

export function pipIndexArgs(pip: PipOptions): string[] {
  return [
    ...(pip.noIndex ? ['--no-index'] : []),
    ...(pip.indexUrl ? ['--index-url', pip.indexUrl] : []),
    ...pip.extraIndexUrls.flatMap((url) => ['--extra-index-url', url]),
    ...pip.findLinks.flatMap((link) => ['--find-links', link]),
  ];
}

export interface VenvInput {
  layout: Layout;
  key: string;
  interpreter: string;
  systemSitePackages: boolean;
  pip: PipOptions;
  pins: string[];
  /** Absolute paths of the requirements files in the new release. */
  requirementsFiles: string[];
  extraRequirements: string[];
}

/**
 * A new venv in its final place (venvs are not relocatable: their scripts name their own path), marked
 * complete only at the end, so a half-built one is never reused; an incomplete leftover is removed first.
 */
export function createVenv(input: VenvInput): Cmd[] {
  const dir = venvDir(input.layout, input.key);
  const python = `${dir}/bin/python`;
  const pip = (...args: string[]): Command => ({
    argv: [python, '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...pipIndexArgs(input.pip), ...args],
    env: { PIP_ROOT_USER_ACTION: 'ignore' },
  });
  const commands: Cmd[] = [
    cmd('rm', '-rf', dir),
    cmd('mkdir', '-p', `${input.layout.root}/venvs`),
    cmd(input.interpreter, '-m', 'venv', ...(input.systemSitePackages ? ['--system-site-packages'] : []), dir),
  ];
  if (input.pins.length > 0) commands.push(pip(...input.pins));
  const requirements = input.requirementsFiles.flatMap((file) => ['-r', file]);
  if (requirements.length > 0 || input.extraRequirements.length > 0) commands.push(pip(...requirements, ...input.extraRequirements));
  commands.push(cmd('touch', `${dir}/${COMPLETE_MARK}`));
  return commands;
}

export function linkVenv(layout: Layout, key: string, releaseDir: string): Cmd {
  return cmd('ln', '-sfn', venvDir(layout, key), `${releaseDir}/.venv`);
}

/** PATH and PROJECT_PYTHON_PATH for a release's venv (through `current` for units, the release for builds). */
export function venvEnvironment(appDir: string): Record<string, string> {
  return { PATH: `${appDir}/.venv/bin:/usr/local/bin:/usr/bin:/bin`, PROJECT_PYTHON_PATH: `${appDir}/.venv/bin/python` };
}

/** Removes a venv no kept release uses; like old releases, a failure here is only a warning. */
export function removeVenv(layout: Layout, key: string): Cmd {
  return removeOrWarn(`unused venv ${key}`, venvDir(layout, key));
}
