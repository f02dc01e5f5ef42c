// Choosing the recipe and merging its defaults with the config: the config always wins.
import type { Config } from '../config/types.js';
import { djangoRecipe } from './django.js';
import { fastapiRecipe } from './fastapi.js';
import { genericRecipe, pythonRecipe } from './generic.js';
import { nodeRecipe } from './node.js';
import type { AppProfile, Recipe, RecipeContext } from './types.js';

/** In detection order: the most specific first; a Python app with a package.json (its frontend's) stays Python. */
export const recipes: readonly Recipe[] = [djangoRecipe, fastapiRecipe, pythonRecipe, nodeRecipe, genericRecipe];

export function chooseRecipe(framework: Config['project']['framework'], files: RecipeContext['files']): Recipe {
  if (framework !== 'auto') return recipes.find((r) => r.name === framework)!;
  return recipes.find((r) => r.detect(files))!;
}

export function resolveProfile(ctx: RecipeContext): AppProfile {
  const { config } = ctx;
  const recipe = chooseRecipe(config.project.framework, ctx.files);
  const defaults = recipe.defaults(ctx);
  const configured = Object.keys(config.processes).length > 0;
  const migrateCommand = config.migrate.command ?? defaults.migrate?.command;
  const migrateCheck = config.migrate.check ?? (config.migrate.command ? undefined : defaults.migrate?.check);
  // Migrations need a database to run against; without one configured, a recipe's default migrate is skipped.
  const wantsMigrate = config.migrate.command !== undefined || config.database.engine !== 'none';
  const smoke = config.smoke ?? defaults.smoke;
  const migrateInputs = config.migrate.inputs ? { ...defaults.stepInputs, migrate: inputFiles(ctx.files.paths, config.migrate.inputs) } : defaults.stepInputs;
  return {
    ...defaults,
    recipe: recipe.name,
    requirementsFiles: config.dependencies.requirements_files ?? defaults.requirementsFiles,
    processes: configured ? config.processes : defaults.processes,
    healthPath: config.health.path ?? defaults.healthPath,
    ...(migrateCommand && wantsMigrate ? { migrate: { command: migrateCommand, ...(migrateCheck ? { check: migrateCheck } : {}) } } : { migrate: undefined }),
    ...(smoke ? { smoke } : {}),
    ...(migrateInputs ? { stepInputs: migrateInputs } : {}),
  };
}

/** The tree's files that are, or are under, the given paths. */
function inputFiles(paths: readonly string[], inputs: readonly string[]): string[] {
  return paths.filter((p) => inputs.some((input) => p === input || p.startsWith(`${input.replace(/\/$/, '')}/`)));
}
