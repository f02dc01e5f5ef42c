// The config's TypeScript types are inferred from the schema (src/config/types.ts). These checks run in tsc
// (`make lint`), not at test time: if the builders' types regress to `any` or `unknown`, or stop matching
// what validation yields, the build fails here instead of every caller silently losing its checks.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { bool, int, list, map, obj, shorthand, str, type Field, type Infer } from '../../src/config/schema-dsl.js';
import type { Config, ProcessConfig, ServerConfig, ValidatedConfig } from '../../src/config/types.js';

describe('config types inferred from the schema', () => {
  it('are never any or unknown', () => {
    expectTypeOf<ValidatedConfig>().not.toBeAny();
    expectTypeOf<ValidatedConfig>().not.toBeUnknown();
    expectTypeOf<Config>().not.toBeAny();
    expectTypeOf<Config['project']>().not.toBeAny();
    expectTypeOf<Config['http']['tls']>().not.toBeAny();
    expectTypeOf<Config['env_vars']>().not.toBeAny();
    expectTypeOf<ServerConfig>().not.toBeAny();
    expectTypeOf<ProcessConfig>().not.toBeAny();
    expectTypeOf<ProcessConfig['port']>().not.toBeUnknown();
  });

  it('make keys with a default present, the others optional, and enums literal unions', () => {
    expectTypeOf<Config['project']>().toEqualTypeOf<{
      name: string;
      repo?: string;
      branch: string;
      source: 'auto' | 'push' | 'fetch';
      framework: 'auto' | 'django' | 'fastapi' | 'node' | 'python' | 'generic';
      python_version?: string;
      node_version?: string;
    }>();
    expectTypeOf<ServerConfig>().toEqualTypeOf<{
      host?: string;
      sandbox?: string;
      user?: string;
      port?: number;
      identity_file?: string;
      known_hosts_file?: string;
      host_key_checking: 'yes' | 'accept-new';
      roles: string[];
      private_address?: string;
    }>();
    expectTypeOf<Config['database']>().toEqualTypeOf<{
      engine: 'postgresql' | 'none';
      name?: string;
      user?: string;
      password?: string;
      host: string;
      port: number;
      url?: string;
      tls_cert?: string;
      tls_key?: string;
    }>();
    expectTypeOf<Config['http']['strategy']>().toEqualTypeOf<'blue-green' | 'restart'>();
    expectTypeOf<Config['http']['enabled']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<Config['per_branch']>().toEqualTypeOf<boolean>();
  });

  it('type lists as arrays, maps as records and nested objects as always present', () => {
    expectTypeOf<Config['servers']>().toEqualTypeOf<ServerConfig[]>();
    expectTypeOf<Config['env_vars']>().toEqualTypeOf<Record<string, string>>();
    // `default: undefined` takes away a list's empty default: unset means "the recipe decides".
    expectTypeOf<Config['dependencies']>().toEqualTypeOf<{ system: string[]; python: string[]; requirements_files?: string[] }>();
    expectTypeOf<Config['setup']['redis']>().toEqualTypeOf<{ enabled: boolean; password?: string; maxmemory: string; appendonly: boolean }>();
  });

  it('type a process (a shorthand) as its object, with what loading and recipes add on top', () => {
    expectTypeOf<ValidatedConfig['processes']>().toEqualTypeOf<Record<string, { command: string; port?: number; roles: string[]; stop_timeout: number; singleton: boolean }>>();
    expectTypeOf<ProcessConfig>().toEqualTypeOf<{ command: string; port?: number; roles: string[]; stop_timeout?: number; singleton?: boolean }>();
    expectTypeOf<ValidatedConfig['environment']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Config['environment']>().toEqualTypeOf<string>();
  });

  it('follow the builders: required keys, defaults, shorthands, and typos caught', () => {
    const item = obj('An item.', { id: str('Id.'), size: int('Size.', { default: 1 }), tags: list('Tags.', str('Tag.'), { default: undefined }) }, { required: ['id'] });
    const root = obj('Root.', {
      level: str('Level.', { enum: ['low', 'high'], default: 'low' }),
      on: bool('On.'),
      items: map('Items.', shorthand('An item.', item, 'id')),
      nested: obj('Nested.', { deep: list('Deep.', item) }),
    });
    type Item = { id: string; size: number; tags?: string[] };
    expectTypeOf(root).not.toBeAny();
    expectTypeOf<Infer<typeof root>>().toEqualTypeOf<{ level: 'low' | 'high'; on?: boolean; items: Record<string, Item>; nested: { deep: Item[] } }>();
    // @ts-expect-error a required key must be one of the object's keys
    obj('Typo.', { name: str('Name.') }, { required: ['nmae'] });
    // @ts-expect-error a shorthand expands into one of the object's keys
    shorthand('Typo.', item, 'idd');
    // @ts-expect-error a list's default has the items' type
    list('Numbers.', int('A number.'), { default: ['1'] });
    // A field made without the builders carries no type: it infers `unknown`, never `any`.
    expectTypeOf<Infer<Field>>().toBeUnknown();
  });

  it('leave the runtime fields as they were: the type is carried by the compiler only', () => {
    expect(list('Tags.', str('A tag.', { pattern: /^[a-z]+$/ }))).toEqual({ kind: 'array', description: 'Tags.', items: { kind: 'string', description: 'A tag.', pattern: /^[a-z]+$/ }, default: [] });
    expect(Object.getOwnPropertySymbols(obj('Root.', { on: bool('On.', { default: true }) }))).toEqual([]);
  });
});
