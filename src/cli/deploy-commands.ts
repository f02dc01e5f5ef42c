// deploy, rollback and plan.
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import type { LoadedConfig } from '../config/types.js';
import type { OperationReport } from '../execute/deploy.js';
import { load, operationContext, type GlobalOptions } from './context.js';
import { table } from './output.js';
import type { Io } from './io.js';

function lockWaitOption(value: string): string {
  if (!/^\d+$/.test(value)) throw new UserError(`--lock-wait expects a number of seconds, got ${value}`);
  return value;
}

/** With several hosts, one row per host at the end: what happened there and how long it worked. */
function hostTable(outcome: OperationReport, failure: Error | undefined): string {
  const rows = [['HOST', 'RESULT', 'RELEASE', 'TIME']];
  for (const r of outcome.results) {
    const result = !r.outcome.ok ? `failed: ${r.outcome.error?.step ?? ''}` : r.switchedBack ? 'switched back' : failure ? 'not switched' : r.outcome.unfinished ? 'ok (cleanup left for the next deploy)' : 'ok';
    const release = !failure ? r.plan.to : (r.plan.from ?? '-');
    rows.push([r.host, result, release, `${(r.busyMs / 1000).toFixed(1)}s`]);
  }
  return table(rows);
}

/** Prints a deploy's or rollback's outcome; a failure is thrown for the CLI's one error handler. */
export async function reportOperation(io: Io, outcome: OperationReport, verb: string): Promise<void> {
  // Loaded already: the deploy ran through them.
  const { failureOf } = await import('../execute/operation.js');
  const { liveRelease } = await import('../plan/types.js');
  const failure = failureOf(outcome.results);
  if (outcome.results.length > 1) io.err(hostTable(outcome, failure));
  for (const result of outcome.results) {
    for (const section of result.outcome.reports ?? []) {
      io.err(`${result.host}: ${section.title}:`);
      for (const line of section.lines) io.err(`  | ${line}`);
    }
  }
  if (failure) {
    for (const result of outcome.results) {
      if (result.switchedBack) io.err(`${result.host}: switched back to ${result.plan.from ?? '(nothing: first deploy stopped)'}`);
    }
    throw failure;
  }
  for (const result of outcome.results) {
    const unfinished = result.outcome.unfinished;
    if (unfinished) io.err(`warning: ${result.host}: "${unfinished.step}" stopped (exit ${unfinished.exitCode}) after the release passed its checks: it stays live; the next deploy removes what is left${unfinished.outputTail.length > 0 ? `\n  | ${unfinished.outputTail.join('\n  | ')}` : ''}`);
  }
  const to = liveRelease(outcome.plan);
  io.out(`${verb} ${outcome.plan.env}: ${to} is live on ${outcome.results.length} host(s) in ${(outcome.durationMs / 1000).toFixed(1)}s`);
}

/** audit.on_deploy: the audit printed before a deploy, and with `block` a refusal when it finds too much or cannot look. */
export async function auditGate(io: Io, loaded: LoadedConfig, ref: string | undefined): Promise<void> {
  const { on_deploy: mode, severity } = loaded.config.audit;
  if (mode === 'off') return;
  const { auditRelease } = await import('../execute/audit.js');
  const { auditText, auditVerdict } = await import('../plan/audit.js');
  const parts = await auditRelease(loaded, ref);
  for (const line of auditText(parts, severity).split('\n')) io.err(`audit: ${line}`);
  const verdict = auditVerdict(parts, severity);
  if (mode !== 'block' || (verdict.blocking.length === 0 && verdict.unchecked.length === 0)) return;
  const why = verdict.blocking.length > 0 ? `${verdict.blocking.length} known vulnerabilit${verdict.blocking.length === 1 ? 'y' : 'ies'} at or above ${severity}` : `${verdict.unchecked.map((p) => p.what).join(', ')} could not be checked`;
  throw new UserError(`deploy refused by audit.on_deploy: block: ${why}`, 'update the dependencies (the audit above names them), lower audit.severity, or deploy --skip-audit to go ahead this once');
}

