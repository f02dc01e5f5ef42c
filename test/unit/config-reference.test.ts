import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReference } from '../../src/render/config-reference.js';

describe('docs/configuration.md', () => {
  it('is the reference generated from the schema (run `node scripts/config-reference.mjs` after changing it)', () => {
    const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(committed).toBe(configReference());
  });

  it('lists every top-level key with its default', () => {
    const text = configReference();
    expect(text).toContain('| `base_path` | string |  | `"/opt"` |');
    expect(text).toContain('| `keep_releases` | integer |  | `5` |');
    expect(text).toContain('| `servers[].host_key_checking` | `yes` \\| `accept-new` |  | `"yes"` |');
    expect(text).toContain('| `processes.<name>.command` | string | yes |');
  });
});
