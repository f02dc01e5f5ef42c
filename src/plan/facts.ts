// What slipway knows about a host before planning: gathered by one read-only probe, parsed here (pure).
import type { HealthCheck } from '../ops/health.js';
import { UserError } from '../errors.js';
import { parseHistory, type HistoryEntry } from '../ops/history.js';
import { HOST, UNIX_USER } from '../config/names.js';
import type { RecordedServer } from './handover.js';
import { isStepInputHash, type StepInputs } from './incremental.js';

export type ReleaseStatus = 'prepared' | 'ok' | 'failed' | 'bad' | 'unknown';

export interface ReleaseFact {
  id: string;
  status: ReleaseStatus;
  /** Parsed manifest, when the release has one. */
  manifest?: ReleaseManifest;
}

export interface ReleaseManifest {
  id: string;
  sha: string;
  ref: string;
  config_hash: string;
  /** Key of the venv the release runs in (Python apps). */
  venv?: string;
  /** Node apps: the key of the node_modules it links, and the Node version it runs with. */
  node_modules?: string;
  node?: string;
  /** The release's systemd services and health check, so a rollback restarts and checks what it ran. */
  units?: string[];
  /** What kept them running; absent: systemd (every release before supervisor could). */
  manager?: 'supervisor';
  health?: HealthCheck;
  /** The web tier the release was deployed with (nginx in front). */
  /** `socket`: the link nginx proxied to (http.switch socket); absent: nginx proxied to the port. */
  web?: { process: string; port: number; strategy: 'blue-green' | 'restart'; socket?: string };
  /** Input hash of each incremental check (collectstatic, check --deploy, migrate --check) the release passed. */
  inputs?: StepInputs;
  deployed_by: string;
  created_at: string;
}

export interface HostFacts {
  /** Release id `current` points at, if any. */
  current?: string;
  /** Every release directory, oldest first. */
  releases: ReleaseFact[];
  hasRepo: boolean;
  /** Whether the cached repo already has the commit being deployed (then nothing is sent). */
  hasCommit: boolean;
  /** Commits the cached repo holds, of the one being deployed and the releases' (what a pack can leave out). */
  commits?: string[];
  /** sha256 of each installed unit file of this app, by file name. */
  units: Record<string, string>;
  /** Whether systemd runs on the host (systemctl answers). */
  systemd: boolean;
  /** Whether supervisord runs on the host (supervisorctl answers). */
  supervisor: boolean;
  /** Whether the app user exists. */
  appUser: boolean;
  cores: number;
  /** Path of the Python interpreter asked for, when the host has it. */
  python?: string;
  /** Of the packages asked about, those installed. */
  packages: string[];
  /** Complete venvs by key. */
  venvs: string[];
  /** Complete node_modules under node-deps/, by key. */
  nodeDeps: string[];
  /** Node versions installed for the app under node/. */
  nodeRuntimes: string[];
  /** The server's own Node (`node --version` without the v), when asked and installed. */
  nodeSystem?: string;
  /** uname -m, when Node was asked about. */
  machine?: string;
  /** sha256 of the files asked about that exist, by path. */
  files: Record<string, string>;
  /** Blue/green: the release each slot runs (by its link) and whether its unit is active. */
  slots: Partial<Record<'blue' | 'green', { release?: string; active: boolean }>>;
  /** The slot nginx sends traffic to. */
  liveSlot?: 'blue' | 'green';
  /** Blue/green under the other process manager (its files of the app exist): whether each slot runs there. */
  otherSlots?: Partial<Record<'blue' | 'green', boolean>>;
  /** The last line of the host's history (the fields that say what happened), when it parses. */
  lastOperation?: Pick<HistoryEntry, 'action' | 'result' | 'outcome' | 'at' | 'user' | 'machine' | 'to' | 'error'>;
  /** Where the last deploy placed each singleton process (`.slipway/singletons`). */
  singletons?: Record<string, RecordedServer>;
}

