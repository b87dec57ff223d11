/**
 * The Generative AI management API (`/20231130`) of the local OCI emulator: dedicated AI clusters,
 * base and custom models (fine-tuning), endpoints and work requests, with retry tokens and etags as
 * OCI honours them. Lifecycle changes are stored as timestamped transitions and applied when a
 * resource is read, so a restarted emulator finishes what a previous one started.
 * See docs/emulator-genai.md.
 */
import { z } from 'zod';
import { models as sdkModels } from 'oci-generativeai';
import {
  OciApiError,
  type EmulatorContext,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorService,
  type Collection,
  type Route,
} from './service.ts';
import {
  validate,
  notFound,
  incorrectState,
  requireCompartment,
  defaultName,
  stripUndefined,
} from './request-helpers.ts';
import {
  baseModelOcid,
  defaultBaseModels,
  defaultFineTuningUnitCounts,
  trainingConfigTypes,
  type BaseModelSpec,
  type SeedCluster,
} from './genai-catalogue.ts';
import {
  ClusterState,
  EndpointState,
  ModelState,
  checkIfMatch,
  etagOf,
  genAiWorkRequests,
  liveStates,
  paginate,
  publicView,
  settle,
  sortItems,
  unitHash,
  type ClusterRecord,
  type EndpointRecord,
  type EntityKind,
  type ModelRecord,
} from './genai-core.ts';
import { RetryTokens } from './retry-tokens.ts';
import { WorkRequests } from './work-requests.ts';

export {
  demoSeedClusters,
  defaultBaseModels,
  seedClustersFor,
  type BaseModelSpec,
  type SeedCluster,
} from './genai-catalogue.ts';

const API = '/20231130';
const DAY_MS = 24 * 60 * 60 * 1000;

const trainingConfigTypeSchema = z.enum(trainingConfigTypes);

const optionsSchema = z
  .object({
    /** CREATING -> ACTIVE of a dedicated AI cluster (before `scaleDelayMs`). */
    clusterCreateMs: z.number().int().min(0).default(60_000),
    /** UPDATING -> ACTIVE after a unit-count change. */
    clusterUpdateMs: z.number().int().min(0).default(30_000),
    clusterDeleteMs: z.number().int().min(0).default(10_000),
    /** CREATING -> ACTIVE or FAILED of a fine-tuned model. */
    modelTrainingMs: z.number().int().min(0).default(300_000),
    modelDeleteMs: z.number().int().min(0).default(5_000),
    endpointCreateMs: z.number().int().min(0).default(30_000),
    endpointUpdateMs: z.number().int().min(0).default(10_000),
    endpointDeleteMs: z.number().int().min(0).default(10_000),
    /** "A hosting dedicated AI cluster can have up to 50 endpoints" (limitations.htm). */
    endpointsPerHostingCluster: z.number().int().min(1).default(50),
    /** Fixed unit count of fine-tuning clusters by shape; shapes not listed take any count. */
    fineTuningUnitCounts: z
      .record(z.string(), z.number().int().min(1))
      .default({ ...defaultFineTuningUnitCounts }),
    baseModels: z
      .array(
        z.object({
          name: z.string().min(1),
          vendor: z.string().min(1),
          version: z.string().min(1),
          capabilities: z.array(z.string()).min(1),
          fineTuningUnitShape: z.string().optional(),
          trainingConfigTypes: z.array(trainingConfigTypeSchema).optional(),
          hostingUnitShape: z.string().optional(),
          timeDeprecated: z.string().optional(),
          isLongTermSupported: z.boolean().optional(),
        }),
      )
      .default(() => defaultBaseModels.map((m) => ({ ...m }))),
    /** A training dataset whose object name contains this fails training; null disables it. */
    failDatasetMarker: z.string().min(1).nullable().default('FAIL_TRAINING'),
    /** Model display names that fail training. */
    failModelDisplayNames: z.array(z.string()).default([]),
    /** Check that cluster shapes match the base model (fine-tuning and hosting). */
    enforceUnitShapes: z.boolean().default(true),
    /** Clusters created ACTIVE at start unless one with the same name and compartment exists. */
    seedClusters: z
      .array(
        z.object({
          displayName: z.string().min(1),
          type: z.enum(['HOSTING', 'FINE_TUNING']),
          unitShape: z.string().min(1),
          unitCount: z.number().int().min(1),
          compartmentId: z.string().min(1).optional(),
          description: z.string().optional(),
        }),
      )
      .default([]),
    /** "Retry tokens expire after 24 hours" (CreateModelRequest.opcRetryToken doc). */
    retryTokenTtlMs: z.number().int().min(1).default(DAY_MS),
  })
  .strict();

export type GenAiEmulatorOptions = z.input<typeof optionsSchema>;
type Options = z.output<typeof optionsSchema>;

/** Test hooks: drive states OCI would reach on its own (outages, manual deletes). */
export interface GenAiControl {
  /** Forces a cluster's state; a bad state fails the fine-tunes and endpoint creations on it. */
  forceClusterState(
    id: string,
    state: 'ACTIVE' | 'NEEDS_ATTENTION' | 'FAILED',
    details?: string,
  ): void;
  /** Makes a cluster vanish (404 from then on), failing work that runs on it. */
  removeCluster(id: string): void;
  /** Forces a custom model's state (e.g. FAILED with details). */
  forceModelState(id: string, state: 'ACTIVE' | 'FAILED', details?: string): void;
  /** The id of a live cluster with this display name (seeded clusters, for example). */
  clusterIdByName(displayName: string, compartmentId?: string): string | undefined;
  /** Read-only: every cluster's id, type, state and unit count (the demand generator reads it). */
  clusterUnits(): { id: string; type: string; lifecycleState: string; unitCount: number }[];
}

