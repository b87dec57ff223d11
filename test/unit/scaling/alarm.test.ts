import { describe, expect, it } from 'vitest';
import {
  AlarmMessageType,
  ScalingRule,
  buildAlarmMessage,
  formatAlarmBody,
  formatDeploymentAlarmBody,
  parseAlarmMessage,
  scalingRules,
} from '#shared/scaling/alarm.ts';
import { AlarmParseCode, AlarmParseError } from '#shared/scaling/errors.ts';

const CLUSTER = 'ocid1.generativeaidedicatedaicluster.oc1.us-chicago-1.amaaaaaaexample';
const ALARM = 'ocid1.alarm.oc1.us-chicago-1.aaaaaaaaexample';

/** A grouped message shaped like alarm-message-format.htm, with metricValues per element. */
function grouped(overrides: Record<string, unknown> = {}) {
  return {
    dedupeKey: 'b5d7e1a8-0cbb-4d33-8a8a-1f5b2e8b7c11',
    title: 'dacflow prod latency-p99-high',
    body: formatAlarmBody(CLUSTER, ScalingRule.LatencyP99High),
    type: 'OK_TO_FIRING',
    severity: 'CRITICAL',
    timestampEpochMillis: 1_763_726_400_000,
    timestamp: '2025-11-21T12:00:00.000Z',
    alarmMetaData: [
      {
        id: ALARM,
        status: 'FIRING',
        severity: 'CRITICAL',
        namespace: 'oci_generativeai',
        query: 'InvocationLatency[1m]{resourceId = "x"}.percentile(0.99) > 5000',
        totalMetricsFiring: 1,
        dimensions: [{ resourceId: CLUSTER, region: 'us-chicago-1' }],
        metricValues: [{ 'InvocationLatency[1m]{resourceId = "x"}.percentile(0.99)': '7312.5' }],
        alarmUrl: 'https://cloud.oracle.com/monitoring/alarms/x',
        alarmSummary: 'P99 over 5 s',
      },
    ],
    notificationType: 'Grouped messages across metric streams',
    version: 1.5,
    ...overrides,
  };
}

function ok(input: unknown, options = {}) {
  const r = parseAlarmMessage(input, options);
  if (!r.ok) throw new Error(`expected a signal, got ${r.error.code}: ${r.error.message}`);
  return r.signal;
}

function err(input: unknown, options = {}) {
  const r = parseAlarmMessage(input, options);
  if (r.ok) throw new Error('expected an error');
  expect(r.error).toBeInstanceOf(AlarmParseError);
  expect(r.error.retryable).toBe(false);
  return r.error;
}

