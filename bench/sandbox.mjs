// Sandbox timings: warm boot to SSH-ready (and down), and with --cold the image build from scratch into a
// temporary cache (minutes; the real cache is untouched). Plain JS over dist/: run `npm run build` first.
//   sudo node bench/sandbox.mjs [--cold] [--boots 5]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureImage, sandboxDown, sandboxPaths, sandboxUp } from '../dist/sandbox/index.js';

const args = process.argv.slice(2);
const at = args.indexOf('--boots');
const boots = at >= 0 ? Number(args[at + 1]) || 5 : 5;
const seconds = (ms) => (ms / 1000).toFixed(2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(fn) {
  const started = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - started };
}

if (args.includes('--cold')) {
  const cache = await mkdtemp(join(tmpdir(), 'slipway-bench-cache-'));
  try {
    const paths = { ...sandboxPaths(), imageCacheDir: cache };
    const { value, ms } = await timed(() => ensureImage({ paths, log: (l) => console.error(`  ${l}`) }));
    console.log(`cold image build (${value.name}-${value.key}): ${seconds(ms)} s`);
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

const warm = await timed(() => ensureImage({ log: (l) => console.error(`  ${l}`) }));
console.log(`image ready: ${warm.value.built ? `built in ${seconds(warm.ms)} s` : 'cached'} (${warm.value.dir})`);

const name = 'bench-boot';
await sandboxDown(name);
const upTimes = [];
const bootTimes = [];
const downTimes = [];
try {
  for (let i = 1; i <= boots; i++) {
    const up = await timed(() => sandboxUp(name));
    const down = await timed(() => sandboxDown(name));
    upTimes.push(up.ms);
    bootTimes.push(up.value.bootSeconds * 1000);
    downTimes.push(down.ms);
    console.log(
      `boot ${i}: nspawn start to SSH-ready ${seconds(up.value.bootSeconds * 1000)} s, ` +
        `whole up ${seconds(up.ms)} s, down ${seconds(down.ms)} s`,
    );
  }
  const names = ['bench-p1', 'bench-p2', 'bench-p3'];
  const parallel = await timed(() => Promise.all(names.map((n) => sandboxUp(n))));
  await Promise.all(names.map((n) => sandboxDown(n)));
  console.log(
    `warm boot to SSH-ready, median of ${boots}: ${seconds(median(bootTimes))} s ` +
      `(whole up ${seconds(median(upTimes))} s, down ${seconds(median(downTimes))} s); ` +
      `3 servers at once: ${seconds(parallel.ms)} s`,
  );
} finally {
  await sandboxDown(name);
  await Promise.all(['bench-p1', 'bench-p2', 'bench-p3'].map((n) => sandboxDown(n)));
}
