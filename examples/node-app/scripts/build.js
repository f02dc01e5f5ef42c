// The build step (`npm run build`): assets/*.js and assets/*.css, concatenated per type into public/app.js and
// public/app.css, each headed by the sha256 of its content; public/manifest.json lists the hashes. public/ is
// what nginx serves at /static/ (http.static_dir): built for each release, never committed.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const ASSETS = path.join(ROOT, 'assets');
const PUBLIC = path.join(ROOT, 'public');

// Sorted: the same sources give the same bytes, and so the same hash, on every machine.
const sources = fs.readdirSync(ASSETS).sort();
// A fresh public/: a source removed from assets/ must not survive in the output.
fs.rmSync(PUBLIC, { recursive: true, force: true });
fs.mkdirSync(PUBLIC, { recursive: true });

const manifest = {};
for (const ext of ['.js', '.css']) {
  const files = sources.filter((name) => path.extname(name) === ext);
  const content = files.map((name) => fs.readFileSync(path.join(ASSETS, name), 'utf8').replace(/\n*$/, '\n')).join('\n');
  const hash = crypto.createHash('sha256').update(content).digest('hex');
  const out = `app${ext}`;
  fs.writeFileSync(path.join(PUBLIC, out), `/* notes ${out} sha256:${hash} from ${files.join(', ') || 'nothing'} */\n${content}`);
  manifest[out] = hash;
  console.log(`wrote public/${out} (${files.length} file(s), sha256 ${hash.slice(0, 12)})`);
}
fs.writeFileSync(path.join(PUBLIC, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log('wrote public/manifest.json');
