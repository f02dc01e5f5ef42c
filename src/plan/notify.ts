// What a deploy or rollback tells its webhooks (pure): the events an operation's outcome makes, and each
// event as JSON or as a chat message. Nothing secret goes in: no URL, and output lines pass the redactor first.
import type { Config } from '../config/types.js';
import type { Plan } from './types.js';

export type NotifyEvent = 'start' | 'success' | 'failure' | 'switch_back' | 'rollback';

/** How one host's part ended, as the executor reports it. */
export interface HostOutcome {
  host: string;
  ok: boolean;
  switchedBack: boolean;
  /** The failing step's title and its last output lines (redacted). */
  step?: string;
  output?: string[];
  error?: string;
}

export interface Notification {
  event: NotifyEvent;
  action: 'deploy' | 'rollback';
  app: string;
  env: string;
  ref: string | null;
  sha: string | null;
  /** The release made live (or attempted). */
  release: string | null;
  from: string | null;
  user: string;
  machine: string;
  at: string;
  duration_ms?: number;
  hosts: HostOutcome[];
  /** One line for people: what a chat message shows. */
  text: string;
}

export interface NotifyContext {
  config: Pick<Config, 'project' | 'environment'>;
  plan: Pick<Plan, 'action' | 'ref' | 'sha' | 'hosts' | 'release'>;
  user: string;
  machine: string;
  at: Date;
}

const release = (plan: NotifyContext['plan']) => plan.release ?? plan.hosts[0]?.to ?? null;
const short = (sha: string | null) => (sha ? sha.slice(0, 7) : '');

function base(ctx: NotifyContext, event: NotifyEvent, text: string, hosts: HostOutcome[], durationMs?: number): Notification {
  const { plan } = ctx;
  return {
    event,
    action: plan.action === 'rollback' ? 'rollback' : 'deploy',
    app: ctx.config.project.name,
    env: ctx.config.environment,
    ref: plan.ref,
    sha: plan.sha,
    release: release(plan),
    from: plan.hosts[0]?.from ?? null,
    user: ctx.user,
    machine: ctx.machine,
    at: ctx.at.toISOString(),
    ...(durationMs !== undefined ? { duration_ms: durationMs } : {}),
    hosts,
    text,
  };
}

const what = (ctx: NotifyContext) => {
  const { plan } = ctx;
  const target = plan.action === 'rollback' ? `a rollback to ${release(plan) ?? 'the previous release'}` : `a deploy of ${plan.ref ?? ''} (${short(plan.sha)})`;
  return `${ctx.config.project.name} ${ctx.config.environment}: ${target}`;
};

/** Sent once the plan is made, before anything runs on a server. */
export function startNotification(ctx: NotifyContext): Notification {
  const hosts = ctx.plan.hosts.map((h) => ({ host: h.target.label, ok: true, switchedBack: false }));
  return base(ctx, 'start', `${what(ctx)} by ${ctx.user}@${ctx.machine} started on ${hosts.length} server(s)`, hosts);
}

/** The events an ended operation makes: success (or rollback), or failure, and switch_back when a host went back. */
export function outcomeNotifications(ctx: NotifyContext, hosts: HostOutcome[], durationMs: number): Notification[] {
  const seconds = `${(durationMs / 1000).toFixed(1)} s`;
  const failed = hosts.filter((h) => !h.ok);
  const rollback = ctx.plan.action === 'rollback';
  if (failed.length === 0) {
    const done = rollback ? `${what(ctx)} is live` : `${what(ctx)} is live as ${release(ctx.plan) ?? ''}`;
    return [base(ctx, rollback ? 'rollback' : 'success', `${done} on ${hosts.length} server(s), in ${seconds}`, hosts, durationMs)];
  }
  const first = failed[0]!;
  const why = `${first.step ? `${first.step} failed on ${first.host}` : `failed on ${first.host}`}${first.error ? `: ${first.error}` : ''}`;
  const events = [base(ctx, 'failure', `${what(ctx)} failed after ${seconds}: ${why}`, hosts, durationMs)];
  const back = hosts.filter((h) => h.switchedBack).map((h) => h.host);
  if (back.length > 0) events.push(base(ctx, 'switch_back', `${what(ctx)}: ${back.join(', ')} switched back to ${ctx.plan.hosts[0]?.from ?? 'the previous release'} by themselves`, hosts, durationMs));
  return events;
}

/** The body a webhook gets: the event itself, or a chat message. */
export function notificationBody(notification: Notification, format: 'json' | 'slack'): string {
  if (format === 'json') return JSON.stringify(notification);
  const lines = [notification.text, ...notification.hosts.flatMap((h) => (h.output && h.output.length > 0 ? [`${h.host}:`, '```', ...h.output, '```'] : []))];
  return JSON.stringify({ text: lines.join('\n') });
}

/** What `plan` says of the webhooks: which are told, of what (the URLs stay out). */
export function notifyNotes(hooks: Config['notify'], action: 'deploy' | 'rollback'): string[] {
  // The monitor's alert and recovery, and the restore drill's result, come from the servers between deploys,
  // never from this operation.
  const fromServers = ['alert', 'recovery', 'drill'];
  const events = (e: readonly string[]) => e.filter((x) => !fromServers.includes(x) && (action === 'rollback' ? x !== 'success' : x !== 'rollback'));
  return hooks.flatMap((hook, i) => (events(hook.events).length > 0 ? [`notify[${i}] (${hook.format}) is told of: ${events(hook.events).join(', ')}`] : []));
}
