// `slipway logs`: the app's journald lines from every host; with follow, streamed until Ctrl-C.
import { CommandFailedError, UserError } from '../errors.js';
import { journalScript, type JournalQuery } from '../ops/logs.js';
import { servicesProbe } from '../ops/status.js';
import type { Layout } from '../plan/layout.js';
import { logSources } from '../plan/logs.js';
import { isSlotInstance, parseServices } from '../plan/status.js';
import { probeHost } from './host-probe.js';
import { withHosts, type OperationContext } from './operation.js';

export interface LogsRequest extends JournalQuery {
  process: string | undefined;
}

/**
 * Calls `print(host, line)` per line: as lines arrive when following, else host by host in config order.
 * Returns whether the command was interrupted (Ctrl-C ends a follow: not an error).
 */
export async function showLogs(ctx: Pick<OperationContext, 'loaded' | 'only'>, layout: Layout, request: LogsRequest, print: (host: string, line: string) => void): Promise<{ interrupted: boolean }> {
  if (layout.processManager === 'supervisor' && (request.since !== undefined || request.json)) {
    throw new UserError(`logs ${request.since !== undefined ? '--since' : '--json'}: supervisor's program logs carry no time of their own`, 'use -n and --grep, or process_manager: systemd (journald) for times');
  }
  let interrupted = false;
  const onSignal = () => (interrupted = true);
  process.once('SIGINT', onSignal);
  try {
    await withHosts(ctx, undefined, async (connections) => {
      const hosts = await Promise.all(
        connections.map(async (c) => {
          const { facts, lines } = await probeHost(c, layout, [servicesProbe(layout)]);
          const instances = parseServices(lines).filter((u) => isSlotInstance(u.name, layout)).map((u) => u.name);
          return { facts, layout, instances, label: c.target.label };
        }),
      );
      const plans = logSources(hosts, request.process);
      const outputs = await Promise.all(
        connections.map(async (c, i) => {
          const host = c.target.label;
          // Nothing of the app's runs there (a database server, or not that process).
          if (plans[i]!.length === 0) return [];
          const script = journalScript(plans[i]!, request).shell;
          const result = await c.session.run(script, request.follow ? { onLine: (line) => print(host, line) } : {});
          if (result.code !== 0 && !interrupted) throw new CommandFailedError(host, 'Read the journal', 'journalctl', result.code, result.lines.slice(-10));
          return result.lines;
        }),
      );
      if (!request.follow) outputs.forEach((lines, i) => lines.forEach((line) => print(connections[i]!.target.label, line)));
    });
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
  return { interrupted };
}
