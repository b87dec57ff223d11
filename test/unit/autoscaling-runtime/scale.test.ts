import { describe, expect, it } from 'vitest';
import {
  handleAlarm,
  managingWorkflow,
  policyFromAutoscaling,
  ScaleOutcome,
} from '#shared/pipeline/scale.ts';
import { buildAlarmMessage, ScalingRule, type AlarmMessageType } from '#shared/scaling/alarm.ts';
import { CLUSTER, CLUSTER_NAME, harness, OciLikeError, workflows, type Harness } from './fakes.ts';

const inv = (token = 'call-1') => ({ token, remainingMs: 30_000 });

function message(
  h: Harness,
  type: AlarmMessageType,
  rule: ScalingRule,
  value: number,
  dedupeKey = `dk-${rule}`,
) {
  return buildAlarmMessage({
    dedupeKey,
    type,
    rule,
    clusterId: CLUSTER,
    alarmId: `ocid1.alarm.oc1..${rule}`,
    timestampMs: h.clock.ms,
    query: 'X[1m].mean()',
    metricValue: value,
  });
}

describe('handleAlarm', () => {
  it('scales up on OK_TO_FIRING with ifMatch, records the action and notifies', async () => {
    const h = harness();
    const r = await handleAlarm(
      h.deps,
      message(h, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 10_000),
      inv(),
    );
    expect(r.outcome).toBe(ScaleOutcome.Scaled);
    // 2 units at 10 s against a 5 s threshold: ceil(2 * 10000 / 5000) = 4.
    expect(r).toMatchObject({
      fromUnits: 2,
      toUnits: 4,
      monthlyCostChangeUsd: 3000,
      workflow: 'bot',
    });
    expect(h.genai.updates).toEqual([{ unitCount: 4, ifMatch: 'etag-1' }]);
    const rec = await h.deps.clusters.get(CLUSTER, h.clock.ms);
    expect(rec?.scaling.lastAction).toMatchObject({
      decision: 'SCALE_UP',
      fromUnits: 2,
      toUnits: 4,
    });
    expect(rec?.scaling.inFlight).toEqual({ targetUnits: 4, sinceMs: h.clock.ms });
    expect(rec?.lease).toBeNull();
    expect(h.sent).toEqual([
      expect.objectContaining({
        kind: 'scaling',
        action: 'SCALE_UP',
        clusterId: CLUSTER,
        fromUnits: 2,
        toUnits: 4,
        reasonCode: 'latency-p99-high',
        monthlyCostChangeUsd: 3000,
        workRequestId: 'wr-1',
      }),
    ]);
  });

  it('drops a redelivered message (dedupeKey + timestamp)', async () => {
    const h = harness();
    const m = message(h, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 10_000);
    await handleAlarm(h.deps, m, inv('a'));
    const again = await handleAlarm(h.deps, m, inv('b'));
    expect(again.outcome).toBe(ScaleOutcome.Duplicate);
    expect(h.genai.updates).toHaveLength(1);
    expect(h.sent).toHaveLength(1);
  });

  it('records FIRING_TO_OK and never scales on RESET', async () => {
    const h = harness();
    h.genai.cluster.unitCount = 6;
    const ok = await handleAlarm(
      h.deps,
      message(h, 'FIRING_TO_OK', ScalingRule.UtilizationLow, 50),
      inv(),
    );
    expect(ok.outcome).toBe(ScaleOutcome.NoAction);
    h.clock.ms += 60_000;
    const reset = await handleAlarm(
      h.deps,
      message(h, 'RESET', ScalingRule.UtilizationLow, 0),
      inv(),
    );
    expect(reset.outcome).toBe(ScaleOutcome.NoAction);
    expect(reset.reason).toContain('RESET');
    expect(h.genai.updates).toEqual([]);
    const rec = await h.deps.clusters.get(CLUSTER, h.clock.ms);
    expect(rec?.scaling.recentSignalIds).toHaveLength(2);
  });

  it('waits while the cluster is UPDATING and acts on the next REPEAT once ACTIVE', async () => {
    const h = harness();
    h.genai.cluster.lifecycleState = 'UPDATING';
    const first = await handleAlarm(
      h.deps,
      message(h, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 8000),
      inv(),
    );
    expect(first).toMatchObject({ outcome: ScaleOutcome.NoAction });
    expect(first.reason).toContain('wait for next REPEAT');
    h.genai.settle();
    h.clock.ms += 5 * 60_000;
    const repeat = await handleAlarm(
      h.deps,
      message(h, 'REPEAT', ScalingRule.LatencyP99High, 8000),
      inv(),
    );
    expect(repeat).toMatchObject({ outcome: ScaleOutcome.Scaled, fromUnits: 2, toUnits: 4 });
  });

  it('scales down on utilization-low but never under minUnits', async () => {
    const h = harness();
    h.genai.cluster.unitCount = 8;
    const r = await handleAlarm(
      h.deps,
      message(h, 'OK_TO_FIRING', ScalingRule.UtilizationLow, 5),
      inv(),
    );
    // ceil(8 * 5 / target) = 1, bounded by maxStepUnits 4: 8 -> 4.
    expect(r).toMatchObject({
      outcome: ScaleOutcome.Scaled,
      fromUnits: 8,
      toUnits: 4,
      monthlyCostChangeUsd: -6000,
    });
    h.genai.settle();
    h.genai.cluster.unitCount = 1;
    h.clock.ms += 60 * 60_000;
    const atMin = await handleAlarm(
      h.deps,
      message(h, 'REPEAT', ScalingRule.UtilizationLow, 5),
      inv(),
    );
    expect(atMin.outcome).toBe(ScaleOutcome.NoAction);
    expect(atMin.reason).toContain('minimum');
  });

  it('on 412 records the message, releases the lease and does not notify', async () => {
    const h = harness();
    h.genai.beforeUpdate = () => h.genai.version++; // someone else changed the cluster
    const r = await handleAlarm(
      h.deps,
      message(h, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000),
      inv(),
    );
    expect(r).toMatchObject({
      outcome: ScaleOutcome.Failed,
      code: 'CLUSTER_CHANGED',
      retryable: false,
    });
    expect(h.sent).toEqual([]);
    const rec = await h.deps.clusters.get(CLUSTER, h.clock.ms);
    expect(rec?.lease).toBeNull();
    expect(rec?.scaling.lastAction).toBeNull();
    expect(rec?.scaling.inFlight).toBeNull();
    expect(rec?.scaling.recentActionsMs).toEqual([]);
    expect(rec?.scaling.firingRules['latency-p99-high']).toBeDefined();
    // The next REPEAT re-reads the cluster and acts with the new etag.
    h.clock.ms += 60_000;
    const repeat = await handleAlarm(
      h.deps,
      message(h, 'REPEAT', ScalingRule.LatencyP99High, 9000),
      inv(),
    );
    expect(repeat.outcome).toBe(ScaleOutcome.Scaled);
    expect(h.genai.updates[0]?.ifMatch).toBe('etag-2');
  });

  it('on 409 waits for the next REPEAT without notifying', async () => {
    const h = harness();
    h.genai.failNextUpdate = new OciLikeError(409, 'IncorrectState');
    const r = await handleAlarm(
      h.deps,
      message(h, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000),
      inv(),
    );
    expect(r).toMatchObject({ outcome: ScaleOutcome.Failed, code: 'CLUSTER_NOT_READY' });
    expect(h.sent).toEqual([]);
  });

  it('on 429/5xx after SDK retries: not recorded, so a redelivery can act; SCALE_FAILED sent', async () => {
    const h = harness();
    const m = message(h, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000);
    h.genai.failNextUpdate = new OciLikeError(503, 'ServiceUnavailable');
    const r = await handleAlarm(h.deps, m, inv());
    expect(r).toMatchObject({
      outcome: ScaleOutcome.Failed,
      code: 'ServiceUnavailable',
      retryable: true,
    });
    expect(h.sent.map((n) => [n.action, n.errorCode])).toEqual([
      ['SCALE_FAILED', 'ServiceUnavailable'],
    ]);
    const again = await handleAlarm(h.deps, m, inv('call-2'));
    expect(again.outcome).toBe(ScaleOutcome.Scaled);
  });

  it('answers BUSY while another invocation holds the lease', async () => {
    const h = harness();
    await h.deps.clusters.acquire(CLUSTER, {
      token: 'other',
      nowMs: h.clock.ms,
      remainingMs: 60_000,
    });
    const r = await handleAlarm(
      h.deps,
      message(h, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000),
      inv(),
    );
    expect(r.outcome).toBe(ScaleOutcome.Busy);
    expect(h.genai.updates).toEqual([]);
    // The lease expires with the other invocation's remaining time.
    h.clock.ms += 61_000;
    const later = await handleAlarm(
      h.deps,
      message(h, 'REPEAT', ScalingRule.LatencyP99High, 9000),
      inv(),
    );
    expect(later.outcome).toBe(ScaleOutcome.Scaled);
  });

  it('waits for a lease held briefly by a concurrent invocation (a FIRING_TO_OK is never repeated)', async () => {
    const h = harness();
    await h.deps.clusters.acquire(CLUSTER, {
      token: 'other',
      nowMs: h.clock.ms,
      remainingMs: 60_000,
    });
    const slept: number[] = [];
    h.deps.leaseWaitMs = 5000;
    h.deps.sleep = async (ms) => {
      slept.push(ms);
      if (slept.length === 3) await h.deps.clusters.release(CLUSTER, 'other', h.clock.ms);
    };
    const r = await handleAlarm(
      h.deps,
      message(h, 'FIRING_TO_OK', ScalingRule.LatencyP99High, 10),
      inv(),
    );
    expect(r.outcome).toBe(ScaleOutcome.NoAction);
    expect(slept).toEqual([25, 50, 100]);
    const rec = await h.deps.clusters.get(CLUSTER, h.clock.ms);
    expect(rec?.scaling.recentSignalIds).toHaveLength(1);
    // A lease that outlives the wait budget gives BUSY after backing off up to the budget.
    await h.deps.clusters.acquire(CLUSTER, {
      token: 'stuck',
      nowMs: h.clock.ms,
      remainingMs: 60_000,
    });
    slept.length = 0;
    h.deps.sleep = async (ms) => void slept.push(ms);
    h.deps.leaseWaitMs = 500;
    const busy = await handleAlarm(
      h.deps,
      message(h, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000, 'dk-2'),
      inv(),
    );
    expect(busy.outcome).toBe(ScaleOutcome.Busy);
    expect(slept.reduce((a, b) => a + b, 0)).toBe(500);
  });

  it('releases the lease when something unexpected fails, so a retry can run', async () => {
    const h = harness();
    let reads = 0;
    const real = h.genai.getDedicatedAiCluster.bind(h.genai);
    h.genai.getDedicatedAiCluster = async (r) => {
      if (++reads === 2) throw new OciLikeError(401, 'NotAuthenticated');
      return real(r);
    };
    await expect(
      handleAlarm(h.deps, message(h, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000), inv()),
    ).rejects.toMatchObject({ statusCode: 401 });
    const rec = await h.deps.clusters.get(CLUSTER, h.clock.ms);
    expect(rec?.lease).toBeNull();
    expect(rec?.scaling.recentSignalIds).toEqual([]);
    expect(h.genai.updates).toEqual([]);
  });

  it('ignores garbage, unknown clusters and clusters no workflow autoscales', async () => {
    const h = harness();
    expect(await handleAlarm(h.deps, 'not json', inv())).toMatchObject({
      outcome: ScaleOutcome.Ignored,
      code: 'ALARM_MESSAGE_NOT_JSON',
    });
    const other = buildAlarmMessage({
      dedupeKey: 'x',
      type: 'OK_TO_FIRING',
      rule: ScalingRule.LatencyP99High,
      clusterId: 'ocid1.generativeaidedicatedaicluster.oc1..missing',
      alarmId: 'a',
      timestampMs: h.clock.ms,
      query: 'X[1m].mean()',
      metricValue: 9000,
    });
    expect(await handleAlarm(h.deps, other, inv())).toMatchObject({ code: 'CLUSTER_NOT_FOUND' });
    const unmanaged = harness({ workflowCluster: 'some-other-cluster' });
    expect(
      await handleAlarm(
        unmanaged.deps,
        message(unmanaged, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000),
        inv(),
      ),
    ).toMatchObject({ outcome: ScaleOutcome.Ignored, code: 'CLUSTER_NOT_MANAGED' });
    expect(h.genai.updates).toEqual([]);
  });

  it('finds the cluster through the configured dimension when the body is not dacflow JSON', async () => {
    const h = harness({ workflowCluster: CLUSTER });
    const m = message(h, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 10_000);
    m.body = 'written by a person';
    m.title = 'prod latency-p99-high';
    const r = await handleAlarm(h.deps, m, inv());
    expect(r).toMatchObject({ outcome: ScaleOutcome.Scaled, clusterId: CLUSTER });
  });
});