export interface GenAiEmulatorService extends EmulatorService {
  /** Available once the emulator has started the service. */
  readonly control: GenAiControl;
}

const unitShapes: ReadonlySet<string> = new Set(
  Object.values(sdkModels.DedicatedAiCluster.UnitShape).filter((s) => s !== 'UNKNOWN_VALUE'),
);

const tagsSchema = z.record(z.string(), z.string()).optional();
const definedTagsSchema = z.record(z.string(), z.record(z.string(), z.unknown())).optional();
const displayNameSchema = z.string().min(1).max(255).optional();

const createClusterSchema = z.object({
  displayName: displayNameSchema,
  description: z.string().max(400).optional(),
  type: z.enum(['HOSTING', 'FINE_TUNING']),
  compartmentId: z.string().min(1),
  unitCount: z.number().int().min(1),
  unitShape: z.string().min(1),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

const updateClusterSchema = z.object({
  displayName: displayNameSchema,
  description: z.string().max(400).optional(),
  unitCount: z.number().int().min(1).optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

const trainingConfigSchema = z.looseObject({
  trainingConfigType: trainingConfigTypeSchema,
  totalTrainingEpochs: z.number().int().min(1).optional(),
  learningRate: z.number().min(0).max(1).optional(),
  trainingBatchSize: z.number().int().min(1).optional(),
  earlyStoppingPatience: z.number().int().min(0).optional(),
  earlyStoppingThreshold: z.number().min(0).optional(),
  logModelMetricsIntervalInSteps: z.number().int().min(0).optional(),
  // fine-tuning-parameters.htm (ja-jp): loraR is an integer 1-64.
  loraR: z.number().int().min(1).max(64).optional(),
  loraAlpha: z.number().int().min(1).optional(),
  loraDropout: z.number().min(0).max(1).optional(),
  numOfLastLayers: z.number().int().min(1).optional(),
});

const createModelSchema = z.object({
  displayName: displayNameSchema,
  compartmentId: z.string().min(1),
  vendor: z.string().optional(),
  version: z.string().optional(),
  description: z.string().optional(),
  baseModelId: z.string().min(1),
  fineTuneDetails: z.object({
    trainingDataset: z.object({
      datasetType: z.literal('OBJECT_STORAGE'),
      namespaceName: z.string().min(1),
      bucketName: z.string().min(1),
      objectName: z.string().min(1),
    }),
    dedicatedAiClusterId: z.string().min(1),
    trainingConfig: trainingConfigSchema.optional(),
  }),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

const updateModelSchema = z.object({
  displayName: displayNameSchema,
  description: z.string().optional(),
  vendor: z.string().optional(),
  version: z.string().optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

const guardrailSchema = z.looseObject({
  isEnabled: z.boolean(),
  mode: z.string().optional(),
  modelId: z.string().optional(),
});
const contentModerationSchema = z.object({
  isEnabled: z.boolean(),
  mode: z.enum(['INFORM', 'BLOCK']).optional(),
  modelId: z.string().optional(),
});

const createEndpointSchema = z.object({
  displayName: displayNameSchema,
  description: z.string().optional(),
  compartmentId: z.string().min(1),
  modelId: z.string().min(1),
  dedicatedAiClusterId: z.string().min(1),
  generativeAiPrivateEndpointId: z.string().optional(),
  contentModerationConfig: contentModerationSchema.optional(),
  promptInjectionConfig: guardrailSchema.optional(),
  piiDetectionConfig: guardrailSchema.optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

const updateEndpointSchema = z.object({
  displayName: displayNameSchema,
  description: z.string().optional(),
  generativeAiPrivateEndpointId: z.string().optional(),
  contentModerationConfig: contentModerationSchema.optional(),
  promptInjectionConfig: guardrailSchema.optional(),
  piiDetectionConfig: guardrailSchema.optional(),
  freeformTags: tagsSchema,
  definedTags: definedTagsSchema,
});

/** The Generative AI management API as an emulator service. */
export function genAiService(options: GenAiEmulatorOptions = {}): GenAiEmulatorService {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid genAiService options: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const opts: Options = parsed.data;
  let impl: GenAiImpl | undefined;
  const started = (): GenAiImpl => {
    if (!impl) throw new Error('the Generative AI emulator service has not started yet');
    return impl;
  };
  return {
    name: 'generativeai',
    routes(ctx: EmulatorContext): Route[] {
      impl = new GenAiImpl(ctx, opts);
      impl.seed();
      return impl.routes();
    },
    control: {
      forceClusterState: (id, state, details) => started().forceClusterState(id, state, details),
      removeCluster: (id) => started().removeCluster(id),
      forceModelState: (id, state, details) => started().forceModelState(id, state, details),
      clusterIdByName: (name, compartmentId) => started().clusterIdByName(name, compartmentId),
      clusterUnits: () => started().clusterUnits(),
    },
  };
}

class GenAiImpl {
  private readonly clusters: Collection<ClusterRecord>;
  private readonly models: Collection<ModelRecord>;
  private readonly endpoints: Collection<EndpointRecord>;
  private readonly workRequests: WorkRequests<EntityKind, 'entityKind'>;
  private readonly retry: RetryTokens;
  private readonly baseModels = new Map<string, BaseModelSpec>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly opts: Options,
  ) {
    this.clusters = ctx.collection<ClusterRecord>('genai-dedicated-ai-clusters');
    this.models = ctx.collection<ModelRecord>('genai-models');
    this.endpoints = ctx.collection<EndpointRecord>('genai-endpoints');
    this.workRequests = new WorkRequests(genAiWorkRequests, {
      ctx,
      collection: 'genai-work-requests',
      loadEntity: (kind, id) =>
        kind === 'cluster'
          ? this.load(this.clusters, id)
          : kind === 'model'
            ? this.load(this.models, id)
            : this.load(this.endpoints, id),
      respond: (req, items, sort) =>
        this.listResponse(req, items, sort?.sortable, sort?.defaultSortBy),
      etagOf,
    });
    this.retry = new RetryTokens(ctx, 'genai-retry-tokens', opts.retryTokenTtlMs);
    for (const m of opts.baseModels) this.baseModels.set(baseModelOcid(m.name, ctx.region), m);
  }

  private nowMs(): number {
    return this.ctx.now().getTime();
  }

  private delay(ms: number): number {
    return ms === 0 ? 0 : Math.max(0, Math.round(this.ctx.scaleDelayMs(ms)));
  }

  // ---- loading with lifecycle settlement ----

  private load<R extends { id: string; lifecycleState: string }>(
    col: Collection<R>,
    id: string,
  ): R | undefined {
    const r = col.get(id);
    if (r && settle(r as never, this.nowMs())) col.put(r);
    return r;
  }

  private loadAll<R extends { id: string; lifecycleState: string }>(col: Collection<R>): R[] {
    const now = this.nowMs();
    return col.list().map((r) => {
      if (settle(r as never, now)) col.put(r);
      return r;
    });
  }

  private liveEndpointsOn(clusterId: string): EndpointRecord[] {
    return this.loadAll(this.endpoints).filter(
      (e) => e.dedicatedAiClusterId === clusterId && liveStates.has(e.lifecycleState),
    );
  }

  private clusterView(c: ClusterRecord): Record<string, unknown> {
    const view = publicView(c);
    if (c.type === 'HOSTING') {
      view.capacity = {
        capacityType: 'HOSTING_CAPACITY',
        totalEndpointCapacity: this.opts.endpointsPerHostingCluster,
        usedEndpointCapacity: this.liveEndpointsOn(c.id).length,
      };
    }
    return view;
  }

  private modelView(m: ModelRecord): Record<string, unknown> {
    return publicView(m);
  }

  private baseModelView(id: string, spec: BaseModelSpec): Record<string, unknown> {
    return stripUndefined({
      id,
      compartmentId: this.ctx.tenancyId,
      capabilities: [...spec.capabilities],
      lifecycleState: 'ACTIVE',
      displayName: spec.name,
      vendor: spec.vendor,
      version: spec.version,
      timeCreated: '2024-08-01T00:00:00.000Z',
      type: 'BASE',
      isLongTermSupported: spec.isLongTermSupported,
      timeDeprecated: spec.timeDeprecated,
      freeformTags: {},
      definedTags: {},
    });
  }

  private endpointView(e: EndpointRecord): Record<string, unknown> {
    return publicView(e, ['baseModelId']);
  }

  // ---- seeding and control ----

  seed(): void {
    const existing = this.loadAll(this.clusters);
    for (const s of this.opts.seedClusters as SeedCluster[]) {
      const compartmentId = s.compartmentId ?? this.ctx.compartmentId;
      const found = existing.some(
        (c) =>
          c.displayName === s.displayName &&
          c.compartmentId === compartmentId &&
          c.lifecycleState !== ClusterState.Deleted,
      );
      if (found) continue;
      if (!unitShapes.has(s.unitShape))
        throw new Error(`seed cluster ${s.displayName}: unknown unitShape ${s.unitShape}`);
      const now = this.ctx.now().toISOString();
      this.clusters.put({
        id: this.ctx.newOcid('generativeaidedicatedaicluster'),
        displayName: s.displayName,
        description: s.description,
        type: s.type,
        compartmentId,
        timeCreated: now,
        timeUpdated: now,
        lifecycleState: ClusterState.Active,
        unitCount: s.unitCount,
        unitShape: s.unitShape,
        freeformTags: {},
        definedTags: {},
      });
    }
  }

  clusterIdByName(displayName: string, compartmentId?: string): string | undefined {
    return this.loadAll(this.clusters).find(
      (c) =>
        c.displayName === displayName &&
        (compartmentId === undefined || c.compartmentId === compartmentId) &&
        liveStates.has(c.lifecycleState),
    )?.id;
  }

  clusterUnits(): { id: string; type: string; lifecycleState: string; unitCount: number }[] {
    return this.loadAll(this.clusters).map((c) => ({
      id: c.id,
      type: c.type,
      lifecycleState: c.lifecycleState,
      unitCount: c.unitCount,
    }));
  }

  forceClusterState(
    id: string,
    state: 'ACTIVE' | 'NEEDS_ATTENTION' | 'FAILED',
    details?: string,
  ): void {
    const c = this.load(this.clusters, id);
    if (!c) throw new Error(`no cluster ${id}`);
    c.lifecycleState = state;
    c.lifecycleDetails = details;
    c.timeUpdated = this.ctx.now().toISOString();
    delete c.transition;
    this.clusters.put(c);
    this.workRequests.finishAllOf(id);
    if (state !== 'ACTIVE') this.failWorkOnCluster(id, `dedicated AI cluster ${id} is ${state}`);
  }

  removeCluster(id: string): void {
    if (!this.clusters.delete(id)) throw new Error(`no cluster ${id}`);
    this.failWorkOnCluster(id, `dedicated AI cluster ${id} no longer exists`);
  }

  forceModelState(id: string, state: 'ACTIVE' | 'FAILED', details?: string): void {
    const m = this.load(this.models, id);
    if (!m) throw new Error(`no custom model ${id}`);
    m.lifecycleState = state;
    m.lifecycleDetails = details;
    if (state === 'ACTIVE' && !m.modelMetrics) m.modelMetrics = this.metricsFor(m);
    if (state === 'FAILED') delete m.modelMetrics;
    m.timeUpdated = this.ctx.now().toISOString();
    delete m.transition;
    this.models.put(m);
    this.workRequests.finishAllOf(id);
  }

  private failWorkOnCluster(clusterId: string, details: string): void {
    const now = this.ctx.now().toISOString();
    for (const m of this.loadAll(this.models)) {
      if (m.lifecycleState !== ModelState.Creating) continue;
      if (m.fineTuneDetails.dedicatedAiClusterId !== clusterId) continue;
      Object.assign(m, {
        lifecycleState: ModelState.Failed,
        lifecycleDetails: details,
        timeUpdated: now,
      });
      delete m.transition;
      delete m.modelMetrics;
      this.models.put(m);
      this.workRequests.finishAllOf(m.id);
    }
    for (const e of this.loadAll(this.endpoints)) {
      if (e.dedicatedAiClusterId !== clusterId || e.lifecycleState !== EndpointState.Creating)
        continue;
      Object.assign(e, {
        lifecycleState: EndpointState.Failed,
        lifecycleDetails: details,
        timeUpdated: now,
      });
      delete e.transition;
      this.endpoints.put(e);
      this.workRequests.finishAllOf(e.id);
    }
  }

  // ---- routes ----

  routes(): Route[] {
    const r = (
      method: Route['method'],
      path: string,
      operation: string,
      handler: Route['handler'],
    ): Route => ({
      method,
      path: API + path,
      operation,
      handler,
    });
    return [
      r('POST', '/dedicatedAiClusters', 'CreateDedicatedAiCluster', (q) => this.createCluster(q)),
      r('GET', '/dedicatedAiClusters', 'ListDedicatedAiClusters', async (q) =>
        this.listClusters(q),
      ),
      r('GET', '/dedicatedAiClusters/{dedicatedAiClusterId}', 'GetDedicatedAiCluster', async (q) =>
        this.getCluster(q),
      ),
      r('PUT', '/dedicatedAiClusters/{dedicatedAiClusterId}', 'UpdateDedicatedAiCluster', (q) =>
        this.updateCluster(q),
      ),
      r(
        'DELETE',
        '/dedicatedAiClusters/{dedicatedAiClusterId}',
        'DeleteDedicatedAiCluster',
        async (q) => this.deleteCluster(q),
      ),
      r('POST', '/models', 'CreateModel', (q) => this.createModel(q)),
      r('GET', '/models', 'ListModels', async (q) => this.listModels(q)),
      r('GET', '/models/{modelId}', 'GetModel', async (q) => this.getModel(q)),
      r('PUT', '/models/{modelId}', 'UpdateModel', (q) => this.updateModel(q)),
      r('DELETE', '/models/{modelId}', 'DeleteModel', async (q) => this.deleteModel(q)),
      r('POST', '/endpoints', 'CreateEndpoint', (q) => this.createEndpoint(q)),
      r('GET', '/endpoints', 'ListEndpoints', async (q) => this.listEndpoints(q)),
      r('GET', '/endpoints/{endpointId}', 'GetEndpoint', async (q) => this.getEndpoint(q)),
      r('PUT', '/endpoints/{endpointId}', 'UpdateEndpoint', (q) => this.updateEndpoint(q)),
      r('DELETE', '/endpoints/{endpointId}', 'DeleteEndpoint', async (q) => this.deleteEndpoint(q)),
      ...this.workRequests.routes(),
    ];
  }

  /** A page of `items` in `{ items }`, sorted as asked unless `sortable` is undefined. */
  private listResponse(
    req: EmulatorRequest,
    items: Record<string, unknown>[],
    sortable: readonly string[] | undefined,
    defaultSortBy = 'timeCreated',
  ): EmulatorResponse {
    const sorted = sortable
      ? sortItems(
          items,
          req.query.get('sortBy'),
          req.query.get('sortOrder'),
          sortable,
          defaultSortBy,
        )
      : items;
    const page = paginate(sorted, { limit: req.query.get('limit'), page: req.query.get('page') });
    return {
      status: 200,
      headers: page.next ? { 'opc-next-page': page.next } : {},
      body: { items: page.items },
    };
  }

  private filterCommon<
    T extends { id: string; compartmentId: string; lifecycleState: string; displayName?: string },
  >(req: EmulatorRequest, items: T[]): T[] {
    const compartmentId = requireCompartment(req);
    const state = req.query.get('lifecycleState');
    const name = req.query.get('displayName');
    const id = req.query.get('id');
    return items.filter(
      (i) =>
        i.compartmentId === compartmentId &&
        (!state || i.lifecycleState === state) &&
        (!name || i.displayName === name) &&
        (!id || i.id === id),
    );
  }

  // ---- dedicated AI clusters ----

  private requireCluster(id: string): ClusterRecord {
    const c = this.load(this.clusters, id);
    if (!c) throw notFound('Dedicated AI cluster', id);
    return c;
  }

  private async createCluster(req: EmulatorRequest): Promise<EmulatorResponse> {
    const raw = await req.json();
    return this.retry.run(req, 'CreateDedicatedAiCluster', raw, async () => {
      const d = validate(raw, createClusterSchema);
      if (!unitShapes.has(d.unitShape)) {
        throw new OciApiError(
          400,
          'InvalidParameter',
          `Invalid unitShape: ${d.unitShape} is not a dedicated AI cluster unit shape`,
        );
      }
      if (d.type === 'FINE_TUNING') {
        const fixed = this.opts.fineTuningUnitCounts[d.unitShape];
        if (fixed !== undefined && d.unitCount !== fixed) {
          throw new OciApiError(
            400,
            'InvalidParameter',
            `Invalid unitCount: a FINE_TUNING cluster of shape ${d.unitShape} has exactly ${fixed} units`,
          );
        }
      }
      const now = this.ctx.now();
      const id = this.ctx.newOcid('generativeaidedicatedaicluster');
      const durationMs = this.delay(this.opts.clusterCreateMs);
      const wr = this.workRequests.create(
        'CREATE_DEDICATED_AI_CLUSTER',
        'cluster',
        id,
        d.compartmentId,
        'CREATED',
        durationMs,
      );
      const c: ClusterRecord = {
        id,
        displayName: d.displayName ?? defaultName('dedicatedaicluster', now),
        description: d.description,
        type: d.type,
        compartmentId: d.compartmentId,
        timeCreated: now.toISOString(),
        timeUpdated: now.toISOString(),
        lifecycleState: ClusterState.Creating,
        unitCount: d.unitCount,
        unitShape: d.unitShape,
        freeformTags: d.freeformTags ?? {},
        definedTags: d.definedTags ?? {},
        transition: { atMs: wr.finishMs, patch: { lifecycleState: ClusterState.Active } },
      };
      settle(c, this.nowMs());
      this.clusters.put(c);
      const view = this.clusterView(c);
      return {
        status: 200,
        headers: { etag: etagOf(view), 'opc-work-request-id': wr.id },
        body: view,
      };
    });
  }

  private getCluster(req: EmulatorRequest): EmulatorResponse {
    const c = this.requireCluster(req.params.dedicatedAiClusterId ?? '');
    const view = this.clusterView(c);
    return { status: 200, headers: { etag: etagOf(view) }, body: view };
  }

  private listClusters(req: EmulatorRequest): EmulatorResponse {
    const items = this.filterCommon(req, this.loadAll(this.clusters)).map((c) =>
      this.clusterView(c),
    );
    return this.listResponse(req, items, ['timeCreated', 'displayName', 'lifecycleState']);
  }

  private async updateCluster(req: EmulatorRequest): Promise<EmulatorResponse> {
    const c = this.requireCluster(req.params.dedicatedAiClusterId ?? '');
    checkIfMatch(req.headers['if-match'], etagOf(this.clusterView(c)));
    const raw = (await req.json()) as Record<string, unknown> | null;
    for (const field of ['unitShape', 'type', 'compartmentId']) {
      if (raw && typeof raw === 'object' && field in raw) {
        throw new OciApiError(
          400,
          'InvalidParameter',
          `${field} of a dedicated AI cluster cannot be updated`,
        );
      }
    }
    const d = validate(raw, updateClusterSchema);
    if (c.lifecycleState !== ClusterState.Active) {
      throw incorrectState(
        `Dedicated AI cluster ${c.id} is ${c.lifecycleState}; only an ACTIVE cluster can be updated`,
      );
    }
    const scaling = d.unitCount !== undefined && d.unitCount !== c.unitCount;
    if (scaling && c.type === 'FINE_TUNING') {
      throw new OciApiError(
        400,
        'InvalidParameter',
        'The unit count of a FINE_TUNING cluster cannot be changed',
      );
    }
    const now = this.ctx.now();
    const durationMs = scaling ? this.delay(this.opts.clusterUpdateMs) : 0;
    const wr = this.workRequests.create(
      'UPDATE_DEDICATED_AI_CLUSTER',
      'cluster',
      c.id,
      c.compartmentId,
      'UPDATED',
      durationMs,
    );
    Object.assign(
      c,
      stripUndefined({
        displayName: d.displayName,
        description: d.description,
        unitCount: d.unitCount,
        freeformTags: d.freeformTags,
        definedTags: d.definedTags,
      }),
    );
    c.timeUpdated = now.toISOString();
    if (scaling) {
      c.lifecycleState = ClusterState.Updating;
      c.transition = { atMs: wr.finishMs, patch: { lifecycleState: ClusterState.Active } };
      settle(c, this.nowMs());
    }
    this.clusters.put(c);
    const view = this.clusterView(c);
    return {
      status: 200,
      headers: { etag: etagOf(view), 'opc-work-request-id': wr.id },
      body: view,
    };
  }

  private deleteCluster(req: EmulatorRequest): EmulatorResponse {
    const c = this.requireCluster(req.params.dedicatedAiClusterId ?? '');
    checkIfMatch(req.headers['if-match'], etagOf(this.clusterView(c)));
    if (c.lifecycleState === ClusterState.Deleted || c.lifecycleState === ClusterState.Deleting) {
      throw incorrectState(`Dedicated AI cluster ${c.id} is already ${c.lifecycleState}`);
    }
    if (c.lifecycleState === ClusterState.Creating || c.lifecycleState === ClusterState.Updating) {
      throw incorrectState(
        `Dedicated AI cluster ${c.id} is ${c.lifecycleState}; wait until it is ACTIVE`,
      );
    }
    const endpoints = this.liveEndpointsOn(c.id).length;
    if (endpoints > 0) {
      throw new OciApiError(
        409,
        'Conflict',
        `Dedicated AI cluster ${c.id} still hosts ${endpoints} endpoint(s); delete them first`,
      );
    }
    const training = this.loadAll(this.models).filter(
      (m) =>
        m.lifecycleState === ModelState.Creating && m.fineTuneDetails.dedicatedAiClusterId === c.id,
    ).length;
    if (training > 0) {
      throw new OciApiError(
        409,
        'Conflict',
        `Dedicated AI cluster ${c.id} is fine-tuning ${training} model(s)`,
      );
    }
    const wr = this.workRequests.create(
      'DELETE_DEDICATED_AI_CLUSTER',
      'cluster',
      c.id,
      c.compartmentId,
      'DELETED',
      this.delay(this.opts.clusterDeleteMs),
    );
    c.lifecycleState = ClusterState.Deleting;
    c.timeUpdated = this.ctx.now().toISOString();
    c.transition = { atMs: wr.finishMs, patch: { lifecycleState: ClusterState.Deleted } };
    settle(c, this.nowMs());
    this.clusters.put(c);
    return { status: 202, headers: { 'opc-work-request-id': wr.id } };
  }

  // ---- models ----

  private metricsFor(m: ModelRecord): ModelRecord['modelMetrics'] {
    return {
      modelMetricsType: m.capabilities.includes('CHAT')
        ? 'CHAT_MODEL_METRICS'
        : 'TEXT_GENERATION_MODEL_METRICS',
      finalAccuracy: Math.round((0.6 + 0.35 * unitHash(m.id, 'accuracy')) * 10_000) / 10_000,
      finalLoss: Math.round((0.1 + 1.2 * unitHash(m.id, 'loss')) * 10_000) / 10_000,
    };
  }

  private failureFor(d: z.output<typeof createModelSchema>): string | undefined {
    const objectName = d.fineTuneDetails.trainingDataset.objectName;
    const marker = this.opts.failDatasetMarker;
    if (marker !== null && objectName.includes(marker)) {
      return `Fine-tuning failed: the training job could not complete on dataset object ${objectName}`;
    }
    if (d.displayName !== undefined && this.opts.failModelDisplayNames.includes(d.displayName)) {
      return `Fine-tuning failed for model ${d.displayName}`;
    }
    return undefined;
  }

  private async createModel(req: EmulatorRequest): Promise<EmulatorResponse> {
    const raw = await req.json();
    return this.retry.run(req, 'CreateModel', raw, async () => {
      const d = validate(raw, createModelSchema);
      const ft = d.fineTuneDetails;
      const base = this.baseModels.get(d.baseModelId);
      if (!base) {
        if (this.models.get(d.baseModelId)) {
          throw new OciApiError(
            400,
            'InvalidParameter',
            `Invalid baseModelId: ${d.baseModelId} is a custom model, not a base model`,
          );
        }
        throw notFound('Base model', d.baseModelId);
      }
      if (!base.capabilities.includes('FINE_TUNE')) {
        throw new OciApiError(
          400,
          'InvalidParameter',
          `Base model ${base.name} does not support fine-tuning (no FINE_TUNE capability)`,
        );
      }
      const configType = ft.trainingConfig?.trainingConfigType;
      if (configType !== undefined) {
        const allowed = base.trainingConfigTypes;
        if (allowed && !(allowed as string[]).includes(configType)) {
          throw new OciApiError(
            400,
            'InvalidParameter',
            `Base model ${base.name} cannot be fine-tuned with ${configType}; it supports ${allowed.join(', ')}`,
          );
        }
      }
      const cluster = this.load(this.clusters, ft.dedicatedAiClusterId);
      if (!cluster || cluster.lifecycleState === ClusterState.Deleted) {
        throw notFound('Dedicated AI cluster', ft.dedicatedAiClusterId);
      }
      if (cluster.type !== 'FINE_TUNING') {
        throw new OciApiError(
          400,
          'InvalidParameter',
          `Dedicated AI cluster ${cluster.id} is a ${cluster.type} cluster; fine-tuning needs a FINE_TUNING cluster`,
        );
      }
      if (cluster.lifecycleState !== ClusterState.Active) {
        throw incorrectState(
          `Dedicated AI cluster ${cluster.id} is ${cluster.lifecycleState}; fine-tuning needs an ACTIVE cluster`,
        );
      }
      if (
        this.opts.enforceUnitShapes &&
        base.fineTuningUnitShape &&
        cluster.unitShape !== base.fineTuningUnitShape
      ) {
        throw new OciApiError(
          400,
          'InvalidParameter',
          `Base model ${base.name} is fine-tuned on ${base.fineTuningUnitShape} clusters; cluster ${cluster.id} is ${cluster.unitShape}`,
        );
      }
      const ds = ft.trainingDataset;
      if (!(await this.ctx.objectExists(ds.namespaceName, ds.bucketName, ds.objectName))) {
        throw new OciApiError(
          404,
          'NotAuthorizedOrNotFound',
          `Training dataset object ${ds.objectName} not found in bucket ${ds.bucketName} (namespace ${ds.namespaceName})`,
        );
      }
      const now = this.ctx.now();
      const id = this.ctx.newOcid('generativeaimodel');
      const durationMs = this.delay(this.opts.modelTrainingMs);
      const wr = this.workRequests.create(
        'CREATE_MODEL',
        'model',
        id,
        d.compartmentId,
        'CREATED',
        durationMs,
      );
      const m: ModelRecord = {
        id,
        displayName: d.displayName ?? defaultName('generativeaimodel', now),
        description: d.description,
        compartmentId: d.compartmentId,
        capabilities: base.capabilities.filter((c) => c !== 'FINE_TUNE'),
        vendor: d.vendor ?? base.vendor,
        version: d.version ?? '1.0',
        timeCreated: now.toISOString(),
        timeUpdated: now.toISOString(),
        lifecycleState: ModelState.Creating,
        baseModelId: d.baseModelId,
        type: 'CUSTOM',
        fineTuneDetails: stripUndefined({
          trainingDataset: ds,
          dedicatedAiClusterId: ft.dedicatedAiClusterId,
          trainingConfig: ft.trainingConfig,
        }),
        freeformTags: d.freeformTags ?? {},
        definedTags: d.definedTags ?? {},
      };
      const failure = this.failureFor(d);
      m.transition = {
        atMs: wr.finishMs,
        patch: failure
          ? { lifecycleState: ModelState.Failed, lifecycleDetails: failure }
          : { lifecycleState: ModelState.Active, modelMetrics: this.metricsFor(m) },
      };
      settle(m, this.nowMs());
      this.models.put(m);
      const view = this.modelView(m);
      return {
        status: 200,
        headers: { etag: etagOf(view), 'opc-work-request-id': wr.id },
        body: view,
      };
    });
  }

  private getModel(req: EmulatorRequest): EmulatorResponse {
    const id = req.params.modelId ?? '';
    const base = this.baseModels.get(id);
    const view = base ? this.baseModelView(id, base) : this.modelView(this.requireModel(id));
    return { status: 200, headers: { etag: etagOf(view) }, body: view };
  }

  private requireModel(id: string): ModelRecord {
    const m = this.load(this.models, id);
    if (!m) throw notFound('Model', id);
    return m;
  }

  private listModels(req: EmulatorRequest): EmulatorResponse {
    const compartmentId = requireCompartment(req);
    const capabilities = req.query.getAll('capability').flatMap((c) => c.split(','));
    const vendor = req.query.get('vendor');
    const state = req.query.get('lifecycleState');
    const name = req.query.get('displayName');
    const id = req.query.get('id');
    // Base models are listed in every compartment (they belong to the service, not the tenancy).
    const all = [
      ...[...this.baseModels].map(([mid, spec]) => this.baseModelView(mid, spec)),
      ...this.loadAll(this.models)
        .filter((m) => m.compartmentId === compartmentId)
        .map((m) => this.modelView(m)),
    ];
    const items = all.filter(
      (m) =>
        (capabilities.length === 0 ||
          capabilities.every((c) => (m.capabilities as string[]).includes(c))) &&
        (!vendor || m.vendor === vendor) &&
        (!state || m.lifecycleState === state) &&
        (!name || m.displayName === name) &&
        (!id || m.id === id),
    );
    return this.listResponse(req, items, ['displayName', 'lifecycleState', 'timeCreated']);
  }

  private async updateModel(req: EmulatorRequest): Promise<EmulatorResponse> {
    const id = req.params.modelId ?? '';
    if (this.baseModels.has(id))
      throw new OciApiError(400, 'InvalidParameter', 'A base model cannot be updated');
    const m = this.requireModel(id);
    checkIfMatch(req.headers['if-match'], etagOf(this.modelView(m)));
    const d = validate(await req.json(), updateModelSchema);
    if (m.lifecycleState === ModelState.Deleting || m.lifecycleState === ModelState.Deleted) {
      throw incorrectState(`Model ${m.id} is ${m.lifecycleState}`);
    }
    Object.assign(m, stripUndefined(d));
    m.timeUpdated = this.ctx.now().toISOString();
    this.models.put(m);
    const view = this.modelView(m);
    return { status: 200, headers: { etag: etagOf(view) }, body: view };
  }

  private deleteModel(req: EmulatorRequest): EmulatorResponse {
    const id = req.params.modelId ?? '';
    if (this.baseModels.has(id))
      throw new OciApiError(400, 'InvalidParameter', 'A base model cannot be deleted');
    const m = this.requireModel(id);
    checkIfMatch(req.headers['if-match'], etagOf(this.modelView(m)));
    if (m.lifecycleState === ModelState.Deleting || m.lifecycleState === ModelState.Deleted) {
      throw incorrectState(`Model ${m.id} is already ${m.lifecycleState}`);
    }
    const used = this.loadAll(this.endpoints).filter(
      (e) => e.modelId === id && liveStates.has(e.lifecycleState),
    ).length;
    if (used > 0) {
      throw new OciApiError(
        409,
        'Conflict',
        `Model ${id} is served by ${used} endpoint(s); delete them first`,
      );
    }
    const wr = this.workRequests.create(
      'DELETE_MODEL',
      'model',
      id,
      m.compartmentId,
      'DELETED',
      this.delay(this.opts.modelDeleteMs),
    );
    m.lifecycleState = ModelState.Deleting;
    m.timeUpdated = this.ctx.now().toISOString();
    m.transition = { atMs: wr.finishMs, patch: { lifecycleState: ModelState.Deleted } };
    settle(m, this.nowMs());
    this.models.put(m);
    return { status: 202, headers: { 'opc-work-request-id': wr.id } };
  }

  // ---- endpoints ----

  private requireEndpoint(id: string): EndpointRecord {
    const e = this.load(this.endpoints, id);
    if (!e) throw notFound('Endpoint', id);
    return e;
  }

  private async createEndpoint(req: EmulatorRequest): Promise<EmulatorResponse> {
    const raw = await req.json();
    return this.retry.run(req, 'CreateEndpoint', raw, async () => {
      const d = validate(raw, createEndpointSchema);
      let baseModelId: string;
      const base = this.baseModels.get(d.modelId);
      if (base) {
        baseModelId = d.modelId;
      } else {
        const m = this.load(this.models, d.modelId);
        if (!m || m.lifecycleState === ModelState.Deleted) throw notFound('Model', d.modelId);
        if (m.lifecycleState !== ModelState.Active) {
          throw incorrectState(
            `Model ${m.id} is ${m.lifecycleState}; an endpoint needs an ACTIVE model`,
          );
        }
        baseModelId = m.baseModelId;
      }
      const cluster = this.load(this.clusters, d.dedicatedAiClusterId);
      if (!cluster || cluster.lifecycleState === ClusterState.Deleted) {
        throw notFound('Dedicated AI cluster', d.dedicatedAiClusterId);
      }
      if (cluster.type !== 'HOSTING') {
        throw new OciApiError(
          400,
          'InvalidParameter',
          `Dedicated AI cluster ${cluster.id} is a ${cluster.type} cluster; endpoints need a HOSTING cluster`,
        );
      }
      if (cluster.lifecycleState !== ClusterState.Active) {
        throw incorrectState(
          `Dedicated AI cluster ${cluster.id} is ${cluster.lifecycleState}; endpoints need an ACTIVE cluster`,
        );
      }
      const baseSpec = this.baseModels.get(baseModelId);
      if (
        this.opts.enforceUnitShapes &&
        baseSpec?.hostingUnitShape &&
        baseSpec.hostingUnitShape !== cluster.unitShape
      ) {
        throw new OciApiError(
          400,
          'InvalidParameter',
          `Models based on ${baseSpec.name} are hosted on ${baseSpec.hostingUnitShape} clusters; cluster ${cluster.id} is ${cluster.unitShape}`,
        );
      }
      const live = this.liveEndpointsOn(cluster.id);
      // limitations.htm: the endpoints of one hosting cluster "must either point to the same base model or the same version of a custom model".
      const other = live.find((e) => e.baseModelId !== baseModelId);
      if (other) {
        throw new OciApiError(
          400,
          'InvalidParameter',
          `Dedicated AI cluster ${cluster.id} hosts models based on ${other.baseModelId}; it cannot also host ${baseModelId}`,
        );
      }
      if (live.length >= this.opts.endpointsPerHostingCluster) {
        // OCI's exact code for a full cluster is not documented; LimitExceeded is its generic 400 for limits.
        throw new OciApiError(
          400,
          'LimitExceeded',
          `Dedicated AI cluster ${cluster.id} already hosts ${live.length} of ${this.opts.endpointsPerHostingCluster} endpoints`,
        );
      }
      const now = this.ctx.now();
      const id = this.ctx.newOcid('generativeaiendpoint');
      const wr = this.workRequests.create(
        'CREATE_ENDPOINT',
        'endpoint',
        id,
        d.compartmentId,
        'CREATED',
        this.delay(this.opts.endpointCreateMs),
      );
      const e: EndpointRecord = stripUndefined({
        id,
        displayName: d.displayName ?? defaultName('generativeaiendpoint', now),
        description: d.description,
        modelId: d.modelId,
        baseModelId,
        compartmentId: d.compartmentId,
        dedicatedAiClusterId: cluster.id,
        generativeAiPrivateEndpointId: d.generativeAiPrivateEndpointId,
        timeCreated: now.toISOString(),
        timeUpdated: now.toISOString(),
        lifecycleState: EndpointState.Creating,
        contentModerationConfig: d.contentModerationConfig,
        promptInjectionConfig: d.promptInjectionConfig,
        piiDetectionConfig: d.piiDetectionConfig,
        freeformTags: d.freeformTags ?? {},
        definedTags: d.definedTags ?? {},
        transition: { atMs: wr.finishMs, patch: { lifecycleState: EndpointState.Active } },
      });
      settle(e, this.nowMs());
      this.endpoints.put(e);
      const view = this.endpointView(e);
      return {
        status: 200,
        headers: { etag: etagOf(view), 'opc-work-request-id': wr.id },
        body: view,
      };
    });
  }

  private getEndpoint(req: EmulatorRequest): EmulatorResponse {
    const view = this.endpointView(this.requireEndpoint(req.params.endpointId ?? ''));
    return { status: 200, headers: { etag: etagOf(view) }, body: view };
  }

  private listEndpoints(req: EmulatorRequest): EmulatorResponse {
    const pe = req.query.get('generativeAiPrivateEndpointId');
    const items = this.filterCommon(req, this.loadAll(this.endpoints))
      .filter((e) => !pe || e.generativeAiPrivateEndpointId === pe)
      .map((e) => this.endpointView(e));
    return this.listResponse(req, items, ['timeCreated', 'displayName', 'lifecycleState']);
  }

  private async updateEndpoint(req: EmulatorRequest): Promise<EmulatorResponse> {
    const e = this.requireEndpoint(req.params.endpointId ?? '');
    checkIfMatch(req.headers['if-match'], etagOf(this.endpointView(e)));
    const raw = (await req.json()) as Record<string, unknown> | null;
    for (const field of ['modelId', 'dedicatedAiClusterId', 'compartmentId']) {
      if (raw && typeof raw === 'object' && field in raw) {
        throw new OciApiError(400, 'InvalidParameter', `${field} of an endpoint cannot be updated`);
      }
    }
    const d = validate(raw, updateEndpointSchema);
    if (e.lifecycleState !== EndpointState.Active) {
      throw incorrectState(
        `Endpoint ${e.id} is ${e.lifecycleState}; only an ACTIVE endpoint can be updated`,
      );
    }
    const wr = this.workRequests.create(
      'UPDATE_ENDPOINT',
      'endpoint',
      e.id,
      e.compartmentId,
      'UPDATED',
      this.delay(this.opts.endpointUpdateMs),
    );
    Object.assign(e, stripUndefined(d));
    e.timeUpdated = this.ctx.now().toISOString();
    e.lifecycleState = EndpointState.Updating;
    e.transition = { atMs: wr.finishMs, patch: { lifecycleState: EndpointState.Active } };
    settle(e, this.nowMs());
    this.endpoints.put(e);
    const view = this.endpointView(e);
    return {
      status: 200,
      headers: { etag: etagOf(view), 'opc-work-request-id': wr.id },
      body: view,
    };
  }

  private deleteEndpoint(req: EmulatorRequest): EmulatorResponse {
    const e = this.requireEndpoint(req.params.endpointId ?? '');
    checkIfMatch(req.headers['if-match'], etagOf(this.endpointView(e)));
    if (e.lifecycleState === EndpointState.Deleting || e.lifecycleState === EndpointState.Deleted) {
      throw incorrectState(`Endpoint ${e.id} is already ${e.lifecycleState}`);
    }
    const wr = this.workRequests.create(
      'DELETE_ENDPOINT',
      'endpoint',
      e.id,
      e.compartmentId,
      'DELETED',
      this.delay(this.opts.endpointDeleteMs),
    );
    e.lifecycleState = EndpointState.Deleting;
    e.timeUpdated = this.ctx.now().toISOString();
    e.transition = { atMs: wr.finishMs, patch: { lifecycleState: EndpointState.Deleted } };
    settle(e, this.nowMs());
    this.endpoints.put(e);
    return { status: 202, headers: { 'opc-work-request-id': wr.id } };
  }
}
