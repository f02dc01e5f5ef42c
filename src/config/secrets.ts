// `${NAME}` placeholders: resolved from the deployer's environment or the untracked
// .slipway/secrets-<env>.env, so secret values never sit in a committed file.
import { readFile } from 'node:fs/promises';
import { ENV_VAR_NAME } from './names.js';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
export const SECRET_KEY = /PASSWORD|SECRET|TOKEN|KEY/i;

/** Parses KEY=VALUE lines (comments and blank lines skipped, optional single or double quotes). */
export function parseEnvFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).replace(/^export\s+/, '').trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) value = value.slice(1, -1);
    if (ENV_VAR_NAME.test(key)) result[key] = value;
  }
  return result;
}

export async function readSecretsFile(path: string): Promise<Record<string, string>> {
  try {
    return parseEnvFile(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

export interface Resolution {
  value: string;
  missing: string[];
  used: string[];
}

/** Replaces every `${NAME}`; the secrets file wins over the environment so a deploy is reproducible. */
export function resolvePlaceholders(text: string, sources: Record<string, string | undefined>[]): Resolution {
  const missing: string[] = [];
  const used: string[] = [];
  const value = text.replace(PLACEHOLDER, (_match, name: string) => {
    for (const source of sources) {
      const found = source[name];
      if (found !== undefined) {
        used.push(found);
        return found;
      }
    }
    missing.push(name);
    return '';
  });
  return { value, missing, used };
}

export function hasPlaceholder(text: string): boolean {
  return new RegExp(PLACEHOLDER.source).test(text);
}
