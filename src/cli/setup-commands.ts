// setup and doctor: preparing servers, and checking that they can be deployed to.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { OperationContext } from '../execute/operation.js';
import type { SetupHostReport } from '../execute/setup.js';
import { load, operationContext, type GlobalOptions } from './context.js';
import type { Io } from './io.js';
import { table } from './output.js';
import { registerDoctor } from './doctor-command.js';

export function setupReport(reports: SetupHostReport[]): { text: string; summary: string } {
  const rows: string[][] = [];
  const counts = new Map<string, number>();
  for (const { host, items } of reports) {
    for (const item of items) {
      counts.set(item.status, (counts.get(item.status) ?? 0) + 1);
      rows.push([host, item.status, item.title]);
      for (const note of item.notes) rows.push(['', '', `  ${item.status === 'skipped' || item.status === 'refused' ? '' : 'warning: '}${note}`]);
    }
  }
  const order = ['changed', 'ok', 'skipped', 'refused', 'failed', 'not run'];
  const summary = order.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`).join(', ');
  return { text: table(rows), summary };
}

/** Runs setup and prints its table and summary; a failed or refused item fails the command. */
export async function setupAndReport(io: Io, ctx: OperationContext): Promise<void> {
  const { setup } = await import('../execute/setup.js');
  const reports = await setup(ctx);
  const { text, summary } = setupReport(reports);
  io.out(text);
  io.out(`setup ${ctx.loaded.config.environment}: ${summary} on ${reports.length} host(s)`);
  const failed = reports.find((r) => r.error);
  if (failed?.error) throw failed.error;
  const refused = reports.flatMap((r) => r.items.filter((i) => i.status === 'refused').map((i) => `${r.host}: ${i.title}`));
  if (refused.length > 0) throw new UserError(`not applied: ${refused.join('; ')}`, 'see the reason under the item above');
}

export function registerSetupCommands(program: Command, io: Io, argv: readonly string[]): void {
  const globals = () => program.opts<GlobalOptions>();

  program
    .command('setup')
    .description('prepare the servers (packages, app user, firewall, sshd, PostgreSQL, Redis, backups timer, logs); idempotent')
    .argument('<env>', 'environment')
    .option('--host <name>', 'only this server')
    .action(async (env: string, options: { host?: string }) => {
      const loaded = await load(io, env, globals());
      await setupAndReport(io, operationContext(io, loaded, { ...globals(), ...options }, 'setup', argv));
    });

  registerDoctor(program, io);
}
