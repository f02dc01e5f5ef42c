// What `slipway init` tells the user (pure): what it detected, what it wrote or left alone, what it could not
// tell with the key to set, and the commands to run next.
import type { AppDescription } from '../recipes/describe.js';
import type { InitOptions } from './init-files.js';
import { PLACEHOLDER_HOST } from './init-files.js';
import type { SecretSpec } from './init-secrets.js';
import { quote } from '../ops/shell.js';

export interface InitOutcome {
  path: string;
  outcome: 'written' | 'exists';
}

export interface InitReport {
  outcomes: readonly InitOutcome[];
  secrets: readonly SecretSpec[];
  /** The lines added to .gitignore. */
  gitignore: readonly string[];
  /** `-c DIR` as given, repeated in the next commands; undefined for the current directory. */
  configArg?: string;
}

const FRAMEWORK: Record<AppDescription['framework'], string> = { django: 'a Django app', fastapi: 'a FastAPI app', node: 'a Node.js app', python: 'a Python app', generic: 'no Python app' };

export function initReport(d: AppDescription, options: InitOptions, report: InitReport): string[] {
  const lines = [`Detected ${FRAMEWORK[d.framework]} (${d.detectedFrom})${d.found.length > 0 ? `: ${d.found.join(', ')}` : ''}.`];
  const generated = report.secrets.filter((s) => s.generate).map((s) => s.name);
  const toFill = report.secrets.filter((s) => !s.generate).map((s) => s.name);
  for (const { path, outcome } of report.outcomes) {
    if (outcome === 'exists') {
      lines.push(`left alone: ${path} (it exists)`);
      continue;
    }
    const secrets = path.startsWith('.slipway/secrets-')
      ? ` (0600${generated.length > 0 ? `; generated ${generated.join(', ')}` : ''}${toFill.length > 0 ? `; to fill in: ${toFill.join(', ')}` : ''})`
      : '';
    lines.push(`wrote ${path}${secrets}`);
  }
  if (report.gitignore.length > 0) lines.push(`added to .gitignore: ${report.gitignore.join(', ')}`);

  const missing = [...d.missing];
  for (const name of toFill) missing.push({ key: name, message: `a value only you know: set it in .slipway/secrets-<env>.env (a commented line waits there)` });
  if (missing.length > 0) {
    lines.push('', 'Not detected, set it yourself:');
    for (const m of missing) lines.push(`  ${m.key}: ${m.message}`);
  }

  const dir = report.configArg ? quote(report.configArg) : undefined;
  const c = dir ? ` -c ${dir}` : '';
  const git = dir ? `git -C ${dir}` : 'git';
  const written = report.outcomes.filter((o) => o.outcome === 'written' && !o.path.startsWith('.slipway/')).map((o) => o.path);
  const commit = [...(report.gitignore.length > 0 ? ['.gitignore'] : []), ...written];
  lines.push('', 'Next:');
  if (!d.git) lines.push(`  ${git} init -b main && ${git} add -A && ${git} commit -m "Deploy with slipway"   # slipway deploys commits`);
  else if (commit.length > 0) lines.push(`  ${git} add ${commit.join(' ')} && ${git} commit -m "Deploy with slipway"`);
  // validate looks the sandbox server up, so it comes after `up`.
  lines.push(`  sudo slipway sandbox up ${options.sandbox}`, `  slipway${c} validate sandbox`, `  slipway${c} deploy sandbox`);
  lines.push(`Then put your server in deploy-${options.env}.yml (in place of ${PLACEHOLDER_HOST}) and run slipway${c} setup ${options.env} and slipway${c} deploy ${options.env}.`);
  return lines;
}