export function registerDeployCommands(program: Command, io: Io, argv: readonly string[]): void {
  const globals = () => program.opts<GlobalOptions>();

  program
    .command('audit')
    .description('known vulnerabilities of the dependencies a deploy of <env> would ship (npm\'s lockfile, Python requirements with pip-audit); exit 1 when one is at or above audit.severity')
    .argument('<env>', 'environment')
    .option('--ref <ref>', 'branch, tag or commit (default: project.branch)')
    .option('--json', 'machine-readable output')
    .action(async (env: string, options: { ref?: string; json?: boolean }) => {
      const { auditRelease } = await import('../execute/audit.js');
      const { auditText, auditVerdict } = await import('../plan/audit.js');
      const loaded = await load(io, env, globals());
      const parts = await auditRelease(loaded, options.ref);
      const { severity } = loaded.config.audit;
      io.out(options.json ? JSON.stringify({ severity, parts }, null, 2) : auditText(parts, severity));
      if (auditVerdict(parts, severity).blocking.length > 0) process.exitCode = 1;
    });

  program
    .command('deploy')
    .description('build a new release on every server, switch to it when healthy, roll back automatically when not')
    .argument('<env>', 'environment: reads deploy.yml + deploy-<env>.yml')
    .option('--ref <ref>', 'branch, tag or commit to deploy (default: project.branch)')
    .option('--repo <repo>', 'repository to deploy instead of project.repo (URL or local path)')
    .option('--lock-wait <seconds>', 'wait this long for a running deploy to finish', lockWaitOption, '0')
    .option('--host <name>', 'only this server')
    .option('--full', 'run every release check (collectstatic, check --deploy, migrate --check, smoke test), even those whose inputs did not change since a good release')
    .option('--skip-audit', 'deploy without the audit that audit.on_deploy asks for, this once')
    .action(async (env: string, options: { ref?: string; repo?: string; lockWait: string; host?: string; full?: boolean; skipAudit?: boolean }) => {
      const { deploy } = await import('../execute/deploy.js');
      const loaded = await load(io, env, globals(), options.repo);
      if (!options.skipAudit) await auditGate(io, loaded, options.ref);
      const outcome = await deploy(operationContext(io, loaded, { ...globals(), ...options }, 'deploy', argv), options.ref, { full: options.full === true });
      await reportOperation(io, outcome, 'deployed');
    });

  program
    .command('promote')
    .description('deploy to <to-env> exactly the commit live and healthy on <from-env> (refused, with the reason, when it is not)')
    .argument('<from-env>', 'environment whose live commit is promoted, e.g. staging')
    .argument('<to-env>', 'environment deployed to, e.g. prod')
    .option('--lock-wait <seconds>', 'wait this long for a running deploy of <to-env> to finish', lockWaitOption, '0')
    .action(async (fromEnv: string, toEnv: string, options: { lockWait: string }) => {
      if (fromEnv === toEnv) throw new UserError(`promote from ${fromEnv} to itself: name two environments`, 'e.g. slipway promote staging prod');
      const { hostStatuses } = await import('../execute/status.js');
      const { layoutForRef } = await import('../execute/operation.js');
      const { promotedFrom, promotionSource } = await import('../plan/promotion.js');
      const from = await load(io, fromEnv, globals());
      const source = promotionSource(fromEnv, await hostStatuses({ loaded: from }, layoutForRef(from, undefined)));
      io.err(`promoting ${source.sha.slice(0, 7)}${source.ref ? ` (${source.ref})` : ''} from ${fromEnv} (release ${source.release}, ok and healthy on every server) to ${toEnv}`);
      const { deploy } = await import('../execute/deploy.js');
      const loaded = await load(io, toEnv, globals());
      const outcome = await deploy(operationContext(io, loaded, { ...globals(), ...options }, 'deploy', argv), source.sha, { promotedFrom: promotedFrom(source) });
      await reportOperation(io, outcome, 'promoted to');
    });

  program
    .command('rollback')
    .description('switch back to the previous good release (or the one named) and mark the abandoned one bad')
    .argument('<env>', 'environment')
    .argument('[release]', 'release id (or its unique prefix or sha7 suffix)')
    .option('--branch <branch>', 'for per-branch environments: which branch')
    .option('--lock-wait <seconds>', 'wait this long for a running deploy to finish', lockWaitOption, '0')
    .action(async (env: string, release: string | undefined, options: { branch?: string; lockWait: string }) => {
      const { rollback } = await import('../execute/deploy.js');
      const loaded = await load(io, env, globals());
      const outcome = await rollback(operationContext(io, loaded, { ...globals(), ...options }, 'rollback', argv), release, options.branch);
      await reportOperation(io, outcome, 'rolled back');
    });

  program
    .command('plan')
    .description('print the exact commands a deploy would run on each server; nothing changes')
    .argument('<env>', 'environment')
    .option('--ref <ref>', 'branch, tag or commit')
    .option('--rollback [release]', 'plan a rollback instead of a deploy')
    .option('--format <format>', 'text, md (a runbook to follow by hand) or json', 'text')
    .option('--json', 'same as --format json')
    .option('--full', 'plan a deploy --full: every release check runs')
    .action(async (env: string, options: { ref?: string; rollback?: string | boolean; format: string; json?: boolean; full?: boolean }) => {
      const { preview } = await import('../execute/deploy.js');
      const { planJson, planMarkdown, planText } = await import('../render/plan.js');
      const format = options.json ? 'json' : options.format;
      if (!['text', 'md', 'json'].includes(format)) throw new UserError(`--format must be text, md or json, got ${format}`);
      const loaded = await load(io, env, globals());
      const ctx = operationContext(io, loaded, globals(), 'plan', argv);
      const requested = typeof options.rollback === 'string' ? options.rollback : undefined;
      const plan = await preview(ctx, options.rollback ? 'rollback' : 'deploy', options.ref, requested, { full: options.full === true });
      io.out(format === 'json' ? planJson(plan) : format === 'md' ? planMarkdown(plan) : planText(plan));
    });
}
