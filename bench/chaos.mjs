// Faults on purpose, and what they cost (`make chaos`, as root): examples/hello-app behind nginx on sandbox servers,
// one per strategy (blue-green on chaos1, restart on chaos2, run side by side), under a steady load through nginx
// (4 keep-alive clients, GET /, no retry, 3 s timeout, bounded per case in count and time). The cases:
//   kill -9 of slipway at every step boundary of a deploy and of a rollback: the steps come from
//     `slipway plan --json`, and the kill lands when the step's title shows in slipway's progress;
//   the server's link cut 1 s into an after_switch hook (`sleep 8`, or `sleep 25` to outlast the host's 20 s
//     silence limit) for 5 s and for 30 s (longer than ssh's 15 s keep-alive), a blackhole route keeping every
//     packet for the sandbox range on this machine;
//   the server rebooted (systemctl reboot, booted again by the bench) and powered off (every process SIGKILLed)
//     during that hook; the base path's filesystem (a tmpfs) filled during a build hook, then space freed;
//   two deploys started at the same instant from two copies of the repository; a rollback during a deploy.
// After each fault: the host is left to repair (the lock frees) and drain, then one row: failed requests (any non-2xx
// or connection error) with connection resets among them, and apart from them the requests that failed while the
// bench itself had the server unreachable (`+N outage`); the release `current` names and its status, and whether
// nginx serves it; orphans (a unit beyond the serving one, a drain timer still armed, *.slipway-new/-prev/*.tmp
// files, slipway processes left here or on the server); whether a normal deploy then succeeded with no manual step;
// and the history lines the fault left (written by the host itself when slipway was gone). Figures, not pass/fail.
//   sudo node bench/chaos.mjs [--only blue-green|restart] [--cases kill,cut,reboot,disk,lock]
// Boots chaos1 and chaos2 (persistent: a reboot keeps their disks) and always takes them down. Needs `npm run build`
// and the sandbox image (`make sandbox-image`).
import { performance } from 'node:perf_hooks';
import { option } from './lib.mjs';
import { DRAIN, Lane } from './chaos-lane.mjs';
import { otherCases } from './chaos-cases.mjs';
import { addBlackhole, removeBlackhole } from './chaos-tools.mjs';

const BUDGET_MS = 19 * 60_000; // make chaos must end within 20 minutes: later cases are skipped, and said so
const only = option('--only', undefined);
const cases = new Set(option('--cases', 'kill,cut,reboot,disk,lock').split(','));
const started = performance.now();
const overBudget = () => performance.now() - started > BUDGET_MS;
const log = (line) => console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}`);

const lanes = [new Lane('blue-green', 'chaos1'), new Lane('restart', 'chaos2')].filter((l) => !only || l.strategy === only);

async function runLane(lane) {
  const say = (row) =>
    log(`${lane.strategy} ${row.case}: failed ${row.failed}/${row.total} served ${row.served} current ${row.serving} next ${row.next.ok ? 'ok' : `FAILED ${row.next.why}`} history ${row.history} | ${row.command}`);
  await lane.setup();
  log(`${lane.strategy}: files every normal deploy leaves, not counted as orphans: ${lane.steadyFiles.join(' ') || 'none'}`);
  say(await lane.fault('none (a plain deploy)', async () => {
    const target = await lane.commit();
    const r = await lane.cli(['deploy', 'sandbox']);
    return { target, command: `exit ${r.code}` };
  }));
  if (cases.has('kill')) {
    for (const operation of ['deploy', 'rollback']) {
      if (operation === 'deploy') await lane.commit(); // the plan of a deploy that has new code to push
      const titles = await lane.planTitles(operation === 'rollback');
      log(`${lane.strategy} ${operation}: ${titles.length} steps: ${titles.join(' | ')}`);
      for (const title of titles) {
        if (overBudget()) return lane.rows.push({ case: `kill -9 ${operation} @ ${title}`, strategy: lane.strategy, skipped: true });
        say(await lane.killAt(operation, title));
      }
    }
  }
  for (const c of otherCases(lane)) {
    if (!cases.has(c.group)) continue;
    if (overBudget()) {
      lane.rows.push({ case: c.name, strategy: lane.strategy, skipped: true });
      continue;
    }
    say(await c.run());
  }
}

const pad = (s, n) => String(s).padEnd(n);
function printTable(rows) {
  const head = ['case', 'strategy', 'live → new', 'failed/total (resets) +outage', 'current release', 'nginx serves', 'orphans', 'next deploy', 'history of the fault'];
  const body = rows.map((r) =>
    r.skipped
      ? [r.case, r.strategy, '', 'skipped: time budget', '', '', '', '', '']
      : [
          r.case, r.strategy, `${r.before ?? '?'} → ${r.target || '-'}`, `${r.failed}/${r.total} (${r.resets})${r.outage ? ` +${r.outage}` : ''}`, `${r.serving}${r.health ? '' : ' (health failing)'}`,
          r.agree ? 'it' : `${r.served} (not current)`, r.orphans.length ? r.orphans.join('; ') : 'none', r.next.ok ? 'ok' : `FAILED: ${r.next.why}`, r.history,
        ],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => pad(c, widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
  console.log('\nWhat each faulted command printed, and why requests failed:');
  for (const r of rows.filter((x) => !x.skipped)) {
    const reasons = Object.entries(r.reasons).map(([k, v]) => `${k}:${v}`).join(' ');
    console.log(`- ${r.strategy} ${r.case}: ${r.command}${reasons ? ` | failures ${reasons}` : ''} | after: ${r.detail} | ${r.seconds.toFixed(0)} s`);
  }
}

const signals = ['SIGINT', 'SIGTERM'];
const teardown = async () => {
  await removeBlackhole();
  await Promise.allSettled(lanes.map((l) => l.teardown()));
};
for (const s of signals) process.once(s, () => void teardown().finally(() => process.exit(130)));

try {
  await addBlackhole(); // before any link goes down, removed at the end whatever happens
  log(`lanes: ${lanes.map((l) => `${l.strategy} on ${l.server}`).join(', ')}; drain ${DRAIN} s`);
  const results = await Promise.allSettled(lanes.map(runLane));
  results.forEach((r, i) => r.status === 'rejected' && log(`${lanes[i].strategy} lane stopped: ${r.reason?.stack ?? r.reason}`));
  const rows = lanes.flatMap((l) => l.rows);
  printTable(rows);
  console.log(`\nchaos: ${rows.length} cases in ${((performance.now() - started) / 60_000).toFixed(1)} min`);
  if (results.some((r) => r.status === 'rejected')) process.exitCode = 1;
} finally {
  await teardown();
}
