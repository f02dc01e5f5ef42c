// `slipway env list|diff|set|unset <env>`: the server's .env, by key name only.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { EnvChange } from '../plan/env-change.js';
import { load, operationContext, type GlobalOptions } from './context.js';
import type { Io } from './io.js';
import { table } from './output.js';

interface EnvOptions {
  branch?: string;
  host?: string;
  json?: boolean;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UserError('--stdin reads the value from standard input, which is a terminal', 'pipe it in: `printf %s "$VALUE" | slipway env set <env> KEY --stdin`, or read it from a file with `< file`');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function registerEnvCommands(program: Command, io: Io, argv: readonly string[]): void {
  const globals = () => program.opts<GlobalOptions>();
  const env = program.command('env').description("the app's .env on each server: key names (never values), set, unset, diff with the config");
  const common = (c: Command) => c.option('--branch <branch>', 'for per-branch environments: which branch').option('--host <name>', 'only this server');

  common(env.command('list').description('key names of the .env on each server, and whether the config defines them').argument('<env>', 'environment'))
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: EnvOptions) => {
      const { configKeys } = await import('../plan/env-change.js');
      const { readEnvKeys } = await import('../execute/env.js');
      const { layoutForRef } = await import('../execute/operation.js');
      const loaded = await load(io, name, globals());
      const inConfig = new Set(configKeys(loaded.config));
      const hosts = await readEnvKeys({ loaded, ...(options.host ? { only: options.host } : {}) }, layoutForRef(loaded, options.branch));
      if (options.json) {
        io.out(JSON.stringify(hosts.map((h) => ({ host: h.host, file: h.keys ? 'present' : 'missing', keys: (h.keys ?? []).map((k) => ({ name: k, in_config: inConfig.has(k) })) })), null, 2));
        return;
      }
      const rows = [['HOST', 'KEY', 'IN CONFIG']];
      for (const h of hosts) {
        if (!h.keys) rows.push([h.host, '(no .env)', '']);
        for (const key of h.keys ?? []) rows.push([h.host, key, inConfig.has(key) ? 'yes' : 'no']);
      }
      io.out(table(rows));
    });

  common(env.command('diff').description('keys in the config missing from the server, and keys on the server the config lacks').argument('<env>', 'environment'))
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: EnvOptions) => {
      const { configKeys, envDiff } = await import('../plan/env-change.js');
      const { readEnvKeys } = await import('../execute/env.js');
      const { layoutForRef } = await import('../execute/operation.js');
      const loaded = await load(io, name, globals());
      const config = configKeys(loaded.config);
      const hosts = await readEnvKeys({ loaded, ...(options.host ? { only: options.host } : {}) }, layoutForRef(loaded, options.branch));
      const diffs = hosts.map((h) => ({ host: h.host, file: h.keys ? 'present' : 'missing', ...envDiff(config, h.keys ?? []) }));
      if (options.json) {
        io.out(JSON.stringify(diffs.map((d) => ({ host: d.host, file: d.file, missing_on_server: d.missingOnServer, not_in_config: d.notInConfig })), null, 2));
        return;
      }
      for (const d of diffs) {
        if (d.missingOnServer.length === 0 && d.notInConfig.length === 0) {
          io.out(`${d.host}: .env has the config's keys, no others`);
          continue;
        }
        io.out(`${d.host}:${d.file === 'missing' ? ' (no .env)' : ''}`);
        if (d.missingOnServer.length > 0) io.out(`  in the config, missing on the server (the next deploy writes them): ${d.missingOnServer.join(' ')}`);
        if (d.notInConfig.length > 0) io.out(`  on the server, not in the config${config.length > 0 ? ' (the next deploy removes them)' : ''}: ${d.notInConfig.join(' ')}`);
      }
    });

  common(env.command('set').description('set variables in the .env on every server (under the deploy lock), restart the app, check health').argument('<env>', 'environment'))
    .argument('<assignments...>', 'KEY=VALUE ... (or one KEY with --stdin)')
    .option('--stdin', 'read the value of the one KEY from standard input: it then never appears in a process list')
    .option('--lock-wait <seconds>', 'wait this long for a running deploy to finish', '0')
    .action(async (name: string, assignments: string[], options: EnvOptions & { stdin?: boolean; lockWait: string }) => {
      const { parseAssignments, stdinValue } = await import('../plan/env-change.js');
      let values: Record<string, string>;
      if (options.stdin) {
        if (assignments.length !== 1 || assignments[0]!.includes('=')) throw new UserError('with --stdin, give exactly one KEY (no =VALUE)');
        values = stdinValue(assignments[0]!, await readStdin());
      } else values = parseAssignments(assignments);
      await runChange(name, { kind: 'set', values }, options, Object.values(values));
    });

  common(env.command('unset').description('remove variables from the .env on every server (under the deploy lock), restart the app, check health').argument('<env>', 'environment'))
    .argument('<keys...>', 'KEY ...')
    .option('--lock-wait <seconds>', 'wait this long for a running deploy to finish', '0')
    .action(async (name: string, keys: string[], options: EnvOptions & { lockWait: string }) => {
      const { unsetKeys } = await import('../plan/env-change.js');
      await runChange(name, { kind: 'unset', keys: unsetKeys(keys) }, options, []);
    });

  async function runChange(name: string, change: EnvChange, options: EnvOptions & { lockWait: string }, values: string[]): Promise<void> {
    if (!/^\d+$/.test(options.lockWait)) throw new UserError(`--lock-wait expects a number of seconds, got ${options.lockWait}`);
    const loaded = await load(io, name, globals());
    // The new values are secrets from here on: masked in anything the hosts print back and in the local log.
    loaded.secrets.push(...values.filter((v) => v.length > 0));
    const ctx = operationContext(io, loaded, { ...globals(), ...options }, 'env', argv);
    const { changeEnv } = await import('../execute/env.js');
    const { configKeys, nextDeployWarning } = await import('../plan/env-change.js');
    const { layoutForRef } = await import('../execute/operation.js');
    const results = await changeEnv(ctx, layoutForRef(loaded, options.branch), change);
    const verb = change.kind === 'set' ? 'set' : 'unset';
    for (const r of results) {
      const keys = change.kind === 'set' ? Object.keys(change.values) : change.keys.filter((k) => r.before.includes(k));
      const absent = change.kind === 'unset' ? change.keys.filter((k) => !r.before.includes(k)) : [];
      if (r.error) {
        io.err(`${r.host}: ${r.restored ? 'the previous .env is back and the app restarted with it' : '.env unchanged'}`);
        const skipped = ctx.only ? 0 : loaded.config.servers.length - results.length;
        if (skipped > 0) io.err(`${skipped} later server(s) not changed`);
        throw r.error;
      }
      const restarted = r.units.length > 0 ? `; restarted ${r.units.join(' ')}${r.health ? ', healthy' : ''}` : '';
      io.out(`${r.host}: ${keys.length > 0 ? `${verb} ${keys.join(' ')}` : 'no change'}${absent.length > 0 ? ` (${absent.join(' ')} not set)` : ''}${restarted}`);
    }
    const warning = nextDeployWarning(change, configKeys(loaded.config));
    if (warning) io.err(`warning: ${warning}`);
  }
}
