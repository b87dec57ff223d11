/**
 * The whole autoscaling loop in the emulator: demand bursts then goes quiet on a seeded hosting
 * cluster; alarms (created through the real MonitoringClient as Terraform would) fire, go through
 * Notifications to the scale-dac use case, which updates the cluster through the real
 * GenerativeAiClient. One emulated minute lasts MINUTE_MS of real time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { burstProfile } from '#local/emulator/demand.ts';
import { genAiService, type GenAiEmulatorService } from '#local/emulator/genai.ts';
import type { Emulator } from '#local/emulator/index.ts';
import { monitoringService, type MonitoringService } from '#local/emulator/monitoring.ts';
import {
  startAutoscalingScenario,
  type AutoscalingScenario,
} from '#local/emulator/monitoring-scenario.ts';
import { parseWorkflows } from '#workflows/schema.ts';
import { startTest } from '../emulator/helpers.ts';

const MINUTE_MS = 300;
const BURST = { baseTps: 1500, burstTps: 7000, startMin: 2, burstMin: 12 };

const workflowYaml = `name: bot
backend: genai
trigger:
  bucket: datasets
  prefix: incoming/
genai:
  baseModel: cohere.command-r-08-2024
  trainingConfig:
    trainingConfigType: TFEW_TRAINING_CONFIG
  fineTuningCluster: ft-cluster
  hostingClusters: [hosting-a]
  endpoint:
    contentModeration:
      isEnabled: false
autoscaling:
  minUnits: 1
  maxUnits: 6
  maxStepUnits: 3
  lowUtilizationPct: 30
  sustainedLowUtilizationPct: 60
  scaleUpCooldownSec: 300
  scaleDownCooldownSec: 600
  maxActionsPerHour: 6
`;

let emu: Emulator;
let cleanup: () => Promise<void>;
let genai: GenAiEmulatorService;
let monitoring: MonitoringService;
let scenario: AutoscalingScenario;
let clusterId: string;

beforeAll(async () => {
  genai = genAiService({
    seedClusters: [
      { displayName: 'hosting-a', type: 'HOSTING', unitShape: 'SMALL_COHERE_V2', unitCount: 2 },
    ],
    // A unit-count change takes two emulated minutes.
    clusterUpdateMs: 2 * MINUTE_MS,
  });
  monitoring = monitoringService({ minuteMs: MINUTE_MS });
  ({ emu, cleanup } = await startTest({
    fast: false,
    services: [genai, monitoring],
    autoConfirmEmail: true,
  }));
  clusterId = genai.control.clusterIdByName('hosting-a')!;
  scenario = await startAutoscalingScenario({
    emulator: emu,
    genai,
    monitoring,
    clusterId,
    workflow: parseWorkflows([{ fileName: 'bot.yaml', text: workflowYaml }])[0]!,
    profile: burstProfile(BURST),
  });
});
afterAll(async () => {
  await scenario?.stop();
  await cleanup?.();
});

const units = () => genai.control.clusterUnits().find((c) => c.id === clusterId)!;

async function until(ok: () => boolean, maxMinutes: number): Promise<void> {
  const deadline = Date.now() + maxMinutes * MINUTE_MS;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, MINUTE_MS / 4));
}

describe('autoscaling loop', () => {
  it('scales up during a burst and back down after it, within bounds and without flapping', async () => {
    const scaled = () => scenario.results().filter((r) => r.outcome === 'SCALED');
    const burstEndMin = BURST.startMin + BURST.burstMin;
    // Wait for the burst's scale-up, then for the scale-down after the quiet period.
    await until(() => scaled().some((r) => r.toUnits! > r.fromUnits!), burstEndMin);
    await until(
      () => scaled().some((r) => r.toUnits! < r.fromUnits!) && units().lifecycleState === 'ACTIVE',
      // The policy's scale-down alarms average 5 minutes and wait 5 more (alarmRulesFor); on a loaded
      // machine emulated minutes stretch, so allow a generous bound (the wait ends as soon as it holds).
      90,
    );

    const actions = scaled();
    if (process.env.DEBUG_AUTOSCALING)
      console.log(
        JSON.stringify({
          results: scenario
            .results()
            .map((r) => [r.outcome, r.alarmType, r.rule, r.fromUnits, r.toUnits, r.reason]),
          history: scenario.demand
            .history()
            .map((h) => [
              h.minute,
              h.tokensPerSecond,
              h.servingUnits,
              h.lifecycleState,
              Math.round(h.utilizationPct),
              Math.round(h.p99LatencyMs),
            ]),
        }),
      );
    const history = scenario.demand.history();
    const ups = actions.filter((r) => r.toUnits! > r.fromUnits!);
    const downs = actions.filter((r) => r.toUnits! < r.fromUnits!);
    expect(ups.length).toBeGreaterThanOrEqual(1);
    expect(downs.length).toBeGreaterThanOrEqual(1);
    // The first scale-up was for latency during the burst; the scale-downs were for low utilization.
    expect(ups[0]!.rule).toBe('latency-p99-high');
    for (const d of downs) expect(d.rule).toMatch(/^utilization-/);
    // Up before down, and never up again once the quiet period scaled down (no flapping).
    const firstDown = actions.findIndex((r) => r.toUnits! < r.fromUnits!);
    expect(actions.slice(firstDown).every((r) => r.toUnits! < r.fromUnits!)).toBe(true);
    expect(actions.length).toBeLessThanOrEqual(6);
    // Bounds: every target and every unit count the cluster served lies in [minUnits, maxUnits].
    for (const r of actions) {
      expect(r.toUnits).toBeGreaterThanOrEqual(1);
      expect(r.toUnits).toBeLessThanOrEqual(6);
      expect(Math.abs(r.toUnits! - r.fromUnits!)).toBeLessThanOrEqual(3);
      expect(r.monthlyCostChangeUsd).toBe((r.toUnits! - r.fromUnits!) * 1500);
    }
    const peak = Math.max(...history.map((h) => h.servingUnits));
    expect(peak).toBeGreaterThan(2);
    expect(peak).toBeLessThanOrEqual(6);
    expect(units().unitCount).toBeLessThan(peak);
    // During the burst the cluster was saturated at first, and the scale-up relieved it.
    const burstRows = history.filter((h) => h.minute >= BURST.startMin && h.minute < burstEndMin);
    expect(burstRows[0]!.p99LatencyMs).toBeGreaterThan(5000);
    expect(burstRows.at(-1)!.servingUnits).toBeGreaterThan(2);

    // Derived utilization was posted every pass that had token data.
    const derived = scenario.utilization().flatMap((u) => u.values.map((v) => v.utilizationPct));
    // 7,000 tokens/s on 2 units of 1,500 during the burst; 1,500 tokens/s on 5-6 units after it.
    expect(Math.max(...derived)).toBeCloseTo((100 * 7000) / (2 * 1500), 0);
    expect(Math.min(...derived)).toBeLessThan(30);
    // Every scaling action was notified to the scaling topic (delivered to its e-mail outbox).
    await new Promise((r) => setTimeout(r, 50));
    const mails = emu.outbox(scenario.notifyTopicId).filter((m) => m.kind === 'message');
    const scaleMails = mails.filter((m) => /SCALE_(UP|DOWN)/.test(m.title ?? ''));
    expect(scaleMails.length).toBe(actions.length);
    expect(JSON.parse(scaleMails[0]!.body)).toMatchObject({
      kind: 'scaling',
      action: 'SCALE_UP',
      clusterId,
      fromUnits: 2,
      workflow: 'bot',
    });
    // Alarm messages reached the function through ORACLE_FUNCTIONS deliveries.
    expect(emu.functionDeliveries().filter((d) => d.outcome === 'delivered').length).toBe(
      scenario.results().length,
    );
  }, 90_000);
});
