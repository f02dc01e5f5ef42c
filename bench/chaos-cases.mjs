// The chaos bench's cases beyond the kill sweep: link cuts, reboot and power-off, a full disk, and two commands
// racing for the lock. Each returns what the faulted command(s) did; Lane.fault measures the rest.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { must } from './lib.mjs';
import { bootAgain, historyOf, powerOff, sandboxEntry } from './chaos-server.mjs';
import { cliUntil, cutLink, onServer, sleep } from './chaos-tools.mjs';

const firstLine = (text) => text.trim().split('\n').find((l) => /^error|lock|held/i.test(l)) ?? text.trim().split('\n')[0] ?? '';

/** Cases as `{ group, name, run }`, in the order they run on `lane`. */
export function otherCases(lane) {
  const reboot = (how) => async (load) => {
    const { pid } = await sandboxEntry(lane.server, lane.env);
    const end = load.outage();
    try {
      if (how === 'reboot') await onServer(lane.address, 'systemctl reboot', 10_000);
      else await powerOff(lane.server, pid);
      lane.address = await bootAgain(lane.server, pid, lane.env);
      load.retarget(lane.address);
    } finally {
      end();
    }
  };
  return [
    // 8 s hooks end before the host's 20 s silence limit; a 25 s one outlasts it, so the host stops the deploy.
    ...[[5, 8], [30, 8], [30, 25]].map(([seconds, hook]) => ({
      group: 'cut',
      name: `link down ${seconds} s in a ${hook} s after_switch`,
      run: () =>
        lane.faultInHook(`link down ${seconds} s in a ${hook} s after_switch`, async (load) => {
          const end = load.outage();
          try {
            await cutLink(lane.address, seconds);
          } finally {
            end();
          }
        }, hook),
    })),
    { group: 'lock', name: 'two deploys at once', run: () => lane.fault('two deploys at once', () => twoDeploys(lane)) },
    {
      group: 'lock',
      name: 'rollback during a deploy',
      run: () =>
        lane.fault('rollback during a deploy', async () => {
          await lane.configure({ after_switch: ['sleep 8'] });
          const target = await lane.commit();
          let rollback;
          const deploy = await cliUntil(lane.repo, ['deploy', 'sandbox'], { at: 'Run after_switch hooks', env: lane.env, onStep: () => (rollback = lane.cli(['rollback', 'sandbox'])) });
          const rb = await rollback;
          return { target, command: `deploy exit ${deploy.code}; rollback exit ${rb?.code}: ${firstLine(rb?.stderr ?? '')}` };
        }),
    },
    { group: 'reboot', name: 'reboot in after_switch', run: () => lane.faultInHook('reboot in after_switch', reboot('reboot')) },
    { group: 'reboot', name: 'power-off in after_switch', run: () => lane.faultInHook('power-off in after_switch', reboot('power-off')) },
    { group: 'disk', name: 'disk full in build hook', run: () => diskFull(lane) },
  ];
}

/** Two repositories with the same deploy-sandbox.yml, each with a commit of its own, deployed at the same instant. */
async function twoDeploys(lane) {
  lane.repo2 ??= await mkdtemp(join(tmpdir(), `slipway-chaos-${lane.strategy}-copy-`));
  await rm(lane.repo2, { recursive: true, force: true });
  await must('git', ['clone', '--quiet', lane.repo, lane.repo2]);
  const [a, b] = [await lane.commit(), await lane.commit(lane.repo2)];
  const [ra, rb] = await Promise.all([lane.cli(['deploy', 'sandbox']), lane.cli(['deploy', 'sandbox'], { repo: lane.repo2 })]);
  const say = (label, r) => `${label} exit ${r.code}${r.code ? `: ${firstLine(r.stderr)}` : ''}`;
  return { target: `${a}/${b}`, command: `${say(a, ra)}; ${say(b, rb)}` };
}

/**
 * The app moves to a fresh 16 MB tmpfs at its base path (a first deploy there), then a deploy whose build hook
 * writes 1 MB after the bench has filled the filesystem; the row's next deploy runs once the fill is removed.
 */
function diskFull(lane) {
  const base = '/opt/hello';
  return lane.fault('disk full in build hook', async (load) => {
    const end = load.outage(); // the app is down while it moves to the tmpfs
    const reset = [
      "systemctl stop 'hello-web*' 'hello-drain*' hello.target 2>/dev/null",
      `rm -rf ${base}`, `mkdir -p ${base}`, `mount -t tmpfs -o size=16m,mode=755 chaos-full ${base}`,
    ].join('; ');
    const moved = await onServer(lane.address, reset);
    if (moved.code !== 0) throw new Error(`could not mount a tmpfs at ${base}: ${moved.stderr}`);
    const first = await lane.deployNew();
    if (!first.ok) throw new Error(`first deploy onto the tmpfs failed: ${first.why}`);
    await sleep(1000);
    end();
    const historyFrom = (await historyOf(lane.repo, lane.env)).length;
    await lane.configure({ build: ['sleep 2', 'head -c 1048576 /dev/zero > build.out'] });
    const target = await lane.commit();
    const fill = `dd if=/dev/zero of=${base}/.chaos-fill bs=64k status=none 2>/dev/null; df --output=avail -k ${base} | tail -1`;
    let filled;
    const r = await cliUntil(lane.repo, ['deploy', 'sandbox'], { at: 'Run build hooks', env: lane.env, onStep: () => (filled = onServer(lane.address, fill)) });
    const free = (await filled)?.stdout.trim();
    const enospc = /No space left on device/.test(r.stderr) ? 'says "No space left on device"' : 'does not say "No space left on device"';
    return {
      target,
      before: first.label,
      command: `${r.reached ? '' : 'build not reached: '}exit ${r.code} (${free ?? '?'} KB free): ${firstLine(r.stderr)}; ${enospc}`,
      historyFrom,
      cleanup: () => onServer(lane.address, `rm -f ${base}/.chaos-fill`),
    };
  });
}
