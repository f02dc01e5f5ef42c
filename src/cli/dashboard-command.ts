// `slipway dashboard`: a web page over every environment of the config directory, on localhost by default,
// opened with the link it prints (the token) or a password.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { GlobalOptions } from './context.js';
import type { Io } from './io.js';

export const DEFAULT_LISTEN = '127.0.0.1:7780';

/** `HOST:PORT` or `[V6]:PORT`, with a port from 0 (any free one) to 65535. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UserError(`--listen ${JSON.stringify(value)}: expected HOST:PORT, e.g. ${DEFAULT_LISTEN}`);
  return { host: m[1] ?? m[2]!, port };
}

export function registerDashboardCommand(program: Command, io: Io): void {
  program
    .command('dashboard')
    .description('a web page over every environment (deploy-*.yml) of the config directory: status, releases, history, and deploys and rollbacks confirmed from their plan')
    .option('--listen <host:port>', `address to serve on; anything but localhost needs it said explicitly (no TLS: put a TLS proxy or an SSH tunnel in front)`, DEFAULT_LISTEN)
    .addHelpText('after', '\nAccess: the link printed at start carries a one-time token that opens a session. With SLIPWAY_DASHBOARD_PASSWORD set\n(in the environment or in .slipway/secrets-dashboard.env of the config directory), a name and that password open one too.')
    .action(async (options: { listen: string }) => {
      const { userInfo } = await import('node:os');
      const { readSecretsFile } = await import('../config/secrets.js');
      const { isLoopback, newSecret } = await import('../dashboard/auth.js');
      const { localBackend } = await import('../dashboard/backend.js');
      const { startDashboard } = await import('../dashboard/server.js');
      const { host, port } = parseListen(options.listen);
      const dir = resolve(io.cwd, program.opts<GlobalOptions>().config ?? '.');
      const secrets = await readSecretsFile(resolve(dir, '.slipway', 'secrets-dashboard.env'));
      const password = secrets.SLIPWAY_DASHBOARD_PASSWORD ?? io.env.SLIPWAY_DASHBOARD_PASSWORD;
      if (!isLoopback(host)) io.err(`warning: listening on ${host}:${port} without TLS: the token, the session cookie and every page cross the network in clear; prefer an SSH tunnel to ${DEFAULT_LISTEN} or a TLS proxy in front`);
      const backend = localBackend(dir, io.env);
      const environments = await backend.environments();
      const dashboard = await startDashboard({ backend, host, port, token: newSecret(), tokenUser: userInfo().username, ...(password ? { password } : {}), env: io.env });
      io.err(`slipway dashboard for ${dir} (${environments.length > 0 ? environments.join(', ') : 'no deploy-<env>.yml yet'})`);
      if (password) io.err('sign in with a name and SLIPWAY_DASHBOARD_PASSWORD, or open:');
      io.out(dashboard.link);
      io.err('Ctrl-C stops it (a deploy it runs is stopped the way Ctrl-C stops one from the CLI)');
      await new Promise<void>((done) => {
        const stop = () => {
          const running = dashboard.runs.active();
          if (running.length > 0) {
            // withHosts of each run has its own handler: it stops after the current command on each host.
            io.err(`stopping: waiting for ${running.map((r) => `the ${r.header.action} of ${r.header.env}`).join(', ')} to stop`);
            const wait = setInterval(() => {
              if (dashboard.runs.active().length === 0) {
                clearInterval(wait);
                void dashboard.close().then(done);
              }
            }, 200);
            return;
          }
          void dashboard.close().then(done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
