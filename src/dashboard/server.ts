// `slipway dashboard` as a running server: the app on a Node HTTP server, its address and token, and a clean stop
// (a deploy in progress is interrupted the way Ctrl-C interrupts one from the CLI).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { allowedHosts } from './auth.js';
import { dashboardApp } from './app.js';
import type { Backend } from './backend.js';
import type { RunRegistry } from './runs.js';

export interface RunningDashboard {
  /** The link to open: the address with the token. */
  link: string;
  address: string;
  port: number;
  runs: RunRegistry;
  close(): Promise<void>;
}

export interface ServeOptions {
  backend: Backend;
  host: string;
  port: number;
  token: string;
  tokenUser: string;
  password?: string;
  env: NodeJS.ProcessEnv;
}

export async function startDashboard(options: ServeOptions): Promise<RunningDashboard> {
  // The Host check needs the port actually bound (0 asks for any free one): filled in once listening.
  const hosts = new Set<string>();
  const { app, runs } = dashboardApp({ backend: options.backend, token: options.token, tokenUser: options.tokenUser, ...(options.password ? { password: options.password } : {}), env: options.env, hosts });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port, overrideGlobalObjects: false }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const allowed = allowedHosts(options.host, port);
  if (allowed) for (const h of allowed) hosts.add(h);
  else hosts.add('*');
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    link: `http://${shown}:${port}/?token=${options.token}`,
    address: options.host,
    port,
    runs,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // A page following a run holds its event stream open: the stop must not wait for the browser.
        (server as Server).closeAllConnections();
      }),
  };
}
