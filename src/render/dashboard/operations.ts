// The deploy and rollback pages (choose, read the exact plan, confirm), the page of a run streaming its steps,
// and the handoff note.
import { href, html, type Html } from './html.js';
import { page } from './layout.js';
import { runningNotice } from './overview.js';
import type { HandoffView, PlanView, Refs, RunEvent, RunView, Viewer } from './types.js';

function refPicker(refs: Refs | undefined, name: string, value: string): Html {
  const options = refs ? [...refs.branches.map((b) => ({ ref: b, kind: 'branch' })), ...refs.tags.map((t) => ({ ref: t, kind: 'tag' }))] : [];
  return html`<input type="text" name="${name}" list="refs" value="${value}" placeholder="${refs?.default ?? 'branch, tag or commit'}" autocomplete="off" spellcheck="false">
<datalist id="refs">${options.map((o) => html`<option value="${o.ref}">${o.kind}</option>`)}</datalist>`;
}

function confirmForm(view: PlanView, viewer: Viewer): Html {
  const plan = view.plan!;
  const hidden = (name: string, value: string | null | undefined) => (value ? html`<input type="hidden" name="${name}" value="${value}">` : '');
  const label = view.action === 'deploy' ? `Deploy ${plan.sha?.slice(0, 7) ?? ''} to ${view.env}` : `Roll ${view.env} back to ${plan.release ?? ''}`;
  return html`<form method="post" action="/env/${view.env}/${view.action}" class="actions">
<input type="hidden" name="csrf" value="${viewer.csrf}">
${hidden('ref', view.action === 'deploy' ? view.requested || undefined : undefined)}${hidden('sha', plan.sha)}${hidden('release', plan.release)}${view.full ? hidden('full', '1') : ''}
<button type="submit">${label}</button><a class="button secondary" href="/env/${view.env}">Cancel</a>
</form>`;
}

export function planPage(view: PlanView, viewer: Viewer): Html {
  const deploying = view.action === 'deploy';
  const chooser = deploying
    ? html`<form method="get" action="/env/${view.env}/deploy" class="card">
<h2>What to deploy</h2>
<p class="actions"><label>Ref ${refPicker(view.refs, 'ref', view.requested)}</label>
<label><input type="checkbox" name="full" value="1"${view.full ? html` checked` : ''}> every check (--full)</label>
<button type="submit" class="secondary">Show the plan</button></p>
</form>`
    : html`<form method="get" action="/env/${view.env}/rollback" class="card">
<h2>Roll back to</h2>
<p class="actions"><select name="release"><option value="">the previous good release</option>${(view.choices ?? []).map((c) => html`<option value="${c.id}"${c.id === view.requested ? html` selected` : ''}>${c.label}</option>`)}</select>
<button type="submit" class="secondary">Show the plan</button></p>
</form>`;
  const plan = view.plan
    ? html`<section class="card"><h2>${view.plan.headline}</h2>
<p class="muted">The exact commands, as <code>slipway plan${deploying ? '' : ' --rollback'}</code> prints them. Nothing has run yet; it is planned again under the lock when you confirm.</p>
<pre class="plan">${view.plan.text}</pre>
${view.running ? '' : confirmForm(view, viewer)}</section>`
    : '';
  const body = html`<h1>${deploying ? 'Deploy' : 'Roll back'} ${view.env}</h1>
${runningNotice(view.running)}
${chooser}
${view.error ? html`<p class="error">${view.error}</p>` : ''}
${plan}`;
  return page({ title: `${deploying ? 'Deploy' : 'Roll back'} ${view.env}`, viewer, body });
}

export function eventItem(e: RunEvent): Html {
  return html`<li id="event-${e.seq}" class="${e.kind}"><span class="t">${e.seconds.toFixed(1)}s</span><span class="h">${e.host ?? ''}</span><span class="x">${e.text}</span></li>`;
}

export function runPage(run: RunView, viewer: Viewer): Html {
  const tone = run.state === 'ok' ? 'ok' : run.state === 'failed' ? 'bad' : 'warn';
  const stream = run.state === 'running' ? html` data-stream="/runs/${run.id}/events?after=${run.events.at(-1)?.seq ?? 0}"` : '';
  const body = html`<h1>${run.action} ${run.env}: ${run.what} <span id="run-state" class="badge ${tone}">${run.state}</span></h1>
<p class="muted">started by ${run.user} at ${run.startedAt}</p>
<section class="card"><ol class="events"${stream}>${run.events.map(eventItem)}</ol></section>
<p class="actions"><a class="button secondary" href="/env/${run.env}">Back to ${run.env}</a></p>`;
  return page({ title: `${run.action} ${run.env}`, viewer, body, runState: run.state, ...(run.state === 'running' ? { refreshWithoutScript: 2 } : {}) });
}

export function handoffPage(view: HandoffView, viewer: Viewer): Html {
  const body = html`<h1>Handoff note for ${view.env}</h1>
<form method="get" action="${href(`/env/${view.env}/handoff`)}" class="card">
<p class="actions"><label>Deploying ${refPicker(view.refs, 'to', view.to)}</label><button type="submit" class="secondary">Write the note</button></p>
<p class="muted">What deploying that ref by hand needs beyond <code>git pull</code>, with the runbook: the text <code>slipway handoff</code> writes.</p>
</form>
${view.error ? html`<p class="error">${view.error}</p>` : ''}
${view.note ? html`<section class="card"><pre class="handoff">${view.note}</pre></section>` : ''}`;
  return page({ title: `Handoff ${view.env}`, viewer, body });
}

