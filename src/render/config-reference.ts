// The configuration reference (docs/configuration.md), generated from the schema so it cannot drift.
import type { Field } from '../config/schema-dsl.js';
import { configSchema } from '../config/schema.js';

function typeOf(field: Field): string {
  switch (field.kind) {
    case 'string':
      return field.enum ? field.enum.map((e) => `\`${e}\``).join(' \\| ') : 'string';
    case 'array':
      return `list of ${typeOf(field.items)}`;
    case 'map':
      return `map of ${typeOf(field.values)}`;
    case 'shorthand':
      return 'string or object';
    default:
      return field.kind;
  }
}

function defaultOf(field: Field): string {
  if (!('default' in field) || field.default === undefined) return '';
  const value = JSON.stringify(field.default);
  return value === '[]' || value === '{}' ? '' : `\`${value}\``;
}

function rows(field: Field, path: string, required: boolean, out: string[]): void {
  if (path) {
    const note = field.actedOnBy ? ` *(${field.actedOnBy})*` : '';
    out.push(`| \`${path}\` | ${typeOf(field)} | ${required ? 'yes' : ''} | ${defaultOf(field)} | ${field.description.replaceAll('|', '\\|')}${note} |`);
  }
  if (field.kind === 'object') {
    for (const [key, sub] of Object.entries(field.fields)) rows(sub, path ? `${path}.${key}` : key, field.required?.includes(key) ?? false, out);
  } else if (field.kind === 'array' && field.items.kind === 'object') {
    const item = field.items;
    for (const [key, sub] of Object.entries(item.fields)) rows(sub, `${path}[].${key}`, item.required?.includes(key) ?? false, out);
  } else if (field.kind === 'map' && field.values.kind === 'shorthand') {
    for (const [key, sub] of Object.entries(field.values.object.fields)) rows(sub, `${path}.<name>.${key}`, field.values.object.required?.includes(key) ?? false, out);
  }
}

export function configReference(): string {
  const out = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `node scripts/config-reference.mjs`; a unit test keeps it current. -->',
    '',
    'slipway reads `deploy.yml` (optional, shared by every environment) deep-merged with `deploy-<env>.yml`',
    '(required). Maps merge key by key; lists and values in the environment file replace the shared ones.',
    'Unknown keys are errors; keys starting with `x-` are free for your own YAML anchors. `slipway schema`',
    'prints the JSON Schema for editor completion.',
    '',
    '| key | type | required | default | meaning |',
    '| --- | --- | --- | --- | --- |',
  ];
  rows(configSchema, '', true, out);
  return `${out.join('\n')}\n`;
}
