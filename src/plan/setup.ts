// Planning `slipway setup` for one host (pure): from the config and the host's facts, each item with the
// commands that bring it to the wanted state, or none when it is already there (reported `ok`).
import { managerPackages } from '../ops/managers.js';
import type { Config } from '../config/types.js';
import { cmd, type Cmd } from '../ops/command.js';
import { installPackages } from '../ops/apt.js';
import { ensureDatabase } from '../ops/postgres.js';
import { ensureAppUser, sha256 } from '../ops/services.js';
import { backupTimer, ensureDirectory, firewallCommands, journaldLimits, logrotateConfig, nginxBase, postgresLocalOnly, redisConfig, sshdHardening } from '../ops/setup.js';
import { installConfigFile, type ConfigFile } from '../ops/config-file.js';
import type { SetupProbeWants } from '../ops/setup-probe.js';
import { backupScriptPath, backupSpec, backupTimer as timerName, backupUnit, renderBackupScript, renderBackupService, renderBackupTimer } from '../render/backup.js';
import {
  AUTO_UPGRADES,
  JOURNALD_DROP_IN,
  NGINX_BASE,
  NODE_EXPORTER_DEFAULTS,
  NODE_EXPORTER_PORT,
  REDIS_DROP_IN,
  REDIS_INCLUDE,
  SSHD_DROP_IN,
  renderAutoUpgrades,
  renderJournaldLimits,
  renderLogrotate,
  renderNginxBase,
  renderNodeExporterDefaults,
  renderRedisConfig,
  renderSshdHardening,
} from '../render/setup-files.js';
import type { Layout } from './layout.js';
import { copyName } from './backup-copies.js';
import { serverHooks } from './monitor.js';
import { copyScriptPath } from '../render/backup-copies.js';
import { renderMonitorEnv } from '../render/monitor.js';
import { drillEnvPath, drillScriptPath, drillStatePath, drillTimer, drillUnit, renderDrillScript, renderDrillService, renderDrillTimer, type DrillSpec } from '../render/restore-drill.js';
import { passwordMatches } from './pg-password.js';
import type { SetupFacts } from './setup-facts.js';
import type { Target } from './target.js';
import { dbServerItem, dbServerProbe } from './db-server.js';
import type { Topology } from './data-servers.js';
import { allowFrom } from '../ops/db-server.js';

export type SetupConfig = Pick<Config, 'dependencies' | 'database' | 'setup' | 'backups' | 'process_manager' | 'notify' | 'project' | 'environment'>;

export interface SetupInput {
  config: SetupConfig;
  layout: Layout;
  target: Target;
  /** The user slipway is logged in as (the owner of the app's root). */
  loginUser: string;
  /** This host holds the database (and Redis): it has role db, or no server does. */
  hostsDatabase: boolean;
  /** This host runs Redis: it has role redis; with no redis server, the same as hostsDatabase. */
  hostsRedis?: boolean;
  /** Where the database and Redis live for the whole environment; unset: on each host, local only. */
  topology?: Topology;
  facts: SetupFacts;
}

export interface SetupItem {
  id: string;
  title: string;
  /** Empty when the item is already as wanted (or cannot be done: see skip). */
  commands: Cmd[];
  /** Why nothing is done although something should be; `refused` for safety checks that failed. */
  skip?: { reason: string; refused?: boolean };
  /** Things the user should know even when the item is ok. */
  warnings: string[];
}

const item = (id: string, title: string, commands: Cmd[], extra: Partial<Pick<SetupItem, 'skip' | 'warnings'>> = {}): SetupItem => ({ id, title, commands, warnings: [], ...extra });

/** The database lives on servers with role db; with none, on every server (each has its own localhost). */
export function databaseHosts(targets: readonly Target[]): boolean[] {
  const dbRole = targets.some((t) => t.roles.includes('db'));
  return targets.map((t) => !dbRole || t.roles.includes('db'));
}

