#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (built by `make build`), as one bundled file (scripts/bundle.mjs).
// `--version` alone loads only the version module, not every command and its layers.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  const { version } = await import('../dist/cli/version.js');
  process.stdout.write(`${version()}\n`);
} else {
  const { main } = await import('../dist/cli/bundle.mjs');
  process.exitCode = await main(argv);
}
