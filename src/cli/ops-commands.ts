// Day-2 commands: env, status, logs, handoff. Reading state, or (env set/unset) changing only the .env.
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { load, operationContext, type GlobalOptions } from './context.js';
import { registerEnvCommands } from './env-commands.js';
import type { Io } from './io.js';

export function registerOpsCommands(program: Command, io: Io, argv: readonly string[]): void {
  const globals = () => program.opts<GlobalOptions>();
  registerEnvCommands(program, io, argv);

  program
    .command('status')
    .description('per server: current release, unit states, health, disk use, last deploy, lock holder')
    .argument('<env>', 'environment')
    .option('--branch <branch>', 'for per-branch environments: which branch')
    .option('--host <name>', 'only this server')
    .option('--json', 'machine-readable output')
    .action(async (env: string, options: { branch?: string; host?: string; json?: boolean }) => {
      const { layoutForRef } = await import('../execute/operation.js');
      const { hostStatuses } = await import('../execute/status.js');
      const { statusJson, statusText } = await import('../render/status.js');
      const loaded = await load(io, env, globals());
      const statuses = await hostStatuses({ loaded, ...(options.host ? { only: options.host } : {}) }, layoutForRef(loaded, options.branch));
      io.out(options.json ? statusJson(statuses) : statusText(statuses, new Date()));
    });

  program
    .command('logs')
    .description("journald output of the app's processes (their log files under supervisor) on every server, each line prefixed with host and process")
    .argument('<env>', 'environment')
    .argument('[process]', 'only this process (web, worker...)')
    .option('-n, --lines <count>', 'lines per process', '50')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--branch <branch>', 'for per-branch environments: which branch')
    .option('--host <name>', 'only this server')
    .option('--since <when>', 'lines since a span back from now (10m, 2h, 1d) or a time ("2026-12-03 08:00"), instead of the last -n')
    .option('--grep <pattern>', 'only lines matching this pattern (journalctl --grep: case-insensitive unless it has a capital letter)')
    .option('--json', 'one JSON object per line: host, process, time, message (and priority, unit, pid)')
    .action(async (env: string, processName: string | undefined, options: { lines: string; follow?: boolean; branch?: string; host?: string; since?: string; grep?: string; json?: boolean }) => {
      const { showLogs } = await import('../execute/logs.js');
      const { layoutForRef } = await import('../execute/operation.js');
      const { journalSince, logEntry } = await import('../plan/logs.js');
      if (!/^\d+$/.test(options.lines)) throw new UserError(`--lines expects a number, got ${options.lines}`);
      if (options.grep !== undefined && (options.grep === '' || options.grep.length > 1000)) throw new UserError('--grep expects a pattern of 1 to 1000 characters');
      const since = options.since === undefined ? undefined : journalSince(options.since);
      const loaded = await load(io, env, globals());
      const request = { process: processName, lines: Number(options.lines), follow: options.follow ?? false, ...(since ? { since } : {}), ...(options.grep !== undefined ? { grep: options.grep } : {}), json: options.json === true };
      const print = options.json ? (host: string, line: string) => io.out(JSON.stringify(logEntry(host, line))) : (host: string, line: string) => io.out(`${host} ${line}`);
      await showLogs({ loaded, ...(options.host ? { only: options.host } : {}) }, layoutForRef(loaded, options.branch), request, print);
    });

  program
    .command('handoff')
    .description('a Markdown note of what deploying --to needs beyond `git pull` (packages, migrations, static files, env vars, units), with the runbook')
    .argument('<env>', 'environment')
    .option('--from <sha>', 'the commit the servers run (default: the current release on the first server)')
    .option('--to <ref>', 'branch, tag or commit to deploy (default: project.branch)')
    .option('-o, --output <file>', 'write the note to this file instead of standard output')
    .action(async (env: string, options: { from?: string; to?: string; output?: string }) => {
      const { gatherHandoff } = await import('../execute/handoff.js');
      const { handoffMarkdown } = await import('../render/handoff.js');
      const loaded = await load(io, env, globals());
      const ctx = operationContext(io, loaded, globals(), 'plan', argv);
      const { input, handoff } = await gatherHandoff(ctx, { ...(options.from ? { from: options.from } : {}), ...(options.to ? { to: options.to } : {}) });
      const note = handoffMarkdown(input, handoff);
      if (!options.output) {
        io.out(note);
        return;
      }
      const path = resolve(io.cwd, options.output);
      await writeFile(path, note);
      io.err(`wrote ${path}`);
    });
}