describe('managingWorkflow and policyFromAutoscaling', () => {
  it('matches by OCID or by display name', () => {
    expect(managingWorkflow(workflows(CLUSTER), { id: CLUSTER })?.name).toBe('bot');
    expect(
      managingWorkflow(workflows(CLUSTER_NAME), { id: CLUSTER, displayName: CLUSTER_NAME })?.name,
    ).toBe('bot');
    expect(
      managingWorkflow(workflows('x'), { id: CLUSTER, displayName: CLUSTER_NAME }),
    ).toBeUndefined();
    expect(managingWorkflow(workflows(CLUSTER, ''), { id: CLUSTER })).toBeUndefined();
  });

  it('turns a section into a validated policy, section values over policy defaults', () => {
    const base = workflows(CLUSTER, 'autoscaling:\n  minUnits: 1\n  maxUnits: 4\n')[0]!
      .autoscaling!;
    const p = policyFromAutoscaling(base);
    expect(p).toMatchObject({
      minUnits: 1,
      maxUnits: 4,
      targetUtilizationPct: base.targetUtilizationPct,
      sustainedLowUtilizationPct: base.sustainedLowUtilizationPct,
      tokensPerSecondPerUnit: base.tokensPerSecondPerUnit,
    });
    expect(p.maxMonthlyCostUsd).toBeUndefined();
    const capped = workflows(
      CLUSTER,
      'autoscaling:\n  minUnits: 1\n  maxUnits: 4\n  maxMonthlyCostUsd: 4500\n',
    )[0]!.autoscaling!;
    expect(policyFromAutoscaling(capped).maxMonthlyCostUsd).toBe(4500);
    expect(() => policyFromAutoscaling({ ...base, minUnits: 9 })).toThrow(/minUnits/);
  });
});
