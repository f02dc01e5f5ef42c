// `slipway status` for people (sections per host) and for programs (stable JSON, see docs/operations.md).
import type { HostStatus } from '../plan/status.js';
import type { HistoryEntry } from '../ops/history.js';

/** A history entry's action as `history` shows it: the keys of an env change, the source of a promotion. */
export const historyAction = (e: HistoryEntry) => (e.action === 'env' && e.keys ? `env ${e.keys.join(',')}` : e.promoted_from ? `promote from ${e.promoted_from}` : e.action);

/** Its result, with what the host did when it repaired itself. */
export const historyResult = (e: HistoryEntry) => (e.outcome && e.result !== 'ok' ? `${e.result} (${e.outcome})` : e.result);

export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}

export function formatSize(kb: number | null): string {
  if (kb === null) return '-';
  if (kb < 1024) return `${kb} KB`;
  if (kb < 1024 * 1024) return `${(kb / 1024).toFixed(1)} MB`;
  return `${(kb / 1024 / 1024).toFixed(1)} GB`;
}

/** The share of `total` in use, in whole per cent. */
export const usedPercent = (total: number, available: number) => (total > 0 ? Math.round(((total - available) / total) * 100) : 0);

/** The app's disk use: a Node app's dependencies in place of venvs (a line never lists both as empty). */
export function diskText(s: Pick<HostStatus, 'disk_kb'>): string {
  const deps = s.disk_kb.node_modules !== null ? `node_modules ${formatSize(s.disk_kb.node_modules)}` : `venvs ${formatSize(s.disk_kb.venvs)}`;
  return `releases ${formatSize(s.disk_kb.releases)}, ${deps}, backups ${formatSize(s.disk_kb.backups)}`;
}

/** A load balancer's web servers, each marked when out of rotation; empty when it balances none. */
export const balancedText = (balances: NonNullable<HostStatus['balances']>) => balances.map((b) => `${b.address}:${b.port}${b.in_rotation ? '' : ' (out of rotation)'}`).join(', ');

function since(at: string | undefined, now: Date): string {
  const t = at ? Date.parse(at) : NaN;
  return Number.isNaN(t) ? (at ?? '?') : `${formatAge(Math.max(0, Math.round((now.getTime() - t) / 1000)))} ago`;
}

function hostText(s: HostStatus, now: Date): string[] {
  const lines = [`${s.host}  ${s.root}`];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(8)}${text}`);
  const c = s.current;
  if (!c) row('release', '(none deployed)');
  else {
    const what = [c.sha?.slice(0, 7), c.ref].filter(Boolean).join(' ');
    const age = c.age_seconds !== null ? `${formatAge(c.age_seconds)} ago` : 'at an unknown time';
    row('release', `${c.id} (${what || 'no manifest'}, ${c.status}), deployed ${age}${c.deployed_by ? ` by ${c.deployed_by}` : ''}`);
  }
  // Under supervisor: its program names, as `supervisorctl status` shows them.
  const supervised = s.process_manager === 'supervisor';
  const label = supervised ? 'program' : 'units';
  if (s.units.length === 0) row(label, '(none)');
  s.units.forEach((u, i) => row(i === 0 ? label : '', `${supervised ? u.name.replace(/\.service$/, '') : u.name}  ${u.active} (${u.sub})${u.pid ? `, pid ${u.pid}` : ''}`));
  if (s.singletons && s.singletons.length > 0) row('runs', `${s.singletons.join(', ')} (singleton: on this server only)`);
  if (s.balances) row('balance', s.balances.length === 0 ? '(no web server)' : balancedText(s.balances));
  if (s.drill) row('drill', `restore ${s.drill.result} at ${s.drill.at}${s.drill.detail ? `: ${s.drill.detail}` : ''}`);
  if (s.monitor) row('monitor', `${s.monitor.state} since ${s.monitor.since}${s.monitor.detail ? `: ${s.monitor.detail}` : ''}`);
  if (s.health) row('health', `${s.health.url} answered ${s.health.status ?? 'nothing'}${s.health.ok ? ' (ok)' : ` (expected ${s.health.expected})`}`);
  else row('health', '(no health check recorded)');
  row('disk', diskText(s));
  const r = s.resources;
  if (r && (r.load || r.memory || r.filesystem)) {
    row('server', [
      r.load ? `load ${r.load.map((n) => n.toFixed(2)).join(' ')}` : undefined,
      r.memory ? `memory ${usedPercent(r.memory.total_kb, r.memory.available_kb)} % used (${formatSize(r.memory.available_kb)} available of ${formatSize(r.memory.total_kb)})` : undefined,
      r.filesystem ? `${r.filesystem.mount} ${usedPercent(r.filesystem.total_kb, r.filesystem.available_kb)} % full (${formatSize(r.filesystem.available_kb)} free)` : undefined,
    ].filter(Boolean).join(', '));
  }
  const l = s.last;
  row('last', l ? `${l.action} ${l.result}${l.outcome ? ` (${l.outcome})` : ''} ${since(l.at, now)} by ${l.user}@${l.machine}${l.error ? `: ${l.error}` : ''}` : '(no history)');
  const h = s.lock.holder;
  row('lock', s.lock.state === 'held' && h ? `held by ${String(h.user)}@${String(h.machine)} (pid ${String(h.pid)}), running \`${String(h.command)}\` since ${String(h.started_at)}` : s.lock.state);
  return lines;
}

export function statusText(hosts: readonly HostStatus[], now: Date): string {
  return `${hosts.map((h) => hostText(h, now).join('\n')).join('\n\n')}\n`;
}

export function statusJson(hosts: readonly HostStatus[]): string {
  return `${JSON.stringify(hosts, null, 2)}\n`;
}
