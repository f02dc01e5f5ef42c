// A small schema language: every key carries a description and (where optional) a default, so one definition
// gives validation, defaults, the editor JSON Schema and the configuration reference in the README.

export interface Doc {
  description: string;
  /** Shown in the docs when the key is optional and has no default. */
  actedOnBy?: string;
}

/**
 * A string's checked form, beyond what a pattern can say: the value as slipway uses it (a path normalized) or
 * why it is refused, as the rest of a sentence that starts with the quoted value.
 */
export type Form = (value: string) => { value: string } | { refused: string };

export type Field =
  | ({ kind: 'string'; default?: string; pattern?: RegExp; patternHint?: string; enum?: readonly string[]; form?: Form } & Doc)
  | ({ kind: 'integer'; default?: number; min?: number; max?: number } & Doc)
  | ({ kind: 'boolean'; default?: boolean } & Doc)
  | ({ kind: 'array'; items: Field; default?: unknown[] } & Doc)
  | ({ kind: 'object'; fields: Record<string, Field>; required?: readonly string[]; default?: object } & Doc)
  | ({ kind: 'map'; values: Field; keyPattern?: RegExp; keyHint?: string; default?: object } & Doc)
  /** A string shorthand that expands to an object (e.g. a process given as just its command). */
  | ({ kind: 'shorthand'; object: Field & { kind: 'object' }; expand: string } & Doc);

type Opts<F> = Omit<F, 'kind' | 'description'>;
type Of<K extends Field['kind']> = Extract<Field, { kind: K }>;

export const str = (description: string, opts: Opts<Of<'string'>> = {}): Field => ({ kind: 'string', description, ...opts });
export const int = (description: string, opts: Opts<Of<'integer'>> = {}): Field => ({ kind: 'integer', description, ...opts });
export const bool = (description: string, opts: Opts<Of<'boolean'>> = {}): Field => ({ kind: 'boolean', description, ...opts });
export const list = (description: string, items: Field, opts: Omit<Opts<Of<'array'>>, 'items'> = {}): Field => ({
  kind: 'array',
  description,
  items,
  default: [],
  ...opts,
});
export const obj = (
  description: string,
  fields: Record<string, Field>,
  opts: Omit<Opts<Of<'object'>>, 'fields'> = {},
): Of<'object'> => ({ kind: 'object', description, fields, ...opts });
export const map = (description: string, values: Field, opts: Omit<Opts<Of<'map'>>, 'values'> = {}): Field => ({
  kind: 'map',
  description,
  values,
  default: {},
  ...opts,
});
export const shorthand = (description: string, object: Of<'object'>, expand: string): Field => ({
  kind: 'shorthand',
  description,
  object,
  expand,
});

/** JSON Schema (draft 2020-12) for editors; `x-` keys are allowed everywhere an object is. */
export function toJsonSchema(field: Field): Record<string, unknown> {
  const base: Record<string, unknown> = { description: field.description };
  if ('default' in field && field.default !== undefined) base.default = field.default;
  switch (field.kind) {
    case 'string':
      return {
        ...base,
        type: 'string',
        ...(field.enum ? { enum: [...field.enum] } : {}),
        ...(field.pattern ? { pattern: field.pattern.source } : {}),
      };
    case 'integer':
      return { ...base, type: 'integer', ...(field.min !== undefined ? { minimum: field.min } : {}), ...(field.max !== undefined ? { maximum: field.max } : {}) };
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'array':
      return { ...base, type: 'array', items: toJsonSchema(field.items) };
    case 'object':
      return {
        ...base,
        type: 'object',
        properties: Object.fromEntries(Object.entries(field.fields).map(([k, f]) => [k, toJsonSchema(f)])),
        patternProperties: { '^x-': {} },
        additionalProperties: false,
        ...(field.required && field.required.length > 0 ? { required: [...field.required] } : {}),
      };
    case 'map':
      // As in the validator, `x-` keys are free in maps too (env_vars: {x-note: ...} must not be flagged).
      return {
        ...base,
        type: 'object',
        ...(field.keyPattern ? { propertyNames: { anyOf: [{ pattern: field.keyPattern.source }, { pattern: '^x-' }] } } : {}),
        patternProperties: { '^x-': {} },
        additionalProperties: toJsonSchema(field.values),
      };
    case 'shorthand':
      return { ...base, oneOf: [{ type: 'string' }, toJsonSchema(field.object)] };
  }
}
