import { readFile } from 'node:fs/promises';
import type { CliIO, Command } from '../command.ts';
import { numberOption, parse, UsageError } from '../command.ts';
import { DacflowError } from '#shared/errors.ts';
import {
  defaultScalingPolicy,
  validateScalingPolicy,
  type ScalingPolicy,
} from '#shared/scaling/policy.ts';
import { simulate, type SimulationResult, type StrategyResult } from '#shared/scaling/simulate.ts';
import { parseTraceCsv } from '#shared/scaling/trace.ts';

const help = `Usage: dacflow simulate --trace FILE.csv [options]

Replays a demand trace through dacflow's autoscaling: the latency/utilization model, the scaling
alarms and the same scaling policy the scale function runs (docs/autoscaling.md). Compares it with
a static cluster sized for the peak, a naive controller acting every minute, and an oracle.

The trace CSV has the header "minute,tokens_per_second" and one row per consecutive minute.

Options:
  --trace FILE            The demand trace CSV (required); bench/traces/ has examples
  --workflow FILE         Take the policy from a workflow file's autoscaling section; fields it
                          leaves out (and dacflow's extras) keep the defaults
  --update-delay-min N    Minutes a cluster update takes to add or remove units (default 10)
  --initial-units N       Units at minute 0 (default: what the first minute needs at the
                          target utilization)
  --json                  Print the result as JSON (with the policy used as "settings")
  -h, --help              Show this help

Exit codes: 0 simulated, 2 usage error or unreadable/invalid trace or workflow.
`;

const policyKeys = Object.keys(defaultScalingPolicy) as (keyof ScalingPolicy)[];

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/** The workflow's autoscaling section over dacflow's defaults, validated as one policy. */
async function policyFromWorkflow(file: string): Promise<ScalingPolicy> {
  const text = await readText(file, 'workflow file');
  const { parseWorkflow } = await import('#workflows/schema.ts');
  const section = parseWorkflow(text, file).autoscaling as Record<string, unknown> | undefined;
  if (section === undefined) throw new UsageError(`${file} has no autoscaling section`);
  const merged: Record<string, unknown> = { ...defaultScalingPolicy };
  for (const key of policyKeys) if (section[key] !== undefined) merged[key] = section[key];
  return validateScalingPolicy(merged);
}

function row(name: string, r: StrategyResult): string {
  return [
    name.padEnd(12),
    r.unitHours.toFixed(1).padStart(10),
    r.costUsd.toFixed(0).padStart(10),
    String(r.sloViolationMinutes).padStart(10),
    String(r.actions).padStart(8),
    String(r.peakUnits).padStart(6),
    r.meanUtilizationPct.toFixed(1).padStart(7),
  ].join(' ');
}

function render(file: string, r: SimulationResult): string {
  const x = r.ratios;
  return [
    `${file}: ${r.minutes} minutes, cluster updates take ${r.updateDelayMin} min`,
    '',
    `${'strategy'.padEnd(12)} ${'unit-hours'.padStart(10)} ${'cost USD'.padStart(10)} ${'SLO-min'.padStart(10)} ${'actions'.padStart(8)} ${'peak'.padStart(6)} ${'util%'.padStart(7)}`,
    row('policy', r.policy),
    row(`static(${r.staticPeak.units})`, r.staticPeak),
    row('naive', r.naive),
    row('oracle', r.oracle),
    '',
    `policy vs oracle ${x.unitHoursVsOracle}x unit-hours, vs static peak ${x.unitHoursVsStaticPeak}x; ` +
      `SLO-violating minutes ${(x.sloViolationFraction * 100).toFixed(2)}%; actions vs naive ${x.actionsVsNaive}x`,
    'SLO-min: minutes with model P99 over the latency threshold. util%: mean utilization.',
    '',
  ].join('\n');
}

export const command: Command = {
  name: 'simulate',
  summary: 'Replay a demand trace through the autoscaling policy and compare with baselines',
  help,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parse(args, {
      trace: { type: 'string' },
      workflow: { type: 'string' },
      'update-delay-min': { type: 'string' },
      'initial-units': { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.trace === undefined) throw new UsageError('--trace FILE.csv is required');
    const updateDelayMin = numberOption(
      'update-delay-min',
      values['update-delay-min'],
      10,
      0,
      1440,
    );
    const initialUnits =
      values['initial-units'] === undefined
        ? undefined
        : numberOption('initial-units', values['initial-units'], 1, 1, 10_000);
    try {
      const policy = values.workflow
        ? await policyFromWorkflow(values.workflow)
        : { ...defaultScalingPolicy };
      const trace = parseTraceCsv(await readText(values.trace, 'trace'));
      const result = simulate(trace, { policy, updateDelayMin, initialUnits });
      io.stdout.write(
        values.json
          ? JSON.stringify({ trace: values.trace, settings: policy, ...result }, null, 2) + '\n'
          : render(values.trace, result),
      );
      return 0;
    } catch (err) {
      if (err instanceof DacflowError) {
        const where = err.name === 'TraceError' ? `${values.trace}: ` : '';
        io.stderr.write(`dacflow simulate: ${where}${err.message}\n`);
        return 2;
      }
      throw err;
    }
  },
};
