/**
 * scale-dac on Data Science model deployments: the same policy resizes a deployment's FIXED_SIZE
 * instance count from its workflow's compartment-wide, split-per-stream alarms.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '#shared/log.ts';
import { buildMessage, type ScalingNotification } from '#shared/notify.ts';
import {
  handleAlarm,
  ScaleOutcome,
  type ScaleDataSciencePort,
  type ScaleDeps,
} from '#shared/pipeline/scale.ts';
import type { AlarmMessageType } from '#shared/scaling/alarm.ts';
import { formatDeploymentAlarmBody, ScalingRule } from '#shared/scaling/alarm.ts';
import { createClusterRepository } from '#shared/state/clusters.ts';
import { MemoryStore } from '#shared/state/memory.ts';
import { parseWorkflows } from '#workflows/schema.ts';
import { FakeGenAi, OciLikeError } from './fakes.ts';

const MD = 'ocid1.datasciencemodeldeployment.oc1.eu-frankfurt-1.aaaadeployment';
const MODEL = 'ocid1.datasciencemodel.oc1.eu-frankfurt-1.aaaamodel';
const inv = (token = 'call-1') => ({ token, remainingMs: 30_000 });

/** One model deployment with OCI's etag, UPDATING and FIXED_SIZE rules. */
class FakeDataScience {
  md = {
    id: MD,
    displayName: 'dacflow-run-1',
    lifecycleState: 'ACTIVE',
    freeformTags: { dacflowWorkflow: 'aqua', dacflowRunId: 'r1' } as Record<string, string>,
    modelDeploymentConfigurationDetails: {
      deploymentType: 'SINGLE_MODEL',
      modelConfigurationDetails: {
        modelId: MODEL,
        instanceConfiguration: { instanceShapeName: 'VM.GPU.A10.1' },
        scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: 1 } as Record<string, unknown>,
        bandwidthMbps: 10,
      },
    },
  };
  version = 1;
  updates: { request: unknown; ifMatch: string | undefined }[] = [];
  failNextUpdate: OciLikeError | undefined;

  get etag(): string {
    return `md-etag-${this.version}`;
  }

  port(): ScaleDataSciencePort {
    return this as unknown as ScaleDataSciencePort;
  }

  async getModelDeployment(r: { modelDeploymentId: string }) {
    if (r.modelDeploymentId !== this.md.id) throw new OciLikeError(404, 'NotAuthorizedOrNotFound');
    return { modelDeployment: structuredClone(this.md), etag: this.etag };
  }

  async updateModelDeployment(r: {
    modelDeploymentId: string;
    updateModelDeploymentDetails: {
      modelDeploymentConfigurationDetails: {
        modelConfigurationDetails: { modelId: string; scalingPolicy: { instanceCount: number } };
      };
    };
    ifMatch?: string;
  }) {
    const fail = this.failNextUpdate;
    this.failNextUpdate = undefined;
    if (fail) throw fail;
    if (r.ifMatch !== undefined && r.ifMatch !== this.etag) {
      throw new OciLikeError(412, 'NoEtagMatch');
    }
    if (this.md.lifecycleState !== 'ACTIVE') throw new OciLikeError(409, 'IncorrectState');
    this.updates.push({ request: r.updateModelDeploymentDetails, ifMatch: r.ifMatch });
    const mc = r.updateModelDeploymentDetails.modelDeploymentConfigurationDetails;
    this.md.modelDeploymentConfigurationDetails.modelConfigurationDetails.scalingPolicy = {
      policyType: 'FIXED_SIZE',
      instanceCount: mc.modelConfigurationDetails.scalingPolicy.instanceCount,
    };
    this.md.lifecycleState = 'UPDATING';
    this.version++;
    return { opcWorkRequestId: 'wr-md-1' };
  }

  settle(): void {
    this.md.lifecycleState = 'ACTIVE';
    this.version++;
  }

  instances(): number {
    return this.md.modelDeploymentConfigurationDetails.modelConfigurationDetails.scalingPolicy
      .instanceCount as number;
  }
}

function workflowYaml(name: string, autoscaling: string): string {
  return `name: ${name}
backend: datascience
trigger:
  bucket: datasets
  prefix: ${name}/
datascience:
  projectId: ocid1.datascienceproject.oc1.eu-frankfurt-1.aaaaproject
  baseModel: Meta-Llama-3.1-8B-Instruct
  shape: VM.GPU.A10.2
  training:
    epochs: 1
  outputBucket: models
  deployment:
    shape: VM.GPU.A10.1
    instanceCount: 1
${autoscaling}`;
}

const autoscaling = `autoscaling:
  minUnits: 1
  maxUnits: 3
  maxStepUnits: 4
  scaleUpCooldownSec: 0
  scaleDownCooldownSec: 0
  maxActionsPerHour: 10
`;

