// Generated YAML documents, many of them hostile, fed to the real loader: each must load or be refused with a
// UserError of one-line diagnostics naming the file, within a time and memory budget per document.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import type { Field } from '../../src/config/schema-dsl.js';
import { UserError } from '../../src/errors.js';

// A hang guard, not a speed goal (those are benchmarks): a document that sends a pattern into catastrophic
// backtracking takes seconds to minutes; a loaded, shared machine stretched a normal 20 ms load past 200 ms.
const TIME_BUDGET_MS = 3000;
const HEAP_BUDGET_BYTES = 96 * 1024 * 1024;

// A full collection every few documents keeps garbage from earlier ones out of the heap growth measured; one
// before every document would slow the parser itself (its heap shrinks and it collects more often).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** mulberry32: small, seeded, so a failure names a document that can be generated again. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

const KEYS = ['project', 'name', 'servers', 'host', 'base_path', 'shared', 'dirs', 'env_vars', 'processes', 'web', 'health', 'path', 'repo', 'x-a', 'port', 'roles', 'hooks', 'build', 'KEY', 'constructor', '__proto__', '<<'];
const SCALARS = ['shop', 'local', '/opt', '../etc', '.', '-oProxyCommand=x', '~', 'null', '.inf', '-.nan', '0x1F', '0o17', '1e400', '3.10', 'yes', 'true', '""', "''", '"\\0"', '"\\x1b[31m"', '"a\\u0000b"', '2001-12-14t21:59:43.10-05:00', '!!binary aGVsbG8=', '!!js/function "function(){}"', '!custom x', '!!timestamp 2001-12-14', '!!str 10', '*nope', '&a 1', '${SECRET}', '${constructor}', 'ext::sh -c id', 'http://x/y.git', 'ssh://-oProxyCommand=x/y', '|\n  block\n  text', '>-\n  folded'];

function scalar(rng: Rng): string {
  return rng.next() < 0.7 ? rng.pick(SCALARS) : JSON.stringify(Array.from({ length: rng.int(12) }, () => String.fromCharCode(rng.int(0x3000))).join(''));
}

/** A random tree of mappings, lists and scalars in block or flow style. */
function tree(rng: Rng, depth: number, indent = ''): string {
  if (depth <= 0 || rng.next() < 0.3) return scalar(rng);
  const n = 1 + rng.int(4);
  if (rng.next() < 0.3) {
    const items = Array.from({ length: n }, () => (rng.next() < 0.5 ? `${rng.pick(KEYS)}: ${tree(rng, depth - 1).replace(/\n/g, ' ')}` : tree(rng, depth - 1).replace(/\n/g, ' ')));
    return rng.next() < 0.5 ? `[${items.join(', ')}]` : `{${items.join(', ')}}`;
  }
  const inner = `${indent}  `;
  if (rng.next() < 0.5) return Array.from({ length: n }, () => `\n${inner}- ${tree(rng, depth - 1, `${inner}  `)}`).join('');
  return Array.from({ length: n }, () => `\n${inner}${rng.pick(KEYS)}: ${tree(rng, depth - 1, inner)}`).join('');
}

const VALID = 'project: {name: shop}\nservers: [{host: local}]\n';

const WORDS = ['shop', 'web1', 'media', '/srv', '/up', 'https://example.com/x', 'ops@example.com', '3.11', '20', '1.2'];

/** A document from the schema itself: every key slipway knows, with values it takes (defaults, enum members). */
function fromSchema(rng: Rng, field: Field, indent: string): string {
  switch (field.kind) {
    case 'object':
      return Object.entries(field.fields)
        .filter(([key]) => field.required?.includes(key) || key === 'host' || (key !== 'sandbox' && rng.next() < 0.5))
        .map(([key, sub]) => `\n${indent}${key}: ${fromSchema(rng, sub, `${indent}  `)}`)
        .join('');
    case 'string':
      return JSON.stringify(field.enum ? rng.pick(field.enum) : (field.default ?? rng.pick(WORDS.filter((w) => (!field.pattern || field.pattern.test(w)) && !(field.form && 'refused' in field.form(w)))) ?? ''));
    case 'integer':
      return String(field.default ?? field.min ?? 8000);
    case 'boolean':
      return String(rng.next() < 0.5);
    case 'array':
      return field.items.kind === 'object' ? `\n${indent}- ${fromSchema(rng, field.items, `${indent}  `).trimStart()}` : JSON.stringify(field.default ?? []);
    default:
      return '{}';
  }
}

