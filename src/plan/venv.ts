// The venv key: a hash of everything that decides what a venv contains. Same key, same venv: a code-only
// deploy reuses it at once, and a rollback finds its release's exact dependencies still installed.
import { createHash } from 'node:crypto';
import type { Config } from '../config/types.js';

export interface VenvKeyInput {
  pythonVersion: string | undefined;
  /** Text of each requirements file, in order. */
  requirements: readonly string[];
  config: Pick<Config, 'dependencies' | 'pip' | 'python'>;
}

export function venvKey({ pythonVersion, requirements, config }: VenvKeyInput): string {
  const material = JSON.stringify({
    python: pythonVersion ?? 'python3',
    requirements,
    extra: config.dependencies.python,
    pip: config.pip,
    venv: config.python,
  });
  return createHash('sha256').update(material).digest('hex').slice(0, 12);
}

/** Venvs no kept release uses any more. */
export function unusedVenvs(existing: readonly string[], used: ReadonlySet<string>): string[] {
  return existing.filter((key) => !used.has(key));
}
