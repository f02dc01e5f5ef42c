// slipway init: detect the app in the working tree, write its config and secrets files (never over existing
// ones), and say what is left to set and what to run next.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ENV_NAME } from '../config/names.js';
import { UserError } from '../errors.js';
import type { NewFile } from '../execute/working-tree.js';
import type { InitOutcome } from '../render/init-report.js';
import type { GlobalOptions } from './context.js';
import type { Io } from './io.js';

interface InitOptions {
  env: string;
  sandbox?: string;
  yes?: boolean;
}

/** The project name as a sandbox server name (at most 31 characters, no trailing dash). */
const sandboxNameFor = (project: string) => project.slice(0, 31).replace(/-+$/, '');

export function registerInitCommand(program: Command, io: Io): void {
  program
    .command('init')
    .description('detect the app here (Django, FastAPI or other) and write deploy.yml, deploy-<env>.yml, deploy-sandbox.yml and secrets files; never over an existing file')
    .option('--env <name>', 'the server environment to write besides sandbox', 'prod')
    .option('--sandbox <name>', 'the sandbox server deploy-sandbox.yml names (default: the project name)')
    .option('--yes', 'answer every question with its default, for scripts (init asks none: accepted so scripts can pass it)')
    .action(async (options: InitOptions) => {
      const { appendToFile, readOptional, readWorkingTree, writeNewFile } = await import('../execute/working-tree.js');
      const { describeApp, wantsContent } = await import('../recipes/describe.js');
      const { renderConfigFiles } = await import('../render/init-files.js');
      const { initReport } = await import('../render/init-report.js');
      const { gitignoreAddition, renderSecretsFile, secretSpecs } = await import('../render/init-secrets.js');
      const { isValidServerName } = await import('../sandbox/registry.js');
      const globals = program.opts<GlobalOptions>();
      if (!ENV_NAME.test(options.env)) throw new UserError(`environment name ${JSON.stringify(options.env)} is not valid: use lowercase letters, digits, - and _, starting with a letter`);
      if (options.env === 'sandbox') throw new UserError('--env sandbox: deploy-sandbox.yml is always written', 'name the environment of your real servers, e.g. --env prod');
      if (options.sandbox !== undefined && !isValidServerName(options.sandbox)) throw new UserError(`sandbox server name ${JSON.stringify(options.sandbox)} is not valid: lowercase letters, digits and -, starting with a letter, at most 31`);
      const root = resolve(io.cwd, globals.config ?? '.');

      const description = describeApp(await readWorkingTree(root, wantsContent));
      const sandbox = options.sandbox ?? sandboxNameFor(description.project);
      const choices = { env: options.env, sandbox };
      const specs = secretSpecs(description);
      // Every file is computed before the first write; each environment gets values of its own.
      const files: NewFile[] = renderConfigFiles(description, choices);
      for (const env of ['sandbox', options.env]) {
        const values = Object.fromEntries(specs.filter((s) => s.generate).map((s) => [s.name, randomBytes(s.name === 'DB_PASSWORD' ? 24 : 40).toString('base64url')]));
        files.push({ path: `.slipway/secrets-${env}.env`, text: renderSecretsFile(env, specs, values), mode: 0o600 });
      }
      const gitignore = gitignoreAddition(await readOptional(root, '.gitignore'));

      const outcomes: InitOutcome[] = [];
      for (const file of files) outcomes.push({ path: file.path, outcome: await writeNewFile(root, file) });
      if (gitignore) await appendToFile(root, '.gitignore', gitignore.text);
      const configArg = globals.config && globals.config !== '.' ? globals.config : undefined;
      for (const line of initReport(description, choices, { outcomes, secrets: specs, gitignore: gitignore?.lines ?? [], ...(configArg ? { configArg } : {}) })) io.out(line);
    });
}
