// A plan shown to a person (text), followed by hand (Markdown runbook) or read by a program (JSON).
// All three show the same commands the executor runs, with secret values redacted.
import type { Carried, Step } from '../ops/command.js';
import { renderCmd } from '../ops/shell.js';
import type { Target } from '../plan/target.js';
import { liveRelease, type BatchGuard, type HostPlan, type Plan } from '../plan/types.js';

const commandsOf = (step: Step) => step.commands.map((c) => renderCmd(c, { redact: true }));
/** The deployer command whose output a step carries, as every format shows it. */
const madeBy = (carried: Carried) => renderCmd(carried.make, { redact: true });

/** A Markdown code block whose fence is longer than any run of backticks inside (a hook may contain ```). */
function codeBlock(lines: string[]): string[] {
  const longest = Math.max(2, ...lines.map((l) => Math.max(0, ...(l.match(/`+/g) ?? []).map((run) => run.length))));
  const fence = '`'.repeat(longest + 1);
  return [`${fence}sh`, ...lines, fence];
}

function describeTarget(target: Target): string {
  if (target.kind === 'local') return 'this machine';
  return `ssh ${target.user ? `${target.user}@` : ''}${target.host}${target.port ? ` -p ${target.port}` : ''}`;
}

/** The plan's first line: what is deployed (or rolled back to) where. */
export function headline(plan: Plan): string {
  const to = liveRelease(plan);
  if (plan.action === 'deploy') return `deploy ${plan.env}: ${plan.ref} (${plan.sha?.slice(0, 7)}) as release ${to}`;
  return `rollback ${plan.env} to ${to}`;
}

/** What a step carries, as the plan shows it: the command on this machine whose output the agent writes on the host. */
const carriedLines = (step: Step) => (step.carries ? [`# on this machine, its output sent with the script to ${step.carries.into}:`, ...madeBy(step.carries).split('\n').map((l) => `#   ${l}`)] : []);

function stepsText(steps: Step[], start: number): string[] {
  return steps.flatMap((step, i) => [
    `## ${start + i}. ${step.title}${step.runsOn === 'deployer' ? '  [on this machine]' : ''}`,
    ...carriedLines(step),
    ...commandsOf(step),
  ]);
}

export function planText(plan: Plan): string {
  const lines = [`Plan: ${headline(plan)}`, ...(plan.notes ?? []).map((note) => `# ${note}`)];
  for (const host of plan.hosts) {
    lines.push('', `== ${host.target.label} (${describeTarget(host.target)}) ==`, `# holds ${host.layout.lockFile} from connect to finish`);
    lines.push(...host.warnings.map((w) => `# warning: ${w}`));
    lines.push(...stepsText(host.steps, 1));
    if (host.onFailureBeforeSwitch.length > 0) lines.push('# if a step before the switch fails:', ...host.onFailureBeforeSwitch.flatMap(commandsOf));
    lines.push(`# if a step from the switch to step ${host.commitIndex} fails (or the server stops then: run at its next boot):`, ...host.onFailureAfterSwitch.flatMap(commandsOf));
    lines.push(`# if step ${host.commitIndex + 1} or a later one fails, the new release stays (it passed its checks):`, ...host.onInterruptedCommit.flatMap(commandsOf));
  }
  for (const { batch, side, guard } of guardsOf(plan)) {
    const when = side === 'after' && mergedAfter(plan, batch, guard) ? `if batch ${batch + 1} fails (otherwise batch ${batch + 2}'s step puts them back)` : `${side} batch ${batch + 1} switches`;
    lines.push('', `== ${plan.hosts[guard.host]!.target.label}, ${when} (${batchLabels(plan, batch)}) ==`, ...stepsText(guard[side], 1));
  }
  return `${lines.join('\n')}\n`;
}

/** Load balancer steps around the switch batches, in the order they run. */
function guardsOf(plan: Plan) {
  return (plan.guards ?? []).flatMap((guards, batch) => (['before', 'after'] as const).flatMap((side) => guards.map((guard) => ({ batch, side, guard }))));
}

/** A guard's `after` that the next batch's `before` on the same load balancer makes unneeded, unless the batch fails. */
const mergedAfter = (plan: Plan, batch: number, guard: BatchGuard) => (plan.guards?.[batch + 1] ?? []).some((next) => next.host === guard.host);

const batchLabels = (plan: Plan, batch: number) => (plan.batches?.[batch] ?? []).map((i) => plan.hosts[i]!.target.label).join(', ');

function hostRunbook(host: HostPlan): string[] {
  const lines = [`## ${host.target.label}`, '', `Connect: \`${describeTarget(host.target)}\`. Take the deploy lock first so no automated deploy runs meanwhile:`, '', ...codeBlock([`exec 9>>${host.layout.lockFile} && flock -n 9`]), ''];
  host.steps.forEach((step, i) => {
    if (i === host.switchIndex) lines.push('From here on, traffic moves to the new release. If a step fails, switch back (below).', '');
    if (i === host.commitIndex) lines.push('The new release passed its checks and serves: from here on it stays. If a step fails, the next deploy finishes it.', '');
    lines.push(`### ${i + 1}. ${step.title}${step.runsOn === 'deployer' ? ' (on your own machine, not the server)' : ''}`, '');
    if (step.carries) {
      const file = step.carries.into.slice(step.carries.into.lastIndexOf('/') + 1);
      lines.push(`On your own machine, in the repository: make the file, then copy it to the server as \`${step.carries.into}\` (scp):`, '', ...codeBlock([renderCmd({ ...step.carries.make, stdoutTo: file }, { redact: true })]), '', 'Then on the server:', '');
    }
    lines.push(...codeBlock(commandsOf(step)), '');
  });
  if (host.onFailureBeforeSwitch.length > 0) {
    lines.push('### If a step before the switch failed', '', ...codeBlock(host.onFailureBeforeSwitch.flatMap(commandsOf)), '');
  }
  lines.push('### If a step after the switch failed', '', ...codeBlock(host.onFailureAfterSwitch.flatMap(commandsOf)), '');
  return lines;
}

export function planMarkdown(plan: Plan): string {
  const lines = [
    `# Runbook: ${headline(plan)}`,
    '',
    'Generated by `slipway plan --format md` from the same plan `slipway deploy` runs. Run each block in order,',
    `as a user who can write the app directory and run ${plan.hosts.some((h) => h.layout.processManager === 'supervisor') ? 'systemctl and supervisorctl' : 'systemctl'}; stop at the first error. Secret values are`,
    'shown as `<redacted: secret values>`: take them from your secrets store.',
    '',
    ...(plan.notes && plan.notes.length > 0 ? [...plan.notes.map((note) => `- ${note[0]!.toUpperCase()}${note.slice(1)}.`), ''] : []),
  ];
  for (const host of plan.hosts) lines.push(...hostRunbook(host));
  const guards = guardsOf(plan);
  if (guards.length > 0) lines.push('## Load balancers around each batch', '', 'Switch the servers batch by batch: on the load balancer, run the first block before the batch and the second once it passed its health check.', '');
  for (const { batch, side, guard } of guards) {
    const when = side === 'after' && mergedAfter(plan, batch, guard) ? `only if batch ${batch + 1} failed` : `${side} batch ${batch + 1}`;
    lines.push(`### ${plan.hosts[guard.host]!.target.label}, ${when} (${batchLabels(plan, batch)})`, '', ...codeBlock(guard[side].flatMap(commandsOf)), '');
  }
  return `${lines.join('\n')}\n`;
}

export function planJson(plan: Plan): string {
  const stepJson = (step: Step) => ({
    id: step.id,
    title: step.title,
    runs_on: step.runsOn ?? 'host',
    ...(step.carries ? { carries: { made_by: madeBy(step.carries), into: step.carries.into } } : {}),
    commands: commandsOf(step),
  });
  return `${JSON.stringify(
    {
      action: plan.action,
      env: plan.env,
      ref: plan.ref,
      sha: plan.sha,
      ...(plan.notes && plan.notes.length > 0 ? { notes: plan.notes } : {}),
      ...(plan.batches && plan.batches.length > 1 ? { batches: plan.batches.map((b) => b.map((i) => plan.hosts[i]!.target.label)) } : {}),
      ...(plan.guards && plan.guards.some((g) => g.length > 0)
        ? { guards: guardsOf(plan).map(({ batch, side, guard }) => ({ batch, side, host: plan.hosts[guard.host]!.target.label, steps: guard[side].map(stepJson) })) }
        : {}),
      hosts: plan.hosts.map((h) => ({
        host: h.target.label,
        root: h.layout.root,
        from: h.from ?? null,
        to: h.to,
        switch_index: h.switchIndex,
        commit_index: h.commitIndex,
        steps: h.steps.map(stepJson),
        on_failure_before_switch: h.onFailureBeforeSwitch.map(stepJson),
        on_failure_after_switch: h.onFailureAfterSwitch.map(stepJson),
        on_interrupted_commit: h.onInterruptedCommit.map(stepJson),
      })),
    },
    null,
    2,
  )}\n`;
}
