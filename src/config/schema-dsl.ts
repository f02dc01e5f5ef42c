// A small schema language: every key carries a description and (where optional) a default, so one definition
// gives validation, defaults, the editor JSON Schema, the configuration reference in the README and, through
// the builders' types, the TypeScript type of the validated config (`Infer`).

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

// The value type rides on each field as a property that exists only for the compiler: the builders never
// set it, so the runtime objects (and the JSON Schema made from them) are unchanged.
declare const carried: unique symbol;
/** `T` is what the field validates to; `P` whether its key is always there afterwards (a default, or an object). */
export type Typed<F extends Field, T, P extends boolean> = F & { readonly [carried]?: { value: T; present: P } };

/** What a field validates to (defaults applied); `unknown` for a field built without the typed builders. */
export type Infer<F> = F extends { readonly [carried]?: { value: infer T } } ? T : unknown;
type Present<F> = F extends { readonly [carried]?: { present: true } } ? true : false;

// Spells an intersection out as one object type, so editors and type errors show the config's keys.
export type Flat<T> = { [K in keyof T]: T[K] } & unknown;
/** An object's keys: present when required, defaulted or themselves objects; optional (`?`) otherwise. */
export type Shape<Fs extends Record<string, Field>, Required extends string> = Flat<
  { [K in keyof Fs as K extends Required ? K : Present<Fs[K]> extends true ? K : never]: Infer<Fs[K]> } & {
    [K in keyof Fs as K extends Required ? never : Present<Fs[K]> extends true ? never : K]?: Infer<Fs[K]>;
  }
>;

type Opts<F> = Omit<F, 'kind' | 'description'>;
type Of<K extends Field['kind']> = Extract<Field, { kind: K }>;
/** Whether the options give a default: `{ default: undefined }` explicitly takes away a builder's own. */
type Defaults<O, Otherwise extends boolean> = O extends { default: infer D } ? (undefined extends D ? false : true) : Otherwise;
type None = Record<never, never>;

// `const` keeps an enum's values as literals, so `enum: ['yes', 'accept-new']` types the key as 'yes' | 'accept-new'.
export const str = <const O extends Opts<Of<'string'>> = None>(description: string, opts?: O) =>
  ({ kind: 'string', description, ...opts }) as Typed<Of<'string'>, O extends { enum: readonly (infer E extends string)[] } ? E : string, Defaults<O, false>>;
export const int = <O extends Opts<Of<'integer'>> = None>(description: string, opts?: O) =>
  ({ kind: 'integer', description, ...opts }) as Typed<Of<'integer'>, number, Defaults<O, false>>;
export const bool = <O extends Opts<Of<'boolean'>> = None>(description: string, opts?: O) =>
  ({ kind: 'boolean', description, ...opts }) as Typed<Of<'boolean'>, boolean, Defaults<O, false>>;
/** A list defaults to empty, so its key is present unless the options say `default: undefined`. */
export const list = <I extends Field, O extends Omit<Opts<Of<'array'>>, 'items' | 'default'> & { default?: Infer<I>[] | undefined } = None>(
  description: string,
  items: I,
  opts?: O,
) => ({ kind: 'array', description, items, default: [], ...opts }) as Typed<Of<'array'>, Infer<I>[], Defaults<O, true>>;
/** `required` names keys of `fields` (a typo is a type error); an object's key is always present once validated. */
export const obj = <Fs extends Record<string, Field>, const R extends readonly (keyof Fs & string)[] = readonly []>(
  description: string,
  fields: Fs,
  opts: Omit<Opts<Of<'object'>>, 'fields' | 'required'> & { required?: R } = {},
) => ({ kind: 'object', description, fields, ...opts }) as Typed<Of<'object'>, Shape<Fs, R[number]>, true>;
/** A map defaults to empty, like a list. */
export const map = <V extends Field, O extends Omit<Opts<Of<'map'>>, 'values'> = None>(description: string, values: V, opts?: O) =>
  ({ kind: 'map', description, values, default: {}, ...opts }) as Typed<Of<'map'>, Record<string, Infer<V>>, Defaults<O, true>>;
/** Validates to the object's type: the string form is expanded into it before anything else sees it. */
export const shorthand = <O extends Of<'object'>>(description: string, object: O, expand: string & keyof Infer<O>) =>
  ({ kind: 'shorthand', description, object, expand }) as Typed<Of<'shorthand'>, Infer<O>, false>;

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
