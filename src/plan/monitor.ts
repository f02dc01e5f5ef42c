// The deploy's part in the health monitor (render/monitor.ts): on each server that serves the app's health
// check, after the release is committed, it brings the monitor's script, secrets file and units up to date, and
// it changes nothing that is already current. With `monitor.enabled` off, a monitor an earlier deploy installed
// is stopped and removed.
import type { Config } from '../config/types.js';
import { cmd, type Cmd, type Command } from '../ops/command.js';
import { writeFile } from '../ops/files.js';
import { sha256 } from '../ops/services.js';
import {
  monitorEnvPath,
  monitorScriptPath,
  monitorStatePath,
  monitorTimerName,
  monitorUnitName,
  renderMonitorEnv,
  renderMonitorScript,
  renderMonitorService,
  renderMonitorTimer,
  type MonitorSpec,
} from '../render/monitor.js';
import type { Layout } from './layout.js';
import type { Step } from '../ops/command.js';

export interface MonitorInput {
  config: Pick<Config, 'monitor' | 'notify' | 'project' | 'environment' | 'health'>;
  layout: Layout;
  label: string;
  /** This server serves the health check (it runs the web process). */
  serves: boolean;
  /** The host's non-slot services, and the blue/green process when it has slots. */
  services: readonly string[];
  slotProcess?: string;
  /** Installed unit files and their sha256 (facts.units). */
  installed: Record<string, string>;
}

/** The webhooks that asked for monitor events. */
/** The webhooks a server tells itself, each with the events it is subscribed to among `events`. */
export function serverHooks(notify: Config['notify'], events: readonly string[]): MonitorSpec['hooks'] {
  return notify.filter((h) => h.events.some((e) => events.includes(e))).map((h) => ({ format: h.format as 'json' | 'slack', url: h.url, events: h.events.filter((e) => events.includes(e)) }));
}

export const monitorHooks = (notify: Config['notify']): MonitorSpec['hooks'] => serverHooks(notify, ['alert', 'recovery']);

/** A file written only when its content differs (compared on the server, so secret content is never hashed here). */
function ensureFile(path: string, text: string, mode: string, secret: boolean): Cmd {
  const same: Command = { argv: ['cmp', '-s', '-', path], stdin: { text, ...(secret ? { secret: true } : {}) }, quiet: true };
  return { if: same, then: [], else: writeFile({ path, text, mode, secret }) };
}

export function monitorSteps(input: MonitorInput): Step[] {
  const { config, layout } = input;
  const service = monitorUnitName(layout);
  const timer = monitorTimerName(layout);
  const wanted = config.monitor.enabled && input.serves;
  if (!wanted) {
    if (input.installed[service] === undefined) return [];
    return [
      {
        id: 'monitor',
        title: 'Remove the health monitor (monitor.enabled is off here)',
        commands: [
          cmd('systemctl', 'disable', '--now', '--quiet', timer),
          cmd('rm', '-f', `/etc/systemd/system/${service}`, `/etc/systemd/system/${timer}`, monitorScriptPath(layout), monitorEnvPath(layout), monitorStatePath(layout)),
          cmd('systemctl', 'daemon-reload'),
        ],
      },
    ];
  }
  const spec: MonitorSpec = {
    app: config.project.name,
    env: config.environment,
    host: input.label,
    services: input.services.filter((s) => !s.includes('@')),
    ...(input.slotProcess ? { slotProcess: input.slotProcess } : {}),
    expectedStatus: config.health.expected_status,
    timeoutSeconds: config.health.timeout,
    intervalSeconds: config.monitor.interval,
    hooks: monitorHooks(config.notify),
    ...(config.monitor.heartbeat_url ? { heartbeatUrl: config.monitor.heartbeat_url } : {}),
  };
  const units = [
    { name: service, text: renderMonitorService(layout, spec) },
    { name: timer, text: renderMonitorTimer(layout, spec) },
  ];
  const changed = units.filter((u) => input.installed[u.name] !== sha256(u.text));
  const commands: Cmd[] = [
    ensureFile(monitorScriptPath(layout), renderMonitorScript(layout, spec), '755', false),
    ensureFile(monitorEnvPath(layout), renderMonitorEnv(spec), '600', true),
    ...changed.flatMap((u) => writeFile({ path: `/etc/systemd/system/${u.name}`, text: u.text })),
    ...(changed.length > 0 ? [cmd('systemctl', 'daemon-reload')] : []),
    cmd('systemctl', 'enable', '--now', '--quiet', timer),
  ];
  return [{ id: 'monitor', title: `Health monitor: every ${spec.intervalSeconds} s, ${spec.hooks.length} webhook(s)${spec.heartbeatUrl ? ', heartbeat' : ''}`, commands }];
}
