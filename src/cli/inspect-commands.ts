// validate, schema, releases, history, lock: reading state, never changing a release.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { load, type GlobalOptions } from './context.js';
import type { Io } from './io.js';
import { table } from './output.js';

export function registerInspectCommands(program: Command, io: Io): void {
  const globals = () => program.opts<GlobalOptions>();

  program
    .command('validate')
    .description('check the configuration, that secrets resolve and (for a repository on this machine) that its recipe accepts it, without connecting to any server')
    .argument('<env>', 'environment')
    .action(async (env: string) => {
      const { resolveTargets } = await import('../execute/targets.js');
      const { recipeCheck } = await import('../execute/recipe-check.js');
      const loaded = await load(io, env, globals());
      await resolveTargets(loaded.config);
      // The repository, where it is here: what the recipe refuses is an error now rather than at the deploy.
      const recipe = await recipeCheck(loaded);
      io.out(`${loaded.files.join(' + ')}: ok (${loaded.config.servers.length} server(s), project ${loaded.config.project.name}${recipe ? `, ${recipe}` : ''})`);
    });

  program
    .command('schema')
    .description('print the JSON Schema of deploy*.yml, for editor completion')
    .action(async () => {
      const { toJsonSchema } = await import('../config/schema-dsl.js');
      const { configSchema } = await import('../config/schema.js');
      io.out(JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'slipway deploy configuration', ...toJsonSchema(configSchema) }, null, 2));
    });

  program
    .command('releases')
    .description('list the releases on each server: current (*), good, failed and bad ones')
    .argument('<env>', 'environment')
    .option('--branch <branch>', 'for per-branch environments: which branch')
    .option('--json', 'machine-readable output')
    .action(async (env: string, options: { branch?: string; json?: boolean }) => {
      const { layoutForRef } = await import('../execute/operation.js');
      const { hostReleases } = await import('../execute/status.js');
      const loaded = await load(io, env, globals());
      const hosts = await hostReleases({ loaded }, layoutForRef(loaded, options.branch));
      if (options.json) {
        io.out(JSON.stringify(hosts, null, 2));
        return;
      }
      const rows = [['HOST', '', 'RELEASE', 'STATUS', 'REF', 'DEPLOYED BY']];
      for (const { host, current, releases } of hosts) {
        for (const r of [...releases].reverse()) {
          rows.push([host, r.id === current ? '*' : '', r.id, r.status, r.manifest?.ref ?? '', r.manifest?.deployed_by ?? '']);
        }
        if (releases.length === 0) rows.push([host, '', '(no releases)', '', '', '']);
      }
      io.out(table(rows));
    });

  program
    .command('history')
    .description('the deploy log kept on each server (who, when, from, to, result, duration)')
    .argument('<env>', 'environment')
    .option('-n, --lines <count>', 'entries per host', '20')
    .option('--branch <branch>', 'for per-branch environments: which branch')
    .option('--json', 'machine-readable output')
    .action(async (env: string, options: { lines: string; branch?: string; json?: boolean }) => {
      const { layoutForRef } = await import('../execute/operation.js');
      const { hostHistory } = await import('../execute/status.js');
      const { historyAction, historyResult } = await import('../render/status.js');
      if (!/^\d+$/.test(options.lines)) throw new UserError(`--lines expects a number, got ${options.lines}`);
      const loaded = await load(io, env, globals());
      const hosts = await hostHistory({ loaded }, layoutForRef(loaded, options.branch), Number(options.lines));
      if (options.json) {
        io.out(JSON.stringify(hosts, null, 2));
        return;
      }
      const rows = [['HOST', 'WHEN', 'ACTION', 'RESULT', 'FROM', 'TO', 'REF', 'BY', 'TIME']];
      for (const { host, entries } of hosts) {
        for (const e of entries) rows.push([host, e.at, historyAction(e), historyResult(e), e.from ?? '-', e.to ?? '-', e.ref ?? '-', `${e.user}@${e.machine}`, `${(e.duration_ms / 1000).toFixed(1)}s`]);
      }
      io.out(table(rows));
    });

  const lock = program.command('lock').description('see or clear the deploy lock');
  lock
    .command('status')
    .argument('<env>', 'environment')
    .option('--branch <branch>', 'for per-branch environments: which branch')
    .action(async (env: string, options: { branch?: string }) => {
      const { lockStatusProbe } = await import('../ops/agent.js');
      const { layoutForRef, withHosts } = await import('../execute/operation.js');
      const loaded = await load(io, env, globals());
      const layout = layoutForRef(loaded, options.branch);
      await withHosts({ loaded }, undefined, async (connections) => {
        for (const c of connections) {
          const result = await c.session.run(lockStatusProbe(layout.lockFile, layout.holderFile));
          const [state = 'unknown', ...holder] = result.lines;
          io.out(`${c.target.label}: ${state}${state === 'held' ? ` by ${holder.join(' ')}` : ''}`);
        }
      });
    });
  lock
    .command('release')
    .description('a lock is freed by the kernel when its deploy ends; --force ends a deploy that still holds it')
    .argument('<env>', 'environment')
    .option('--branch <branch>', 'for per-branch environments: which branch')
    .option('--force', 'end the running deploy agent that holds the lock')
    .action(async (env: string, options: { branch?: string; force?: boolean }) => {
      const { lockStatusProbe } = await import('../ops/agent.js');
      const { quote } = await import('../ops/shell.js');
      const { layoutForRef, withHosts } = await import('../execute/operation.js');
      const loaded = await load(io, env, globals());
      const layout = layoutForRef(loaded, options.branch);
      await withHosts({ loaded }, undefined, async (connections) => {
        for (const c of connections) {
          const status = await c.session.run(lockStatusProbe(layout.lockFile, layout.holderFile));
          if (status.lines[0] !== 'held') {
            await c.session.run(`rm -f ${quote(layout.holderFile)}`);
            io.out(`${c.target.label}: lock is free`);
            continue;
          }
          if (!options.force) throw new UserError(`${c.target.label}: the lock is held by a running deploy: ${status.lines.slice(1).join(' ')}`, 'wait for it, or end it with `slipway lock release <env> --force`');
          const holder = JSON.parse(status.lines.slice(1).join('')) as { agent_pid?: number };
          if (!Number.isInteger(holder.agent_pid)) throw new UserError(`${c.target.label}: the holder record has no agent pid; end the deploy by hand`);
          await c.session.run(`kill -TERM ${Number(holder.agent_pid)} && sleep 0.5 && rm -f ${quote(layout.holderFile)}`);
          io.out(`${c.target.label}: ended deploy agent ${holder.agent_pid}; lock released`);
        }
      });
    });
}
