import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '#cli/dacflow.ts';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'dacflow-sim-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const spike = new URL('../../../bench/traces/sudden-spike.csv', import.meta.url).pathname;

describe('dacflow simulate', () => {
  it('prints a table for a shipped trace', async () => {
    const c = io();
    expect(await main(['simulate', '--trace', spike], c.io)).toBe(0);
    expect(c.out()).toMatch(/4320 minutes, cluster updates take 10 min/);
    expect(c.out()).toMatch(/^policy\s+\d/m);
    expect(c.out()).toMatch(/^oracle\s+\d/m);
  });

  it('prints JSON with the policy and the baselines', async () => {
    const c = io();
    expect(
      await main(['simulate', '--trace', spike, '--json', '--update-delay-min', '5'], c.io),
    ).toBe(0);
    const r = JSON.parse(c.out());
    expect(r.updateDelayMin).toBe(5);
    expect(r.policy.unitHours).toBeGreaterThan(0);
    expect(Object.keys(r)).toEqual(
      expect.arrayContaining(['staticPeak', 'naive', 'oracle', 'ratios', 'actionLog']),
    );
    expect(r.settings.latencyP99ThresholdMs).toBe(5000); // the policy the run used
  });

  it('names the CSV line that is wrong', async () => {
    const c = io();
    const bad = file('bad.csv', 'minute,tokens_per_second\n0,100\n1,lots\n');
    expect(await main(['simulate', '--trace', bad], c.io)).toBe(2);
    expect(c.err()).toBe(
      `dacflow simulate: ${bad}: line 3: tokens_per_second "lots" is not a non-negative number\n`,
    );
  });

  it('reports usage errors with exit 2', async () => {
    const c = io();
    expect(await main(['simulate'], c.io)).toBe(2);
    expect(c.err()).toMatch(/--trace FILE.csv is required/);
    const d = io();
    expect(await main(['simulate', '--trace', join(dir, 'missing.csv')], d.io)).toBe(2);
    expect(d.err()).toMatch(/cannot read trace/);
    const e = io();
    expect(await main(['simulate', '--trace', spike, '--update-delay-min', '-1'], e.io)).toBe(2);
  });

  it('takes the autoscaling section of a workflow file', async () => {
    const example = new URL('../../../workflows/examples/genai-support-bot.yaml', import.meta.url)
      .pathname;
    const c = io();
    const code = await main(['simulate', '--trace', spike, '--workflow', example, '--json'], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    const policy = JSON.parse(c.out()).settings;
    expect(policy.minUnits).toBeGreaterThanOrEqual(1);
    expect(policy.highUtilizationPct).toBe(88); // dacflow's extra keeps its default
  });

  it('rejects a workflow file that does not validate, with exit 2', async () => {
    const bad = file('bad-workflow.yaml', 'name: x\nautoscaling:\n  minUnits: 0\n');
    const c = io();
    expect(await main(['simulate', '--trace', spike, '--workflow', bad], c.io)).toBe(2);
    expect(c.err()).toMatch(/^dacflow simulate: /);
    expect(c.err()).toMatch(/bad-workflow\.yaml/);
    expect(c.err()).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('has truthful help', async () => {
    const c = io();
    expect(await main(['simulate', '--help'], c.io)).toBe(0);
    expect(c.out()).toMatch(/--update-delay-min N/);
  });
});

describe('dacflow estimate', () => {
  it('sizes a load from tokens per second', async () => {
    const c = io();
    expect(await main(['estimate', '--tokens-per-second', '15000', '--json'], c.io)).toBe(0);
    const e = JSON.parse(c.out());
    // 15,000 tokens/s is 10 units flat out; at 84% target, ceil(15000 / 1260) = 12 units.
    expect(e.recommendedUnits).toBe(12);
    expect(e.monthlyCostUsd.recommended).toBe(18_000);
    expect(e.minimumUnits).toBeGreaterThan(10);
    expect(e.minimumUnits).toBeLessThanOrEqual(12);
    expect(e.p99AtRecommendedMs).toBeLessThan(5000);
  });

  it('sizes a load from requests per day', async () => {
    const c = io();
    const args = [
      'estimate',
      '--requests-per-day',
      '864000',
      '--tokens-per-request',
      '300',
      '--peak-to-average',
      '2',
    ];
    expect(await main(args, c.io)).toBe(0);
    // 864,000 / 86,400 = 10 req/s x 300 tokens x 2 = 6,000 tokens/s.
    expect(c.out()).toMatch(/demand: 6000 tokens\/s \(300-token responses\)/);
    expect(c.out()).toMatch(/recommended: 5 units at 84% target utilization, \$7,500\/month/);
  });

  it('takes capacity overrides', async () => {
    const c = io();
    expect(
      await main(
        [
          'estimate',
          '--tokens-per-second',
          '3000',
          '--tokens-per-second-per-unit',
          '500',
          '--unit-cost-usd',
          '100',
          '--json',
        ],
        c.io,
      ),
    ).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({
      recommendedUnits: 8,
      monthlyCostUsd: { recommended: 800 },
    });
  });

  it('wants exactly one load option', async () => {
    for (const args of [
      [],
      ['--tokens-per-second', '1', '--requests-per-day', '1'],
      ['--tokens-per-second', 'x'],
    ]) {
      const c = io();
      expect(await main(['estimate', ...args], c.io)).toBe(2);
      expect(c.err()).toMatch(/dacflow estimate: /);
    }
  });
});
