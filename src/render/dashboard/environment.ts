// One environment: each server's units, health, disk and monitor; its releases (with a rollback to any good
// one); the deploy history; the .env's key names (never a value); the backups.
import type { HostStatus } from '../../plan/status.js';
import { balancedText, diskText, formatAge, formatSize, historyAction, historyResult, usedPercent } from '../status.js';
import { href, html, type Html } from './html.js';
import { page } from './layout.js';
import { badge, healthCell, lastCell, lockCell, releaseCell, runningNotice } from './overview.js';
import type { EnvironmentDetail, HostHistory, HostReleases, Part, Viewer } from './types.js';
import type { HostEnvKeys } from '../../execute/env.js';
import type { Listing } from '../../execute/backups.js';

function section<T>(title: string, part: Part<T> | undefined, body: (value: T) => Html): Html {
  if (!part) return html``;
  return html`<section class="card"><h2>${title}</h2>${part.ok ? body(part.value) : html`<p class="error">${part.error}</p>`}</section>`;
}

const table = (head: string[], rows: Html[]) => html`<div class="scroll"><table><thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table></div>`;

function serverFacts(s: HostStatus): Html {
  const r = s.resources;
  const facts: [string, Html | string][] = [
    ['release', s.current ? html`${releaseCell(s)} <span class="muted">${s.current.id} (${s.current.status})${s.current.age_seconds !== null ? `, ${formatAge(s.current.age_seconds)} ago` : ''}${s.current.deployed_by ? ` by ${s.current.deployed_by}` : ''}</span>` : 'none deployed'],
    ['health', s.health ? html`${healthCell(s)} <span class="muted">${s.health.url}</span>` : 'no health check recorded'],
    ['lock', lockCell(s)],
    ['last', lastCell(s)],
    ['disk', diskText(s)],
  ];
  if (r?.load) facts.push(['load', r.load.map((n) => n.toFixed(2)).join(' ')]);
  if (r?.memory) facts.push(['memory', `${usedPercent(r.memory.total_kb, r.memory.available_kb)} % used of ${formatSize(r.memory.total_kb)}`]);
  if (r?.filesystem) facts.push(['file system', `${r.filesystem.mount} ${usedPercent(r.filesystem.total_kb, r.filesystem.available_kb)} % full`]);
  if (s.monitor) facts.push(['monitor', html`${badge(s.monitor.state, s.monitor.state === 'ok' ? 'ok' : 'bad')} since ${s.monitor.since}${s.monitor.detail ? `: ${s.monitor.detail}` : ''}`]);
  if (s.drill) facts.push(['restore drill', `${s.drill.result} at ${s.drill.at}${s.drill.detail ? `: ${s.drill.detail}` : ''}`]);
  if (s.singletons && s.singletons.length > 0) facts.push(['singletons', s.singletons.join(', ')]);
  if (s.balances) facts.push(['balances', balancedText(s.balances) || 'no web server']);
  const units = s.units.map((u) => html`<tr><td class="mono">${u.name}</td><td>${badge(u.active, u.active === 'active' ? 'ok' : u.active === 'inactive' ? '' : 'bad')}</td><td>${u.sub}</td><td>${u.pid ?? '-'}</td></tr>`);
  return html`<div class="host" data-host="${s.host}"><h3>${s.host} <span class="muted mono">${s.root}</span></h3>
<dl class="facts">${facts.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
${units.length > 0 ? table([s.process_manager === 'supervisor' ? 'Program' : 'Unit', 'State', 'Sub', 'PID'], units) : html`<p class="muted">no units</p>`}</div>`;
}

