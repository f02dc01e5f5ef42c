// Which of the app's processes run on a host, and their unit files.
import type { Config } from '../config/types.js';
import { renderAppTarget, renderProcessUnit, targetName, unitName } from '../render/systemd.js';
import type { UnitFile } from '../ops/services.js';
import type { HealthCheck } from '../ops/health.js';
import type { Layout } from './layout.js';
import type { Target } from './target.js';

export function processesOn(config: Pick<Config, 'processes'>, target: Target): string[] {
  return Object.entries(config.processes)
    .filter(([, process]) => process.roles.some((role) => target.roles.includes(role)))
    .map(([name]) => name);
}

export function unitFiles(config: Pick<Config, 'processes' | 'project'>, layout: Layout, names: readonly string[]): UnitFile[] {
  if (names.length === 0) return [];
  return [
    { name: targetName(layout), text: renderAppTarget(layout, config.project.name) },
    ...names.map((name) => ({
      name: unitName(layout, name),
      text: renderProcessUnit(layout, name, config.processes[name]!, config.project.name),
    })),
  ];
}

/** The health check for a host, when the checked process runs there and listens on a port. */
export function healthCheckFor(config: Pick<Config, 'processes' | 'health'>, names: readonly string[]): HealthCheck | undefined {
  const process = config.processes[config.health.process];
  if (!process || process.port === undefined || !names.includes(config.health.process)) return undefined;
  return {
    url: `http://127.0.0.1:${process.port}${config.health.path}`,
    expectedStatus: config.health.expected_status,
    timeoutSeconds: config.health.timeout,
    retries: config.health.retries,
  };
}