const postgresWanted = (config: SetupConfig, hostsDatabase: boolean) => hostsDatabase && config.database.engine === 'postgresql' && !!config.database.name;
const redisWanted = (config: SetupConfig, hostsRedis: boolean) => hostsRedis && config.setup.redis.enabled && !!config.setup.redis.password;

type Placed = Pick<SetupInput, 'hostsDatabase' | 'hostsRedis' | 'topology'>;
const redisHere = (input: Placed) => input.hostsRedis ?? input.hostsDatabase;
/** The private address of the service this host runs for the app servers, when it runs one for them. */
const serverAddress = (input: Placed, service: 'database' | 'redis') => {
  const placement = input.topology?.[service];
  const here = service === 'database' ? input.hostsDatabase : redisHere(input);
  return here && placement?.kind === 'server' ? placement.server.address : undefined;
};
const clientsOf = (input: Placed) => [...new Set(input.topology?.appServers.map((s) => s.address) ?? [])];

export function setupPackages(config: SetupConfig, hostsDatabase: boolean, hostsRedis = hostsDatabase): string[] {
  return [
    ...new Set([
      ...config.dependencies.system,
      'python3-venv', 'git', 'curl', 'sudo', 'nginx', 'logrotate',
      ...(postgresWanted(config, hostsDatabase) ? ['postgresql'] : []),
      ...(redisWanted(config, hostsRedis) ? ['redis-server'] : []),
      ...(config.setup.ufw ? ['ufw'] : []),
      ...(config.setup.unattended_upgrades ? ['unattended-upgrades'] : []),
      ...(config.setup.node_exporter ? ['prometheus-node-exporter'] : []),
      // Debian's package enables and starts supervisord.
      ...managerPackages(config.process_manager),
    ]),
  ];
}

interface Files {
  sshd: ConfigFile;
  autoUpgrades: ConfigFile;
  journald: ConfigFile;
  logrotate: ConfigFile;
  nginx: ConfigFile;
  redis?: ConfigFile;
  timer?: { script: ConfigFile; service: ConfigFile; timer: ConfigFile };
  drill?: ConfigFile[];
}

/** backups.verify_schedule: the drill's script, its webhooks (secret), its units. `host` names the server in what it sends. */
export function drillFiles(config: SetupConfig, layout: Layout, database: string, host: string): ConfigFile[] {
  const prefix = layout.unitPrefix;
  const spec: DrillSpec = {
    app: config.project.name,
    env: config.environment,
    host,
    prefix,
    database,
    dir: `${layout.shared}/backups`,
    statePath: drillStatePath(layout),
    envPath: drillEnvPath(prefix),
    ...(config.backups.copy_to.length > 0 ? { copyScript: copyScriptPath(prefix) } : {}),
  };
  return [
    { path: drillScriptPath(prefix), text: renderDrillScript(spec), mode: '755' },
    { path: spec.envPath, text: renderMonitorEnv({ hooks: serverHooks(config.notify, ['drill']) }), mode: '600', secret: true },
    { path: `/etc/systemd/system/${drillUnit(prefix)}`, text: renderDrillService(spec) },
    { path: `/etc/systemd/system/${drillTimer(prefix)}`, text: renderDrillTimer(spec, config.backups.verify_schedule) },
  ];
}

