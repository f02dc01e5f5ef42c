// Where processes run across the servers of an environment: singleton placement and switch batches. Pure, from
// the config alone, so `plan`, `deploy --host` and `status` agree on it whichever servers they reach.
import type { ServerConfig } from '../config/types.js';
import { UserError } from '../errors.js';
import type { RecordedServer } from './handover.js';
import type { Processes } from './processes.js';

/** The label a server goes by in progress lines, `--host` and the recorded placement (as resolveTarget names it). */
export const serverLabel = (server: Pick<ServerConfig, 'host' | 'sandbox'>): string => server.sandbox ?? server.host ?? '?';

/** Each singleton process → the label of the one server it runs on. */
export type Placement = Record<string, string>;

/**
 * A singleton runs on the first server, in config order, that has one of its roles: deterministic, and moved
 * only by a change of the config (roles, order, servers), never by which servers a deploy reaches.
 */
export function singletonPlacement(processes: Processes, servers: readonly Pick<ServerConfig, 'host' | 'sandbox' | 'roles'>[]): Placement {
  const placement: Placement = {};
  for (const [name, process] of Object.entries(processes)) {
    if (!process.singleton) continue;
    const server = servers.find((s) => process.roles.some((role) => s.roles.includes(role)));
    if (server) placement[name] = serverLabel(server);
  }
  return placement;
}

/** `2` → 2 servers at a time, `25%` → a quarter of them (rounded up), at least one; unset → all at once. */
export function batchSize(total: number, size: string | undefined): number {
  if (total === 0) return 0;
  if (size === undefined) return total;
  const percent = size.endsWith('%');
  const n = Number(percent ? size.slice(0, -1) : size);
  const count = percent ? Math.ceil((total * n) / 100) : n;
  return Math.min(total, Math.max(1, count));
}

/**
 * Host indices switched together, batch after batch, in config order. blue/green switches everyone at once by
 * default (no request is dropped anyway); a restart drops requests while it runs, so one server at a time.
 */
export function switchBatches(total: number, size: string | undefined, strategy: 'blue-green' | 'restart'): number[][] {
  const per = batchSize(total, size ?? (strategy === 'restart' ? '1' : undefined));
  const batches: number[][] = [];
  for (let start = 0; start < total; start += per) batches.push(Array.from({ length: Math.min(per, total - start) }, (_, k) => start + k));
  return batches;
}

/** A singleton last placed on a server the config no longer has: the deploy stops it there first. */
export interface SingletonMove {
  process: string;
  unit: string;
  from: RecordedServer;
  to: string;
}

/**
 * What the hosts recorded against where singletons go now. A recorded server this deploy reaches retires the
 * unit itself (its plan no longer runs it); one still configured but left out (`--host`) would keep running
 * it, so the deploy is refused; one gone from the config is a move the deploy makes before anything switches.
 */
export function singletonMoves(input: { placement: Placement; recorded: readonly (Record<string, RecordedServer> | undefined)[]; reached: readonly string[]; configured: readonly string[]; unit: (process: string) => string }): SingletonMove[] {
  const moves: SingletonMove[] = [];
  for (const [process, to] of Object.entries(input.placement)) {
    const from = input.recorded.map((r) => r?.[process]).find((s) => s !== undefined && s.server !== to);
    if (!from || input.reached.includes(from.server)) continue;
    if (input.configured.includes(from.server)) {
      throw new UserError(`the ${process} process (singleton) moves from ${from.server} to ${to}, but ${from.server} is not part of this deploy`, `deploy without --host, so ${from.server} stops it before ${to} starts it`);
    }
    moves.push({ process, unit: input.unit(process), from, to });
  }
  return moves;
}

export const moveNote = (move: SingletonMove) => `the ${move.process} process moves from ${move.from.server} (no longer in the config) to ${move.to}`;

/** The lines `plan` shows about the whole environment: where singletons run, moves, switch batches. */
export function topologyNotes(placement: Placement, moves: readonly SingletonMove[], batches: readonly number[][], labels: readonly string[]): string[] {
  const notes = Object.entries(placement).map(([process, label]) => `the ${process} process (singleton) runs on ${label}`);
  notes.push(...moves.map((m) => `${moveNote(m)}: the deploy stops it there before anything switches`));
  if (batches.length > 1) notes.push(`switch in ${batches.length} batches: ${batches.map((b) => b.map((i) => labels[i]).join(', ')).join(' | ')}`);
  return notes;
}
