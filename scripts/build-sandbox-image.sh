#!/bin/sh
# Builds the sandbox server image, or finds it cached (`make sandbox-image`). Needs root, the host packages from
# scripts/install-sandbox-deps.sh, and the compiled library (`npm run build`, done here if dist/ is missing).
# Usage: scripts/build-sandbox-image.sh [--image bookworm] [--rebuild]
set -eu
cd "$(dirname "$0")/.."
[ -f dist/sandbox/index.js ] || npm run build

exec node --input-type=module -e '
import { ensureImage } from "./dist/sandbox/index.js";
const args = process.argv.slice(1);
const at = args.indexOf("--image");
const image = at >= 0 ? args[at + 1] : "bookworm";
try {
  const r = await ensureImage({ image, rebuild: args.includes("--rebuild"), log: (line) => console.error(line) });
  const how = r.built ? `built in ${r.buildSeconds.toFixed(0)} s` : "cached";
  console.log(`image ${r.name}-${r.key} (${how}): ${r.dir}`);
} catch (err) {
  console.error(`error: ${err.message}`);
  if (err.hint) console.error(`hint: ${err.hint}`);
  process.exit(1);
}
' -- "$@"
