// The CLI entry point that `npm run build` bundles to dist/cli/dacflow.js.
import { main } from './dacflow.ts';

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 2;
  },
);