function files(input: Omit<SetupInput, 'facts' | 'target'>, host = ''): Files {
  const { config, layout, hostsDatabase } = input;
  const redisAddress = serverAddress(input, 'redis');
  const redis = config.setup.redis;
  const spec = postgresWanted(config, hostsDatabase) ? backupSpec(layout, config.database.name!, config.backups) : undefined;
  return {
    sshd: { path: SSHD_DROP_IN, text: renderSshdHardening() },
    autoUpgrades: { path: AUTO_UPGRADES, text: renderAutoUpgrades() },
    journald: { path: JOURNALD_DROP_IN, text: renderJournaldLimits(config.setup.journald_max_use) },
    logrotate: { path: `/etc/logrotate.d/${layout.unitPrefix}`, text: renderLogrotate({ logDir: `${layout.shared}/logs`, appUser: layout.appUser, keep: config.setup.logrotate_keep }) },
    nginx: { path: NGINX_BASE, text: renderNginxBase() },
    ...(redisWanted(config, redisHere(input))
      ? { redis: { path: REDIS_DROP_IN, text: renderRedisConfig({ password: redis.password!, maxmemory: redis.maxmemory, appendonly: redis.appendonly, ...(redisAddress ? { address: redisAddress } : {}) }), mode: '640', owner: 'redis', group: 'redis', secret: true } }
      : {}),
    ...(spec
      ? {
          timer: {
            script: { path: backupScriptPath(spec.prefix), text: renderBackupScript(spec), mode: '755' },
            service: { path: `/etc/systemd/system/${backupUnit(spec.prefix)}`, text: renderBackupService(spec) },
            timer: { path: `/etc/systemd/system/${timerName(spec.prefix)}`, text: renderBackupTimer(spec, config.backups.schedule) },
          },
        }
      : {}),
    ...(spec && config.backups.verify_schedule !== 'off' ? { drill: drillFiles(config, layout, spec.database, host) } : {}),
  };
}

const NODE_EXPORTER_UNIT = 'prometheus-node-exporter.service';

/** node_exporter on the server's private address, for the Prometheus that scrapes the environment; else localhost. */
function nodeExporterItem({ target, facts }: SetupInput): SetupItem {
  const address = target.privateAddress ?? '127.0.0.1';
  const file: ConfigFile = { path: NODE_EXPORTER_DEFAULTS, text: renderNodeExporterDefaults(address) };
  const title = `node_exporter: ${address.includes(':') ? `[${address}]` : address}:${NODE_EXPORTER_PORT}`;
  const start = [cmd('systemctl', 'enable', '--quiet', NODE_EXPORTER_UNIT), cmd('systemctl', 'restart', NODE_EXPORTER_UNIT)];
  return item('node-exporter', title, changedFile(facts, file) ? [...installConfigFile(file), ...start] : []);
}

/** Directories of the app, with the owners the deploy gives them (shared/ belongs to the app user). */
function directories({ layout, loginUser }: Pick<SetupInput, 'layout' | 'loginUser'>): { path: string; mode: string; owner: string; group?: string }[] {
  const app = layout.appUser;
  return [
    { path: layout.root, mode: '755', owner: loginUser },
    { path: layout.releases, mode: '755', owner: loginUser },
    { path: layout.shared, mode: '755', owner: app, group: app },
    { path: `${layout.shared}/logs`, mode: '750', owner: app, group: app },
    // A dump holds every row of the app: nobody but its owner reads it.
    { path: `${layout.shared}/backups`, mode: '700', owner: app, group: app },
  ];
}

/** What the probe must look at for this plan. */
export function setupWants(input: Omit<SetupInput, 'facts' | 'target'>): SetupProbeWants {
  const { config, layout, hostsDatabase, loginUser } = input;
  const f = files(input);
  const all = [f.sshd, f.autoUpgrades, f.journald, f.logrotate, f.nginx, ...(f.redis ? [f.redis] : []), ...(f.timer ? [f.timer.script, f.timer.service, f.timer.timer] : []), ...(f.drill ?? [])];
  const db = config.database;
  return {
    packages: setupPackages(config, hostsDatabase, redisHere(input)),
    appUser: layout.appUser,
    dirs: directories({ layout, loginUser }).map((d) => d.path),
    files: [...all.map((file) => file.path), ...(config.setup.node_exporter ? [NODE_EXPORTER_DEFAULTS] : [])],
    loginUser,
    ...(postgresWanted(config, hostsDatabase) ? { database: { name: db.name!, user: db.user!, ...(serverAddress(input, 'database') ? { server: dbServerProbe } : {}) } } : {}),
    ...(f.redis ? { redisConf: { file: '/etc/redis/redis.conf', includeLine: REDIS_INCLUDE } } : {}),
    ...(f.timer ? { timer: timerName(layout.unitPrefix) } : {}),
    ...(f.timer ? { drillTimer: drillTimer(layout.unitPrefix) } : {}),
    ...(config.process_manager === 'supervisor' ? { supervisor: true } : {}),
  };
}

