// Loads deploy.yml + deploy-<env>.yml: parse with positions, merge, validate, apply rules, resolve secrets.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { configErrors } from './diagnostics.js';
import { LIMITS, readBoundedText } from './limits.js';
import { mergeLocated, parseLocated, type Located } from './located.js';
import { ENV_NAME } from './names.js';
import { rules, locate } from './rules.js';
import { dataServerRules } from './data-server-rules.js';
import { configSchema } from './schema.js';
import { readSecretsFile, resolvePlaceholders } from './secrets.js';
import type { Config, LoadedConfig, ValidatedConfig } from './types.js';
import { formatDiagnostic, validateValue, type Diagnostic } from './validate.js';

export { ConfigError } from './diagnostics.js';

export interface LoadOptions {
  dir: string;
  env: string;
  /** The deployer's environment, searched for ${NAME} after the secrets file. */
  processEnv: Record<string, string | undefined>;
}

export async function loadConfig({ dir, env, processEnv }: LoadOptions): Promise<LoadedConfig> {
  if (!ENV_NAME.test(env)) throw new UserError(`environment name ${JSON.stringify(env)} is not valid: use lowercase letters, digits, - and _, starting with a letter`);
  const basePath = join(dir, 'deploy.yml');
  const envPath = join(dir, `deploy-${env}.yml`);
  const baseText = await readBoundedText(basePath);
  const envText = await readBoundedText(envPath);
  if (envText === undefined) throw new UserError(`no deploy-${env}.yml in ${dir}`, `create it (it may be as small as \`servers: [{host: local}]\`) or pick an existing environment`);
  const files = baseText === undefined ? [envPath] : [basePath, envPath];
  const envTree = parseLocated(envText, envPath);
  let root: Located = baseText === undefined ? envTree : mergeLocated(parseLocated(baseText, basePath), envTree);
  if (root.kind === 'scalar' && root.value === null) root = { kind: 'map', loc: root.loc, entries: new Map() };
  if (root.kind !== 'map') throw new UserError(`${envPath}:1:1: (top level): expected a mapping of keys`);

  const diagnostics: Diagnostic[] = [];
  const validated = validateValue(configSchema, root, '', diagnostics, root.loc) as ValidatedConfig;
  if (diagnostics.some((d) => d.severity === 'error')) throw configErrors(diagnostics.filter((d) => d.severity === 'error'));
  // Spread, then set: the keys keep their order (and so the config hash) whichever way environment was given.
  const config: Config = { ...validated, environment: validated.environment ?? env };
  if (env === 'branch') config.per_branch = true;
  for (const rule of [...rules, ...dataServerRules]) rule(config, root, diagnostics, env);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw configErrors(errors);

  const hash = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
  const secretsFile = join(dir, '.slipway', `secrets-${env}.env`);
  const fromFile = await readSecretsFile(secretsFile);
  const secrets = new Set<string>();
  const missing: Diagnostic[] = [];
  const resolve = (text: string, path: (string | number)[]): string => {
    const result = resolvePlaceholders(text, [fromFile, processEnv]);
    if (result.tooLong) missing.push({ loc: locate(root, path), path: path.join('.'), message: `longer than ${LIMITS.resolvedValue / 1024} KiB once its \${NAME} placeholders are filled in`, severity: 'error' });
    for (const name of result.missing) {
      missing.push({ loc: locate(root, path), path: path.join('.'), message: `secret \${${name}} is not set: export ${name}=... or add it to ${secretsFile}`, severity: 'error' });
    }
    // Only values that came from a placeholder are secret; short ones would redact ordinary words.
    for (const value of result.used) {
      if (value.length < 4) continue;
      secrets.add(value);
      // The value may also appear URL-encoded (in DATABASE_URL).
      secrets.add(encodeURIComponent(value));
    }
    return result.value;
  };
  for (const key of Object.keys(config.env_vars)) config.env_vars[key] = resolve(config.env_vars[key] ?? '', ['env_vars', key]);
  if (config.database.password) config.database.password = resolve(config.database.password, ['database', 'password']);
  if (config.database.url) config.database.url = resolve(config.database.url, ['database', 'url']);
  if (config.node.npm_token) config.node.npm_token = resolve(config.node.npm_token, ['node', 'npm_token']);
  for (const [i, hook] of config.notify.entries()) hook.url = resolve(hook.url, ['notify', i]);
  for (const [i, { s3 }] of config.backups.copy_to.entries()) {
    if (s3.access_key_id) s3.access_key_id = resolve(s3.access_key_id, ['backups', 'copy_to', i, 's3', 'access_key_id']);
    if (s3.secret_access_key) s3.secret_access_key = resolve(s3.secret_access_key, ['backups', 'copy_to', i, 's3', 'secret_access_key']);
  }
  const superuser = config.django.superuser;
  if (superuser.password) superuser.password = resolve(superuser.password, ['django', 'superuser', 'password']);
  const redis = config.setup.redis;
  if (redis.password) redis.password = resolve(redis.password, ['setup', 'redis', 'password']);
  if (missing.length > 0) throw configErrors(missing);

  return {
    config,
    dir,
    files,
    secrets: [...secrets],
    warnings: diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic),
    hash,
  };
}
