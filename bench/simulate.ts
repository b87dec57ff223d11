// Runs every shipped demand trace through the default autoscaling policy and prints JSON with the
// policy's figures, the baselines' and the ratios the targets are stated in (docs/autoscaling.md).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { defaultScalingPolicy } from '#shared/scaling/policy.ts';
import { simulate } from '#shared/scaling/simulate.ts';
import { dailyCycleTraces, parseTraceCsv, shippedTraces } from '#shared/scaling/trace.ts';

/** bench/traces/ from the source tree or from the bundle in dist/bench/. */
function tracesDir(): string {
  const candidates = ['./traces/', '../../bench/traces/'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  candidates.push(`${process.cwd()}/bench/traces/`);
  for (const dir of candidates) if (existsSync(dir)) return dir;
  throw new Error('bench/traces/ not found');
}

export async function benchSimulate(options: { updateDelayMin?: number } = {}) {
  const dir = tracesDir();
  const results = [];
  for (const name of shippedTraces) {
    const trace = parseTraceCsv(await readFile(`${dir}${name}.csv`, 'utf8'));
    const started = performance.now();
    const r = simulate(trace, {
      policy: defaultScalingPolicy,
      updateDelayMin: options.updateDelayMin,
    });
    const simulateMs = Math.round(performance.now() - started);
    const daily = dailyCycleTraces.has(name);
    results.push({
      trace: name,
      minutes: r.minutes,
      simulateMs,
      policy: r.policy,
      staticPeak: r.staticPeak,
      naive: r.naive,
      oracle: r.oracle,
      ratios: r.ratios,
      targetsMet: {
        unitHoursAtMost1_2xOracle: r.ratios.unitHoursVsOracle <= 1.2,
        unitHoursAtMost0_7xStaticPeak: daily ? r.ratios.unitHoursVsStaticPeak <= 0.7 : null,
        sloViolationsAtMost1Pct: r.ratios.sloViolationFraction <= 0.01,
        fewerActionsThanNaive: r.policy.actions < r.naive.actions,
      },
    });
  }
  const out = {
    bench: 'simulate',
    updateDelayMin: options.updateDelayMin ?? 10,
    policy: defaultScalingPolicy,
    results,
  };
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  return out;
}