/** Hostile documents, each a known way to make a parser hang, recurse or allocate without bound. */
const hostile: ((rng: Rng) => string | Buffer)[] = [
  (rng) => `a: ${'['.repeat(10 + rng.int(200_000))}`,
  (rng) => `${'- '.repeat(10 + rng.int(100_000))}x`,
  (rng) => `${'{a: '.repeat(10 + rng.int(5_000))}`,
  (rng) => Array.from({ length: 20 + rng.int(60) }, (_, i) => `${'  '.repeat(i)}k:`).join('\n'),
  (rng) => {
    const levels = 6 + rng.int(6);
    const lines = ['x-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < levels; i += 1) lines.push(`x-${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    return `${VALID}${lines.join('\n')}\nenv_vars: {A: *a${levels - 1}}\n`;
  },
  (rng) => `${VALID}x-big: &big "${'x'.repeat(100_000 + rng.int(800_000))}"\nx-use: [${Array(50).fill('*big').join(', ')}]\n`,
  (rng) => `${VALID}env_vars:\n${Array.from({ length: 5_000 + rng.int(20_000) }, (_, i) => `  K${i}: v`).join('\n')}\n`,
  (rng) => `${VALID}env_vars: {${Array.from({ length: 1_001 + rng.int(500) }, (_, i) => `"K${i}":v`).join(',')}}\n`,
  (rng) => `${VALID}x-list: [${Array(1_001 + rng.int(rng.next() < 0.5 ? 2_000 : 100_000)).fill('a').join(',')}]\n`,
  (rng) => `${VALID}${'k'.repeat(1 + rng.int(500_000))}: 1\n`,
  (rng) => `${VALID}health: {path: "${'/'.repeat(rng.int(900_000))}"}\n`,
  () => `${VALID}servers: []\nservers: [{host: a}]\n`,
  (rng) => `${VALID}${Array.from({ length: 1000 + rng.int(10_000) }, (_, i) => `x-${i % 97}: 1`).join('\n')}\n`,
  (rng) => Buffer.from(Array.from({ length: 1 + rng.int(4096) }, () => rng.int(256))),
  (rng) => `${VALID}x-a: "${'\\x00'.repeat(1 + rng.int(10))}"\n`,
  () => `${VALID}x-a: !!js/function 'function () { process.exit(1) }'\nx-b: !!set {a, b}\nx-c: !!omap [a: 1]\n`,
  () => `%YAML 1.1\n---\n${VALID}x-m: &m {a: 1}\nx-n: {<<: *m}\n`,
  () => `${VALID}---\n${VALID}`,
  () => `${VALID}x-self: &s [*s]\n`,
  (rng) => `${VALID}env_vars: {A: "${'${S}'.repeat(1 + rng.int(30_000))}"}\n`,
  () => `${'#'.repeat(1024 * 1024)}\n`,
  (rng) => `\uFEFF${VALID}`.replace(/\n/g, rng.next() < 0.5 ? '\r\n' : '\n\t'),
];

/** A valid document with random bytes changed: the shape of a typo, a bad merge, a truncated file. */
function mutated(rng: Rng): string {
  const chars = [...`${VALID}shared: {dirs: [media, logs]}\nenv_vars: {A: '\${SECRET}'}\nhealth: {path: /up}\n`];
  for (let i = 0; i < 1 + rng.int(6); i += 1) chars.splice(rng.int(chars.length), rng.int(3), rng.pick([':', '-', '[', '{', '&a', '*a', ' ', '\n', '"', '!!', '..', '/', '\t', '\0', '#']));
  return chars.join('');
}

function documentFor(seed: number): { deploy: string | Buffer; base?: string; secrets?: string } {
  const rng = prng(seed);
  const roll = rng.next();
  const schema = () => `${fromSchema(rng, configSchema, '').replace(/^\n/, '')}\n`;
  const deploy = roll < 0.3 ? rng.pick(hostile)(rng) : roll < 0.5 ? mutated(rng) : roll < 0.75 ? schema() : `${VALID}${tree(rng, 5)}\n`;
  const secrets = rng.next() < 0.3 ? `SECRET=${'s'.repeat(rng.int(2 ** (1 + rng.int(20))))}\nconstructor=x\n` : undefined;
  return { deploy, ...(rng.next() < 0.2 ? { base: `${tree(rng, 3)}\n` } : {}), ...(secrets ? { secrets } : {}) };
}

type Outcome = { result: 'loaded' | 'refused'; message: string; ms: number; heap: number };

/** Loads one generated document, measuring it; anything but a UserError is rethrown as the bug it is. */
async function attempt(dir: string, doc: ReturnType<typeof documentFor>): Promise<Outcome> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, '.slipway'), { recursive: true });
  await writeFile(join(dir, 'deploy-dev.yml'), doc.deploy);
  if (doc.base !== undefined) await writeFile(join(dir, 'deploy.yml'), doc.base);
  if (doc.secrets !== undefined) await writeFile(join(dir, '.slipway', 'secrets-dev.env'), doc.secrets);
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  const outcome = await loadConfig({ dir, env: 'dev', processEnv: { SECRET: 'from-env' } }).then(
    () => ({ result: 'loaded' as const, message: '' }),
    (error: unknown) => {
      if (error instanceof UserError) return { result: 'refused' as const, message: error.message };
      throw error;
    },
  );
  return { ...outcome, ms: performance.now() - start, heap: process.memoryUsage().heapUsed - heapBefore };
}

