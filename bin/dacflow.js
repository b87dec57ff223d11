#!/usr/bin/env node
// The CLI is bundled by `npm run build` (run automatically by `npm install`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/dacflow.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('dacflow is not built yet: run `npm run build` in the dacflow folder.');
  process.exit(2);
}
await import(entry.href);
