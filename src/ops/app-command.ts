// Running an app's own commands (hooks, migrations, builds) in a release as the units run its processes: the
// release's runtime first on PATH (its venv, or its Node and node_modules/.bin), its .env and identity loaded.
import type { Command, Snippet } from './command.js';
import { quote, renderCmd } from './shell.js';
import type { Runtime } from '../recipes/types.js';
import { venvEnvironment } from './python.js';
import { nodeEnvironment } from './node.js';
import { RELEASE_ENV_FILE } from './release.js';

/** The environment a runtime adds for a release's processes (through `current` or a slot for units). */
export function runtimeEnvironment(runtime: Runtime, appDir: string): Record<string, string> {
  if (runtime === 'python') return venvEnvironment(appDir);
  if (runtime === 'node') return nodeEnvironment(appDir);
  return {};
}

export interface AppCommandInput {
  dir: string;
  line: string;
  user: string | undefined;
  runtime: Runtime;
  stdin?: Command['stdin'];
}

/** A command of the app (hook, migration, collectstatic) in the release: its runtime first on PATH, its .env and its release's identity loaded. */
export function appCommand({ dir, line, user, runtime, stdin }: AppCommandInput): Command {
  const script = `set -a; if [ -f .env ]; then . ./.env; fi; if [ -f ${RELEASE_ENV_FILE} ]; then . ./${RELEASE_ENV_FILE}; fi; set +a; ${line}`;
  const env = Object.entries(runtimeEnvironment(runtime, dir)).map(([k, v]) => `${k}=${v}`);
  return {
    argv: env.length > 0 ? ['env', ...env, 'sh', '-c', script] : ['sh', '-c', script],
    cwd: dir,
    ...(user ? { user } : {}),
    ...(stdin ? { stdin } : {}),
  };
}

/**
 * An app command that the framework may not have (Django's collectstatic without django.contrib.staticfiles):
 * when it fails saying so (`marker` in its output), `note` says what was skipped instead of failing the deploy.
 * Its output is shown once it ends.
 */
export function unlessFrameworkLacks(command: Command, marker: string, note: string): Snippet {
  return {
    shell: [
      `slipway_rc=0; slipway_out=$(${renderCmd(command)} 2>&1) || slipway_rc=$?; if [ -n "$slipway_out" ]; then printf '%s\\n' "$slipway_out"; fi`,
      `if [ "$slipway_rc" != 0 ]; then case "$slipway_out" in *${quote(marker)}*) echo ${quote(note)} ;; *) (exit "$slipway_rc") ;; esac; fi`,
    ].join('\n'),
  };
}
