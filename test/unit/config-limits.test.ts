// Every bound on configuration input, each breach one exact line naming the file, line, column and key path.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { UserError } from '../../src/errors.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function configDir(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-limits-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

async function errors(files: Record<string, string | Buffer>, processEnv: Record<string, string> = {}): Promise<string[]> {
  const dir = await configDir(files);
  const error: unknown = await loadConfig({ dir, env: 'dev', processEnv }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return (error as Error).message.replaceAll(dir, '<dir>').split('\n');
}

const MINIMAL = 'project: {name: shop}\nservers: [{host: local}]\n';
const MIB = 1024 * 1024;

describe('file size and content', () => {
  it('reads at most 1 MiB of a file, and says at which line it stopped', async () => {
    const line = `#${'x'.repeat(1022)}\n`;
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}${line.repeat(1024)}` })).toEqual(['<dir>/deploy-dev.yml:1026:1: the file is larger than 1 MiB, the most slipway reads: keep only configuration in it']);
    expect(await errors({ 'deploy.yml': line.repeat(1025), 'deploy-dev.yml': MINIMAL })).toEqual(['<dir>/deploy.yml:1025:1: the file is larger than 1 MiB, the most slipway reads: keep only configuration in it']);
    const exactly = `${MINIMAL}${'#'.repeat(MIB - MINIMAL.length - 1)}\n`;
    expect(Buffer.byteLength(exactly)).toBe(MIB);
    const dir = await configDir({ 'deploy-dev.yml': exactly });
    expect((await loadConfig({ dir, env: 'dev', processEnv: {} })).config.project.name).toBe('shop');
  });

  it('refuses a file that is not UTF-8 text, or holds control characters', async () => {
    expect(await errors({ 'deploy-dev.yml': Buffer.concat([Buffer.from('project: {name: shop}\nservers: [{host: '), Buffer.from([0xff, 0xfe]), Buffer.from('}]\n')]) })).toEqual([
      '<dir>/deploy-dev.yml:2:18: not UTF-8 text: save the file as UTF-8',
    ]);
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}x-a: "a\0b"\n` })).toEqual(['<dir>/deploy-dev.yml:3:8: control character U+0000 in the file: only tabs and line breaks may appear (is it a binary file?)']);
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}x-a: "\x1b[31m"\n` })).toEqual(['<dir>/deploy-dev.yml:3:7: control character U+001B in the file: only tabs and line breaks may appear (is it a binary file?)']);
  });

  it('refuses a NUL written as a YAML escape in any value', async () => {
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}env_vars: {A: "a\\0b"}\n` })).toEqual(['<dir>/deploy-dev.yml:3:15: env_vars.A: "a\\u0000b" contains a NUL character: remove it']);
  });

  it('a directory where a config file should be', async () => {
    const dir = await configDir({ 'deploy-dev.yml/keep': '' });
    const error = await loadConfig({ dir, env: 'dev', processEnv: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(`${dir}/deploy-dev.yml is a directory, not a file`);
  });
});