const STATUSES: ReleaseStatus[] = ['prepared', 'ok', 'failed', 'bad'];

/**
 * What a host may report, bounded: names from the host become paths in commands (a release removed, a venv
 * dropped), so one that could leave its directory (`..`, a slash) or pass for an option is refused, and a
 * manifest whose fields do not have their form is dropped (the release stays listed, without details).
 */
const NAME = /^[A-Za-z0-9_@:+][A-Za-z0-9_.@:+-]*$/;
const VENV_KEY = /^[0-9a-f]{6,64}$/;
const NODE_VERSION = /^\d{1,3}\.\d{1,4}\.\d{1,4}$/;
export const FACTS_LIMITS = { lines: 50_000, lineBytes: 256 * 1024 };

const isName = (value: string) => value.length <= 200 && NAME.test(value) && value !== '.' && value !== '..';

function checkedManifest(value: unknown): ReleaseManifest | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Partial<ReleaseManifest>;
  if (typeof m.id !== 'string' || !isName(m.id) || typeof m.sha !== 'string' || !/^[0-9a-f]{40,64}$/.test(m.sha)) return undefined;
  if (m.venv !== undefined && (typeof m.venv !== 'string' || !VENV_KEY.test(m.venv))) return undefined;
  if (m.node_modules !== undefined && (typeof m.node_modules !== 'string' || !VENV_KEY.test(m.node_modules))) return undefined;
  if (m.node !== undefined && (typeof m.node !== 'string' || !NODE_VERSION.test(m.node))) return undefined;
  if (m.units !== undefined && (!Array.isArray(m.units) || !m.units.every((u) => typeof u === 'string' && isName(u)))) return undefined;
  if (m.manager !== undefined && m.manager !== 'supervisor') return undefined;
  if (m.health !== undefined && (typeof m.health?.url !== 'string' || !/^http:\/\/127\.0\.0\.1:\d{1,5}\//.test(m.health.url))) return undefined;
  if (m.inputs !== undefined && (typeof m.inputs !== 'object' || m.inputs === null || Array.isArray(m.inputs) || !Object.values(m.inputs).every(isStepInputHash))) return undefined;
  return m as ReleaseManifest;
}

/** A recorded singleton server becomes an ssh destination: each field must have its form, or the record is dropped. */
function checkedServer(text: string): RecordedServer | undefined {
  try {
    const s = JSON.parse(text) as Partial<Record<keyof RecordedServer, unknown>>;
    const optional = (value: unknown, form: RegExp) => value === undefined || (typeof value === 'string' && form.test(value) && !value.startsWith('-'));
    if (typeof s.server !== 'string' || !isName(s.server) || !optional(s.host, HOST) || !optional(s.sandbox, /^[a-z][a-z0-9-]{0,30}$/) || !optional(s.user, UNIX_USER)) return undefined;
    if (s.port !== undefined && (typeof s.port !== 'number' || !Number.isInteger(s.port) || s.port < 1 || s.port > 65535)) return undefined;
    return s as RecordedServer;
  } catch {
    return undefined;
  }
}

/** Parses the probe's line records: `current ID`, `release ID STATUS`, `manifest ID JSON`, `unit NAME SHA`, `flag NAME`. */
export function parseFacts(output: string, source = 'the facts probe'): HostFacts {
  const facts: HostFacts = { releases: [], hasRepo: false, hasCommit: false, units: {}, systemd: false, supervisor: false, appUser: false, cores: 1, packages: [], venvs: [], nodeDeps: [], nodeRuntimes: [], files: {}, slots: {} };
  const byId = new Map<string, ReleaseFact>();
  const lines = output.split('\n');
  if (lines.length > FACTS_LIMITS.lines) throw new UserError(`${source}: ${lines.length} lines, more than the ${FACTS_LIMITS.lines} a host's state can have`, 'look for a directory under releases/ or venvs/ that is not slipway\'s');
  for (const [index, line] of lines.entries()) {
    if (line.length > FACTS_LIMITS.lineBytes) throw new UserError(`${source}: line ${index + 1}: longer than ${FACTS_LIMITS.lineBytes} bytes`, 'a manifest.json under .slipway/releases/ is damaged or not slipway\'s');
    const [kind, a = '', ...rest] = line.trim().split(' ');
    const b = rest.join(' ');
    if (kind === 'current' && a) {
      const id = a.split('/').pop() ?? '';
      if (isName(id)) facts.current = id;
    } else if (kind !== 'file' && kind !== 'python' && kind !== 'last-operation' && a && !isName(a)) continue;
    else if (kind === 'release' && a) {
      const status = (STATUSES as string[]).includes(b) ? (b as ReleaseStatus) : 'unknown';
      const fact: ReleaseFact = { id: a, status };
      byId.set(a, fact);
      facts.releases.push(fact);
    } else if (kind === 'manifest' && a) {
      const fact = byId.get(a);
      try {
        const manifest = fact ? checkedManifest(JSON.parse(b)) : undefined;
        if (fact && manifest) fact.manifest = manifest;
      } catch {
        // A damaged manifest leaves the release listed without details rather than failing the deploy.
      }
    } else if (kind === 'unit' && a) facts.units[a] = b;
    else if (kind === 'flag' && a === 'repo') facts.hasRepo = true;
    else if (kind === 'flag' && a === 'commit') facts.hasCommit = true;
    else if (kind === 'have' && /^[0-9a-f]{40}$/.test(a)) facts.commits = [...new Set([...(facts.commits ?? []), a])];
    else if (kind === 'flag' && a === 'systemd') facts.systemd = true;
    else if (kind === 'flag' && a === 'supervisor') facts.supervisor = true;
    else if (kind === 'flag' && a === 'app-user') facts.appUser = true;
    else if (kind === 'cores' && /^\d+$/.test(a)) facts.cores = Math.max(1, Number(a));
    else if (kind === 'python' && a) facts.python = [a, b].filter(Boolean).join(' ');
    else if (kind === 'package' && a) facts.packages.push(a);
    else if (kind === 'venv' && VENV_KEY.test(a)) facts.venvs.push(a);
    else if (kind === 'node-deps' && VENV_KEY.test(a)) facts.nodeDeps.push(a);
    else if (kind === 'node-runtime' && NODE_VERSION.test(a)) facts.nodeRuntimes.push(a);
    else if (kind === 'node-system' && NODE_VERSION.test(a.replace(/^v/, ''))) facts.nodeSystem = a.replace(/^v/, '');
    else if (kind === 'machine' && /^[a-z0-9_]{1,20}$/.test(a)) facts.machine = a;
    else if (kind === 'file' && a && b) facts.files[a] = b;
    else if (kind === 'slot' && (a === 'blue' || a === 'green')) {
      const [release = '-', state = ''] = rest;
      facts.slots[a] = { ...(release !== '-' ? { release } : {}), active: state === 'active' };
    } else if (kind === 'live' && (a === 'blue' || a === 'green')) facts.liveSlot = a;
    else if (kind === 'other-slot' && (a === 'blue' || a === 'green')) facts.otherSlots = { ...facts.otherSlots, [a]: b === 'active' };
    else if (kind === 'last-operation') {
      const last = parseHistory(line.slice('last-operation '.length))[0];
      if (last && typeof last.result === 'string' && typeof last.action === 'string') facts.lastOperation = last;
    } else if (kind === 'singleton' && a) {
      const server = checkedServer(b);
      if (server) facts.singletons = { ...facts.singletons, [a]: server };
    }
  }
  facts.releases.sort((x, y) => x.id.localeCompare(y.id));
  return facts;
}

/** Release ids of good releases (deployed and never marked bad or failed), oldest first. */
export function goodReleases(facts: HostFacts): string[] {
  return facts.releases.filter((r) => r.status === 'ok').map((r) => r.id);
}