describe('parseAlarmMessage', () => {
  it('parses a grouped message from its JSON text', () => {
    const s = ok(JSON.stringify(grouped()));
    expect(s).toEqual({
      dedupeId: 'b5d7e1a8-0cbb-4d33-8a8a-1f5b2e8b7c11@2025-11-21T12:00:00.000Z',
      type: 'OK_TO_FIRING',
      rule: 'latency-p99-high',
      clusterId: CLUSTER,
      timestampMs: 1_763_726_400_000,
      severity: 'CRITICAL',
      notificationType: 'GROUPED',
      alarmIds: [ALARM],
      metricValues: [7312.5],
    });
  });

  it('accepts bytes as delivered to the function', () => {
    const s = ok(new TextEncoder().encode(JSON.stringify(grouped())));
    expect(s.rule).toBe('latency-p99-high');
  });

  it('parses a split message with several streams and top-level metricValues', () => {
    const msg = grouped({
      type: 'REPEAT',
      notificationType: 'Split messages per metric stream',
      body: formatAlarmBody(CLUSTER, ScalingRule.UtilizationLow),
      // The documented example's shape: metricValues beside alarmMetaData, not inside it.
      metricValues: [{ 'Utilization[5m].mean()': '12.5' }, { 'Utilization[5m].mean()': '18' }],
      alarmMetaData: [{ id: ALARM, status: 'FIRING', dimensions: [{ resourceId: CLUSTER }] }],
    });
    const s = ok(msg);
    expect(s.notificationType).toBe('SPLIT');
    expect(s.type).toBe('REPEAT');
    expect(s.metricValues).toEqual([12.5, 18]);
  });

  it('reads the four OCI message types and nothing else', () => {
    for (const type of Object.values(AlarmMessageType))
      expect(ok(grouped({ type })).type).toBe(type);
    for (const type of ['PENDING_TO_FIRING', 'firing', '', 7, null]) {
      expect(err(grouped({ type })).code).toBe(AlarmParseCode.UnknownType);
    }
  });

  it('dedupes on dedupeKey plus timestamp: a repeat has a new id, a redelivery the same', () => {
    const a = ok(grouped());
    const again = ok(grouped());
    const repeat = ok(grouped({ type: 'REPEAT', timestamp: '2025-11-21T12:05:00.000Z' }));
    expect(again.dedupeId).toBe(a.dedupeId);
    expect(repeat.dedupeId).not.toBe(a.dedupeId);
  });

  it('falls back to the configured dimension and a rule in the title when body is null', () => {
    const s = ok(grouped({ body: null, title: 'prod utilization-sustained-low' }));
    expect(s.clusterId).toBe(CLUSTER);
    expect(s.rule).toBe('utilization-sustained-low'); // not the shorter utilization-low
    const msg = grouped({
      body: 'Hosting cluster is slow, page the on-call',
      alarmMetaData: [
        { id: ALARM, dimensions: [{ dedicatedAiClusterId: 'c-2' }], metricValues: [] },
      ],
    });
    expect(ok(msg, { resourceDimension: 'dedicatedAiClusterId' }).clusterId).toBe('c-2');
    expect(err(msg).code).toBe(AlarmParseCode.NoCluster);
  });

  it('the body wins over dimensions', () => {
    const s = ok(grouped({ body: formatAlarmBody('from-body', ScalingRule.UtilizationHigh) }));
    expect(s).toMatchObject({ clusterId: 'from-body', rule: 'utilization-high' });
  });

  it('rejects a dacflow body that is wrong rather than guessing', () => {
    for (const body of [
      JSON.stringify({ dacflow: { clusterId: CLUSTER, rule: 'scale-everything' } }),
      JSON.stringify({ dacflow: { clusterId: '', rule: 'utilization-low' } }),
      JSON.stringify({ dacflow: { clusterId: CLUSTER, rule: 'utilization-low', extra: 1 } }),
      JSON.stringify({ dacflow: 'x' }),
    ]) {
      expect(err(grouped({ body })).code).toBe(AlarmParseCode.BodyInvalid);
    }
  });

  it('needs a rule from somewhere', () => {
    expect(err(grouped({ body: null, title: 'some alarm' })).code).toBe(AlarmParseCode.NoRule);
  });

  it('parses string metric values and skips junk ones', () => {
    const msg = grouped({
      alarmMetaData: [
        { id: ALARM, metricValues: [{ a: '91.5' }, { b: 'NaN' }, { c: '' }, { d: 42 }, 'x', null] },
        'not an object',
        { id: 5, metricValues: 'nope' },
      ],
    });
    expect(ok(msg).metricValues).toEqual([91.5, 42]);
    expect(ok(msg).alarmIds).toEqual([ALARM]);
  });

  it('copes with the malformed documented shape (no alarmMetaData array)', () => {
    const s = ok(grouped({ alarmMetaData: { id: ALARM }, metricValues: [{ q: '6000' }] }));
    expect(s.metricValues).toEqual([6000]);
    expect(s.alarmIds).toEqual([]);
  });

  it('takes the timestamp from either field', () => {
    expect(ok(grouped({ timestampEpochMillis: undefined })).timestampMs).toBe(1_763_726_400_000);
    expect(ok(grouped({ timestamp: undefined })).dedupeId).toMatch(/@2025-11-21T12:00:00.000Z$/);
    const e = err(grouped({ timestampEpochMillis: 'soon', timestamp: 'yesterday' }));
    expect(e.code).toBe(AlarmParseCode.Invalid);
  });

  it('returns typed errors for garbage', () => {
    expect(err('{').code).toBe(AlarmParseCode.NotJson);
    expect(err('').code).toBe(AlarmParseCode.NotJson);
    expect(err('[1,2]').code).toBe(AlarmParseCode.Invalid);
    expect(err('null').code).toBe(AlarmParseCode.Invalid);
    expect(err(42).code).toBe(AlarmParseCode.Invalid);
    expect(err(grouped({ dedupeKey: 12 })).code).toBe(AlarmParseCode.Invalid);
    expect(err(grouped({ dedupeKey: '' })).code).toBe(AlarmParseCode.Invalid);
  });

  it('refuses huge input before parsing it', () => {
    const huge = JSON.stringify(grouped({ alarmSummary: 'x'.repeat(2_000_000) }));
    const e = err(huge);
    expect(e.code).toBe(AlarmParseCode.TooLarge);
    expect(e.context).toEqual({ chars: huge.length });
    expect(err(JSON.stringify(grouped()), { maxMessageChars: 100 }).code).toBe(
      AlarmParseCode.TooLarge,
    );
  });

  it('bounds work on huge arrays handed in as objects', () => {
    const meta = Array.from({ length: 50_000 }, () => ({ id: ALARM, metricValues: [{ q: '1' }] }));
    const s = ok(grouped({ alarmMetaData: meta }));
    expect(s.metricValues.length).toBe(1000);
  });

  it('parses what buildAlarmMessage builds (the simulator and emulators use it)', () => {
    const msg = buildAlarmMessage({
      dedupeKey: 'k1',
      type: 'REPEAT',
      rule: ScalingRule.UtilizationSustainedLow,
      clusterId: CLUSTER,
      alarmId: ALARM,
      timestampMs: 1_763_726_400_000,
      query: 'Utilization[5m].mean()',
      metricValue: 41.25,
    });
    expect(
      typeof (msg.alarmMetaData as { metricValues: Record<string, unknown>[] }[])[0]!
        .metricValues[0]!['Utilization[5m].mean()'],
    ).toBe('string');
    expect(ok(JSON.stringify(msg))).toEqual({
      dedupeId: 'k1@2025-11-21T12:00:00.000Z',
      type: 'REPEAT',
      rule: 'utilization-sustained-low',
      clusterId: CLUSTER,
      timestampMs: 1_763_726_400_000,
      severity: 'CRITICAL',
      notificationType: 'GROUPED',
      alarmIds: [ALARM],
      metricValues: [41.25],
    });
    // Without the body, the dimension and the title still route it.
    expect(ok({ ...msg, body: null })).toMatchObject({
      clusterId: CLUSTER,
      rule: 'utilization-sustained-low',
    });
  });

  it('formats bodies every rule can round-trip', () => {
    for (const rule of scalingRules) {
      expect(ok(grouped({ body: formatAlarmBody('c', rule) }))).toMatchObject({
        clusterId: 'c',
        rule,
      });
    }
    expect(JSON.parse(formatAlarmBody('c', ScalingRule.UtilizationLow))).toEqual({
      dacflow: { clusterId: 'c', rule: 'utilization-low' },
    });
  });
});

