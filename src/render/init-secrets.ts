// The secrets files and the .gitignore lines `slipway init` writes (pure): one KEY=value line per ${NAME} the
// generated config uses, with a random value where one is safe (the app's own signing key, the database
// password) and a commented-out line to fill in where only the user knows the value.
import type { AppDescription } from '../recipes/describe.js';

export interface SecretSpec {
  name: string;
  /** A random value is safe: nothing outside the app knows it yet. */
  generate: boolean;
  why: string;
}

/** Every `${NAME}` the generated config uses, in the order the files use them. */
export function secretSpecs(d: AppDescription): SecretSpec[] {
  const specs = new Map<string, SecretSpec>();
  if (d.database) specs.set('DB_PASSWORD', { name: 'DB_PASSWORD', generate: true, why: 'the PostgreSQL role\'s password (database.password)' });
  for (const s of d.env) {
    if (s.value.kind !== 'secret' || specs.has(s.value.placeholder)) continue;
    specs.set(s.value.placeholder, { name: s.value.placeholder, generate: s.value.generate, why: `read by ${s.files.join(', ')}` });
  }
  return [...specs.values()];
}

/**
 * The secrets file of one environment; `values` holds a generated value for each spec with `generate`. The
 * values are URL-safe base64, so they need no quoting here or in DATABASE_URL.
 */
export function renderSecretsFile(env: string, specs: readonly SecretSpec[], values: Readonly<Record<string, string>>): string {
  const lines = [
    `# Secrets of the ${env} environment: the values of the \${NAME} placeholders in deploy*.yml, written by slipway init.`,
    '# Never committed (.gitignore). KEY=value lines; your environment is searched after this file.',
  ];
  const generated = specs.filter((s) => s.generate);
  const toFill = specs.filter((s) => !s.generate);
  if (generated.length > 0) {
    lines.push('', '# Random values, generated for this environment:');
    for (const s of generated) lines.push(`# ${s.why}`, `${s.name}=${values[s.name] ?? ''}`);
  }
  if (toFill.length > 0) {
    lines.push('', '# To fill in (`slipway validate` fails until each is set, here or in your environment):');
    for (const s of toFill) lines.push(`# ${s.why}`, `# ${s.name}=`);
  }
  if (specs.length === 0) lines.push('', '# The config uses no ${NAME} yet: add a line for each one you write in it.');
  return `${lines.join('\n')}\n`;
}

export const GITIGNORE_LINES = ['.slipway/secrets-*.env', '.slipway/logs/'] as const;

/**
 * What to append to .gitignore (undefined: nothing), so secrets and local deploy logs stay out of git. A line
 * ignoring all of .slipway/ covers both.
 */
export function gitignoreAddition(existing: string | undefined): { text: string; lines: string[] } | undefined {
  const present = (existing ?? '').split('\n').map((l) => l.trim());
  const all = present.some((l) => /^\/?\.slipway(\/(\*\*?)?)?$/.test(l));
  const missing = all ? [] : GITIGNORE_LINES.filter((wanted) => !present.includes(wanted) && !present.includes(`/${wanted}`));
  if (missing.length === 0) return undefined;
  const separator = existing === undefined || existing === '' ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
  return { text: `${separator}# slipway: secrets and local deploy logs\n${missing.join('\n')}\n`, lines: missing };
}