describe('YAML structure', () => {
  it('at most 10000 tokens per file', async () => {
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}${'\n'.repeat(20_000)}` })).toEqual([
      '<dir>/deploy-dev.yml:9975:1: more than 10000 YAML tokens (words, punctuation, line breaks): a configuration is far smaller, keep data out of it',
    ]);
  });

  it('at most 32 levels of nesting, measured before the document is composed and after aliases', async () => {
    const deep = "nested more than 32 levels deep: slipway's keys need a handful, flatten the rest";
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}x-a: ${'['.repeat(100_000)}` })).toEqual([`<dir>/deploy-dev.yml:3:38: ${deep}`]);
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}x-a: ${'[a: '.repeat(20)}1${']'.repeat(20)}\n` })).toEqual([`<dir>/deploy-dev.yml:3:70: x-a${'[0].a'.repeat(16)}: ${deep}`]);
    const alias = `${MINIMAL}x-d: &d ${'['.repeat(20)}1${']'.repeat(20)}\nx-e: ${'['.repeat(12)}*d${']'.repeat(12)}\n`;
    expect(await errors({ 'deploy-dev.yml': alias })).toEqual([`<dir>/deploy-dev.yml:4:18: x-e${'[0]'.repeat(12)}: ${deep}`]);
    expect((await loadConfig({ dir: await configDir({ 'deploy-dev.yml': `${MINIMAL}x-a: ${'['.repeat(31)}1${']'.repeat(31)}\n` }), env: 'dev', processEnv: {} })).config.project.name).toBe('shop');
  });

  it('at most 1000 keys in a mapping and 1000 items in a list', async () => {
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}x-list: [${Array(1001).fill('a').join(',')}]\n` })).toEqual(['<dir>/deploy-dev.yml:3:9: x-list: more than 1000 items in one list']);
    const keys = Array.from({ length: 1001 }, (_, i) => `"K${i}":v`).join(',');
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}env_vars: {${keys}}\n` })).toEqual(['<dir>/deploy-dev.yml:3:11: env_vars: more than 1000 keys in one mapping']);
  });

  it('refuses a billion-laughs document in the time it takes to read it', async () => {
    const lines = ['x-0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 9; i += 1) lines.push(`x-${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    const started = performance.now();
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}${lines.join('\n')}\n` })).toEqual([
      '<dir>/deploy-dev.yml:7:36: x-4[5]: more than 50000 values in the file (aliases count as often as they are used)',
    ]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('at most 4 MiB of text once aliases are expanded', async () => {
    const big = 'x'.repeat(600_000);
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}x-big: &b "${big}"\nx-use: [${Array(8).fill('*b').join(', ')}]\n` })).toEqual([
      '<dir>/deploy-dev.yml:4:29: x-use[5]: more than 4 MiB of text in the file once aliases are expanded',
    ]);
  });

  it('only the core schema\'s tags, plain keys and one document', async () => {
    const bad = async (yaml: string) => (await errors({ 'deploy-dev.yml': `${MINIMAL}${yaml}` }))[0];
    expect(await bad('x-a: !!binary aGVsbG8=\n')).toBe('<dir>/deploy-dev.yml:3:15: x-a: the YAML tag !!binary is not supported: write the plain value');
    expect(await bad("x-a: !!js/function 'function () {}'\n")).toBe('<dir>/deploy-dev.yml:3:20: x-a: the YAML tag !!js/function is not supported: write the plain value');
    expect(await bad('x-a: !custom x\n')).toBe('<dir>/deploy-dev.yml:3:14: x-a: the YAML tag !custom is not supported: write the plain value');
    expect(await bad('x-a: !!set {a, b}\n')).toBe('<dir>/deploy-dev.yml:3:12: x-a: the YAML tag !!set is not supported: write the plain value');
    expect(await bad('x-a:\n  ? [a]\n  : b\n')).toBe('<dir>/deploy-dev.yml:4:5: x-a: a key must be plain text');
    expect(await bad(`---\n${MINIMAL}`)).toBe('<dir>/deploy-dev.yml:3:1: invalid YAML: a second document (after ---): keep one document per file');
    const dir = await configDir({ 'deploy-dev.yml': `${MINIMAL}env_vars: {A: !!str 10}\n` });
    expect((await loadConfig({ dir, env: 'dev', processEnv: {} })).config.env_vars).toEqual({ A: '10' });
  });

  it('keys every object has (constructor, __proto__) are keys like any other', async () => {
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}constructor: 1\n` })).toEqual([expect.stringMatching(/^<dir>\/deploy-dev\.yml:3:1: constructor: unknown key \(expected one of: project, /)]);
    const dir = await configDir({ 'deploy-dev.yml': `${MINIMAL}env_vars: {__proto__: x, B: '\${constructor}'}\n` });
    const error = await loadConfig({ dir, env: 'dev', processEnv: {} }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`${dir}/deploy-dev.yml:3:29: env_vars.B: secret \${constructor} is not set: export constructor=... or add it to ${dir}/.slipway/secrets-dev.env`);
    const loaded = await loadConfig({ dir, env: 'dev', processEnv: { constructor: 'c-value' } });
    expect(Object.entries(loaded.config.env_vars)).toEqual([['__proto__', 'x'], ['B', 'c-value']]);
  });
});

describe('messages stay readable', () => {
  it('a long value is shown cut, and many problems end with a count', async () => {
    expect(await errors({ 'deploy-dev.yml': `project: {name: ${'n'.repeat(200)}}\nservers: [{host: local}]\n` })).toEqual([
      `<dir>/deploy-dev.yml:1:17: project.name: "${'n'.repeat(60)}"... (200 characters) is not lowercase letters, digits and dashes, starting with a letter`,
    ]);
    const lines = await errors({ 'deploy-dev.yml': `${MINIMAL}${Array.from({ length: 60 }, (_, i) => `bad${i}: 1`).join('\n')}\n` });
    expect(lines).toHaveLength(51);
    expect(lines[50]).toBe('<dir>/deploy-dev.yml:52:1: bad49: and 10 more problems like these');
  });
});

describe('the secrets file', () => {
  const uses = `${MINIMAL}env_vars: {A: '\${A}'}\n`;

  it('is bounded like the config files', async () => {
    expect(await errors({ 'deploy-dev.yml': uses, '.slipway/secrets-dev.env': `A=${'a'.repeat(MIB)}\n` })).toEqual(['<dir>/.slipway/secrets-dev.env:1:1: the file is larger than 1 MiB, the most slipway reads: keep only configuration in it']);
    expect(await errors({ 'deploy-dev.yml': uses, '.slipway/secrets-dev.env': 'A=ok\nB=a\0b\n' })).toEqual(['<dir>/.slipway/secrets-dev.env:2:4: control character U+0000 in the file: only tabs and line breaks may appear (is it a binary file?)']);
    const many = Array.from({ length: 10_001 }, (_, i) => `V${i}=x`).join('\n');
    expect(await errors({ 'deploy-dev.yml': uses, '.slipway/secrets-dev.env': many })).toEqual(['<dir>/.slipway/secrets-dev.env:10001:1: V10000: more than 10000 variables in one secrets file']);
  });

  it('a value may not grow past 128 KiB once its placeholders are filled in', async () => {
    const secrets = { '.slipway/secrets-dev.env': `A=${'a'.repeat(1000)}\n` };
    expect(await errors({ 'deploy-dev.yml': `${MINIMAL}env_vars: {BIG: "${'${A}'.repeat(200)}"}\n`, ...secrets })).toEqual(['<dir>/deploy-dev.yml:3:17: env_vars.BIG: longer than 128 KiB once its ${NAME} placeholders are filled in']);
    const dir = await configDir({ 'deploy-dev.yml': `${MINIMAL}env_vars: {BIG: "${'${A}'.repeat(100)}"}\n`, ...secrets });
    expect((await loadConfig({ dir, env: 'dev', processEnv: {} })).config.env_vars.BIG).toHaveLength(100_000);
  });
});
