// Bundles the CLI, the benchmarks and every function with esbuild.
// Each function lands in dist/functions/<name>/ with func.js, its func.yaml, a package.json and a
// Dockerfile: what an OCI Functions image build needs. Test fixture functions written in
// TypeScript (test/fixtures/functions/<name>/func.ts) land in dist/fixtures/functions/<name>/.
//
// Usage: node scripts/build.mjs [--quiet] [--functions-only]
import { build } from 'esbuild';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const quiet = process.argv.includes('--quiet');
const functionsOnly = process.argv.includes('--functions-only');

// ESM bundles of CommonJS packages (the OCI SDK, the FDK) need `require`: verified with the OCI
// SDK and @fnproject/fdk 0.0.76 under Node 20 (test/integration/runner/bundle.test.ts).
const banner = {
  js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
};
/**
 * The OCI SDK pulls in node-fetch (and its 300 KB unicode tables) for Node versions without a
 * global fetch. Node 20 has one, and oci-common only installs isomorphic-fetch's polyfill when
 * `global.fetch` is missing, so both resolve to tiny shims over the global fetch.
 */
export const fetchShimPlugin = {
  name: 'dacflow-fetch-shim',
  setup(b) {
    b.onResolve({ filter: /^(isomorphic-fetch|node-fetch)$/ }, (args) => ({
      path: args.path,
      namespace: 'dacflow-shim',
    }));
    b.onLoad({ filter: /.*/, namespace: 'dacflow-shim' }, (args) => ({
      contents:
        args.path === 'isomorphic-fetch'
          ? ''
          : 'const f = (...a) => globalThis.fetch(...a); module.exports = f; module.exports.default = f;',
      loader: 'js',
    }));
  },
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

/**
 * One function bundle. Nothing is external: the fnproject/node image has no node_modules, so the
 * FDK and the SDK go inside the bundle. Minified, no source map (smaller image, faster cold start).
 * Split: func.js holds the FDK and the loader, and the handler (zod, the schemas, the SDK) is a
 * chunk under chunks/ that is read and parsed on the first call, not before the socket is ready.
 */
async function bundleFunction(entry, outDir, funcYaml) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    ...common,
    entryPoints: [{ in: entry, out: 'func' }],
    outdir: outDir,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    minify: true,
    sourcemap: false,
    plugins: [fetchShimPlugin],
  });
  if (funcYaml && existsSync(funcYaml)) copyFileSync(funcYaml, join(outDir, 'func.yaml'));
  writeFileSync(
    join(outDir, 'package.json'),
    JSON.stringify({ name: outDir.split('/').pop(), private: true, type: 'module' }, null, 2) +
      '\n',
  );
  copyFileSync(join(root, 'functions/Dockerfile'), join(outDir, 'Dockerfile'));
  const chunks = existsSync(join(outDir, 'chunks')) ? readdirSync(join(outDir, 'chunks')) : [];
  return chunks.reduce(
    (n, c) => n + statSync(join(outDir, 'chunks', c)).size,
    statSync(join(outDir, 'func.js')).size,
  );
}

function tsFunctionDirs(base) {
  return existsSync(base)
    ? readdirSync(base, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(base, d.name, 'func.ts')))
        .map((d) => d.name)
    : [];
}

if (!functionsOnly) {
  // Only this script's own outputs are replaced: other tools may keep files under dist/.
  rmSync(join(dist, 'cli'), { recursive: true, force: true });
  rmSync(join(dist, 'bench'), { recursive: true, force: true });
  const entries = [{ in: join(root, 'cli/main.ts'), out: join(dist, 'cli/dacflow.js') }];
  if (existsSync(join(root, 'bench/run.ts'))) {
    entries.push({ in: join(root, 'bench/run.ts'), out: join(dist, 'bench/run.js') });
  }
  for (const e of entries) {
    await build({ ...common, entryPoints: [e.in], outfile: e.out, sourcemap: 'linked' });
  }
}

const sizes = {};
const fnRoot = join(root, 'functions');
const functions = tsFunctionDirs(fnRoot);
rmSync(join(dist, 'functions'), { recursive: true, force: true });
for (const name of functions) {
  sizes[name] = await bundleFunction(
    join(fnRoot, name, 'func.ts'),
    join(dist, 'functions', name),
    join(fnRoot, name, 'func.yaml'),
  );
}
const fixtureRoot = join(root, 'test/fixtures/functions');
const fixtures = tsFunctionDirs(fixtureRoot);
rmSync(join(dist, 'fixtures'), { recursive: true, force: true });
for (const name of fixtures) {
  await bundleFunction(
    join(fixtureRoot, name, 'func.ts'),
    join(dist, 'fixtures/functions', name),
    join(fixtureRoot, name, 'func.yaml'),
  );
}
if (!quiet) {
  const list = Object.entries(sizes)
    .map(([n, s]) => `${n} ${(s / 1024).toFixed(0)} KiB`)
    .join(', ');
  console.log(
    `built ${functionsOnly ? '' : 'CLI, '}${functions.length} function(s)${list ? ` (${list})` : ''} and ${fixtures.length} test fixture(s) into dist/`,
  );
}
