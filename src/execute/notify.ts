// Delivering notifications to the config's webhooks, from the machine running slipway: every hook in parallel,
// 5 s per try, 3 tries. A hook that cannot be reached is a warning naming it by its place in the config
// (notify[0]), never by its URL, and never fails the operation.
import type { Config } from '../config/types.js';
import { notificationBody, type HostOutcome, type Notification } from '../plan/notify.js';
import type { HostResult } from './operation.js';
import type { Redactor } from './redact.js';

export const NOTIFY_TIMEOUT_MS = 5000;
const RETRY_DELAYS_MS = [500, 1500];

/** `hook`: the webhook's place in the config, `notify[0]`. */
export type Warn = (hook: string, text: string) => void;

async function post(url: string, body: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(NOTIFY_TIMEOUT_MS), redirect: 'error' });
    await response.body?.cancel();
    return response.ok ? undefined : `HTTP ${response.status}`;
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return `no answer within ${NOTIFY_TIMEOUT_MS / 1000} s`;
    // The network's own code (ECONNREFUSED, ENOTFOUND); never fetch's message, which may quote the URL.
    return (error as { cause?: { code?: string } }).cause?.code ?? 'the request could not be made';
  }
}

/** Sends `notification` to every hook that wants its event; resolves once each was delivered or given up. */
export async function notify(hooks: Config['notify'], notification: Notification, warn: Warn, delays: readonly number[] = RETRY_DELAYS_MS): Promise<void> {
  await Promise.all(
    hooks.map(async (hook, i) => {
      if (!hook.events.includes(notification.event)) return;
      if (!/^https?:\/\//.test(hook.url)) {
        warn(`notify[${i}]`, 'not sent: its url is not an http:// or https:// URL');
        return;
      }
      const body = notificationBody(notification, hook.format);
      let problem = await post(hook.url, body);
      for (const delay of delays) {
        if (problem === undefined) return;
        await new Promise((resolve) => setTimeout(resolve, delay));
        problem = await post(hook.url, body);
      }
      if (problem !== undefined) warn(`notify[${i}]`, `the ${notification.event} notification was not delivered (${problem}, ${delays.length + 1} tries)`);
    }),
  );
}

/** Each host's part as a notification tells it: its failing step and last lines, secrets replaced. */
export function hostOutcomes(results: readonly HostResult[], redactor: Redactor): HostOutcome[] {
  return results.map((r) => {
    const error = r.outcome.error;
    return {
      host: r.host,
      ok: r.outcome.ok,
      switchedBack: r.switchedBack,
      ...(error && !r.outcome.ok ? { step: error.step, error: `exit ${error.exitCode}`, output: error.outputTail.map((l) => redactor.redact(l)) } : {}),
    };
  });
}
