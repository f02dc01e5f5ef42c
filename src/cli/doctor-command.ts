// doctor: can these servers be deployed to? One line per check and host, a fix under each problem.
import type { Command } from 'commander';
import type { DoctorHost } from '../execute/doctor.js';
import { load, type GlobalOptions } from './context.js';
import type { Io } from './io.js';
import { table } from './output.js';

export function doctorReport(hosts: DoctorHost[]): string {
  const rows: string[][] = [];
  for (const { host, checks } of hosts) {
    for (const check of checks) {
      rows.push([host, check.status === 'fail' ? 'FAIL' : check.status, check.name, check.detail]);
      if (check.fix) rows.push(['', '', '', `fix: ${check.fix}`]);
    }
  }
  return table(rows);
}

export function registerDoctor(program: Command, io: Io): void {
  program
    .command('doctor')
    .description('check that each server can be deployed to: SSH, sudo, disk, git access, programs and packages, clock, systemd (and supervisor when it keeps the processes)')
    .argument('<env>', 'environment')
    .option('--host <name>', 'only this server')
    .option('--json', 'machine-readable output')
    .action(async (env: string, options: { host?: string; json?: boolean }) => {
      const { doctor } = await import('../execute/doctor.js');
      const loaded = await load(io, env, program.opts<GlobalOptions>());
      const hosts = await doctor(loaded, options.host);
      const failed = hosts.flatMap((h) => h.checks.filter((c) => c.status === 'fail').map((c) => `${h.host}: ${c.name}`));
      const warned = hosts.reduce((n, h) => n + h.checks.filter((c) => c.status === 'warn').length, 0);
      if (options.json) io.out(JSON.stringify(hosts, null, 2));
      else {
        io.out(doctorReport(hosts));
        io.out(failed.length === 0 ? `doctor ${env}: ready to deploy (${hosts.length} host(s)${warned > 0 ? `, ${warned} warning(s)` : ''})` : `doctor ${env}: ${failed.length} problem(s): ${failed.join(', ')}`);
      }
      if (failed.length > 0) process.exitCode = 1;
    });
}
