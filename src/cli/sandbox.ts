// `slipway sandbox ...`: throwaway local Debian servers to deploy to. Parses arguments, calls src/sandbox and
// prints; progress goes to stderr so `sandbox list --json` stays clean on stdout.
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { SandboxServer, UpResult } from '../sandbox/index.js';
import { sandboxPaths } from '../sandbox/paths.js';
import { imageRecipes } from '../sandbox/recipe.js';
import type { Io } from './io.js';

export function registerSandbox(program: Command, io: Io): void {
  const paths = sandboxPaths(io.env);
  const env = io.env;
  const log = (line: string): void => io.err(line);
  const sandbox = program
    .command('sandbox')
    .description('throwaway local Debian 12 servers (systemd-nspawn) to deploy to and test on; needs root');

  sandbox
    .command('up <name>')
    .description('boot a server (idempotent) and print its address and how to ssh in')
    .option('--image <image>', `image to boot: ${Object.keys(imageRecipes).join(', ')}`, 'bookworm')
    .option('--persist', 'keep the server\'s disk across down/up (default: a fresh disk on every up)')
    .option('--offline', 'reach no package source (default: apt, pip and npm reach what this machine reaches, through its proxy; SLIPWAY_SANDBOX_OFFLINE=1 makes every server offline)')
    .action(async (name: string, opts: { image: string; persist?: boolean; offline?: boolean }) => {
      const { sandboxUp } = await import('../sandbox/index.js');
      const server = await sandboxUp(name, { image: opts.image, persist: opts.persist, offline: opts.offline, paths, env, log });
      io.out(formatUp(server));
    });

  // The package proxy's own process, started and stopped by up and down (proxy-process.ts); not for people.
  sandbox
    .command('proxy-serve', { hidden: true })
    .action(async () => {
      const { runProxyProcess } = await import('../sandbox/proxy-process.js');
      await runProxyProcess(paths);
    });

  sandbox
    .command('list')
    .description('servers with their address, state (running, booting, stopped, stale) and uptime')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { sandboxList } = await import('../sandbox/index.js');
      const servers = await sandboxList({ paths, env });
      io.out(opts.json ? JSON.stringify(servers, null, 2) : formatServerTable(servers));
    });

  sandbox
    .command('ssh <name> [command...]')
    .description('a shell on a server as root, or run a command: sandbox ssh web1 -- systemctl status nginx')
    .action(async (name: string, command: string[]) => {
      const { sandboxTarget, sshOptions } = await import('../sandbox/index.js');
      const { preflight } = await import('../sandbox/preflight.js');
      await preflight(['linux', 'root', 'ssh'], `ssh ${name}`, 'the sandbox login key is readable by root only');
      const target = await sandboxTarget(name, paths);
      if (!target) {
        throw new UserError(`sandbox server ${name} is not running`, `start it: sudo slipway sandbox up ${name}`);
      }
      const code = await interactiveSsh([...sshOptions(target), target.address, ...command]);
      // ssh's exit code is the remote command's: pass it on, so scripts can use `sandbox ssh` like ssh.
      if (code !== 0) process.exitCode = code;
    });

  sandbox
    .command('down [name]')
    .description('shut a server down cleanly and remove its network and state (--all: every server)')
    .option('--all', 'every sandbox server on this machine')
    .option('--purge', 'also delete the disk of a --persist server')
    .action(async (name: string | undefined, opts: { all?: boolean; purge?: boolean }) => {
      const { sandboxDown, sandboxDownAll } = await import('../sandbox/index.js');
      if (opts.all && name) throw new UserError('give a server name or --all, not both');
      if (opts.all) {
        const names = await sandboxDownAll({ paths, env, log, purge: opts.purge });
        io.out(names.length ? `stopped ${names.join(', ')}` : 'no sandbox servers were running');
        return;
      }
      if (!name) throw new UserError('which server? give a name or --all', 'e.g. sudo slipway sandbox down web1');
      const existed = await sandboxDown(name, { paths, env, log, purge: opts.purge });
      io.out(existed ? `stopped ${name}` : `no sandbox server named ${name} (nothing to do)`);
    });

  sandbox
    .command('image')
    .description('build the server image if it is missing or outdated (takes a few minutes, once)')
    .option('--image <image>', `image to build: ${Object.keys(imageRecipes).join(', ')}`, 'bookworm')
    .option('--rebuild', 'build again even if the cached image is current')
    .action(async (opts: { image: string; rebuild?: boolean }) => {
      const { ensureImage } = await import('../sandbox/index.js');
      const image = await ensureImage({ image: opts.image, rebuild: opts.rebuild, paths, env, log });
      const how = image.built ? `built in ${image.buildSeconds.toFixed(0)} s` : 'cached';
      io.out(`image ${image.name}-${image.key} (${how}): ${image.dir}`);
    });
}

function interactiveSsh(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export function formatUp(server: UpResult): string {
  const how = server.alreadyUp ? 'already running' : `booted in ${server.bootSeconds.toFixed(1)} s`;
  return [
    `${server.name} is up at ${server.address} (${how}${server.persist ? ', persistent disk' : ''}${server.offline ? ', offline: reaches no package source' : ''})`,
    `  shell:   sudo slipway sandbox ssh ${server.name}`,
    `  deploy:  a server written as "sandbox: ${server.name}" in deploy-<env>.yml`,
    `  stop:    sudo slipway sandbox down ${server.name}`,
  ].join('\n');
}

export function formatUptime(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(seconds % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

export function formatServerTable(servers: SandboxServer[]): string {
  if (servers.length === 0) return 'no sandbox servers (start one: sudo slipway sandbox up web1)';
  const rows = [
    ['NAME', 'ADDRESS', 'STATE', 'UPTIME', 'IMAGE'],
    ...servers.map((s) => [
      s.name,
      s.address || '-',
      s.status,
      formatUptime(s.uptimeSeconds),
      (s.image || '-') + (s.persist ? ' (persist)' : '') + (s.offline ? ' (offline)' : ''),
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd()).join('\n');
}
