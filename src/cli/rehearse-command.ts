// rehearse: an environment's setup and deploy on sandbox servers shaped like its own, before the real thing.
// The config change is pure (plan/rehearsal.ts); booting is the sandbox's; setup and deploy are the very
// commands `setup` and `deploy` run, with the rehearsal's config.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { load, operationContext, type GlobalOptions } from './context.js';
import { reportOperation } from './deploy-commands.js';
import type { Io } from './io.js';
import { setupAndReport } from './setup-commands.js';

export function registerRehearseCommand(program: Command, io: Io, argv: readonly string[]): void {
  const globals = () => program.opts<GlobalOptions>();
  program
    .command('rehearse')
    .description('boot sandbox servers shaped like <env>\'s (names, roles, one network), run setup and the deploy there with <env>\'s config, and leave them up to inspect; needs root')
    .argument('<env>', 'environment to rehearse: reads deploy.yml + deploy-<env>.yml and its secrets')
    .option('--ref <ref>', 'branch, tag or commit to deploy (default: project.branch)')
    .option('--down', 'remove the sandbox servers of this environment\'s rehearsal')
    .action(async (env: string, options: { ref?: string; down?: boolean }) => {
      const { sandboxPaths } = await import('../sandbox/paths.js');
      const paths = sandboxPaths(io.env);
      const rehearsals = await import('../sandbox/rehearsals.js');
      const { sandboxDown, sandboxList, sandboxUp } = await import('../sandbox/index.js');

      if (options.down) {
        // By the record alone, not the config: a teardown must work when a secret is gone or the config is broken.
        const dir = resolve(io.cwd, globals().config ?? '.');
        const record = (await rehearsals.listRehearsals(paths)).find((r) => r.env === env && r.dir === dir);
        if (!record) {
          io.out(`no rehearsal of ${env} is up (nothing to remove)`);
          return;
        }
        for (const name of record.servers) if (await sandboxDown(name, { paths, env: io.env, purge: true })) io.err(`removed sandbox server ${name}`);
        await rehearsals.removeRehearsal(paths, record.project, env);
        io.out(`rehearsal of ${env} removed: ${record.servers.join(', ')}`);
        return;
      }

      const loaded = await load(io, env, globals());
      const project = loaded.config.project.name;

      const { rehearsalOf } = await import('../plan/rehearsal.js');
      const rehearsal = rehearsalOf(loaded.config, env);
      const names = rehearsal.servers.map((s) => s.name);
      io.err(`rehearsal of ${env} on ${names.length} sandbox server(s): ${rehearsal.servers.map((s) => `${s.name} (${s.roles.join(', ')})`).join(', ')}`);
      io.err(`plan differences from ${env}:`);
      for (const line of rehearsal.differences) io.err(`  - ${line}`);

      // A sandbox server of the same name that this rehearsal did not boot is someone else's: never reuse it.
      const previous = await rehearsals.readRehearsal(paths, project, env);
      const ours = new Set(previous?.servers ?? []);
      const others = (await rehearsals.listRehearsals(paths)).filter((r) => !(r.project === project && r.env === env));
      for (const server of await sandboxList({ paths, env: io.env })) {
        if (!names.includes(server.name) || ours.has(server.name) || server.status === 'stale') continue;
        const owner = others.find((r) => r.servers.includes(server.name));
        throw new UserError(
          `sandbox server ${server.name} already exists and is not part of this rehearsal${owner ? ` (the rehearsal of ${owner.env} in ${owner.dir} has it)` : ''}`,
          owner ? `remove that rehearsal first: slipway rehearse ${owner.env} --down (in ${owner.dir})` : `take it down first: sudo slipway sandbox down ${server.name}`,
        );
      }
      await rehearsals.writeRehearsal(paths, { project, env, dir: loaded.dir, servers: [...new Set([...ours, ...names])], startedAt: previous?.startedAt ?? new Date().toISOString() });

      const booted = await Promise.all(names.map((name) => sandboxUp(name, { paths, env: io.env, log: (line) => io.err(`${name}: ${line}`) })));
      for (const server of booted) io.err(`${server.name}: ${server.alreadyUp ? 'already up' : `booted in ${server.bootSeconds.toFixed(1)} s`} at ${server.address}`);

      const config = rehearsal.config;
      const rehearsed = { ...loaded, config, hash: createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16) };
      const ctx = operationContext(io, rehearsed, globals(), 'rehearse', argv);
      await setupAndReport(io, ctx);
      const { deploy } = await import('../execute/deploy.js');
      await reportOperation(io, await deploy(ctx, options.ref), 'rehearsed');

      if (config.http.enabled ?? config.http.domain !== undefined) {
        // The public site is on the load balancers when there are any, else on the web servers.
        const lbs = rehearsal.servers.filter((s) => s.roles.includes('lb'));
        const site = lbs.length > 0 ? lbs : rehearsal.servers.filter((s) => s.roles.includes('web'));
        for (const server of site) {
          const address = booted.find((b) => b.name === server.name)!.address;
          const answer = await rehearsals.askSite(address, { ...(config.http.domain ? { domain: config.http.domain } : {}), tls: config.http.tls !== 'none' });
          io.out(`${server.name}: ${answer.url} answers ${answer.status || `nothing (${answer.error})`} through nginx: ${answer.command.join(' ')}`);
        }
      }
      io.out(`the rehearsal's servers stay up to inspect (sudo slipway sandbox ssh ${names[0]}); remove them: slipway rehearse ${env} --down`);
    });
}
