// The strict patterns for names that reach a shell or a path, the env-file parser and placeholder resolution,
// and the located-YAML merge.
import { describe, expect, it } from 'vitest';
import { mergeLocated, parseLocated, type Located } from '../../src/config/located.js';
import { ENV_NAME, GIT_REF, HOST, PROJECT_NAME, RELATIVE_PATH, UNIX_USER, branchSlug, isFullSha } from '../../src/config/names.js';
import { hasPlaceholder, parseEnvFile, resolvePlaceholders } from '../../src/config/secrets.js';

const HOSTILE = ['main; rm -rf /', '$(id)', '`id`', "it's", 'a"b', 'a\nb', 'a b', '-oProxyCommand=x', '--upload-pack=x', '', '../x', 'a|b', 'a&b', 'a>b', '*'];

describe('name patterns', () => {
  it('git refs: branches, tags and SHAs, nothing a shell or git would read as more', () => {
    for (const ok of ['main', 'feature/login-x', 'v1.4.2', 'release_2024.01', 'abc1234', 'a'.repeat(40), 'Feature/CAPS']) expect(GIT_REF.test(ok), ok).toBe(true);
    for (const bad of [...HOSTILE, 'a..b', 'a//b', '-main', 'main~1', 'main^', 'a:b', '@{-1}', 'a'.repeat(201)]) expect(GIT_REF.test(bad), JSON.stringify(bad)).toBe(false);
  });

  it('hosts: names, IPv4, IPv6 and local; never an option', () => {
    for (const ok of ['local', 'web1', 'app.example.com', '10.0.0.1', '::1', '[2001:db8::1]', 'fe80::1', 'my_server']) expect(HOST.test(ok), ok).toBe(true);
    for (const bad of [...HOSTILE, '-p22', 'user@host', 'host:22', '_ab']) expect(HOST.test(bad), JSON.stringify(bad)).toBe(false);
  });

  it('project, environment and user names', () => {
    expect(['shop', 'my-shop', 'a1'].every((n) => PROJECT_NAME.test(n))).toBe(true);
    expect(['Shop', '1shop', 'my_shop', '-shop', 'a'.repeat(41), ...HOSTILE].some((n) => PROJECT_NAME.test(n))).toBe(false);
    expect(['prod', 'dev', 'branch', 'my_env-2'].every((n) => ENV_NAME.test(n))).toBe(true);
    expect(['Prod', '_x', '1', 'a'.repeat(32), ...HOSTILE].some((n) => ENV_NAME.test(n))).toBe(false);
    expect(['shop', '_apt', 'www-data'].every((n) => UNIX_USER.test(n))).toBe(true);
    expect(['Root', 'root;id', '-x', ...HOSTILE].some((n) => UNIX_USER.test(n))).toBe(false);
  });

  it('relative paths stay inside the release', () => {
    expect(['media', 'logs/app', 'config/local.py', '.env.local', 'a..b'].every((p) => RELATIVE_PATH.test(p))).toBe(true);
    expect(['/etc', '..', '../x', 'a/../b', 'a/..', ...HOSTILE].some((p) => RELATIVE_PATH.test(p))).toBe(false);
  });

  it('full SHAs are 40 lowercase hex digits', () => {
    expect(isFullSha('0123456789abcdef0123456789abcdef01234567')).toBe(true);
    expect(isFullSha('0123456789ABCDEF0123456789abcdef01234567')).toBe(false);
    expect(isFullSha('abc1234')).toBe(false);
  });

  it('branch slugs are safe directory and unit name parts', () => {
    expect(branchSlug('feature/Login_x')).toBe('feature-login-x-847dbe');
    // Names that had to change carry a hash of the original, so they never collide with one that did not.
    expect(branchSlug('feature-a')).toBe('feature-a');
    expect(branchSlug('feature/a')).not.toBe(branchSlug('feature-a'));
    expect(branchSlug('Main')).not.toBe(branchSlug('main'));
    expect(branchSlug('main')).toBe('main');
    expect(branchSlug('--weird..name//')).toBe('weird-name-21c44b');
    expect(branchSlug('///')).toBe('branch-732c4e');
    expect(branchSlug('a'.repeat(80))).toBe(`${'a'.repeat(50)}-0f45e8`);
    for (const hostile of HOSTILE) expect(branchSlug(hostile)).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });
});

