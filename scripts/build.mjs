// Bundles the CLI, the benchmarks and every function with esbuild.
// Each function lands in dist/functions/<name>/ with func.js, its func.yaml, a package.json and a
// Dockerfile: what an OCI Functions image build needs.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const quiet = process.argv.includes('--quiet');

// ESM bundles of CommonJS packages (the OCI SDK) need `require`.
const banner = {
  js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
};
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  banner,
  logLevel: 'warning',
  legalComments: 'none',
};

rmSync(dist, { recursive: true, force: true });

const entries = [{ in: join(root, 'cli/main.ts'), out: join(dist, 'cli/dacflow.js') }];
if (existsSync(join(root, 'bench/run.ts'))) {
  entries.push({ in: join(root, 'bench/run.ts'), out: join(dist, 'bench/run.js') });
}
for (const e of entries) {
  await build({ ...common, entryPoints: [e.in], outfile: e.out, sourcemap: 'linked' });
}

const fnRoot = join(root, 'functions');
const functions = existsSync(fnRoot)
  ? readdirSync(fnRoot, { withFileTypes: true }).filter(
      (d) => d.isDirectory() && existsSync(join(fnRoot, d.name, 'func.ts')),
    )
  : [];
for (const fn of functions) {
  const outDir = join(dist, 'functions', fn.name);
  mkdirSync(outDir, { recursive: true });
  await build({
    ...common,
    entryPoints: [join(fnRoot, fn.name, 'func.ts')],
    outfile: join(outDir, 'func.js'),
    minify: true,
  });
  copyFileSync(join(fnRoot, fn.name, 'func.yaml'), join(outDir, 'func.yaml'));
  writeFileSync(
    join(outDir, 'package.json'),
    JSON.stringify({ name: fn.name, private: true, type: 'module' }, null, 2) + '\n',
  );
  copyFileSync(join(root, 'functions/Dockerfile'), join(outDir, 'Dockerfile'));
}
if (!quiet) console.log(`built CLI and ${functions.length} function(s) into dist/`);
