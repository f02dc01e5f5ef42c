// The CLI as one file (dist/cli/bundle.mjs), built from tsc's output: a Node process that loads 150 modules one by
// one spends 60 ms resolving and reading them, on every `deploy` and `rollback` (measured in bench/deploy.mjs's
// CLI figures). Each command's layers are still evaluated only when it runs: esbuild keeps dynamic imports lazy.
// Not minified, so a `--verbose` stack trace stays readable. Placed beside main.js, so the paths it computes from
// its own location (package.json for the version) are the same.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/cli/bundle.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // commander is CommonJS: its require() of Node's built-ins needs a real require in an ES module.
  banner: { js: "import { createRequire as slipwayRequire } from 'node:module';\nconst require = slipwayRequire(import.meta.url);" },
  logLevel: 'warning',
});