describe('secrets file and placeholders', () => {
  it('parses KEY=VALUE lines with comments, export, quotes and CRLF', () => {
    expect(
      parseEnvFile(['# a comment', '', 'A=plain', 'export B = "double quoted"', "C='single'", 'D=with=equals', 'E=', 'bad-key=x', '=novalue', 'F="unbalanced', 'G=crlf\r', '  H=  spaced  '].join('\n')),
    ).toEqual({ A: 'plain', B: 'double quoted', C: 'single', D: 'with=equals', E: '', F: '"unbalanced', G: 'crlf', H: 'spaced' });
  });

  it('replaces every placeholder, first source first, and reports the missing ones', () => {
    expect(resolvePlaceholders('postgres://${USER}:${PW}@${HOST}/db', [{ PW: 'file-pw' }, { PW: 'env-pw', USER: 'u' }])).toEqual({
      value: 'postgres://u:file-pw@/db',
      missing: ['HOST'],
      used: ['u', 'file-pw'],
    });
    expect(resolvePlaceholders('no placeholders, $HOME and $ {X} stay', [{}])).toEqual({ value: 'no placeholders, $HOME and $ {X} stay', missing: [], used: [] });
  });

  it('inserts values literally: a value is never resolved again', () => {
    expect(resolvePlaceholders('${A}', [{ A: '${B} $(id)', B: 'no' }]).value).toBe('${B} $(id)');
  });

  it('tells a placeholder from a literal', () => {
    expect(hasPlaceholder('${X}')).toBe(true);
    expect(hasPlaceholder('prefix-${X}-suffix')).toBe(true);
    expect(hasPlaceholder('$X')).toBe(false);
    expect(hasPlaceholder('${1X}')).toBe(false);
  });
});

describe('located YAML', () => {
  const value = (node: Located | undefined, ...path: string[]): unknown => {
    let n = node;
    for (const key of path) n = n?.kind === 'map' ? n.entries.get(key)?.node : undefined;
    return n?.kind === 'scalar' ? n.value : n?.kind;
  };

  it('remembers file, line and column of every value', () => {
    const tree = parseLocated('a:\n  b: 1\n  c: [x, y]\n', 'f.yml');
    expect(tree.kind === 'map' && tree.entries.get('a')?.keyLoc).toEqual({ file: 'f.yml', line: 1, col: 1 });
    const a = tree.kind === 'map' ? tree.entries.get('a')?.node : undefined;
    expect(a?.kind === 'map' && a.entries.get('b')?.node.loc).toEqual({ file: 'f.yml', line: 2, col: 6 });
    const c = a?.kind === 'map' ? a.entries.get('c')?.node : undefined;
    expect(c?.kind === 'seq' && c.items.map((i) => i.loc.col)).toEqual([7, 10]);
  });

  it('merges maps deeply, the overlay winning, and replaces lists whole', () => {
    const merged = mergeLocated(parseLocated('a: {b: 1, c: 2}\nl: [1, 2]\nk: base\n', 'base.yml'), parseLocated('a: {c: 3, d: 4}\nl: [9]\n', 'env.yml'));
    expect([value(merged, 'a', 'b'), value(merged, 'a', 'c'), value(merged, 'a', 'd'), value(merged, 'k')]).toEqual([1, 3, 4, 'base']);
    const list = merged.kind === 'map' ? merged.entries.get('l')?.node : undefined;
    expect(list?.kind === 'seq' && list.items.map((i) => (i.kind === 'scalar' ? i.value : null))).toEqual([9]);
    const c = merged.kind === 'map' && merged.entries.get('a')?.node;
    expect(c && c.kind === 'map' && c.entries.get('c')?.node.loc.file).toBe('env.yml');
    expect(c && c.kind === 'map' && c.entries.get('b')?.node.loc.file).toBe('base.yml');
  });
});
