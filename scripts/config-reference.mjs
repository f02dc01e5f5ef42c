#!/usr/bin/env node
// Regenerates docs/configuration.md from the schema (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { configReference } from '../dist/render/config-reference.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), configReference());
console.log('docs/configuration.md written');
