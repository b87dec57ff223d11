import type { CliIO, Command } from '../command.ts';
import { numberOption, parse, UsageError } from '../command.ts';
import {
  defaultCapacityModel,
  HOURS_PER_MONTH,
  p99LatencyMs,
  unitsForLatency,
  type CapacityModel,
} from '#shared/scaling/capacity.ts';
import { defaultScalingPolicy } from '#shared/scaling/policy.ts';

const d = defaultCapacityModel;
const help = `Usage: dacflow estimate (--tokens-per-second N | --requests-per-day N) [options]

Estimates the dedicated-AI-cluster units a load needs and their monthly cost, from the same
capacity model the autoscaler and \`dacflow simulate\` use (docs/autoscaling.md). The defaults are
rules of thumb from OCI's dedicated-cluster guidance; measure your own model and override them.

Options:
  --tokens-per-second N          Output tokens per second at the hour you size for
  --requests-per-day N           Requests per day; turned into tokens/s with --tokens-per-request
                                 spread evenly over the day, times --peak-to-average
  --tokens-per-request N         Tokens per response (default ${d.tokensPerRequest}: "a typical 500-token response")
  --peak-to-average N            Busiest-hour over daily-average demand (default 1)
  --tokens-per-second-per-unit N Capacity of one unit (default ${d.tokensPerSecondPerUnit}: "1 unit is about 1,500 tokens/s")
  --unit-cost-usd N              USD per unit-month (default ${d.unitCostUsdPerMonth}: "about $1,500 per unit-month")
  --target-utilization-pct N     Utilization the autoscaler aims for (default ${defaultScalingPolicy.targetUtilizationPct})
  --p99-ms N                     Latency SLO for the minimum (default ${defaultScalingPolicy.latencyP99ThresholdMs})
  --json                         Print the estimate as JSON and nothing else
  -h, --help                     Show this help

Exit codes: 0 estimated, 2 usage error.
`;

export interface Estimate {
  tokensPerSecond: number;
  /** Fewest units whose model P99 meets the SLO: no headroom at all. */
  minimumUnits: number;
  /** Units at the target utilization: what the autoscaler settles on. */
  recommendedUnits: number;
  p99AtRecommendedMs: number;
  monthlyCostUsd: { minimum: number; recommended: number };
  assumptions: CapacityModel & {
    targetUtilizationPct: number;
    p99TargetMs: number;
    hoursPerMonth: number;
  };
}

export const command: Command = {
  name: 'estimate',
  summary: 'Estimate cluster units and monthly cost for a load',
  help,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parse(args, {
      'tokens-per-second': { type: 'string' },
      'requests-per-day': { type: 'string' },
      'tokens-per-request': { type: 'string' },
      'peak-to-average': { type: 'string' },
      'tokens-per-second-per-unit': { type: 'string' },
      'unit-cost-usd': { type: 'string' },
      'target-utilization-pct': { type: 'string' },
      'p99-ms': { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const hasTps = values['tokens-per-second'] !== undefined;
    const hasRpd = values['requests-per-day'] !== undefined;
    if (hasTps === hasRpd)
      throw new UsageError('give exactly one of --tokens-per-second or --requests-per-day');
    const model: CapacityModel = {
      ...d,
      tokensPerRequest: numberOption(
        'tokens-per-request',
        values['tokens-per-request'],
        d.tokensPerRequest,
        1,
        1e6,
      ),
      tokensPerSecondPerUnit: numberOption(
        'tokens-per-second-per-unit',
        values['tokens-per-second-per-unit'],
        d.tokensPerSecondPerUnit,
        1,
        1e9,
      ),
      unitCostUsdPerMonth: numberOption(
        'unit-cost-usd',
        values['unit-cost-usd'],
        d.unitCostUsdPerMonth,
        0,
        1e9,
      ),
    };
    const targetPct = numberOption(
      'target-utilization-pct',
      values['target-utilization-pct'],
      defaultScalingPolicy.targetUtilizationPct,
      1,
      100,
    );
    const p99TargetMs = numberOption(
      'p99-ms',
      values['p99-ms'],
      defaultScalingPolicy.latencyP99ThresholdMs,
      1,
      1e7,
    );
    const peak = numberOption('peak-to-average', values['peak-to-average'], 1, 1, 1000);
    const tps = hasTps
      ? numberOption('tokens-per-second', values['tokens-per-second'], 0, 0, 1e9)
      : (numberOption('requests-per-day', values['requests-per-day'], 0, 0, 1e12) *
          model.tokensPerRequest *
          peak) /
        86_400;
    const minimumUnits = unitsForLatency(tps, p99TargetMs, model);
    const recommendedUnits = Math.max(
      minimumUnits,
      Math.ceil(tps / ((model.tokensPerSecondPerUnit * targetPct) / 100)),
    );
    const cost = (u: number) => Math.round(u * model.unitCostUsdPerMonth);
    const estimate: Estimate = {
      tokensPerSecond: Math.round(tps * 100) / 100,
      minimumUnits,
      recommendedUnits,
      p99AtRecommendedMs: Math.round(p99LatencyMs(tps, recommendedUnits, model)),
      monthlyCostUsd: { minimum: cost(minimumUnits), recommended: cost(recommendedUnits) },
      assumptions: {
        ...model,
        targetUtilizationPct: targetPct,
        p99TargetMs,
        hoursPerMonth: HOURS_PER_MONTH,
      },
    };
    if (values.json) {
      io.stdout.write(JSON.stringify(estimate, null, 2) + '\n');
      return 0;
    }
    const plural = (n: number) => `${n} unit${n === 1 ? '' : 's'}`;
    const usd = (n: number) => `$${n.toLocaleString('en-US')}`;
    io.stdout.write(
      [
        `demand: ${estimate.tokensPerSecond} tokens/s (${model.tokensPerRequest}-token responses)`,
        `recommended: ${plural(recommendedUnits)} at ${targetPct}% target utilization, ${usd(estimate.monthlyCostUsd.recommended)}/month, model P99 ${estimate.p99AtRecommendedMs} ms`,
        `minimum:     ${plural(minimumUnits)} meeting P99 <= ${p99TargetMs} ms with no headroom, ${usd(estimate.monthlyCostUsd.minimum)}/month`,
        `assumes ${model.tokensPerSecondPerUnit} tokens/s and ${usd(model.unitCostUsdPerMonth)} per unit-month; P99 from an M/M/c queue model`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
