// Commands that run on the deployer's own machine (git), with captured output.
import { spawn } from 'node:child_process';
import { CommandFailedError } from '../errors.js';
import type { Command } from '../ops/command.js';
import { quoteArgv } from '../ops/shell.js';

export interface LocalResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface LocalBytes {
  code: number;
  /** Kept as bytes: the output may be data (a git pack). */
  stdout: Buffer;
  stderr: string;
}

/** `timeoutMs`: SIGKILL after this long (a program that waits on a network), the result then code 124 as timeout(1). */
export function runLocalBytes(command: Command, extraEnv: Record<string, string> = {}, timeoutMs?: number): Promise<LocalBytes> {
  return new Promise((resolve) => {
    const [program, ...args] = command.argv;
    const child = spawn(program!, args, {
      cwd: command.cwd,
      env: { ...process.env, ...command.env, ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(timeoutMs !== undefined ? { timeout: timeoutMs, killSignal: 'SIGKILL' as const } : {}),
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error) => resolve({ code: 127, stdout: Buffer.concat(chunks), stderr: stderr + error.message }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal === 'SIGKILL' && timeoutMs !== undefined ? 124 : 255), stdout: Buffer.concat(chunks), stderr }));
    // A program that exits without reading its input (git) must not crash slipway with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(command.stdin?.text ?? '');
  });
}

export async function runLocal(command: Command, extraEnv: Record<string, string> = {}, timeoutMs?: number): Promise<LocalResult> {
  const result = await runLocalBytes(command, extraEnv, timeoutMs);
  return { ...result, stdout: result.stdout.toString('utf8') };
}

export async function runLocalChecked(command: Command, step: string, extraEnv: Record<string, string> = {}): Promise<string> {
  const result = await runLocal(command, extraEnv);
  if (result.code !== 0) {
    throw new CommandFailedError('deployer', step, quoteArgv(command.argv), result.code, (result.stderr || result.stdout).trim().split('\n').slice(-10));
  }
  return result.stdout;
}
