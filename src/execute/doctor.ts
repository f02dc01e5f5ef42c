// `slipway doctor`: every host checked on its own, so one that cannot be reached is reported, not fatal.
import { managerPackages } from '../ops/managers.js';
import type { LoadedConfig } from '../config/types.js';
import { doctorProbe } from '../ops/doctor-probe.js';
import { judgeHost, parseDoctorFacts, type Check, type DoctorInput } from '../plan/doctor.js';
import { ConnectionPool } from './connection.js';
import { mapLimit } from './parallel.js';
import { Redactor } from './redact.js';
import { looksLikeUrl } from './source.js';
import { resolveTarget } from './targets.js';
import { UserError } from '../errors.js';
import type { Target } from '../plan/target.js';
import { isNodeApp } from './recipe-check.js';
import { deployerNode } from './node-deploy.js';
import { archiveSettings } from '../render/pitr.js';
import { layoutFor } from '../plan/layout.js';
import { holdsDatabaseByRoles } from '../plan/data-servers.js';

export interface DoctorHost {
  host: string;
  checks: Check[];
}

/** Programs every deploy runs on a server (flock holds the deploy lock, curl checks health). */
const COMMANDS = ['bash', 'git', 'tar', 'curl', 'flock'];

export async function doctor(loaded: LoadedConfig, only?: string): Promise<DoctorHost[]> {
  const { config } = loaded;
  const repo = config.project.repo ?? '.';
  const mode = config.project.source === 'auto' ? (looksLikeUrl(repo) ? 'fetch' : 'push') : config.project.source;
  const node = await isNodeApp(loaded);
  const base: Omit<DoctorInput, 'localClock'> = {
    env: config.environment,
    basePath: config.base_path,
    source: mode === 'fetch' ? { mode, url: repo } : { mode: 'push' },
    // A Node app needs no venv.
    packages: [...new Set([...config.dependencies.system, ...(node ? [] : ['python3-venv']), ...(config.database.engine === 'postgresql' ? ['postgresql'] : []), ...managerPackages(config.process_manager)])],
    commands: COMMANDS,
    needsSystemd: Object.keys(config.processes).length > 0,
    processManager: config.process_manager,
    ...(node ? { node: { wanted: config.project.node_version, deployer: deployerNode() } } : {}),
  };
  // backups.pitr: checked where the database lives (the db server, or every server when none has the role).
  const stanza = layoutFor(config, config.project.branch).unitPrefix;
  const archives = (roles: readonly string[]) => config.backups.pitr && holdsDatabaseByRoles(config, config.servers, roles);
  const servers = config.servers.filter((s) => !only || (s.sandbox ?? s.host) === only);
  if (servers.length === 0) throw new UserError(`no server ${only} in this environment`);
  const pool = new ConnectionPool(new Redactor(loaded.secrets));
  try {
    return await mapLimit(servers, config.ssh.concurrency, async (server): Promise<DoctorHost> => {
      const host = server.sandbox ?? server.host ?? '?';
      let target: Target;
      let connection;
      try {
        // Resolving a sandbox server looks it up, and it may be down: that is this host's finding, not the run's end.
        target = await resolveTarget(server, config);
        connection = await pool.connect(target);
      } catch (error) {
        const reason = error instanceof Error ? error.message.replace(`${host}: `, '') : String(error);
        const fix = error instanceof UserError && error.hint ? error.hint : 'check that `ssh` to this host works without a prompt (key loaded, host in known_hosts, user and port right)';
        return { host, checks: [{ name: 'ssh', status: 'fail', detail: reason, fix }] };
      }
      const sent = Date.now();
      const walArchive = archives(server.roles) ? { command: archiveSettings(stanza).archive_command, stanza } : undefined;
      const result = await connection.session.run(doctorProbe({ ...base, node: base.node !== undefined, supervisor: base.processManager === 'supervisor', walArchive: walArchive !== undefined, ...(base.source.mode === 'fetch' ? { fetchUrl: base.source.url } : {}) }).shell);
      const localClock = Math.round((sent + Date.now()) / 2000);
      const ssh: Check = { name: 'ssh', status: 'ok', detail: target.kind === 'local' ? 'this machine (no SSH)' : `connected as ${parseDoctorFacts(result.lines.join('\n')).user ?? '?'}` };
      if (result.code !== 0) return { host, checks: [{ ...ssh, status: 'fail', detail: `the probe failed (exit ${result.code}): ${result.lines.slice(-1)[0] ?? ''}`, fix: 'check that bash runs for the login user' }] };
      return { host, checks: [ssh, ...judgeHost(parseDoctorFacts(result.lines.join('\n')), { ...base, localClock, ...(walArchive ? { walArchive } : {}) })] };
    });
  } finally {
    await pool.closeAll();
  }
}