describe('model-deployment (workflow) alarms', () => {
  const MD = 'ocid1.datasciencemodeldeployment.oc1.eu-frankfurt-1.aaaamd';
  const split = (dims: Record<string, string>[], body: unknown) =>
    grouped({
      body,
      notificationType: 'Split messages per metric stream',
      alarmMetaData: [
        {
          id: ALARM,
          status: 'FIRING',
          namespace: 'oci_datascience_modeldeploy',
          query: 'PredictLatency[1m].groupBy(resourceId).percentile(0.99) > 5000',
          dimensions: dims,
          metricValues: dims.map(() => ({ 'PredictLatency[1m]': '7100' })),
        },
      ],
    });

  it('takes the workflow from the body and the deployment from the stream', () => {
    const r = parseAlarmMessage(
      split([{ resourceId: MD }], formatDeploymentAlarmBody('aqua', ScalingRule.LatencyP99High)),
    );
    expect(r.ok && r.signal).toMatchObject({
      clusterId: MD,
      workflow: 'aqua',
      rule: ScalingRule.LatencyP99High,
      notificationType: 'SPLIT',
      metricValues: [7100],
    });
  });

  it('refuses a message naming several deployments, and one naming none', () => {
    const body = formatDeploymentAlarmBody('aqua', ScalingRule.UtilizationLow);
    const two = parseAlarmMessage(split([{ resourceId: MD }, { resourceId: `${MD}2` }], body));
    expect(!two.ok && two.error.code).toBe(AlarmParseCode.AmbiguousTarget);
    // The same deployment twice (one stream per result dimension) is still one deployment.
    const same = parseAlarmMessage(
      split(
        [
          { resourceId: MD, result: 'Success' },
          { resourceId: MD, result: 'Failure' },
        ],
        body,
      ),
    );
    expect(same.ok && same.signal.clusterId).toBe(MD);
    const none = parseAlarmMessage(split([], body));
    expect(!none.ok && none.error.code).toBe(AlarmParseCode.NoCluster);
  });

  it('rejects a body with both a cluster and a workflow', () => {
    const r = parseAlarmMessage(
      split(
        [{ resourceId: MD }],
        JSON.stringify({
          dacflow: { clusterId: CLUSTER, workflow: 'aqua', rule: 'utilization-low' },
        }),
      ),
    );
    expect(!r.ok && r.error.code).toBe(AlarmParseCode.BodyInvalid);
  });
});
