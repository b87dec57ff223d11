/** Small in-memory fakes for the scale and utilization ports (no SDK module is mocked). */
import { silentLogger } from '#shared/log.ts';
import type { ScalingNotification } from '#shared/notify.ts';
import type { ScaleDeps, ScaleGenAiPort } from '#shared/pipeline/scale.ts';
import { createClusterRepository } from '#shared/state/clusters.ts';
import { MemoryStore } from '#shared/state/memory.ts';
import { parseWorkflows } from '#workflows/schema.ts';

export const CLUSTER = 'ocid1.generativeaidedicatedaicluster.oc1.us-chicago-1.aaaacluster';
export const CLUSTER_NAME = 'hosting-a';

export class OciLikeError extends Error {
  constructor(
    readonly statusCode: number,
    readonly serviceCode: string,
  ) {
    super(`${statusCode} ${serviceCode}`);
  }
}

/** One hosting cluster with OCI's etag and UPDATING rules. */
export class FakeGenAi {
  cluster = {
    id: CLUSTER,
    displayName: CLUSTER_NAME,
    type: 'HOSTING',
    unitCount: 2,
    lifecycleState: 'ACTIVE',
  };
  version = 1;
  updates: { unitCount: number; ifMatch: string | undefined }[] = [];
  /** Thrown by the next update (then cleared). */
  failNextUpdate: OciLikeError | undefined;
  /** Applied between the read and the update: someone else changes the cluster. */
  beforeUpdate: (() => void) | undefined;

  get etag(): string {
    return `etag-${this.version}`;
  }

  port(): ScaleGenAiPort {
    return this as unknown as ScaleGenAiPort;
  }

  async getDedicatedAiCluster(r: { dedicatedAiClusterId: string }) {
    if (r.dedicatedAiClusterId !== this.cluster.id)
      throw new OciLikeError(404, 'NotAuthorizedOrNotFound');
    return { dedicatedAiCluster: { ...this.cluster }, etag: this.etag };
  }

  async listDedicatedAiClusters(r: { displayName?: string }) {
    const items = r.displayName === this.cluster.displayName ? [{ ...this.cluster }] : [];
    return { dedicatedAiClusterCollection: { items } };
  }

  async updateDedicatedAiCluster(r: {
    dedicatedAiClusterId: string;
    updateDedicatedAiClusterDetails: { unitCount?: number };
    ifMatch?: string;
  }) {
    this.beforeUpdate?.();
    this.beforeUpdate = undefined;
    const fail = this.failNextUpdate;
    this.failNextUpdate = undefined;
    if (fail) throw fail;
    if (r.ifMatch !== undefined && r.ifMatch !== this.etag)
      throw new OciLikeError(412, 'NoEtagMatch');
    if (this.cluster.lifecycleState !== 'ACTIVE') throw new OciLikeError(409, 'IncorrectState');
    const unitCount = r.updateDedicatedAiClusterDetails.unitCount!;
    this.updates.push({ unitCount, ifMatch: r.ifMatch });
    this.cluster.unitCount = unitCount;
    this.cluster.lifecycleState = 'UPDATING';
    this.version++;
    return { dedicatedAiCluster: { ...this.cluster }, etag: this.etag, opcWorkRequestId: 'wr-1' };
  }

  /** The update finished. */
  settle(): void {
    this.cluster.lifecycleState = 'ACTIVE';
    this.version++;
  }
}

export function workflowYaml(cluster: string, autoscaling: string): string {
  return `name: bot
backend: genai
trigger:
  bucket: datasets
  prefix: incoming/
genai:
  baseModel: cohere.command-r-08-2024
  trainingConfig:
    trainingConfigType: TFEW_TRAINING_CONFIG
  fineTuningCluster: ft-cluster
  hostingClusters: [${cluster}]
  endpoint:
    contentModeration:
      isEnabled: false
${autoscaling}`;
}

export const autoscalingBlock = `autoscaling:
  minUnits: 1
  maxUnits: 8
  maxStepUnits: 4
  scaleUpCooldownSec: 0
  scaleDownCooldownSec: 0
  maxActionsPerHour: 10
`;

export function workflows(cluster = CLUSTER_NAME, autoscaling = autoscalingBlock) {
  return parseWorkflows([{ fileName: 'w.yaml', text: workflowYaml(cluster, autoscaling) }]);
}

export interface Harness {
  deps: ScaleDeps;
  genai: FakeGenAi;
  store: MemoryStore;
  sent: ScalingNotification[];
  clock: { ms: number };
}

export function harness(options: { workflowCluster?: string; autoscaling?: string } = {}): Harness {
  const genai = new FakeGenAi();
  const store = new MemoryStore({ tick: async () => {} });
  const sent: ScalingNotification[] = [];
  const clock = { ms: Date.parse('2026-11-21T12:00:00.000Z') };
  const deps: ScaleDeps = {
    genai: genai.port(),
    clusters: createClusterRepository(store, { random: () => 0.5, sleep: async () => {} }),
    workflows: workflows(options.workflowCluster, options.autoscaling),
    async notify(n) {
      sent.push(n);
    },
    now: () => new Date(clock.ms),
    log: silentLogger,
    leaseWaitMs: 0,
  };
  return { deps, genai, store, sent, clock };
}