const SEEDS = 320;
let root: string;
const outcomes: Outcome[] = [];
beforeAll(async () => void (root = await mkdtemp(join(tmpdir(), 'slipway-fuzz-'))));
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the config loader under generated and hostile documents', () => {
  it('the budgets are real: a slow or greedy load would be caught', () => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const greedy = new Array<number>(16 * 1024 * 1024).fill(1);
    expect(process.memoryUsage().heapUsed - before).toBeGreaterThan(HEAP_BUDGET_BYTES);
    expect(greedy.length).toBe(16 * 1024 * 1024);
  });

  it(`loads or refuses each of ${SEEDS} documents with a UserError, within ${TIME_BUDGET_MS} ms and ${HEAP_BUDGET_BYTES / 2 ** 20} MiB each`, async () => {
    const dir = join(root, 'app');
    // Unmeasured first: the budget is for the loader's work, not for the JIT compiling the YAML parser.
    for (let seed = -20; seed < 0; seed += 1) await attempt(dir, documentFor(seed));
    for (let seed = 1; seed <= SEEDS; seed += 1) {
      if (seed % 25 === 0) gc();
      const doc = documentFor(seed);
      let outcome = await attempt(dir, doc);
      // Over budget, a document is measured twice more and the fastest run kept: a busy machine cannot fail it, a slow loader still does.
      for (let retry = 0; retry < 2 && outcome.ms >= TIME_BUDGET_MS; retry += 1) outcome = [outcome, await attempt(dir, doc)].sort((a, b) => a.ms - b.ms)[0]!;
      outcomes.push(outcome);
      const where = `seed ${seed}: ${outcome.message.slice(0, 200)}`;
      expect(outcome.ms, where).toBeLessThan(TIME_BUDGET_MS);
      expect(outcome.heap, where).toBeLessThan(HEAP_BUDGET_BYTES);
      // One line per problem, each naming the file, line and column, none flooding the terminal.
      for (const line of outcome.result === 'refused' ? outcome.message.split('\n') : []) {
        expect(line, where).toMatch(new RegExp(`^${dir}/(deploy(-dev)?\\.yml|\\.slipway/secrets-dev\\.env):\\d+:\\d+: `));
        expect(line.length, where).toBeLessThan(1000);
      }
    }
  }, 20_000);

  it('covers both outcomes and the limits, so the documents are not all alike', () => {
    const refused = outcomes.filter((o) => o.result === 'refused').map((o) => o.message);
    expect(outcomes).toHaveLength(SEEDS);
    expect(refused.length).toBeGreaterThan(SEEDS * 0.3);
    // Schema-shaped documents pick keys at random, so cross-field rules (topology, data servers) refuse many;
    // still, a real share must load, or the generator no longer reaches past validation.
    expect(SEEDS - refused.length).toBeGreaterThan(SEEDS * 0.05);
    for (const limit of [/nested more than 32 levels deep/, /more than 50000 values in the file/, /more than 1000 keys in one mapping/, /more than 1000 items in one list/, /of text in the file once aliases are expanded/, /the file is larger than 1 MiB/, /more than 10000 YAML tokens/, /the YAML tag !!js\/function is not supported/, /Map keys must be unique/, /control character U\+0000/]) {
      expect(refused.some((m) => limit.test(m)), String(limit)).toBe(true);
    }
  });
});