const changedFile = (facts: SetupFacts, file: ConfigFile) => facts.files[file.path] !== sha256(file.text);

/** The first item, run (and the host probed again) before the others are planned: they need what it installs. */
export function packagesItem(input: Pick<SetupInput, 'config' | 'hostsDatabase' | 'hostsRedis' | 'facts'>): SetupItem {
  const missing = setupPackages(input.config, input.hostsDatabase, redisHere(input)).filter((p) => !input.facts.packages.includes(p));
  return item('packages', missing.length > 0 ? `System packages: install ${missing.join(' ')}` : 'System packages', missing.length > 0 ? [installPackages(missing)] : []);
}

export interface KeyLoginCheck {
  ok: boolean;
  reason?: string;
}

/**
 * Password login may be turned off only when doing so cannot lock the user out: slipway must be connected over
 * SSH, with BatchMode=yes, which allows no password or keyboard prompt, so this very session authenticated
 * without a password; and the login user must have a key in a file sshd reads for them (a session could also
 * have come from an AuthorizedKeysCommand or a certificate, which slipway cannot check will keep working).
 */
export function checkKeyLogin(input: { target: Target; loginUser: string; facts: SetupFacts }): KeyLoginCheck {
  const { target, loginUser, facts } = input;
  if (target.kind !== 'ssh') return { ok: false, reason: 'slipway is not connected to this host over SSH, so it cannot tell that key login works' };
  if (facts.authorizedKeys === undefined) return { ok: false, reason: 'sshd is not installed' };
  if (facts.authorizedKeys === 0) {
    const files = facts.sshd.authorizedkeysfile ?? '.ssh/authorized_keys';
    const where = files === 'none' ? 'any authorized_keys file (AuthorizedKeysFile none)' : files;
    const command = facts.sshd.authorizedkeyscommand && facts.sshd.authorizedkeyscommand !== 'none' ? ' (keys from AuthorizedKeysCommand cannot be checked)' : '';
    return { ok: false, reason: `${loginUser} has no key in ${where}${command}: with passwords off, nobody could log in as ${loginUser} without one` };
  }
  return { ok: true };
}

/** Ports a database or Redis server opens to the app servers' addresses only. */
function serverPorts(input: SetupInput): { port: number; from: string[] }[] {
  const clients = clientsOf(input);
  return [
    ...(serverAddress(input, 'database') && postgresWanted(input.config, input.hostsDatabase) ? [{ port: input.config.database.port, from: clients }] : []),
    ...(serverAddress(input, 'redis') && redisWanted(input.config, redisHere(input)) ? [{ port: 6379, from: clients }] : []),
  ];
}

function firewallItem(input: SetupInput): SetupItem {
  const { facts } = input;
  const opened = serverPorts(input);
  const title = `Firewall (ufw): only SSH, 80 and 443 in${opened.map((o) => `, ${o.port} from the app servers`).join('')}`;
  if (!facts.firewall) return item('firewall', title, [], { skip: { reason: 'ufw is not installed' } });
  if (!facts.firewall.usable) return item('firewall', title, [], { skip: { reason: `ufw cannot run on this host (${facts.firewall.reason || 'iptables is not usable'}), no firewall rules were applied` } });
  const sshPorts = (facts.sshd.port ?? '22').split(' ').filter(Boolean);
  const wanted = [...sshPorts, '80', '443'];
  const status = facts.firewall.status;
  const allowed = (port: string) => status.some((line) => new RegExp(`^${port}/tcp\\s+ALLOW IN\\s`).test(line));
  // `5432/tcp  ALLOW IN  10.77.2.2`: ufw prints the source address last.
  const fromLine = (port: number, address: string) => (line: string) => line.startsWith(`${port}/tcp `) && /\sALLOW IN\s/.test(line) && line.trimEnd().endsWith(` ${address}`);
  const missing = opened.flatMap((o) => o.from.filter((a) => !status.some(fromLine(o.port, a))).map((a) => ({ port: o.port, address: a })));
  const ours = (line: string) => opened.some((o) => o.from.some((a) => fromLine(o.port, a)(line)));
  const ready = status.includes('Status: active') && status.some((line) => line.startsWith('Default: deny (incoming), allow (outgoing)')) && wanted.every(allowed);
  const extra = status.filter((line) => /\sALLOW IN\s/.test(line) && !ours(line) && !wanted.some((port) => new RegExp(`^${port}/tcp(\\s|\\s\\(v6\\)\\s)`).test(line)));
  const warnings = extra.map((line) => `ufw also allows: ${line.replace(/\s+/g, ' ')} (not added by slipway: remove it with \`ufw delete\` if it is not needed)`);
  // The app servers' rules come before ufw is enabled, so they never lose a connection they had.
  const rules = missing.flatMap((m) => allowFrom(m.port, [m.address]));
  return item('firewall', title, ready ? rules : [...rules, ...firewallCommands(sshPorts)], { warnings });
}

