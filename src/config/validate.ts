// Checks a located tree against the schema, fills defaults, and collects every problem as a diagnostic
// naming file:line:column and the key path, so one run shows them all.
import type { Field } from './schema-dsl.js';
import { joinPath, shown, type Diagnostic, type Loc } from './diagnostics.js';
import type { Located } from './located.js';

export { formatDiagnostic, type Diagnostic } from './diagnostics.js';

function describe(value: unknown): string {
  if (value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `string ${shown(value)}`;
  return typeof value === 'object' ? 'a mapping' : `${typeof value} ${String(value)}`;
}

function defaultOf(field: Field): unknown {
  if (field.kind === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, sub] of Object.entries(field.fields)) {
      const value = defaultOf(sub);
      if (value !== undefined) result[key] = value;
    }
    return result;
  }
  return 'default' in field ? structuredClone(field.default) : undefined;
}

/** Validates `node` (undefined when the key is absent) and returns the value with defaults applied. */
export function validateValue(field: Field, node: Located | undefined, path: string, out: Diagnostic[], parentLoc: Loc): unknown {
  const error = (loc: Loc, message: string): undefined => {
    out.push({ loc, path, message, severity: 'error' });
    return undefined;
  };
  // An absent key and an empty one (`key:` with nothing after it) both mean "use the default", except where
  // keys are required: an empty `project:` or process is an empty mapping, so the missing keys are reported.
  const needsKeys = field.kind === 'shorthand' || (field.kind === 'object' && (field.required?.length ?? 0) > 0);
  if (node !== undefined && node.kind === 'scalar' && node.value === null && needsKeys) node = { kind: 'map', loc: node.loc, entries: new Map() };
  if (node === undefined || (node.kind === 'scalar' && node.value === null)) return defaultOf(field);
  const loc = node.loc ?? parentLoc;
  switch (field.kind) {
    case 'string': {
      if (node.kind !== 'scalar' || node.value === null || typeof node.value === 'object') return error(loc, `expected ${field.description.replace(/\.$/, '').toLowerCase()} (a string), got ${node.kind === 'scalar' ? describe(node.value) : describe(node.kind === 'seq' ? [] : {})}`);
      // A plain number keeps the text as written: `python_version: 3.10` is "3.10", not "3.1".
      const value = typeof node.value === 'number' && node.source !== undefined ? node.source : String(node.value);
      // No command line, environment variable or file slipway writes can carry a NUL.
      if (value.includes('\0')) return error(loc, `${shown(value)} contains a NUL character: remove it`);
      if (field.enum && !field.enum.includes(value)) return error(loc, `expected one of ${field.enum.join(', ')}, got ${shown(value)}`);
      if (field.pattern && !field.pattern.test(value)) return error(loc, `${shown(value)} is not ${field.patternHint ?? `valid (must match ${field.pattern.source})`}`);
      if (!field.form) return value;
      const checked = field.form(value);
      return 'refused' in checked ? error(loc, `${shown(value)} ${checked.refused}`) : checked.value;
    }
    case 'integer': {
      const value = node.kind === 'scalar' ? node.value : undefined;
      if (typeof value !== 'number' || !Number.isInteger(value)) return error(loc, `expected a whole number, got ${node.kind === 'scalar' ? describe(value) : node.kind}`);
      if (field.min !== undefined && value < field.min) return error(loc, `must be at least ${field.min}, got ${value}`);
      if (field.max !== undefined && value > field.max) return error(loc, `must be at most ${field.max}, got ${value}`);
      return value;
    }
    case 'boolean': {
      const value = node.kind === 'scalar' ? node.value : undefined;
      if (typeof value !== 'boolean') return error(loc, `expected true or false, got ${node.kind === 'scalar' ? describe(value) : node.kind}`);
      return value;
    }
    case 'array': {
      if (node.kind !== 'seq') return error(loc, `expected a list, got ${node.kind === 'map' ? 'a mapping' : describe((node as { value: unknown }).value)}`);
      return node.items.map((item, i) => validateValue(field.items, item, joinPath(path, i), out, item.loc));
    }
    case 'shorthand': {
      if (node.kind === 'scalar' && typeof node.value === 'string') {
        return validateValue(field.object, { kind: 'map', loc, entries: new Map([[field.expand, { keyLoc: loc, node }]]) }, path, out, loc);
      }
      return validateValue(field.object, node, path, out, loc);
    }
    case 'map': {
      if (node.kind !== 'map') return error(loc, `expected a mapping, got ${node.kind === 'seq' ? 'a list' : describe(node.value)}`);
      const result: Record<string, unknown> = {};
      for (const [key, entry] of node.entries) {
        if (key.startsWith('x-')) continue;
        if (field.keyPattern && !field.keyPattern.test(key)) {
          out.push({ loc: entry.keyLoc, path: joinPath(path, key), message: `${shown(key)} is not ${field.keyHint ?? 'a valid key'}`, severity: 'error' });
          continue;
        }
        // Defined, not assigned: `__proto__:` is a key like any other here, not the object's prototype.
        Object.defineProperty(result, key, { value: validateValue(field.values, entry.node, joinPath(path, key), out, entry.keyLoc), enumerable: true, writable: true, configurable: true });
      }
      return result;
    }
    case 'object': {
      if (node.kind !== 'map') return error(loc, `expected a mapping, got ${node.kind === 'seq' ? 'a list' : describe(node.value)}`);
      const result: Record<string, unknown> = {};
      for (const [key, entry] of node.entries) {
        if (key.startsWith('x-')) continue;
        // Own keys only: `constructor:` or `toString:` must not pass as known because every object has them.
        if (!Object.hasOwn(field.fields, key)) {
          const known = Object.keys(field.fields).join(', ');
          out.push({ loc: entry.keyLoc, path: joinPath(path, key), message: `unknown key (expected one of: ${known}; keys starting with x- are free)`, severity: 'error' });
        }
      }
      for (const [key, sub] of Object.entries(field.fields)) {
        const entry = node.entries.get(key);
        if (!entry && field.required?.includes(key)) {
          out.push({ loc, path: joinPath(path, key), message: `required key is missing (${sub.description})`, severity: 'error' });
          continue;
        }
        const value = validateValue(sub, entry?.node, joinPath(path, key), out, entry?.keyLoc ?? loc);
        if (value !== undefined) result[key] = value;
      }
      return result;
    }
  }
}
