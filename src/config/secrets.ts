// `${NAME}` placeholders: resolved from the deployer's environment or the untracked
// .slipway/secrets-<env>.env, so secret values never sit in a committed file.
import { UserError } from '../errors.js';
import { LIMITS, readBoundedText } from './limits.js';
import { ENV_VAR_NAME } from './names.js';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
export const SECRET_KEY = /PASSWORD|SECRET|TOKEN|KEY/i;

/** Parses KEY=VALUE lines (comments and blank lines skipped, optional single or double quotes). */
export function parseEnvFile(text: string, file = 'secrets file'): Record<string, string> {
  // No prototype: a `constructor=` or `__proto__=` line is a variable like any other.
  const result = Object.create(null) as Record<string, string>;
  let count = 0;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).replace(/^export\s+/, '').trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    if (!ENV_VAR_NAME.test(key)) continue;
    if (!(key in result) && ++count > LIMITS.secrets) throw new UserError(`${file}:${index + 1}:1: ${key}: more than ${LIMITS.secrets} variables in one secrets file`);
    result[key] = value;
  }
  return result;
}

export async function readSecretsFile(path: string): Promise<Record<string, string>> {
  const text = await readBoundedText(path);
  return text === undefined ? {} : parseEnvFile(text, path);
}

export interface Resolution {
  value: string;
  missing: string[];
  used: string[];
  /** Set when filling in the placeholders would pass LIMITS.resolvedValue; `value` then stops short of it. */
  tooLong?: true;
}

/** Replaces every `${NAME}`; the secrets file wins over the environment so a deploy is reproducible. */
export function resolvePlaceholders(text: string, sources: Record<string, string | undefined>[]): Resolution {
  const missing: string[] = [];
  const used: string[] = [];
  // Counted as it grows: a value of many ${BIG} would otherwise be built in full before it could be measured.
  let length = text.length;
  let tooLong = false;
  const value = text.replace(PLACEHOLDER, (match, name: string) => {
    for (const source of sources) {
      // Own keys only: ${constructor} is a missing secret, not Object's constructor.
      const found = Object.hasOwn(source, name) ? source[name] : undefined;
      if (found === undefined) continue;
      length += found.length - match.length;
      if (length > LIMITS.resolvedValue) tooLong = true;
      if (tooLong) return '';
      used.push(found);
      return found;
    }
    missing.push(name);
    return '';
  });
  return { value, missing, used, ...(tooLong ? { tooLong: true as const } : {}) };
}

export function hasPlaceholder(text: string): boolean {
  return new RegExp(PLACEHOLDER.source).test(text);
}
