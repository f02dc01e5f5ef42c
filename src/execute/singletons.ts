// A singleton last placed on a server that left the config: reached with the details recorded at that
// deploy's commit, and stopped there before anything switches, or the deploy is refused if it cannot be.
import { cmd, type Cmd, type Step } from '../ops/command.js';
import { UserError } from '../errors.js';
import { singletonsFile } from '../plan/handover.js';
import { layoutFor } from '../plan/layout.js';
import { moveNote, type SingletonMove } from '../plan/topology.js';
import { managerOf } from '../ops/managers.js';
import type { ProcessManager } from '../ops/process-manager.js';
import { ConnectionPool } from './connection.js';
import type { OperationContext } from './operation.js';
import type { Redactor } from './redact.js';
import { runSteps } from './run-steps.js';
import { resolveTarget } from './targets.js';

/** Only where the unit is still installed: one removed by hand is already stopped. */
const present = (manager: ProcessManager, unit: string, then: Cmd[]): Cmd => ({ if: cmd('test', '-f', manager.installedPath(unit)), then, else: [cmd('echo', `${unit} is not installed here`)] });

export async function stopMovedSingletons(ctx: Pick<OperationContext, 'loaded' | 'observer'>, moves: readonly SingletonMove[], redactor: Redactor): Promise<void> {
  if (moves.length === 0) return;
  const { config } = ctx.loaded;
  const pool = new ConnectionPool(redactor);
  try {
    for (const move of moves) {
      const { server, ...details } = move.from;
      const gone = (why: string) =>
        new UserError(
          `${moveNote(move)}, but ${server} cannot be reached (${why}): it may still run it`,
          `bring ${server} back and deploy again; if it is gone for good, delete the "${move.process}" line of ${singletonsFile(layoutFor(config, config.project.branch))} on the servers`,
        );
      let connection;
      try {
        const target = await resolveTarget({ ...details, host_key_checking: 'yes', roles: [] }, config);
        connection = await pool.connect({ ...target, label: server });
      } catch (error) {
        throw gone(error instanceof Error ? error.message.split('\n')[0]! : String(error));
      }
      const manager = managerOf(layoutFor(config, config.project.branch));
      const step: Step = { id: 'retire', title: `Stop ${move.unit}: ${moveNote(move)}`, commands: [present(manager, move.unit, [...manager.disable([move.unit], true), ...manager.removeFiles([move.unit])])] };
      const outcome = await runSteps(connection, [step], ctx.observer);
      if (!outcome.ok && outcome.error) throw outcome.error;
    }
  } finally {
    await pool.closeAll();
  }
}
