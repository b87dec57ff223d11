// The benchmark dispatcher: `node dist/bench/run.js <name> [options]` (npm run bench -- <name>).
// Benchmarks that measure a child process's own RSS re-run this script with `<name> --child ...`.
const benches: Record<string, (args: string[]) => Promise<unknown>> = {
  controller: async () => (await import('./controller.ts')).benchController(),
  coldstart: async (args) => {
    const runs = args.indexOf('--runs');
    return (await import('./coldstart.ts')).benchColdstart({
      runs: runs === -1 ? undefined : Number(args[runs + 1]),
    });
  },
  simulate: async () => (await import('./simulate.ts')).benchSimulate(),
  'validate-function': async (args) => {
    const size = args.indexOf('--size-mb');
    return (await import('./validate-function.ts')).benchValidateFunction({
      sizeMB: size === -1 ? undefined : Number(args[size + 1]),
    });
  },
  validate: async (args) => {
    const m = await import('./validate.ts');
    const child = args.indexOf('--child');
    if (child !== -1) return m.childMain(args.slice(child + 1));
    const size = args.indexOf('--size-mb');
    const runs = args.indexOf('--runs');
    const compare = args.indexOf('--compare');
    return m.benchValidate({
      big: args.includes('--big'),
      sizeMB: size === -1 ? undefined : Number(args[size + 1]),
      runs: runs === -1 ? undefined : Number(args[runs + 1]),
      compareScript: compare === -1 ? undefined : args[compare + 1],
    });
  },
};

const [name, ...rest] = process.argv.slice(2);
const bench = name === undefined ? undefined : benches[name];
if (bench === undefined) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]\n`);
  process.exitCode = 2;
} else {
  bench(rest).catch((err: unknown) => {
    process.stderr.write(
      `bench ${name} failed: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exitCode = 1;
  });
}
