// Which journald units (or supervisor log files) `slipway logs [process]` reads on a host (pure).
import { UserError } from '../errors.js';
import type { LogSource } from '../ops/logs.js';
import { appServices, processOf } from './app-units.js';
import type { HostFacts } from './facts.js';
import type { Layout } from './layout.js';
import { programLog } from '../render/supervisor.js';

/** The app's processes on a host: its services, and running slot instances (`<prefix>-web@blue.service`) as `web`. */
function processesOf(input: { facts: HostFacts; layout: Pick<Layout, 'unitPrefix'>; instances: readonly string[] }) {
  const plain = appServices(input.facts, input.layout).map((unit) => processOf(input.layout, unit));
  const slotted = input.instances.map((unit) => processOf(input.layout, unit).replace(/@.*$/, ''));
  return { plain, slotted, all: [...new Set([...plain, ...slotted])].sort() };
}

export interface LogHost {
  facts: HostFacts;
  layout: Pick<Layout, 'unitPrefix' | 'processManager' | 'shared'>;
  instances: readonly string[];
  label: string;
}

/**
 * Which units each host's journal is read for. Hosts without the process (or with none: a database server)
 * have nothing to read; only when no host has the process asked for is it an error.
 */
export function logSources(hosts: readonly LogHost[], process: string | undefined): LogSource[][] {
  const found = hosts.map(processesOf);
  if (process !== undefined && !found.some((f) => f.all.includes(process))) {
    const known = hosts.map((h, i) => `${h.label}: ${found[i]!.all.length > 0 ? found[i]!.all.join(', ') : 'no app units installed'}`).join('; ');
    throw new UserError(`no server runs a process ${process} (${known})`);
  }
  return found.map(({ plain, slotted, all }, i) =>
    all
      .filter((p) => process === undefined || p === process)
      .map((p) => {
        const { layout } = hosts[i]!;
        const units = [...(plain.includes(p) ? [`${layout.unitPrefix}-${p}.service`] : []), ...(slotted.includes(p) ? [`${layout.unitPrefix}-${p}@*.service`] : [])];
        if (layout.processManager !== 'supervisor') return { process: p, units };
        // Each slot writes a log of its own: both are read, blue's lines, then green's.
        const services = units.flatMap((u) => (u.includes('@*') ? ['blue', 'green'].map((slot) => u.replace('@*', `@${slot}`)) : [u]));
        return { process: p, units, files: services.map((s) => programLog(layout, s)) };
      }),
  );
}

const UNITS: Record<string, string> = { s: 's', m: 'min', h: 'h', d: 'd' };

/**
 * `--since` as journalctl takes it: a span back from now (`30s`, `10m`, `2h`, `1d`) or a time (`2026-12-03`,
 * `2026-12-03 08:00`, `08:00`). Anything else is refused here, before any server is asked.
 */
export function journalSince(value: string): string {
  const span = value.match(/^(\d{1,6})([smhd])$/);
  if (span) return `-${span[1]}${UNITS[span[2]!]}`;
  if (/^(\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?|\d{2}:\d{2}(:\d{2})?)$/.test(value)) return value;
  throw new UserError(`--since ${JSON.stringify(value)}: expected a span such as 10m, 2h or 1d, or a time such as "2026-12-03 08:00" or 08:00`);
}

/** One `slipway logs --json` line: what a log line is, without journald's internals. */
export interface LogEntry {
  host: string;
  process: string;
  /** ISO 8601, from journald's receive time. */
  time: string;
  message: string;
  /** syslog priority: 3 error, 4 warning, 6 info. */
  priority?: number;
  unit?: string;
  pid?: number;
}

/** journald gives a message it cannot show as text (not UTF-8) as its bytes. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((b) => typeof b === 'number')) return Buffer.from(value as number[]).toString('utf8');
  return '';
}

/**
 * A `process | {journal JSON}` line from a host as slipway's own entry. A line that is no journal entry
 * (journalctl's own complaint, or one cut short) is kept as the message, so nothing is lost silently.
 */
export function logEntry(host: string, line: string): LogEntry {
  const cut = line.indexOf(' | ');
  const process = cut >= 0 ? line.slice(0, cut) : '';
  const rest = cut >= 0 ? line.slice(cut + 3) : line;
  let journal: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(rest);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) journal = parsed as Record<string, unknown>;
  } catch {
    journal = undefined;
  }
  if (!journal) return { host, process, time: new Date().toISOString(), message: rest };
  const micros = Number(journal.__REALTIME_TIMESTAMP);
  const priority = Number(journal.PRIORITY);
  const pid = Number(journal._PID);
  return {
    host,
    process,
    time: Number.isFinite(micros) ? new Date(Math.floor(micros / 1000)).toISOString() : new Date().toISOString(),
    message: text(journal.MESSAGE),
    ...(Number.isInteger(priority) ? { priority } : {}),
    ...(typeof journal._SYSTEMD_UNIT === 'string' ? { unit: journal._SYSTEMD_UNIT } : {}),
    ...(Number.isInteger(pid) ? { pid } : {}),
  };
}
