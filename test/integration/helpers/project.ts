// A throwaway app repository with its deploy config, and the CLI run in-process against it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../src/cli/main.js';

export interface Project {
  dir: string;
  basePath: string;
  /** Commits a change and returns the new commit's SHA. */
  commit(files: Record<string, string>, message?: string): string;
  writeConfig(name: string, text: string): void;
  cleanup(): void;
}

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=test@example.invalid', '-c', 'user.name=slipway test', ...args], { cwd: dir, encoding: 'utf8' }).trim();

export function makeProject(): Project {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-app-'));
  const basePath = mkdtempSync(join(tmpdir(), 'slipway-srv-'));
  git(dir, 'init', '-q', '-b', 'main');
  return {
    dir,
    basePath,
    commit(files, message = 'change') {
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '-m', message);
      return git(dir, 'rev-parse', 'HEAD');
    },
    writeConfig(name, text) {
      writeFileSync(join(dir, name), text);
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
      rmSync(basePath, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process with its output captured. */
export async function cli(cwd: string, argv: string[], env: Record<string, string> = {}): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await run(argv, {
    out: (t) => (out += t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => (err += t.endsWith('\n') ? t : `${t}\n`),
    env: { ...process.env, ...env },
    cwd,
  });
  return { code, out, err };
}