function sshItem(input: SetupInput, file: ConfigFile): SetupItem {
  const title = 'sshd: key-only login';
  const warnings = input.facts.sshd.passwordauthentication === 'yes' && !changedFile(input.facts, file) ? ['sshd still allows passwords: another file sets PasswordAuthentication before slipway\'s'] : [];
  if (!changedFile(input.facts, file)) return item('ssh', title, [], { warnings });
  const check = checkKeyLogin(input);
  if (!check.ok) return item('ssh', title, [], { skip: { reason: `refused: ${check.reason}. Add a key (ssh-copy-id ${input.loginUser}@host) and run setup again, or set setup.ssh_hardening: false`, refused: true } });
  return item('ssh', title, sshdHardening(file, input.loginUser));
}

function postgresItems(input: SetupInput): SetupItem[] {
  const { config, facts, target } = input;
  const db = config.database;
  const pg = facts.postgres;
  if (serverAddress(input, 'database') && input.topology) {
    const server = dbServerItem({ config, topology: input.topology, label: target.label, facts });
    const serverItem = item(server.id, server.title, server.commands, server.skip ? { skip: server.skip } : {});
    return pg ? [serverItem, roleItem(input)] : [serverItem];
  }
  if (!pg) return [item('postgres-access', 'PostgreSQL: local connections only', [], { skip: { reason: `PostgreSQL does not answer on ${target.label}: see \`systemctl status postgresql\`` } })];
  const wide = pg.hba.filter((rule) => (rule.databases.includes('all') || rule.databases.includes(db.name!)) && (rule.address === 'all' || ((rule.address === '0.0.0.0' || rule.address === '::') && (rule.netmask === '0.0.0.0' || rule.netmask === '::'))));
  const warnings = wide.map((rule) => `pg_hba.conf line ${rule.line} accepts ${db.name} connections from any address; with listen_addresses = localhost none can arrive, but remove the line`);
  const access = item('postgres-access', 'PostgreSQL: local connections only', pg.listen === 'localhost' ? [] : postgresLocalOnly(), { warnings });
  return [access, roleItem(input)];
}

/** The app's role (its password checked against the stored verifier) and database. */
export function roleItem({ config, facts }: Pick<SetupInput, 'config' | 'facts'>): SetupItem {
  const db = config.database;
  const pg = facts.postgres;
  const current = pg?.verifier !== undefined && pg.verifier !== 'none' && passwordMatches(pg.verifier, db.user!, db.password!) && pg.database;
  return item('database', `PostgreSQL role ${db.user} and database ${db.name}`, current ? [] : [ensureDatabase({ name: db.name!, user: db.user!, password: db.password! })]);
}