function harness(o: { datascience?: boolean; workflows?: string[] } = {}) {
  const ds = new FakeDataScience();
  const sent: ScalingNotification[] = [];
  const clock = { ms: Date.parse('2026-11-21T12:00:00.000Z') };
  const docs = o.workflows ?? [workflowYaml('aqua', autoscaling)];
  const deps: ScaleDeps = {
    genai: new FakeGenAi().port(),
    ...(o.datascience === false ? {} : { datascience: ds.port() }),
    clusters: createClusterRepository(new MemoryStore({ tick: async () => {} }), {
      random: () => 0.5,
      sleep: async () => {},
    }),
    workflows: parseWorkflows(docs.map((text, i) => ({ fileName: `w${i}.yaml`, text }))),
    async notify(n) {
      sent.push(n);
    },
    now: () => new Date(clock.ms),
    log: silentLogger,
    leaseWaitMs: 0,
  };
  return { deps, ds, sent, clock };
}

/** A split message of one workflow alarm, as Monitoring sends it for one deployment's stream. */
function message(
  clockMs: number,
  type: AlarmMessageType,
  rule: ScalingRule,
  value: number,
  o: { workflow?: string; deployments?: string[]; dedupeKey?: string } = {},
) {
  const deployments = o.deployments ?? [MD];
  const query = 'PredictLatency[1m].groupBy(resourceId).percentile(0.99)';
  return {
    dedupeKey: o.dedupeKey ?? `dk-${rule}`,
    title: `dacflow-aqua-deployments-${rule}`,
    body: formatDeploymentAlarmBody(o.workflow ?? 'aqua', rule),
    type,
    severity: 'CRITICAL',
    timestampEpochMillis: clockMs,
    timestamp: new Date(clockMs).toISOString(),
    alarmMetaData: [
      {
        id: `ocid1.alarm.oc1..${rule}`,
        status: type === 'FIRING_TO_OK' ? 'OK' : 'FIRING',
        namespace: 'oci_datascience_modeldeploy',
        query,
        totalMetricsFiring: deployments.length,
        dimensions: deployments.map((resourceId) => ({ resourceId })),
        metricValues: deployments.map(() => ({ [query]: String(value) })),
      },
    ],
    notificationType:
      deployments.length > 1
        ? 'Grouped messages across metric streams'
        : 'Split messages per metric stream',
    version: 1.5,
  };
}

