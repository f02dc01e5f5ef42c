// Reading what a deploy ran (its log under .slipway/logs) and what `plan --json` said it would run, in one
// shape so a test can compare them.
//
// A log holds each run as `### <host> run\n<text>### end`: a script of host steps, each introduced by
// `echo '##slipway-step <id>'` (after a preamble: strict mode, traps, the script's self-recovery), or
// `# on the deployer\n<command>` for a step run on this machine.

export interface RanStep {
  host: string;
  /** The step id, or `(deployer)` for a step run on the deployer (the log does not name it). */
  id: string;
  /** The step's commands as shell text, one after the other. */
  text: string;
}

export interface Run {
  host: string;
  steps: RanStep[];
}

const RUN = /^### (\S+) run\n([\s\S]*?)^### end$/gm;
const STEP = /^echo '##slipway-step ([^']+)'$/;
const DEPLOYER = '# on the deployer\n';
/**
 * The script's own bookkeeping (which part of it ran, and the step it is in, for its self-recovery and the
 * history line it writes then), not a command of a step.
 */
const BOOKKEEPING = /^slipway_(step=.*|at_switch|at_commit)$/;

export function parseRuns(log: string): Run[] {
  const runs: Run[] = [];
  for (const [, host, text] of log.matchAll(RUN)) {
    if (text!.startsWith(DEPLOYER)) {
      runs.push({ host: host!, steps: [{ host: host!, id: '(deployer)', text: text!.slice(DEPLOYER.length).trimEnd() }] });
      continue;
    }
    const steps: RanStep[] = [];
    for (const line of text!.trimEnd().split('\n')) {
      const marker = STEP.exec(line);
      if (marker) steps.push({ host: host!, id: marker[1]!, text: '' });
      else if (steps.length > 0 && !BOOKKEEPING.test(line)) {
        const step = steps[steps.length - 1]!;
        step.text = step.text ? `${step.text}\n${line}` : line;
      }
    }
    runs.push({ host: host!, steps });
  }
  return runs;
}

interface PlanJson {
  hosts: { host: string; to: string; steps: { id: string; runs_on: string; commands: string[] }[] }[];
}

export function plannedSteps(planJson: string): { to: string; steps: RanStep[] }[] {
  const plan = JSON.parse(planJson) as PlanJson;
  return plan.hosts.map((h) => ({
    to: h.to,
    steps: h.steps.map((s) => ({ host: h.host, id: s.runs_on === 'deployer' ? '(deployer)' : s.id, text: s.commands.join('\n') })),
  }));
}

/**
 * The release id and the manifest's created_at both come from the clock at planning time, so a plan and the
 * deploy that follows differ there and nowhere else.
 */
export function withoutTimestamps(steps: RanStep[], releaseId: string): RanStep[] {
  return steps.map((s) => ({
    ...s,
    text: s.text.replaceAll(releaseId, '<release>').replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>'),
  }));
}
