// What every e2e example repository shares: a temp git repository of an example app, deployed with the built CLI,
// its local deploy logs, and its removal.
import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(program: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(program, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export abstract class ExampleRepo {
  protected constructor(readonly dir: string) {}

  /** `slipway ...args` against this repository. */
  abstract cli(...args: string[]): Promise<CliResult>;

  async deploy(): Promise<CliResult> {
    const result = await this.cli('deploy', 'sandbox');
    if (result.code !== 0) throw new Error(`deploy failed (exit ${result.code}):\n${result.stderr}`);
    return result;
  }

  /** Deploy logs under .slipway/logs, oldest first. */
  async logs(): Promise<string[]> {
    const dir = join(this.dir, '.slipway', 'logs');
    const names = (await readdir(dir).catch(() => [])).sort();
    return names.map((name) => join(dir, name));
  }

  /** All deploy logs as one text. */
  async readLogs(): Promise<string> {
    const texts = await Promise.all((await this.logs()).map((path) => readFile(path, 'utf8')));
    return texts.join('\n');
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  protected async git(...args: string[]): Promise<void> {
    const result = await run('git', args, { cwd: this.dir });
    if (result.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  }
}