function releasesTable(env: string, hosts: HostReleases[]): Html {
  const rows = hosts.flatMap((h) =>
    [...h.releases].reverse().map((r) => {
      const current = r.id === h.current;
      const action = !current && r.status === 'ok' ? html`<a href="${href(`/env/${env}/rollback`, { release: r.id })}">roll back to this…</a>` : current ? html`<strong>current</strong>` : '';
      return html`<tr data-release="${r.id}"><td>${h.host}</td><td class="mono">${r.id}</td><td>${badge(r.status, r.status === 'ok' ? 'ok' : r.status === 'prepared' ? '' : 'bad')}</td><td class="mono">${r.manifest?.sha.slice(0, 7) ?? '-'}</td><td>${r.manifest?.ref ?? '-'}</td><td>${r.manifest?.deployed_by ?? '-'}</td><td>${action}</td></tr>`;
    }),
  );
  return rows.length > 0 ? table(['Server', 'Release', 'Status', 'Commit', 'Ref', 'Deployed by', ''], rows) : html`<p class="muted">No releases yet.</p>`;
}

function historyTable(hosts: HostHistory[]): Html {
  const rows = hosts.flatMap((h) =>
    [...h.entries].reverse().map((e) => {
      return html`<tr><td>${h.host}</td><td class="mono">${e.at}</td><td>${historyAction(e)}</td><td>${badge(historyResult(e), e.result === 'ok' ? 'ok' : 'bad')}</td><td class="mono">${e.from ?? '-'}</td><td class="mono">${e.to ?? '-'}</td><td>${e.ref ?? '-'}</td><td>${e.user}@${e.machine}</td><td>${(e.duration_ms / 1000).toFixed(1)}s</td></tr>`;
    }),
  );
  return rows.length > 0 ? table(['Server', 'When', 'Action', 'Result', 'From', 'To', 'Ref', 'By', 'Time'], rows) : html`<p class="muted">No history yet.</p>`;
}

function envKeysList(hosts: HostEnvKeys[]): Html {
  return html`${hosts.map((h) => html`<p><strong>${h.host}</strong>: ${h.keys === undefined ? html`<span class="muted">no .env</span>` : h.keys.length === 0 ? html`<span class="muted">empty</span>` : h.keys.map((k, i) => html`${i > 0 ? ', ' : ''}<code>${k}</code>`)}</p>`)}
<p class="muted">Key names only: values are never read into the dashboard.</p>`;
}

function backupsList(listing: Listing): Html {
  const rows = listing.hosts.flatMap((h) => [...h.backups].reverse().slice(0, 20).map((b) => html`<tr><td>${h.host}</td><td class="mono">${b.name}</td><td>${b.kind}</td><td>${formatSize(Math.round(b.size / 1024))}</td><td class="mono">${b.at.toISOString()}</td></tr>`));
  const copies = listing.copies.map((c) => html`<li>${c.name}: ${c.unlisted ? c.unlisted : `${c.listing.files.length} cop${c.listing.files.length === 1 ? 'y' : 'ies'}`}</li>`);
  return html`${rows.length > 0 ? table(['Server', 'Backup', 'Kind', 'Size', 'Made'], rows) : html`<p class="muted">No backups yet.</p>`}${copies.length > 0 ? html`<h3>Off-server copies</h3><ul>${copies}</ul>` : ''}`;
}

export function environmentPage(d: EnvironmentDetail, viewer: Viewer): Html {
  const body = html`<h1>${d.name} <span class="muted">· ${d.project}</span></h1>
<p class="muted mono">${d.files.join(' + ')}</p>
${runningNotice(d.running)}
<p class="actions"><a class="button" href="/env/${d.name}/deploy">Deploy…</a><a class="button secondary" href="/env/${d.name}/rollback">Roll back…</a><a class="button secondary" href="/env/${d.name}/handoff">Handoff note…</a></p>
${section('Servers', d.statuses, (hosts) => html`${hosts.map(serverFacts)}`)}
${section('Releases', d.releases, (hosts) => releasesTable(d.name, hosts))}
${section('History', d.history, historyTable)}
${section('Environment variables', d.envKeys, envKeysList)}
${section('Backups', d.backups, backupsList)}`;
  return page({ title: d.name, viewer, body });
}
