// Running setup items on one host and reporting each: ok (nothing to do), changed, skipped, refused, failed, not run.
import type { CommandFailedError } from '../errors.js';
import type { Step } from '../ops/command.js';
import type { SetupItem } from '../plan/setup.js';
import type { HostConnection } from './connection.js';
import type { OperationContext } from './operation.js';
import { runAsRoot, type Login } from './privileged.js';

export type ItemStatus = 'ok' | 'changed' | 'skipped' | 'refused' | 'failed' | 'not run';

export interface ItemResult {
  id: string;
  title: string;
  status: ItemStatus;
  /** Warnings, and the reason of a skipped or refused item. */
  notes: string[];
}

export interface SetupHostReport {
  host: string;
  items: ItemResult[];
  error?: CommandFailedError;
}

/** Runs the items that have commands, in one script; the others are reported from the plan alone. */
export async function runItems(ctx: OperationContext, connection: HostConnection, login: Login, items: SetupItem[]): Promise<{ results: ItemResult[]; error?: CommandFailedError }> {
  const steps: Step[] = items.filter((i) => i.commands.length > 0).map((i) => ({ id: i.id, title: i.title, commands: i.commands }));
  const run = steps.length > 0 ? await runAsRoot(connection, login, steps, ctx.observer) : undefined;
  const failedAt = run?.error ? items.findIndex((i) => i.id === run.result.lastStep) : -1;
  const results = items.map((i, index): ItemResult => {
    const output = run?.result.byStep.get(i.id) ?? [];
    const notes = [...(i.skip ? [i.skip.reason] : []), ...i.warnings, ...output.filter((l) => l.startsWith('warning: ')).map((l) => l.slice('warning: '.length))];
    if (i.commands.length === 0) return { id: i.id, title: i.title, status: i.skip ? (i.skip.refused ? 'refused' : 'skipped') : 'ok', notes };
    const status: ItemStatus = failedAt < 0 || index < failedAt ? 'changed' : index === failedAt ? 'failed' : 'not run';
    return { id: i.id, title: i.title, status, notes };
  });
  return { results, ...(run?.error ? { error: run.error } : {}) };
}

