// What the user sees while an operation runs, and the local log of everything that ran.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Step } from '../ops/command.js';
import type { StepObserver } from '../execute/run-steps.js';
import type { Io } from './io.js';

export interface ObserverOptions {
  io: Io;
  verbose: boolean;
  /** File receiving every script as run (redacted) and its output. */
  logFile?: string;
}

export function progressObserver({ io, verbose, logFile }: ObserverOptions): StepObserver {
  const started = Date.now();
  const log = (text: string) => {
    if (logFile) appendFileSync(logFile, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600 });
  };
  return {
    onStep(host: string, step: Step) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
      io.err(`${seconds}s  ${host}  ${step.title}`);
    },
    onLine(host: string, line: string) {
      log(`[${host}] ${line}`);
      if (verbose) io.err(`        ${host} | ${line}`);
    },
    onWarning(host: string, text: string) {
      io.err(`warning: ${host}: ${text}`);
      log(`warning: ${host}: ${text}`);
    },
    onRun(host: string, text: string) {
      log(`### ${host} run\n${text}### end`);
    },
  };
}

export function deployLogFile(configDir: string, env: string, action: string): string {
  const dir = join(configDir, '.slipway', 'logs');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stamp = new Date().toISOString().replace(/[-:]/g, '');
  return join(dir, `${env}-${action}-${stamp}-${process.pid}.log`);
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col] ?? 0))).join('  ').trimEnd()).join('\n');
}
