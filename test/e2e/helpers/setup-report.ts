// Reading `slipway setup`'s report in end-to-end tests.
import type { CliResult } from './example-repo.js';

/** `HOST  STATUS  TITLE` rows of setup's report for one host, as `STATUS TITLE`. */
export function setupItems(result: CliResult, host: string): string[] {
  return result.stdout
    .split('\n')
    .map((line) => new RegExp(`^${host}\\s+(ok|changed|skipped|refused|failed|not run)\\s+(.*)$`).exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`);
}