describe('handleAlarm on a model deployment', () => {
  it('resizes the FIXED_SIZE instance count with ifMatch, keeping the model, and notifies', async () => {
    const h = harness();
    const r = await handleAlarm(
      h.deps,
      message(h.clock.ms, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 10_000),
      inv(),
    );
    // 1 instance at 10 s against a 5 s threshold: ceil(1 * 10000 / 5000) = 2.
    expect(r).toMatchObject({
      outcome: ScaleOutcome.Scaled,
      resourceKind: 'MODEL_DEPLOYMENT',
      clusterId: MD,
      workflow: 'aqua',
      fromUnits: 1,
      toUnits: 2,
      workRequestId: 'wr-md-1',
    });
    expect(h.ds.updates).toEqual([
      {
        ifMatch: 'md-etag-1',
        request: {
          modelDeploymentConfigurationDetails: {
            deploymentType: 'SINGLE_MODEL',
            modelConfigurationDetails: {
              modelId: MODEL,
              scalingPolicy: { policyType: 'FIXED_SIZE', instanceCount: 2 },
            },
          },
        },
      },
    ]);
    expect(h.sent).toHaveLength(1);
    const n = h.sent[0]!;
    expect(n).toMatchObject({ action: 'SCALE_UP', resourceKind: 'MODEL_DEPLOYMENT' });
    const built = buildMessage(n);
    expect(built.title).toContain('model deployment SCALE_UP 1->2 instances');
    expect(JSON.parse(built.body)).toMatchObject({ modelDeploymentId: MD });
    expect(JSON.parse(built.body)).not.toHaveProperty('clusterId');
  });

  it('keeps within the workflow bounds and waits while the deployment is UPDATING', async () => {
    const h = harness();
    // 1 instance at 30 s: the latency rule asks for 6, maxUnits is 3.
    const up = await handleAlarm(
      h.deps,
      message(h.clock.ms, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 30_000),
      inv(),
    );
    expect(up).toMatchObject({ outcome: ScaleOutcome.Scaled, toUnits: 3 });
    h.clock.ms += 60_000;
    const busy = await handleAlarm(
      h.deps,
      message(h.clock.ms, 'REPEAT', ScalingRule.LatencyP99High, 30_000),
      inv('call-2'),
    );
    expect(busy).toMatchObject({ outcome: ScaleOutcome.NoAction });
    expect(busy.reason).toContain('UPDATING');
    expect(h.ds.updates).toHaveLength(1);

    h.ds.settle();
    h.clock.ms += 60_000;
    const held = await handleAlarm(
      h.deps,
      message(h.clock.ms, 'OK_TO_FIRING', ScalingRule.UtilizationLow, 5, { dedupeKey: 'low-0' }),
      inv('call-2b'),
    );
    // Never both directions: the latency rule still fires.
    expect(held).toMatchObject({ outcome: ScaleOutcome.NoAction });
    await handleAlarm(
      h.deps,
      message(h.clock.ms, 'FIRING_TO_OK', ScalingRule.LatencyP99High, 900),
      inv('call-2c'),
    );
    h.clock.ms += 60_000;
    // Quiet now: utilization-low scales down toward the target, never under minUnits.
    const down = await handleAlarm(
      h.deps,
      message(h.clock.ms, 'OK_TO_FIRING', ScalingRule.UtilizationLow, 5, { dedupeKey: 'low' }),
      inv('call-3'),
    );
    expect(down).toMatchObject({ outcome: ScaleOutcome.Scaled, fromUnits: 3 });
    expect(down.toUnits).toBeGreaterThanOrEqual(1);
    expect(down.toUnits).toBeLessThan(3);
    expect(h.ds.instances()).toBe(down.toUnits);
  });

  it('ignores deployments dacflow did not create, other workflows, and OCI-autoscaled ones', async () => {
    const untagged = harness();
    untagged.ds.md.freeformTags = {};
    expect(
      await handleAlarm(
        untagged.deps,
        message(untagged.clock.ms, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000),
        inv(),
      ),
    ).toMatchObject({ outcome: ScaleOutcome.Ignored, code: 'DEPLOYMENT_NOT_MANAGED' });

    // Two datascience workflows share a compartment: each one's alarm sees both deployments.
    const two = harness({
      workflows: [workflowYaml('aqua', autoscaling), workflowYaml('other', autoscaling)],
    });
    expect(
      await handleAlarm(
        two.deps,
        message(two.clock.ms, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000, {
          workflow: 'other',
        }),
        inv(),
      ),
    ).toMatchObject({ outcome: ScaleOutcome.Ignored, code: 'OTHER_WORKFLOW' });

    const native = harness();
    native.ds.md.modelDeploymentConfigurationDetails.modelConfigurationDetails.scalingPolicy = {
      policyType: 'AUTOSCALING',
      autoScalingPolicies: [],
    };
    expect(
      await handleAlarm(
        native.deps,
        message(native.clock.ms, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000),
        inv(),
      ),
    ).toMatchObject({ outcome: ScaleOutcome.Ignored, code: 'DEPLOYMENT_AUTOSCALED_BY_OCI' });

    const noScaling = harness({ workflows: [workflowYaml('aqua', '')] });
    expect(
      await handleAlarm(
        noScaling.deps,
        message(noScaling.clock.ms, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000),
        inv(),
      ),
    ).toMatchObject({ outcome: ScaleOutcome.Ignored, code: 'DEPLOYMENT_NOT_MANAGED' });

    for (const h of [untagged, two, native, noScaling]) expect(h.ds.updates).toEqual([]);
  });

  it('ignores a deleted deployment, a stack without Data Science, and a grouped message', async () => {
    const h = harness();
    const gone = message(h.clock.ms, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000, {
      deployments: ['ocid1.datasciencemodeldeployment.oc1..gone'],
    });
    expect(await handleAlarm(h.deps, gone, inv())).toMatchObject({
      outcome: ScaleOutcome.Ignored,
      code: 'DEPLOYMENT_NOT_FOUND',
    });

    const noDs = harness({ datascience: false });
    expect(
      await handleAlarm(
        noDs.deps,
        message(noDs.clock.ms, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000),
        inv(),
      ),
    ).toMatchObject({ outcome: ScaleOutcome.Ignored, code: 'DEPLOYMENT_NOT_MANAGED' });

    // A workflow alarm left grouping its messages: two deployments, nothing says which to resize.
    const grouped = message(h.clock.ms, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 9000, {
      deployments: [MD, 'ocid1.datasciencemodeldeployment.oc1..second'],
    });
    expect(await handleAlarm(h.deps, grouped, inv())).toMatchObject({
      outcome: ScaleOutcome.Ignored,
      code: 'ALARM_TARGET_AMBIGUOUS',
    });
    expect(h.ds.updates).toEqual([]);
  });

  it('on 412 records the message and waits; on a 5xx it notifies SCALE_FAILED', async () => {
    const h = harness();
    h.ds.failNextUpdate = new OciLikeError(412, 'NoEtagMatch');
    const changed = await handleAlarm(
      h.deps,
      message(h.clock.ms, 'OK_TO_FIRING', ScalingRule.LatencyP99High, 10_000),
      inv(),
    );
    expect(changed).toMatchObject({
      outcome: ScaleOutcome.Failed,
      code: 'DEPLOYMENT_CHANGED',
      retryable: false,
    });
    expect(h.sent).toEqual([]);

    h.clock.ms += 60_000;
    h.ds.failNextUpdate = new OciLikeError(503, 'ServiceUnavailable');
    const down = await handleAlarm(
      h.deps,
      message(h.clock.ms, 'REPEAT', ScalingRule.LatencyP99High, 10_000),
      inv('call-2'),
    );
    expect(down).toMatchObject({ outcome: ScaleOutcome.Failed, retryable: true });
    expect(down.reason).toContain('updateModelDeployment');
    expect(h.sent).toEqual([
      expect.objectContaining({ action: 'SCALE_FAILED', resourceKind: 'MODEL_DEPLOYMENT' }),
    ]);
    expect(h.ds.instances()).toBe(1);
  });
});
