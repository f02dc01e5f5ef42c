// The overview: every environment of the config directory, what runs there, whether it is healthy, who holds
// its lock and how its last deploy ended.
import type { HostStatus } from '../../plan/status.js';
import { formatAge } from '../status.js';
import { html, type Html } from './html.js';
import { page } from './layout.js';
import type { EnvironmentSummary, RunHeader, Viewer } from './types.js';

/** The environment's state in one word, with the badge's colour. */
export function environmentState(summary: Pick<EnvironmentSummary, 'hosts' | 'error'>): { label: string; tone: 'ok' | 'bad' | 'warn' | '' } {
  if (summary.error) return { label: 'unreachable', tone: 'bad' };
  if (summary.hosts.length === 0) return { label: 'no servers', tone: 'warn' };
  const deployed = summary.hosts.filter((h) => h.current);
  if (deployed.length === 0) return { label: 'not deployed', tone: 'warn' };
  if (summary.hosts.some((h) => h.health && !h.health.ok)) return { label: 'failing', tone: 'bad' };
  if (summary.hosts.some((h) => h.lock.state === 'held')) return { label: 'deploying', tone: 'warn' };
  return { label: 'healthy', tone: 'ok' };
}

export function badge(label: string, tone: string): Html {
  return html`<span class="badge ${tone}">${label}</span>`;
}

export function releaseCell(h: HostStatus): Html {
  const c = h.current;
  if (!c) return html`<span class="muted">none</span>`;
  return html`<span class="mono">${c.sha?.slice(0, 7) ?? c.id}</span>${c.ref ? html` <span class="muted">${c.ref}</span>` : ''}`;
}

export function healthCell(h: HostStatus): Html {
  if (!h.health) return html`<span class="muted">-</span>`;
  return badge(h.health.ok ? 'ok' : `${h.health.status ?? 'no answer'}`, h.health.ok ? 'ok' : 'bad');
}

export function lockCell(h: HostStatus): string {
  const holder = h.lock.holder;
  if (h.lock.state !== 'held') return h.lock.state;
  return holder ? `held by ${String(holder.user)}@${String(holder.machine)}` : 'held';
}

export function lastCell(h: HostStatus): string {
  const l = h.last;
  if (!l) return '-';
  return `${l.action} ${l.result}${l.outcome ? ` (${l.outcome})` : ''}`;
}

export function runningNotice(run: RunHeader | undefined): Html {
  if (!run) return html``;
  return html`<p class="notice">${run.action} of ${run.what} by ${run.user} is running — <a href="/runs/${run.id}">follow it</a></p>`;
}

function environmentCard(e: EnvironmentSummary): Html {
  const state = environmentState(e);
  const rows = e.hosts.map(
    (h) => html`<tr><td>${h.host}</td><td>${releaseCell(h)}</td><td>${h.current?.age_seconds != null ? `${formatAge(h.current.age_seconds)} ago` : '-'}</td><td>${h.current?.deployed_by ?? '-'}</td><td>${healthCell(h)}</td><td>${lockCell(h)}</td><td>${lastCell(h)}</td></tr>`,
  );
  return html`<section class="card env" data-env="${e.name}">
<h2><a href="/env/${e.name}">${e.name}</a> ${badge(state.label, state.tone)}</h2>
<p class="muted">${e.project ? `project ${e.project}` : ''}${e.servers !== undefined ? ` · ${e.servers} server${e.servers === 1 ? '' : 's'}` : ''}</p>
${e.error ? html`<p class="error">${e.error}</p>` : ''}
${runningNotice(e.running)}
${rows.length > 0 ? html`<div class="scroll"><table><thead><tr><th>Server</th><th>Release</th><th>Age</th><th>By</th><th>Health</th><th>Lock</th><th>Last</th></tr></thead><tbody>${rows}</tbody></table></div>` : ''}
<p class="actions"><a class="button" href="/env/${e.name}/deploy">Deploy…</a><a class="button secondary" href="/env/${e.name}">Details</a></p>
</section>`;
}

export function overviewPage(environments: readonly EnvironmentSummary[], viewer: Viewer, dir: string): Html {
  const body =
    environments.length === 0
      ? html`<h1>Environments</h1><p class="notice">No deploy-&lt;env&gt;.yml in ${dir}: start one with <code>slipway init</code>.</p>`
      : html`<h1>Environments</h1><p class="muted">${dir}</p><div class="cards">${environments.map(environmentCard)}</div>`;
  return page({ title: 'Environments', viewer, body });
}
