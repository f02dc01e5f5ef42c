// A host's status from one probe (facts records plus the status probe's own): pure, so the text and the JSON
// that `slipway status` prints are tested from fixed probe output.
import type { HistoryEntry } from '../ops/history.js';
import { parseHistory } from '../ops/history.js';
import { appServices, currentManifest } from './app-units.js';
import { parseFacts, type HostFacts } from './facts.js';
import { parseBalancerUpstream } from '../render/balancer.js';
import type { Layout } from './layout.js';

export interface UnitState {
  name: string;
  active: string;
  sub: string;
  pid: number | null;
}

export interface HostStatus {
  host: string;
  root: string;
  current: { id: string; status: string; sha: string | null; ref: string | null; deployed_by: string | null; created_at: string | null; age_seconds: number | null } | null;
  releases: number;
  /** What keeps the processes running (the names in `units` are systemd-shaped under either). */
  process_manager: 'systemd' | 'supervisor';
  units: UnitState[];
  health: { url: string; status: number | null; expected: number; ok: boolean } | null;
  /** node_modules: node-deps/ and the app's own Node versions under node/ together. */
  disk_kb: { releases: number | null; venvs: number | null; node_modules: number | null; backups: number | null };
  /** The health monitor's last outcome (monitor.enabled), since when it holds, and what fails. */
  monitor?: { state: string; since: string; detail: string };
  /** The last restore drill on this server (backups.verify_schedule): its result, when, which backup from where. */
  drill?: { result: string; at: string; backup: string; from: string; detail: string };
  /** The server as a whole: load averages (1, 5, 15 min), memory and the app's file system, in kB. */
  resources?: { load: [number, number, number] | null; memory: { total_kb: number; available_kb: number } | null; filesystem: { mount: string; total_kb: number; available_kb: number } | null };
  last: HistoryEntry | null;
  lock: { state: 'free' | 'held' | 'unknown'; holder: Record<string, unknown> | null };
  /** Singleton processes the last deploy placed on this host (`.slipway/singletons`). */
  singletons?: string[];
  /** On a load balancer: the web servers its upstream names, and whether each is in rotation. */
  balances?: { address: string; port: number; in_rotation: boolean }[];
}

/** `service NAME Key=Value ...` records: the app's units and running template instances, by name. */
export function parseServices(lines: readonly string[]): UnitState[] {
  const units: UnitState[] = [];
  for (const line of lines) {
    if (!line.startsWith('service ')) continue;
    const [, name = '', ...props] = line.trim().split(/\s+/);
    const value = (key: string) => props.find((p) => p.startsWith(`${key}=`))?.slice(key.length + 1) ?? '';
    const pid = Number(value('MainPID'));
    units.push({ name, active: value('ActiveState') || 'unknown', sub: value('SubState') || 'unknown', pid: Number.isInteger(pid) && pid > 0 ? pid : null });
  }
  return units;
}

/** This app's units among those listed: what the release recorded (or the installed ones), and slot instances. */
export function appUnits(facts: HostFacts, layout: Pick<Layout, 'unitPrefix'>, listed: readonly UnitState[]): UnitState[] {
  const services = appServices(facts, layout);
  const own = listed.filter((u) => services.includes(u.name) || isSlotInstance(u.name, layout));
  // A recorded unit that systemd does not list (removed by hand) still shows, as missing.
  const missing = services.filter((s) => !listed.some((u) => u.name === s)).map((name) => ({ name, active: 'not-found', sub: 'missing', pid: null }));
  return [...own, ...missing].sort((a, b) => a.name.localeCompare(b.name));
}

/** Blue/green slot instances (`<prefix>-web@blue.service`) belong to the app whose prefix they carry. */
export function isSlotInstance(name: string, layout: Pick<Layout, 'unitPrefix'>): boolean {
  return name.startsWith(`${layout.unitPrefix}-`) && /^[a-z][a-z0-9-]*@[a-z0-9]+\.service$/.test(name.slice(layout.unitPrefix.length + 1));
}

const kb = (value: string | undefined) => (value !== undefined && /^\d+$/.test(value) ? Number(value) : null);
const sumKb = (...values: (number | null)[]) => (values.every((v) => v === null) ? null : values.reduce<number>((sum, v) => sum + (v ?? 0), 0));

function monitorOf(line: string | undefined): Pick<HostStatus, 'monitor'> {
  const m = line?.match(/^(ok|failing) (\S+) ?(.*)$/);
  return m ? { monitor: { state: m[1]!, since: m[2]!, detail: m[3]!.trim() } } : {};
}