/** Every item after the packages, in the order they run. */
export function planSetupItems(input: SetupInput): SetupItem[] {
  const { config, layout, facts } = input;
  const f = files(input, input.target.label);
  const items: SetupItem[] = [item('app-user', `App user ${layout.appUser}`, facts.appUser ? [] : [ensureAppUser(layout)])];

  const dirs = directories(input).filter((d) => {
    const state = facts.dirs[d.path];
    return !state || state.mode !== d.mode || state.owner !== d.owner || (d.group !== undefined && state.group !== d.group);
  });
  items.push(item('directories', `Directories under ${layout.root}`, dirs.map((d) => ensureDirectory(d.path, d.mode, d.owner, d.group))));

  if (config.setup.ufw) items.push(firewallItem(input));
  if (config.setup.ssh_hardening) items.push(sshItem(input, f.sshd));
  if (config.setup.unattended_upgrades) {
    // apt reads its periodic settings when its daily timers fire: nothing to restart.
    items.push(item('unattended-upgrades', 'Unattended security upgrades', changedFile(facts, f.autoUpgrades) ? installConfigFile(f.autoUpgrades) : []));
  }
  items.push(item('journald', `journald: at most ${config.setup.journald_max_use}`, changedFile(facts, f.journald) ? journaldLimits(f.journald) : []));
  items.push(item('logrotate', `logrotate: ${layout.shared}/logs/*.log daily, keep ${config.setup.logrotate_keep}`, changedFile(facts, f.logrotate) ? logrotateConfig(f.logrotate) : []));
  items.push(item('nginx', 'nginx: base settings (server_tokens off)', changedFile(facts, f.nginx) ? nginxBase(f.nginx) : []));
  // Debian's package starts it; one disabled or stopped by hand would leave the app's processes unstarted.
  if (config.process_manager === 'supervisor') items.push(item('supervisor', 'supervisor: enabled and running', facts.supervisor ? [] : [cmd('systemctl', 'enable', '--now', '--quiet', 'supervisor')]));
  if (postgresWanted(config, input.hostsDatabase)) items.push(...postgresItems(input));
  if (f.timer) {
    const timer = f.timer;
    const changed = [timer.script, timer.service, timer.timer].filter((file) => changedFile(facts, file));
    const name = timerName(layout.unitPrefix);
    items.push(item('backup-timer', `Backup timer ${name} (${config.backups.schedule})`, changed.length > 0 || !facts.timer ? backupTimer(changed, { timerName: name, schedule: config.backups.schedule }) : []));
  }
  if (f.drill) {
    const changed = f.drill.filter((file) => changedFile(facts, file));
    const name = drillTimer(layout.unitPrefix);
    const what = config.backups.copy_to[0] ? `the newest copy on ${copyName(config.backups.copy_to[0])}` : 'the newest dump';
    items.push(item('restore-drill', `Restore drill ${name} (${config.backups.verify_schedule}): ${what} restored and checked`, changed.length > 0 || !facts.drillTimer ? backupTimer(changed, { timerName: name, schedule: config.backups.verify_schedule }) : []));
  } else if (f.timer && facts.drillTimer) {
    // verify_schedule: off, after a drill timer was installed: it goes.
    const prefix = layout.unitPrefix;
    const remove = [cmd('systemctl', 'disable', '--now', '--quiet', drillTimer(prefix)), cmd('rm', '-f', drillScriptPath(prefix), drillEnvPath(prefix), `/etc/systemd/system/${drillUnit(prefix)}`, `/etc/systemd/system/${drillTimer(prefix)}`), cmd('systemctl', 'daemon-reload')];
    items.push(item('restore-drill', 'Restore drill: off (backups.verify_schedule), its timer removed', remove));
  }
  if (config.setup.node_exporter) items.push(nodeExporterItem(input));
  if (f.redis) {
    const commands = changedFile(facts, f.redis) || !facts.redisInclude ? redisConfig({ file: f.redis, mainConf: '/etc/redis/redis.conf', includeLine: REDIS_INCLUDE }) : [];
    const address = serverAddress(input, 'redis');
    items.push(item('redis', `Redis: ${address ? `localhost and ${address}` : 'localhost only'}, password, maxmemory ${config.setup.redis.maxmemory}`, commands));
  }
  return items;
}