function drillOf(line: string | undefined): Pick<HostStatus, 'drill'> {
  const m = line?.match(/^(ok|failed) (\S+) (\S+) (\S+) ?(.*)$/);
  return m ? { drill: { result: m[1]!, at: m[2]!, backup: m[3]!, from: m[4]!, detail: m[5]!.trim() } } : {};
}

/** The server's load, memory and file system from the status probe's lines; what a line lacks is null. */
export function parseResources(load: string | undefined, memory: string | undefined, fs: string | undefined): NonNullable<HostStatus['resources']> {
  const loads = load?.trim().split(/\s+/).map(Number) ?? [];
  const [total, available] = memory?.trim().split(/\s+/).map(kb) ?? [];
  const [fsTotal, fsAvailable, ...mount] = fs?.trim().split(' ') ?? [];
  return {
    load: loads.length === 3 && loads.every((n) => Number.isFinite(n) && n >= 0) ? (loads as [number, number, number]) : null,
    memory: total != null && available != null ? { total_kb: total, available_kb: available } : null,
    filesystem: kb(fsTotal) !== null && kb(fsAvailable) !== null && mount.length > 0 ? { mount: mount.join(' '), total_kb: kb(fsTotal)!, available_kb: kb(fsAvailable)! } : null,
  };
}

export function parseStatus(input: { host: string; layout: Layout; lines: readonly string[]; now: Date }): HostStatus {
  const { host, layout, lines, now } = input;
  const facts = parseFacts(lines.join('\n'));
  const record = (kind: string) => lines.filter((l) => l.startsWith(`${kind} `)).map((l) => l.slice(kind.length + 1));
  const manifest = currentManifest(facts);
  const release = facts.releases.find((r) => r.id === facts.current);
  const created = manifest?.created_at ? Date.parse(manifest.created_at) : NaN;
  const disk = new Map(record('disk').map((r) => r.split(' ') as [string, string]));
  const healthAnswer = record('health')[0];
  const lockRecord = record('lock')[0]?.trim() ?? '';
  const [lockState = '', ...holderWords] = lockRecord.split(' ');
  let holder: Record<string, unknown> | null = null;
  try {
    holder = holderWords.length > 0 ? (JSON.parse(holderWords.join(' ')) as Record<string, unknown>) : null;
  } catch {
    holder = { raw: holderWords.join(' ') };
  }
  const code = healthAnswer !== undefined && /^\d{3}$/.test(healthAnswer.trim()) && healthAnswer.trim() !== '000' ? Number(healthAnswer.trim()) : null;
  return {
    host,
    root: layout.root,
    current: facts.current
      ? {
          id: facts.current,
          status: release?.status ?? 'unknown',
          sha: manifest?.sha ?? null,
          ref: manifest?.ref ?? null,
          deployed_by: manifest?.deployed_by ?? null,
          created_at: manifest?.created_at ?? null,
          age_seconds: Number.isNaN(created) ? null : Math.max(0, Math.round((now.getTime() - created) / 1000)),
        }
      : null,
    releases: facts.releases.length,
    process_manager: layout.processManager,
    units: appUnits(facts, layout, parseServices(lines)),
    health:
      manifest?.health && healthAnswer !== undefined
        ? { url: record('healthurl')[0] ?? manifest.health.url, status: code, expected: manifest.health.expectedStatus, ok: code === manifest.health.expectedStatus }
        : null,
    disk_kb: { releases: kb(disk.get('releases')), venvs: kb(disk.get('venvs')), node_modules: sumKb(kb(disk.get('node-deps')), kb(disk.get('node'))), backups: kb(disk.get('shared/backups')) },
    resources: parseResources(record('load')[0], record('memory')[0], record('fs')[0]),
    ...monitorOf(record('monitor')[0]),
    ...drillOf(record('drill')[0]),
    last: parseHistory(record('last').join('\n')).at(-1) ?? null,
    lock: { state: lockState === 'free' || lockState === 'held' ? lockState : 'unknown', holder: lockState === 'held' ? holder : null },
    singletons: Object.entries(facts.singletons ?? {}).filter(([, s]) => s.server === host).map(([process]) => process),
    ...(record('balance').length > 0 ? { balances: parseBalancerUpstream(record('balance').map((l) => `server ${l}`).join('\n')).map((b) => ({ address: b.address, port: b.port, in_rotation: !b.down })) } : {}),
  };
}
