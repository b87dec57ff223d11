/**
 * The OCI Data Science API (`/20190101`) of the local OCI emulator, the subset AI Quick Actions
 * fine-tuning and serving use: projects, container jobs and job runs, the model catalog (with
 * model version sets, provenance and artifacts), model deployments with work requests, and the
 * deployments' predict endpoint answering like a vLLM container. Lifecycles are stored as
 * timestamped steps and applied when anything is read, so a restarted emulator finishes what a
 * previous one started; a timer also applies each announced step at its time, so job-run and
 * deployment OCI Events go out when the transition happens. See docs/emulator-datascience.md.
 */
import { z } from 'zod';
import {
  OciApiError,
  type Collection,
  type EmulatorContext,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorService,
  type Route,
} from './service.ts';
import {
  validate,
  header,
  notFound,
  incorrectState,
  requireCompartment,
  defaultName,
  stripUndefined,
} from './request-helpers.ts';
import { checkIfMatch, etagOf, paginate, publicView, sortItems } from './genai-core.ts';
import {
  DataScienceEventType,
  DeploymentState,
  JobRunState,
  JobState,
  applySteps,
  dataScienceEvent,
  dataScienceWorkRequests,
  failureFor,
  launchArg,
  onceEventTypes,
  outputModelIdOf,
  terminalJobRunStates,
  type DeploymentRecord,
  type EventSubject,
  type JobRecord,
  type JobRunRecord,
  type ModelRecord,
  type ProjectRecord,
  type Stepped,
  type VersionSetRecord,
  type WorkRequestEntity,
} from './datascience-core.ts';
import { RetryTokens } from './retry-tokens.ts';
import { WorkRequests } from './work-requests.ts';
import {
  createProjectSchema,
  createJobSchema,
  createJobRunSchema,
  createModelSchema,
  updateModelSchema,
  provenanceSchema,
  createVersionSetSchema,
  createDeploymentSchema,
  updateDeploymentSchema,
} from './datascience-schemas.ts';
import {
  UsageMeter,
  predict,
  readPredictHeaders,
  type PredictEvent,
  type PredictUsage,
} from './datascience-predict.ts';

export type { PredictEvent, PredictUsage } from './datascience-predict.ts';
export { DataScienceEventType, DeploymentState, JobRunState } from './datascience-core.ts';

const API = '/20190101';
/** Where a deployment's predict API lives on the emulator: `<emulator url>/md/<id>`. */
export const predictPathPrefix = '/md';
const DAY_MS = 24 * 60 * 60 * 1000;

const seedProjectSchema = z
  .object({
    id: z.string().startsWith('ocid1.datascienceproject.'),
    displayName: z.string().min(1).optional(),
    /** The emulator's compartment when omitted. */
    compartmentId: z.string().min(1).optional(),
  })
  .strict();

const seedModelSchema = z
  .object({
    displayName: z.string().min(1),
    /** A project the emulator has (seeded or created). */
    projectId: z.string().min(1),
    /** The emulator's compartment when omitted. */
    compartmentId: z.string().min(1).optional(),
  })
  .strict();

/** A project `dataScienceService({ seedProjects })` creates at start. */
export type SeedProject = z.input<typeof seedProjectSchema>;
/** A catalog model `dataScienceService({ seedModels })` creates at start. */
export type SeedModel = z.input<typeof seedModelSchema>;

const optionsSchema = z
  .object({
    /** ACCEPTED -> IN_PROGRESS of a job run (before `scaleDelayMs`). */
    jobRunStartMs: z.number().int().min(0).default(30_000),
    /** IN_PROGRESS -> SUCCEEDED or FAILED. */
    jobRunDurationMs: z.number().int().min(0).default(300_000),
    /** CANCELING -> CANCELED. */
    jobRunCancelMs: z.number().int().min(0).default(10_000),
    /** DELETING -> DELETED of a job. */
    jobDeleteMs: z.number().int().min(0).default(5_000),
    /** CREATING -> ACTIVE of a model deployment. */
    deploymentCreateMs: z.number().int().min(0).default(120_000),
    /** UPDATING -> ACTIVE after a configuration change (instance count, shape, model). */
    deploymentUpdateMs: z.number().int().min(0).default(60_000),
    deploymentActivateMs: z.number().int().min(0).default(60_000),
    deploymentDeactivateMs: z.number().int().min(0).default(30_000),
    deploymentDeleteMs: z.number().int().min(0).default(30_000),
    /** A job run whose `--training_data` path contains this fails; null disables the rule. */
    failMarker: z.string().min(1).nullable().default('FAIL_TRAINING'),
    /**
     * A job run whose `--training_data` object (`oci://<bucket>@<namespace>/<object>`) does not
     * exist when the run is created fails once it has started, as AQUA's container does when it
     * cannot read the dataset. Off by default (emulator tests use paths of objects never written);
     * the local stack turns it on.
     */
    failMissingTrainingData: z.boolean().default(false),
    /** Job runs with these display names fail. */
    failJobRunDisplayNames: z.array(z.string()).default([]),
    /** Every run of these jobs fails. */
    failJobIds: z.array(z.string()).default([]),
    /** Deployments with these display names end FAILED instead of ACTIVE. */
    failDeploymentDisplayNames: z.array(z.string()).default([]),
    /** A deployment needs a model with an artifact (uploaded, or written by a fine-tuning run). */
    requireModelArtifact: z.boolean().default(true),
    /** The model name the vLLM container serves (`--served-model-name`; AQUA uses `odsc-llm`). */
    servedModelName: z.string().min(1).default('odsc-llm'),
    /** Retry tokens expire after this long (24 hours, as documented for other OCI services). */
    retryTokenTtlMs: z.number().int().min(1).default(DAY_MS),
    /** Predict events kept in memory for `predictEvents()`. */
    maxPredictEvents: z.number().int().min(1).default(10_000),
    /**
     * The emulator's URL, for `modelDeploymentUrl`. Without it the URL is built from the `Host`
     * header of the request that reads the deployment (the emulator's own address).
     */
    baseUrl: z.custom<() => string>((v) => typeof v === 'function').optional(),
    /**
     * Projects created ACTIVE at start, with the OCIDs given (a workflow names its project by
     * OCID), unless one with that OCID exists.
     */
    seedProjects: z.array(seedProjectSchema).default([]),
    /**
     * Catalog models created ACTIVE, with an artifact, at start unless an ACTIVE model of that
     * display name exists in the compartment (a workflow may name its base model by display name).
     */
    seedModels: z.array(seedModelSchema).default([]),
  })
  .strict();

export type DataScienceEmulatorOptions = z.input<typeof optionsSchema>;
type Options = z.output<typeof optionsSchema>;

/** Test hooks: drive states OCI reaches on its own (stuck infrastructure, outages). */
export interface DataScienceControl {
  /** Forces a job run's state now; IN_PROGRESS and NEEDS_ATTENTION stay until forced or canceled. */
  forceJobRunState(
    id: string,
    state: 'IN_PROGRESS' | 'NEEDS_ATTENTION' | 'FAILED' | 'SUCCEEDED',
    details?: string,
  ): void;
  /** Forces a model deployment's state now, ending its unfinished work requests. */
  forceDeploymentState(
    id: string,
    state: 'ACTIVE' | 'FAILED' | 'NEEDS_ATTENTION' | 'INACTIVE',
    details?: string,
  ): void;
  /** Whether a catalog model has an artifact (AQUA's fine-tuning container writes one). */
  modelHasArtifact(modelId: string): boolean;
  /** Cumulative predict usage of one deployment (zeros if it was never called). */
  predictUsage(deploymentId: string): PredictUsage;
  /** Cumulative predict usage of every deployment that was called. */
  allPredictUsage(): PredictUsage[];
  /** Predict calls since `sinceMs` (newest `maxPredictEvents`, this process only). */
  predictEvents(sinceMs?: number): PredictEvent[];
  /**
   * Read-only: every deployment's id, name, compartment, state and configured instance count
   * (the new count while a live update is UPDATING; the demand generator reads it).
   */
  deploymentUnits(): DeploymentUnit[];
}

/** One model deployment as `control.deploymentUnits()` lists it. */
export interface DeploymentUnit {
  id: string;
  displayName: string;
  compartmentId: string;
  lifecycleState: string;
  instanceCount: number;
}

export interface DataScienceEmulatorService extends EmulatorService {
  /** Available once the emulator has started the service. */
  readonly control: DataScienceControl;
}

// ---- small helpers ----

/** The user OCID in the request's signature keyId (`<tenancy>/<user>/<fingerprint>`). */
function callerOf(req: EmulatorRequest): string {
  const auth = header(req, 'authorization') ?? '';
  const keyId = /keyId="([^"]+)"/.exec(auth)?.[1];
  return keyId?.split('/')[1] ?? 'ocid1.user.oc1..emulator';
}

function instanceCountOf(config: Record<string, unknown>): number {
  const mc = config.modelConfigurationDetails as
    { scalingPolicy?: Record<string, unknown> } | undefined;
  const policy = mc?.scalingPolicy;
  if (policy?.policyType === 'FIXED_SIZE') return Number(policy.instanceCount);
  if (policy?.policyType === 'AUTOSCALING') {
    const first = (policy.autoScalingPolicies as Record<string, unknown>[])[0];
    return Number(first?.initialInstanceCount ?? first?.minimumInstanceCount ?? 1);
  }
  return 1;
}

function modelIdOf(config: Record<string, unknown>): string | undefined {
  const mc = config.modelConfigurationDetails as { modelId?: string } | undefined;
  return mc?.modelId;
}

/** A run's infrastructure: the override's fields over the job's, or the override alone if its type differs. */
function effectiveInfrastructure(
  job: Record<string, unknown>,
  override: Record<string, unknown> | undefined,
): Record<string, unknown> {
  if (!override) return job;
  return override.jobInfrastructureType === job.jobInfrastructureType
    ? { ...job, ...override }
    : override;
}

const deploymentLiveStates: ReadonlySet<string> = new Set([
  DeploymentState.Creating,
  DeploymentState.Active,
  DeploymentState.Updating,
  DeploymentState.Inactive,
  DeploymentState.NeedsAttention,
]);

/**
 * The projects and catalog base models a set of workflows names, so a local stack runs a
 * datascience workflow as written: each `projectId` becomes a project with that OCID, and each
 * `baseModel` given by display name a catalog model in the workflow's compartment (the emulator's
 * when the workflow has none) and project. Base models given by OCID are left out: those runs fail
 * with `BASE_MODEL_NOT_FOUND`, as on OCI.
 */
export function seedDataScienceFor(
  workflows: readonly {
    datascience?: { projectId: string; baseModel: string; compartmentId?: string | undefined };
  }[],
): { seedProjects: SeedProject[]; seedModels: SeedModel[] } {
  const projects = new Map<string, SeedProject>();
  const models = new Map<string, SeedModel>();
  for (const w of workflows) {
    const ds = w.datascience;
    if (!ds?.projectId.startsWith('ocid1.datascienceproject.')) continue;
    const compartment = ds.compartmentId ? { compartmentId: ds.compartmentId } : {};
    if (!projects.has(ds.projectId))
      projects.set(ds.projectId, { id: ds.projectId, ...compartment });
    if (ds.baseModel.startsWith('ocid1.')) continue;
    const key = `${ds.compartmentId ?? ''}/${ds.baseModel}`;
    if (!models.has(key))
      models.set(key, { displayName: ds.baseModel, projectId: ds.projectId, ...compartment });
  }
  return { seedProjects: [...projects.values()], seedModels: [...models.values()] };
}

/** The OCI Data Science API as an emulator service. */
export function dataScienceService(
  options: DataScienceEmulatorOptions = {},
): DataScienceEmulatorService {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `invalid dataScienceService options: ${issue?.path.join('.')}: ${issue?.message}`,
    );
  }
  const opts: Options = parsed.data;
  let impl: DataScienceImpl | undefined;
  const started = (): DataScienceImpl => {
    if (!impl) throw new Error('the Data Science emulator service has not started yet');
    return impl;
  };
  return {
    name: 'datascience',
    routes(ctx: EmulatorContext): Route[] {
      impl = new DataScienceImpl(ctx, opts);
      impl.seed();
      impl.watchPendingEvents();
      return impl.routes();
    },
    control: {
      forceJobRunState: (id, state, details) => started().forceJobRunState(id, state, details),
      forceDeploymentState: (id, state, details) =>
        started().forceDeploymentState(id, state, details),
      modelHasArtifact: (id) => started().modelHasArtifact(id),
      predictUsage: (id) => started().meter.usage(id),
      allPredictUsage: () => started().meter.allUsage(),
      predictEvents: (sinceMs) => started().meter.eventsSince(sinceMs),
      deploymentUnits: () => started().deploymentUnits(),
    },
  };
}

class DataScienceImpl {
  private readonly projects: Collection<ProjectRecord>;
  private readonly jobs: Collection<JobRecord>;
  private readonly jobRuns: Collection<JobRunRecord>;
  private readonly models: Collection<ModelRecord>;
  private readonly versionSets: Collection<VersionSetRecord>;
  private readonly deployments: Collection<DeploymentRecord>;
  private readonly workRequests: WorkRequests<WorkRequestEntity, 'entityType'>;
  private readonly retry: RetryTokens;
  readonly meter: UsageMeter;
  /** `<resource id> <event type>` of the once-only events announced by this process. */
  private readonly announced = new Set<string>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly opts: Options,
  ) {
    this.projects = ctx.collection<ProjectRecord>('datascience-projects');
    this.jobs = ctx.collection<JobRecord>('datascience-jobs');
    this.jobRuns = ctx.collection<JobRunRecord>('datascience-job-runs');
    this.models = ctx.collection<ModelRecord>('datascience-models');
    this.versionSets = ctx.collection<VersionSetRecord>('datascience-model-version-sets');
    this.deployments = ctx.collection<DeploymentRecord>('datascience-model-deployments');
    this.workRequests = new WorkRequests(dataScienceWorkRequests, {
      ctx,
      collection: 'datascience-work-requests',
      loadEntity: (kind, id) =>
        kind === 'modelDeployment'
          ? this.loadStepped(this.deployments, id)
          : kind === 'job'
            ? this.loadStepped(this.jobs, id)
            : this.projects.get(id),
      respond: (req, items, sort) =>
        sort
          ? this.listResponse(req, items, sort.sortable, sort.defaultSortBy)
          : this.pageResponse(req, items),
      etagOf,
    });
    this.retry = new RetryTokens(ctx, 'datascience-retry-tokens', opts.retryTokenTtlMs);
    this.meter = new UsageMeter(ctx.collection('datascience-predict-usage'), opts.maxPredictEvents);
  }

  private nowMs(): number {
    return this.ctx.now().getTime();
  }

  private iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  private delay(ms: number): number {
    return ms === 0 ? 0 : Math.max(0, Math.round(this.ctx.scaleDelayMs(ms)));
  }

  // ---- lifecycle settlement and events ----

  /** Publishes one Data Science event about `r` (once-only types at most once per process). */
  private announce(type: DataScienceEventType, r: EventSubject): void {
    if (onceEventTypes.has(type)) {
      const key = `${r.id} ${type}`;
      if (this.announced.has(key)) return;
      this.announced.add(key);
    }
    this.ctx.emitEvent(dataScienceEvent(type, r, 'dacflow-local'));
    this.ctx.log.debug('emulator.datascience.event', { eventType: type, resourceId: r.id });
  }

  /** Applies due steps, announcing the events they carry; true when the record changed. */
  private settle<R extends Stepped<R> & EventSubject>(r: R): boolean {
    return applySteps(r, this.nowMs(), (step) => {
      for (const type of step.events ?? []) this.announce(type, r);
    });
  }

  /**
   * Applies the record's announced steps when they come due, so their events go out then and not
   * at the next read. Reads may apply a step first: the step is consumed, so it is announced once.
   */
  private watchSteps(kind: 'run' | 'deployment', r: Stepped<unknown>): void {
    for (const step of r.steps ?? []) {
      if (step.events?.length) this.watch(kind, r.id, step.atMs);
    }
  }

  private watch(kind: 'run' | 'deployment', id: string, atMs: number): void {
    this.ctx.after(Math.max(0, atMs - this.nowMs()), () => {
      try {
        const r = kind === 'run' ? this.loadRun(id) : this.loadStepped(this.deployments, id);
        // A timer may fire a millisecond before the clock reaches the step: wait for the rest.
        if (r?.steps?.some((s) => s.atMs <= atMs && s.events?.length)) this.watch(kind, id, atMs);
      } catch (err) {
        this.ctx.log.warn('emulator.datascience.eventTimerFailed', { resourceId: id, error: err });
      }
    });
  }

  /** After a (re)start: watch the announced steps stored by a previous process. */
  watchPendingEvents(): void {
    for (const r of this.jobRuns.list()) this.watchSteps('run', r);
    for (const d of this.deployments.list()) this.watchSteps('deployment', d);
  }

  private loadRun(id: string): JobRunRecord | undefined {
    const r = this.jobRuns.get(id);
    if (r) this.settleRun(r);
    return r;
  }

  /** Applies due steps and, once a fine-tuning run has SUCCEEDED, gives its output model an artifact. */
  private settleRun(r: JobRunRecord): void {
    let changed = this.settle(r);
    if (r.lifecycleState === JobRunState.Succeeded && r.outputModelId && !r.outputRegistered) {
      r.outputRegistered = true;
      changed = true;
      const m = this.models.get(r.outputModelId);
      if (m && m.lifecycleState === 'ACTIVE' && !m.artifact) {
        m.artifact = {
          timeCreated: r.timeFinished ?? this.ctx.now().toISOString(),
          contentLength: 0,
          source: 'jobRun',
          jobRunId: r.id,
        };
        this.models.put(m);
      } else if (!m) {
        this.ctx.log.warn('emulator.datascience.outputModelMissing', {
          jobRunId: r.id,
          modelId: r.outputModelId,
        });
      }
    }
    if (changed) this.jobRuns.put(r);
  }

  private allRuns(): JobRunRecord[] {
    return this.jobRuns.list().map((r) => {
      this.settleRun(r);
      return r;
    });
  }

  private loadStepped<R extends Stepped<R> & EventSubject>(
    col: Collection<R>,
    id: string,
  ): R | undefined {
    const r = col.get(id);
    if (r && this.settle(r)) col.put(r);
    return r;
  }

  private allStepped<R extends Stepped<R> & EventSubject>(col: Collection<R>): R[] {
    return col.list().map((r) => {
      if (this.settle(r)) col.put(r);
      return r;
    });
  }

  /** Settles every job run so artifact side effects are visible to model reads. */
  private settleAllRuns(): void {
    this.allRuns();
  }

  // ---- control ----

  forceJobRunState(
    id: string,
    state: 'IN_PROGRESS' | 'NEEDS_ATTENTION' | 'FAILED' | 'SUCCEEDED',
    details?: string,
  ): void {
    const r = this.loadRun(id);
    if (!r) throw new Error(`no job run ${id}`);
    const now = this.ctx.now().toISOString();
    r.lifecycleState = state;
    r.lifecycleDetails = details;
    delete r.steps;
    if (state !== JobRunState.NeedsAttention) r.timeStarted ??= now;
    if (state === JobRunState.Failed || state === JobRunState.Succeeded) r.timeFinished = now;
    this.jobRuns.put(r);
    this.settleRun(r);
    if (terminalJobRunStates.has(state)) this.announce(DataScienceEventType.CreateJobRunEnd, r);
  }

  forceDeploymentState(
    id: string,
    state: 'ACTIVE' | 'FAILED' | 'NEEDS_ATTENTION' | 'INACTIVE',
    details?: string,
  ): void {
    const d = this.loadStepped(this.deployments, id);
    if (!d) throw new Error(`no model deployment ${id}`);
    // The force ends the open work requests, so the operations they track end now.
    const ended = (d.steps ?? []).flatMap((step) => step.events ?? []);
    d.lifecycleState = state;
    d.lifecycleDetails = details;
    delete d.steps;
    delete d.servesWhileUpdating;
    d.currentInstanceCount =
      state === 'ACTIVE' ? instanceCountOf(d.modelDeploymentConfigurationDetails) : 0;
    this.deployments.put(d);
    this.workRequests.finishAllOf(id);
    for (const type of ended) this.announce(type, d);
  }

  deploymentUnits(): DeploymentUnit[] {
    return this.allStepped(this.deployments).map((d) => ({
      id: d.id,
      displayName: d.displayName,
      compartmentId: d.compartmentId,
      lifecycleState: d.lifecycleState,
      instanceCount: instanceCountOf(d.modelDeploymentConfigurationDetails),
    }));
  }

  // ---- seeding ----

  /** Creates the seeded projects and catalog models that do not exist yet. */
  seed(): void {
    const now = this.ctx.now().toISOString();
    const base = {
      createdBy: 'ocid1.user.oc1..emulator-seed',
      timeCreated: now,
      lifecycleState: 'ACTIVE' as const,
      freeformTags: {},
      definedTags: {},
    };
    for (const s of this.opts.seedProjects) {
      if (this.projects.get(s.id)) continue;
      this.projects.put({
        ...base,
        id: s.id,
        displayName: s.displayName ?? 'dacflow-seeded-project',
        compartmentId: s.compartmentId ?? this.ctx.compartmentId,
      });
    }
    const models = this.models.list();
    for (const s of this.opts.seedModels) {
      const compartmentId = s.compartmentId ?? this.ctx.compartmentId;
      const found = models.some(
        (m) =>
          m.displayName === s.displayName &&
          m.compartmentId === compartmentId &&
          m.lifecycleState === 'ACTIVE',
      );
      if (found) continue;
      if (!this.projects.get(s.projectId))
        throw new Error(`seed model ${s.displayName}: no project ${s.projectId}`);
      this.models.put({
        ...base,
        id: this.ctx.newOcid('datasciencemodel'),
        compartmentId,
        projectId: s.projectId,
        displayName: s.displayName,
        customMetadataList: [],
        definedMetadataList: [],
        category: 'USER',
        isModelByReference: false,
        artifact: { timeCreated: now, contentLength: 0, source: 'seed' },
      });
    }
  }

  modelHasArtifact(modelId: string): boolean {
    this.settleAllRuns();
    return this.models.get(modelId)?.artifact !== undefined;
  }

  // ---- views ----

  private jobView(j: JobRecord): Record<string, unknown> {
    return publicView(j, ['steps']);
  }

  private runView(r: JobRunRecord): Record<string, unknown> {
    return publicView(r, ['steps', 'outputModelId', 'outputRegistered']);
  }

  private modelView(m: ModelRecord): Record<string, unknown> {
    return publicView(m, ['artifact', 'provenance']);
  }

  private versionSetView(v: VersionSetRecord): Record<string, unknown> {
    return publicView(v, ['lastVersionId']);
  }

  private deploymentUrl(req: EmulatorRequest, id: string): string {
    const base = this.opts.baseUrl?.() ?? `http://${header(req, 'host') ?? '127.0.0.1'}`;
    return `${base.replace(/\/+$/, '')}${predictPathPrefix}/${id}`;
  }

  /** The deployment as clients see it, and its etag (which ignores the URL's host). */
  private deploymentView(
    req: EmulatorRequest,
    d: DeploymentRecord,
  ): { view: Record<string, unknown>; etag: string } {
    const core = publicView(d, ['steps', 'currentInstanceCount', 'servesWhileUpdating']);
    core.modelDeploymentSystemData = {
      systemInfraType: 'INSTANCE_POOL',
      currentInstanceCount: d.currentInstanceCount,
    };
    const etag = etagOf(core);
    return { view: { ...core, modelDeploymentUrl: this.deploymentUrl(req, d.id) }, etag };
  }

  private ok(view: Record<string, unknown>, extra: Record<string, string> = {}): EmulatorResponse {
    return { status: 200, headers: { etag: etagOf(view), ...extra }, body: view };
  }

  // ---- routes ----

  routes(): Route[] {
    const r = (
      method: Route['method'],
      path: string,
      operation: string,
      handler: (q: EmulatorRequest) => EmulatorResponse | Promise<EmulatorResponse>,
      extra: Partial<Route> = {},
    ): Route => ({
      method,
      path: API + path,
      operation,
      handler: async (q) => handler(q),
      ...extra,
    });
    return [
      r('POST', '/projects', 'CreateProject', (q) => this.createProject(q)),
      r('GET', '/projects', 'ListProjects', (q) => this.listProjects(q)),
      r('GET', '/projects/{projectId}', 'GetProject', (q) => this.getProject(q)),
      r('POST', '/jobs', 'CreateJob', (q) => this.createJob(q)),
      r('GET', '/jobs', 'ListJobs', (q) => this.listJobs(q)),
      r('GET', '/jobs/{jobId}', 'GetJob', (q) => this.getJob(q)),
      r('DELETE', '/jobs/{jobId}', 'DeleteJob', (q) => this.deleteJob(q)),
      r('POST', '/jobRuns', 'CreateJobRun', (q) => this.createJobRun(q)),
      r('GET', '/jobRuns', 'ListJobRuns', (q) => this.listJobRuns(q)),
      r('GET', '/jobRuns/{jobRunId}', 'GetJobRun', (q) => this.getJobRun(q)),
      r('POST', '/jobRuns/{jobRunId}/actions/cancelJobRun', 'CancelJobRun', (q) =>
        this.cancelJobRun(q),
      ),
      r('DELETE', '/jobRuns/{jobRunId}', 'DeleteJobRun', (q) => this.deleteJobRun(q)),
      r('POST', '/models', 'CreateModel', (q) => this.createModel(q)),
      r('GET', '/models', 'ListModels', (q) => this.listModels(q)),
      r('GET', '/models/{modelId}', 'GetModel', (q) => this.getModel(q)),
      r('PUT', '/models/{modelId}', 'UpdateModel', (q) => this.updateModel(q)),
      r('DELETE', '/models/{modelId}', 'DeleteModel', (q) => this.deleteModel(q)),
      r('HEAD', '/models/{modelId}/artifact/content', 'HeadModelArtifact', (q) =>
        this.modelArtifact(q, true),
      ),
      r('GET', '/models/{modelId}/artifact/content', 'GetModelArtifactContent', (q) =>
        this.modelArtifact(q, false),
      ),
      r(
        'POST',
        '/models/{modelId}/artifact',
        'CreateModelArtifact',
        (q) => this.uploadArtifact(q),
        {
          streamBody: true,
        },
      ),
      r('POST', '/models/{modelId}/provenance', 'CreateModelProvenance', (q) =>
        this.createProvenance(q),
      ),
      r('GET', '/models/{modelId}/provenance', 'GetModelProvenance', (q) => this.getProvenance(q)),
      r('POST', '/modelVersionSets', 'CreateModelVersionSet', (q) => this.createVersionSet(q)),
      r('GET', '/modelVersionSets', 'ListModelVersionSets', (q) => this.listVersionSets(q)),
      r('GET', '/modelVersionSets/{modelVersionSetId}', 'GetModelVersionSet', (q) =>
        this.getVersionSet(q),
      ),
      r('POST', '/modelDeployments', 'CreateModelDeployment', (q) => this.createDeployment(q)),
      r('GET', '/modelDeployments', 'ListModelDeployments', (q) => this.listDeployments(q)),
      r('GET', '/modelDeployments/{modelDeploymentId}', 'GetModelDeployment', (q) =>
        this.getDeployment(q),
      ),
      r('PUT', '/modelDeployments/{modelDeploymentId}', 'UpdateModelDeployment', (q) =>
        this.updateDeployment(q),
      ),
      r('DELETE', '/modelDeployments/{modelDeploymentId}', 'DeleteModelDeployment', (q) =>
        this.deleteDeployment(q),
      ),
      r(
        'POST',
        '/modelDeployments/{modelDeploymentId}/actions/activate',
        'ActivateModelDeployment',
        (q) => this.activateDeployment(q, true),
      ),
      r(
        'POST',
        '/modelDeployments/{modelDeploymentId}/actions/deactivate',
        'DeactivateModelDeployment',
        (q) => this.activateDeployment(q, false),
      ),
      ...this.workRequests.routes(),
      {
        method: 'POST',
        path: `${predictPathPrefix}/{modelDeploymentId}/predict`,
        operation: 'Predict',
        handler: async (q) => this.predict(q, false),
      },
      {
        method: 'POST',
        path: `${predictPathPrefix}/{modelDeploymentId}/predictWithResponseStream`,
        operation: 'PredictWithResponseStream',
        handler: async (q) => this.predict(q, true),
      },
    ];
  }

  private listResponse(
    req: EmulatorRequest,
    items: Record<string, unknown>[],
    sortable: readonly string[],
    defaultSortBy = 'timeCreated',
    sortAlias: Record<string, string> = {},
  ): EmulatorResponse {
    const by = req.query.get('sortBy');
    const sorted = sortItems(
      items,
      by === null ? null : (sortAlias[by] ?? by),
      req.query.get('sortOrder'),
      sortable,
      sortAlias[defaultSortBy] ?? defaultSortBy,
    );
    return this.pageResponse(req, sorted);
  }

  /** A page of `items` in the order given, as a bare array (Data Science lists have no envelope). */
  private pageResponse(req: EmulatorRequest, items: Record<string, unknown>[]): EmulatorResponse {
    const page = paginate(items, { limit: req.query.get('limit'), page: req.query.get('page') });
    return {
      status: 200,
      headers: page.next ? { 'opc-next-page': page.next } : {},
      body: page.items,
    };
  }

  private filterCommon<
    T extends {
      id: string;
      compartmentId: string;
      lifecycleState: string;
      displayName?: string;
      createdBy?: string;
      projectId?: string;
    },
  >(req: EmulatorRequest, items: T[]): T[] {
    const compartmentId = requireCompartment(req);
    const state = req.query.get('lifecycleState');
    const name = req.query.get('displayName');
    const id = req.query.get('id');
    const createdBy = req.query.get('createdBy');
    const projectId = req.query.get('projectId');
    return items.filter(
      (i) =>
        i.compartmentId === compartmentId &&
        (!state || i.lifecycleState === state) &&
        (!name || i.displayName === name) &&
        (!id || i.id === id) &&
        (!createdBy || i.createdBy === createdBy) &&
        (!projectId || i.projectId === projectId),
    );
  }

  // ---- projects ----

  private requireProject(id: string): ProjectRecord {
    const p = this.projects.get(id);
    if (!p || p.lifecycleState === 'DELETED') throw notFound('Project', id);
    return p;
  }

  private async createProject(req: EmulatorRequest): Promise<EmulatorResponse> {
    const raw = await req.json();
    return this.retry.run(
      req,
      'CreateProject',
      raw,
      async () => {
        const d = validate(raw, createProjectSchema);
        const now = this.ctx.now();
        const p: ProjectRecord = stripUndefined({
          id: this.ctx.newOcid('datascienceproject'),
          displayName: d.displayName ?? defaultName('project', now),
          description: d.description,
          compartmentId: d.compartmentId,
          createdBy: callerOf(req),
          timeCreated: now.toISOString(),
          lifecycleState: 'ACTIVE' as const,
          freeformTags: d.freeformTags ?? {},
          definedTags: d.definedTags ?? {},
        });
        this.projects.put(p);
        return this.ok(publicView(p));
      },
      (id) => {
        const p = this.projects.get(id);
        return p ? this.ok(publicView(p)) : undefined;
      },
    );
  }

  private getProject(req: EmulatorRequest): EmulatorResponse {
    const p = this.projects.get(req.params.projectId ?? '');
    if (!p) throw notFound('Project', req.params.projectId ?? '');
    return this.ok(publicView(p));
  }

  private listProjects(req: EmulatorRequest): EmulatorResponse {
    const items = this.filterCommon(req, this.projects.list()).map((p) => publicView(p));
    return this.listResponse(req, items, ['timeCreated', 'displayName']);
  }

  // ---- jobs ----

  private requireJob(id: string): JobRecord {
    const j = this.loadStepped(this.jobs, id);
    if (!j || j.lifecycleState === JobState.Deleted) throw notFound('Job', id);
    return j;
  }

  private async createJob(req: EmulatorRequest): Promise<EmulatorResponse> {
    const raw = await req.json();
    return this.retry.run(
      req,
      'CreateJob',
      raw,
      async () => {
        const d = validate(raw, createJobSchema);
        this.requireProject(d.projectId);
        if (!d.jobInfrastructureConfigurationDetails) {
          throw new OciApiError(
            400,
            'InvalidParameter',
            'Invalid jobInfrastructureConfigurationDetails: required for a job (multi-node jobs are not emulated)',
          );
        }
        const now = this.ctx.now();
        const j: JobRecord = stripUndefined({
          id: this.ctx.newOcid('datasciencejob'),
          projectId: d.projectId,
          compartmentId: d.compartmentId,
          displayName: d.displayName ?? defaultName('job', now),
          description: d.description,
          createdBy: callerOf(req),
          timeCreated: now.toISOString(),
          // Jobs with a container environment need no artifact; the emulator never asks for one.
          lifecycleState: JobState.Active,
          jobConfigurationDetails: d.jobConfigurationDetails ?? { jobType: 'EMPTY' },
          jobInfrastructureConfigurationDetails: d.jobInfrastructureConfigurationDetails,
          jobEnvironmentConfigurationDetails: d.jobEnvironmentConfigurationDetails,
          jobLogConfigurationDetails: d.jobLogConfigurationDetails,
          freeformTags: d.freeformTags ?? {},
          definedTags: d.definedTags ?? {},
        });
        this.jobs.put(j);
        return this.ok(this.jobView(j));
      },
      (id) => {
        const j = this.loadStepped(this.jobs, id);
        return j ? this.ok(this.jobView(j)) : undefined;
      },
    );
  }

  private getJob(req: EmulatorRequest): EmulatorResponse {
    const id = req.params.jobId ?? '';
    const j = this.loadStepped(this.jobs, id);
    if (!j) throw notFound('Job', id);
    return this.ok(this.jobView(j));
  }

  private listJobs(req: EmulatorRequest): EmulatorResponse {
    const items = this.filterCommon(req, this.allStepped(this.jobs)).map((j) => this.jobView(j));
    return this.listResponse(req, items, ['timeCreated', 'displayName']);
  }

  private deleteJob(req: EmulatorRequest): EmulatorResponse {
    const j = this.requireJob(req.params.jobId ?? '');
    checkIfMatch(req.headers['if-match'], etagOf(this.jobView(j)));
    if (j.lifecycleState !== JobState.Active && j.lifecycleState !== JobState.Failed) {
      throw incorrectState(`Job ${j.id} is ${j.lifecycleState}`);
    }
    const runs = this.allRuns().filter(
      (r) => r.jobId === j.id && r.lifecycleState !== JobRunState.Deleted,
    );
    const live = runs.filter((r) => !terminalJobRunStates.has(r.lifecycleState));
    if (live.length > 0) {
      throw incorrectState(`Job ${j.id} has ${live.length} job run(s) that have not finished`);
    }
    if (runs.length > 0 && req.query.get('deleteRelatedJobRuns') !== 'true') {
      throw new OciApiError(
        409,
        'Conflict',
        `Job ${j.id} has ${runs.length} job run(s); pass deleteRelatedJobRuns=true to delete them too`,
      );
    }
    const wr = this.workRequests.create(
      'JOB_DELETE',
      'job',
      j.id,
      j.compartmentId,
      'DELETED',
      this.delay(this.opts.jobDeleteMs),
    );
    for (const r of runs) {
      r.lifecycleState = JobRunState.Deleted;
      this.jobRuns.put(r);
    }
    j.lifecycleState = JobState.Deleting;
    j.steps = [{ atMs: wr.finishMs, patch: { lifecycleState: JobState.Deleted } }];
    this.settle(j);
    this.jobs.put(j);
    return { status: 202, headers: { 'opc-work-request-id': wr.id } };
  }

  // ---- job runs ----

  private requireRun(id: string): JobRunRecord {
    const r = this.loadRun(id);
    if (!r) throw notFound('Job run', id);
    return r;
  }

  private async createJobRun(req: EmulatorRequest): Promise<EmulatorResponse> {
    const raw = await req.json();
    return this.retry.run(
      req,
      'CreateJobRun',
      raw,
      async () => {
        const d = validate(raw, createJobRunSchema);
        this.requireProject(d.projectId);
        const job = this.requireJob(d.jobId);
        if (job.lifecycleState !== JobState.Active) {
          throw incorrectState(`Job ${job.id} is ${job.lifecycleState}; a run needs an ACTIVE job`);
        }
        if (job.projectId !== d.projectId) {
          throw new OciApiError(
            400,
            'InvalidParameter',
            `Invalid projectId: job ${job.id} belongs to project ${job.projectId}`,
          );
        }
        const jobConfig = job.jobConfigurationDetails as {
          environmentVariables?: Record<string, string>;
          commandLineArguments?: string;
          maximumRuntimeInMinutes?: number;
        };
        const override = (d.jobConfigurationOverrideDetails ?? {}) as typeof jobConfig;
        // Override variables are merged over the job's (a key in both takes the run's value).
        const env = { ...jobConfig.environmentVariables, ...override.environmentVariables };
        const commandLineArguments =
          override.commandLineArguments ?? jobConfig.commandLineArguments;
        const maxRuntimeMin = override.maximumRuntimeInMinutes ?? jobConfig.maximumRuntimeInMinutes;
        const now = this.nowMs();
        const id = this.ctx.newOcid('datasciencejobrun');
        const displayName = d.displayName ?? defaultName('jobrun', new Date(now));
        const startMs = now + this.delay(this.opts.jobRunStartMs);
        let finishMs = startMs + this.delay(this.opts.jobRunDurationMs);
        let failure = failureFor(
          { displayName, jobId: job.id, env, commandLineArguments },
          this.opts,
        );
        if (failure === undefined && this.opts.failMissingTrainingData) {
          failure = await this.missingTrainingData(env, commandLineArguments);
        }
        if (
          maxRuntimeMin !== undefined &&
          this.opts.jobRunDurationMs > maxRuntimeMin * 60_000 &&
          failure === undefined
        ) {
          // The terminal state of a timed-out run is not documented; the emulator reports FAILED.
          finishMs = startMs + this.delay(maxRuntimeMin * 60_000);
          failure = `Job run exceeded its maximum runtime of ${maxRuntimeMin} minutes`;
        }
        const run: JobRunRecord = stripUndefined({
          id,
          projectId: d.projectId,
          compartmentId: d.compartmentId,
          jobId: job.id,
          displayName,
          createdBy: callerOf(req),
          timeAccepted: this.iso(now),
          jobConfigurationOverrideDetails: d.jobConfigurationOverrideDetails ?? {
            jobType: 'EMPTY',
          },
          jobInfrastructureConfigurationDetails: effectiveInfrastructure(
            job.jobInfrastructureConfigurationDetails,
            d.jobInfrastructureConfigurationOverrideDetails,
          ),
          jobEnvironmentConfigurationOverrideDetails: d.jobEnvironmentConfigurationOverrideDetails,
          jobInfrastructureConfigurationOverrideDetails:
            d.jobInfrastructureConfigurationOverrideDetails,
          jobLogConfigurationOverrideDetails: d.jobLogConfigurationOverrideDetails,
          lifecycleState: JobRunState.Accepted,
          freeformTags: d.freeformTags ?? {},
          definedTags: d.definedTags ?? {},
          outputModelId: outputModelIdOf(env),
          steps: [
            {
              atMs: startMs,
              patch: { lifecycleState: JobRunState.InProgress, timeStarted: this.iso(startMs) },
            },
            {
              atMs: finishMs,
              patch: failure
                ? {
                    lifecycleState: JobRunState.Failed,
                    lifecycleDetails: failure,
                    timeFinished: this.iso(finishMs),
                  }
                : { lifecycleState: JobRunState.Succeeded, timeFinished: this.iso(finishMs) },
              // When OCI sends createjobrun.end (acceptance or finish) is NOT VERIFIED: the
              // emulator sends it when the run ends (SUCCEEDED, FAILED or CANCELED).
              events: [DataScienceEventType.CreateJobRunEnd],
            },
          ],
        });
        this.announce(DataScienceEventType.CreateJobRunBegin, run);
        this.settleRun(run);
        this.jobRuns.put(run);
        this.watchSteps('run', run);
        this.ctx.log.debug('emulator.datascience.jobRun.created', { jobRunId: id, jobId: job.id });
        return this.ok(this.runView(run));
      },
      (id) => {
        const run = this.loadRun(id);
        return run ? this.ok(this.runView(run)) : undefined;
      },
    );
  }

  /** Why the run fails when its `--training_data` object is not there (AQUA reads it at start). */
  private async missingTrainingData(
    env: Record<string, string>,
    commandLineArguments: string | undefined,
  ): Promise<string | undefined> {
    const cmd = [env.OCI__LAUNCH_CMD ?? '', commandLineArguments ?? ''].join(' ');
    const m = /^oci:\/\/([^@/]+)@([^/]+)\/(.+)$/.exec(launchArg(cmd, 'training_data') ?? '');
    if (!m) return undefined;
    const [, bucket, namespace, object] = m as unknown as [string, string, string, string];
    if (await this.ctx.objectExists(namespace, bucket, object)) return undefined;
    return `Job run failed: the container exited with code 1 (training data oci://${bucket}@${namespace}/${object} was not found)`;
  }

  private getJobRun(req: EmulatorRequest): EmulatorResponse {
    return this.ok(this.runView(this.requireRun(req.params.jobRunId ?? '')));
  }

  private listJobRuns(req: EmulatorRequest): EmulatorResponse {
    const jobId = req.query.get('jobId');
    const items = this.filterCommon(req, this.allRuns())
      .filter((r) => !jobId || r.jobId === jobId)
      .map((r) => this.runView(r));
    return this.listResponse(req, items, ['timeAccepted', 'displayName'], 'timeCreated', {
      timeCreated: 'timeAccepted',
    });
  }

  private cancelJobRun(req: EmulatorRequest): EmulatorResponse {
    const r = this.requireRun(req.params.jobRunId ?? '');
    checkIfMatch(req.headers['if-match'], etagOf(this.runView(r)));
    const cancelable: string[] = [
      JobRunState.Accepted,
      JobRunState.InProgress,
      JobRunState.NeedsAttention,
    ];
    if (!cancelable.includes(r.lifecycleState)) {
      throw incorrectState(`Job run ${r.id} is ${r.lifecycleState} and cannot be canceled`);
    }
    const now = this.nowMs();
    const doneMs = now + this.delay(this.opts.jobRunCancelMs);
    r.lifecycleState = JobRunState.Canceling;
    r.steps = [
      {
        atMs: doneMs,
        patch: { lifecycleState: JobRunState.Canceled, timeFinished: this.iso(doneMs) },
        events: [DataScienceEventType.CancelJobRunEnd, DataScienceEventType.CreateJobRunEnd],
      },
    ];
    this.announce(DataScienceEventType.CancelJobRunBegin, r);
    this.settleRun(r);
    this.jobRuns.put(r);
    this.watchSteps('run', r);
    return { status: 202 };
  }

  private deleteJobRun(req: EmulatorRequest): EmulatorResponse {
    const r = this.requireRun(req.params.jobRunId ?? '');
    checkIfMatch(req.headers['if-match'], etagOf(this.runView(r)));
    if (r.lifecycleState === JobRunState.Deleted) throw notFound('Job run', r.id);
    if (!terminalJobRunStates.has(r.lifecycleState)) {
      throw incorrectState(`Job run ${r.id} is ${r.lifecycleState}; cancel it first`);
    }
    r.lifecycleState = JobRunState.Deleted;
    this.jobRuns.put(r);
    this.announce(DataScienceEventType.DeleteJobRun, r);
    return { status: 204 };
  }

  // ---- models ----

  private requireModel(id: string): ModelRecord {
    this.settleAllRuns();
    const m = this.models.get(id);
    if (!m || m.lifecycleState === 'DELETED') throw notFound('Model', id);
    return m;
  }

  private async createModel(req: EmulatorRequest): Promise<EmulatorResponse> {
    const raw = await req.json();
    return this.retry.run(
      req,
      'CreateModel',
      raw,
      async () => {
        const d = validate(raw, createModelSchema);
        this.requireProject(d.projectId);
        let set: VersionSetRecord | undefined;
        if (d.modelVersionSetId) {
          set = this.versionSets.get(d.modelVersionSetId);
          if (!set || set.lifecycleState !== 'ACTIVE')
            throw notFound('Model version set', d.modelVersionSetId);
          set.lastVersionId += 1;
          set.timeUpdated = this.ctx.now().toISOString();
          this.versionSets.put(set);
        }
        const now = this.ctx.now();
        const m: ModelRecord = stripUndefined({
          id: this.ctx.newOcid('datasciencemodel'),
          compartmentId: d.compartmentId,
          projectId: d.projectId,
          displayName: d.displayName ?? defaultName('model', now),
          description: d.description,
          lifecycleState: 'ACTIVE' as const,
          timeCreated: now.toISOString(),
          createdBy: callerOf(req),
          freeformTags: d.freeformTags ?? {},
          definedTags: d.definedTags ?? {},
          customMetadataList: d.customMetadataList ?? [],
          definedMetadataList: d.definedMetadataList ?? [],
          inputSchema: d.inputSchema,
          outputSchema: d.outputSchema,
          modelVersionSetId: set?.id,
          modelVersionSetName: set?.name,
          versionId: set?.lastVersionId,
          versionLabel: d.versionLabel,
          category: 'USER' as const,
          isModelByReference: false,
        });
        this.models.put(m);
        return this.ok(this.modelView(m));
      },
      (id) => {
        const m = this.models.get(id);
        return m ? this.ok(this.modelView(m)) : undefined;
      },
    );
  }

  private getModel(req: EmulatorRequest): EmulatorResponse {
    this.settleAllRuns();
    const id = req.params.modelId ?? '';
    const m = this.models.get(id);
    if (!m) throw notFound('Model', id);
    return this.ok(this.modelView(m));
  }

  private listModels(req: EmulatorRequest): EmulatorResponse {
    this.settleAllRuns();
    const setName = req.query.get('modelVersionSetName');
    const label = req.query.get('versionLabel');
    const category = req.query.get('category');
    const items = this.filterCommon(req, this.models.list())
      .filter(
        (m) =>
          (!setName || m.modelVersionSetName === setName) &&
          (!label || m.versionLabel === label) &&
          (!category || m.category === category),
      )
      .map((m) => this.modelView(m));
    return this.listResponse(req, items, ['timeCreated', 'displayName', 'lifecycleState']);
  }

  private async updateModel(req: EmulatorRequest): Promise<EmulatorResponse> {
    const m = this.requireModel(req.params.modelId ?? '');
    checkIfMatch(req.headers['if-match'], etagOf(this.modelView(m)));
    const d = validate(await req.json(), updateModelSchema);
    if (d.modelVersionSetId !== undefined && d.modelVersionSetId !== m.modelVersionSetId) {
      const set = this.versionSets.get(d.modelVersionSetId);
      if (!set || set.lifecycleState !== 'ACTIVE')
        throw notFound('Model version set', d.modelVersionSetId);
      set.lastVersionId += 1;
      this.versionSets.put(set);
      m.modelVersionSetName = set.name;
      m.versionId = set.lastVersionId;
    }
    Object.assign(m, stripUndefined(d));
    this.models.put(m);
    return this.ok(this.modelView(m));
  }

  private deleteModel(req: EmulatorRequest): EmulatorResponse {
    const m = this.requireModel(req.params.modelId ?? '');
    checkIfMatch(req.headers['if-match'], etagOf(this.modelView(m)));
    const used = this.allStepped(this.deployments).filter(
      (d) =>
        deploymentLiveStates.has(d.lifecycleState) &&
        modelIdOf(d.modelDeploymentConfigurationDetails) === m.id,
    ).length;
    if (used > 0) {
      throw new OciApiError(
        409,
        'Conflict',
        `Model ${m.id} is used by ${used} model deployment(s); delete them first`,
      );
    }
    m.lifecycleState = 'DELETED';
    this.models.put(m);
    return { status: 204 };
  }

  private modelArtifact(req: EmulatorRequest, head: boolean): EmulatorResponse {
    const m = this.requireModel(req.params.modelId ?? '');
    if (!m.artifact) throw notFound('Model artifact of model', m.id);
    // The emulator keeps no artifact bytes: HEAD and GET describe a small JSON manifest instead.
    const content = Buffer.from(
      JSON.stringify({
        modelId: m.id,
        source: m.artifact.source,
        jobRunId: m.artifact.jobRunId,
        uploadedBytes: m.artifact.contentLength,
      }),
    );
    const headers: Record<string, string | number> = {
      etag: etagOf(m.artifact),
      'content-disposition': `attachment; filename=${m.id}.json`,
      'last-modified': new Date(m.artifact.timeCreated).toUTCString(),
      'content-type': 'application/octet-stream',
      'content-length': content.length,
    };
    return head ? { status: 200, headers } : { status: 200, headers, body: content };
  }

  private async uploadArtifact(req: EmulatorRequest): Promise<EmulatorResponse> {
    const m = this.requireModel(req.params.modelId ?? '');
    checkIfMatch(req.headers['if-match'], etagOf(this.modelView(m)));
    let size = 0;
    for await (const chunk of req.stream) size += (chunk as Buffer).length;
    if (m.artifact) {
      throw new OciApiError(409, 'Conflict', `Model ${m.id} already has an artifact`);
    }
    m.artifact = {
      timeCreated: this.ctx.now().toISOString(),
      contentLength: size,
      source: 'upload',
    };
    this.models.put(m);
    return { status: 200, headers: { etag: etagOf(m.artifact) } };
  }

  private async createProvenance(req: EmulatorRequest): Promise<EmulatorResponse> {
    const m = this.requireModel(req.params.modelId ?? '');
    const d = validate(await req.json(), provenanceSchema);
    m.provenance = stripUndefined(d);
    this.models.put(m);
    return this.ok(m.provenance);
  }

  private getProvenance(req: EmulatorRequest): EmulatorResponse {
    const m = this.requireModel(req.params.modelId ?? '');
    if (!m.provenance) throw notFound('Provenance of model', m.id);
    return this.ok(m.provenance);
  }

  // ---- model version sets ----

  private async createVersionSet(req: EmulatorRequest): Promise<EmulatorResponse> {
    const raw = await req.json();
    return this.retry.run(
      req,
      'CreateModelVersionSet',
      raw,
      async () => {
        const d = validate(raw, createVersionSetSchema);
        this.requireProject(d.projectId);
        const clash = this.versionSets
          .list()
          .find(
            (v) =>
              v.name === d.name &&
              v.compartmentId === d.compartmentId &&
              v.lifecycleState !== 'DELETED',
          );
        if (clash) {
          throw new OciApiError(
            409,
            'Conflict',
            `A model version set named ${d.name} already exists in the compartment`,
          );
        }
        const now = this.ctx.now().toISOString();
        const v: VersionSetRecord = {
          id: this.ctx.newOcid('datasciencemodelversionset'),
          compartmentId: d.compartmentId,
          projectId: d.projectId,
          name: d.name,
          description: d.description ?? '',
          lifecycleState: 'ACTIVE',
          timeCreated: now,
          timeUpdated: now,
          createdBy: callerOf(req),
          category: 'USER',
          freeformTags: d.freeformTags ?? {},
          definedTags: d.definedTags ?? {},
          lastVersionId: 0,
        };
        this.versionSets.put(v);
        return this.ok(this.versionSetView(v));
      },
      (id) => {
        const v = this.versionSets.get(id);
        return v ? this.ok(this.versionSetView(v)) : undefined;
      },
    );
  }

  private getVersionSet(req: EmulatorRequest): EmulatorResponse {
    const id = req.params.modelVersionSetId ?? '';
    const v = this.versionSets.get(id);
    if (!v) throw notFound('Model version set', id);
    return this.ok(this.versionSetView(v));
  }

  private listVersionSets(req: EmulatorRequest): EmulatorResponse {
    const compartmentId = requireCompartment(req);
    const q = (k: string) => req.query.get(k);
    const items = this.versionSets
      .list()
      .filter(
        (v) =>
          v.compartmentId === compartmentId &&
          (!q('name') || v.name === q('name')) &&
          (!q('projectId') || v.projectId === q('projectId')) &&
          (!q('id') || v.id === q('id')) &&
          (!q('lifecycleState') || v.lifecycleState === q('lifecycleState')) &&
          (!q('category') || v.category === q('category')) &&
          (!q('createdBy') || v.createdBy === q('createdBy')),
      )
      .map((v) => this.versionSetView(v));
    return this.listResponse(req, items, ['timeCreated', 'name', 'lifecycleState']);
  }

  // ---- model deployments ----

  private requireDeployment(id: string): DeploymentRecord {
    const d = this.loadStepped(this.deployments, id);
    if (!d || d.lifecycleState === DeploymentState.Deleted) {
      throw notFound('Model deployment', id);
    }
    return d;
  }

  private requireDeployableModel(modelId: string): ModelRecord {
    this.settleAllRuns();
    const m = this.models.get(modelId);
    if (!m || m.lifecycleState === 'DELETED') throw notFound('Model', modelId);
    if (m.lifecycleState !== 'ACTIVE') {
      throw incorrectState(
        `Model ${m.id} is ${m.lifecycleState}; a deployment needs an ACTIVE model`,
      );
    }
    if (this.opts.requireModelArtifact && !m.artifact) {
      throw new OciApiError(
        400,
        'InvalidParameter',
        `Model ${m.id} has no model artifact; upload one or let the fine-tuning job run finish`,
      );
    }
    return m;
  }

  private async createDeployment(req: EmulatorRequest): Promise<EmulatorResponse> {
    const raw = await req.json();
    return this.retry.run(
      req,
      'CreateModelDeployment',
      raw,
      async () => {
        const d = validate(raw, createDeploymentSchema);
        const cfg = d.modelDeploymentConfigurationDetails;
        if (cfg.deploymentType !== 'SINGLE_MODEL') {
          throw new OciApiError(
            400,
            'InvalidParameter',
            `Invalid modelDeploymentConfigurationDetails.deploymentType: only SINGLE_MODEL is emulated, got ${cfg.deploymentType}`,
          );
        }
        if (!cfg.modelConfigurationDetails) {
          throw new OciApiError(
            400,
            'InvalidParameter',
            'Invalid modelDeploymentConfigurationDetails.modelConfigurationDetails: required',
          );
        }
        this.requireProject(d.projectId);
        this.requireDeployableModel(cfg.modelConfigurationDetails.modelId);
        const now = this.nowMs();
        const id = this.ctx.newOcid('datasciencemodeldeployment');
        const displayName = d.displayName ?? defaultName('modeldeployment', new Date(now));
        const config: Record<string, unknown> = {
          ...cfg,
          modelConfigurationDetails: {
            ...cfg.modelConfigurationDetails,
            scalingPolicy: cfg.modelConfigurationDetails.scalingPolicy ?? {
              policyType: 'FIXED_SIZE',
              instanceCount: 1,
            },
          },
        };
        const wr = this.workRequests.create(
          'MODEL_DEPLOYMENT_CREATE',
          'modelDeployment',
          id,
          d.compartmentId,
          'CREATED',
          this.delay(this.opts.deploymentCreateMs),
        );
        const fails = this.opts.failDeploymentDisplayNames.includes(displayName);
        const rec: DeploymentRecord = stripUndefined({
          id,
          displayName,
          description: d.description,
          projectId: d.projectId,
          compartmentId: d.compartmentId,
          createdBy: callerOf(req),
          timeCreated: this.iso(now),
          modelDeploymentConfigurationDetails: config,
          categoryLogDetails: d.categoryLogDetails,
          lifecycleState: DeploymentState.Creating,
          freeformTags: d.freeformTags ?? {},
          definedTags: d.definedTags ?? {},
          currentInstanceCount: 0,
          steps: [
            {
              atMs: wr.finishMs,
              patch: fails
                ? {
                    lifecycleState: DeploymentState.Failed,
                    lifecycleDetails:
                      'Model deployment failed: the container did not become healthy (emulated failure)',
                  }
                : {
                    lifecycleState: DeploymentState.Active,
                    currentInstanceCount: instanceCountOf(config),
                  },
              events: [DataScienceEventType.CreateModelDeploymentEnd],
            },
          ],
        });
        this.announce(DataScienceEventType.CreateModelDeploymentBegin, rec);
        this.settle(rec);
        this.deployments.put(rec);
        this.watchSteps('deployment', rec);
        const { view, etag } = this.deploymentView(req, rec);
        return {
          status: 200,
          headers: {
            etag,
            'opc-work-request-id': wr.id,
            location: `${API}/modelDeployments/${id}`,
          },
          body: view,
        };
      },
      (id) => {
        const rec = this.loadStepped(this.deployments, id);
        if (!rec) return undefined;
        const { view, etag } = this.deploymentView(req, rec);
        return { status: 200, headers: { etag }, body: view };
      },
    );
  }

  private getDeployment(req: EmulatorRequest): EmulatorResponse {
    const id = req.params.modelDeploymentId ?? '';
    const d = this.loadStepped(this.deployments, id);
    if (!d) throw notFound('Model deployment', id);
    const { view, etag } = this.deploymentView(req, d);
    return { status: 200, headers: { etag }, body: view };
  }

  private listDeployments(req: EmulatorRequest): EmulatorResponse {
    const items = this.filterCommon(req, this.allStepped(this.deployments)).map(
      (d) => this.deploymentView(req, d).view,
    );
    return this.listResponse(req, items, ['timeCreated', 'displayName']);
  }

  private async updateDeployment(req: EmulatorRequest): Promise<EmulatorResponse> {
    const d = this.requireDeployment(req.params.modelDeploymentId ?? '');
    checkIfMatch(req.headers['if-match'], this.deploymentView(req, d).etag);
    const raw = (await req.json()) as Record<string, unknown> | null;
    for (const field of ['projectId', 'compartmentId']) {
      if (raw && typeof raw === 'object' && field in raw) {
        throw new OciApiError(
          400,
          'InvalidParameter',
          `${field} of a model deployment cannot be updated`,
        );
      }
    }
    const u = validate(raw, updateDeploymentSchema);
    const cfgUpdate = u.modelDeploymentConfigurationDetails;
    if (cfgUpdate && cfgUpdate.deploymentType !== 'SINGLE_MODEL') {
      throw new OciApiError(
        400,
        'InvalidParameter',
        'Invalid modelDeploymentConfigurationDetails.deploymentType: only SINGLE_MODEL is emulated',
      );
    }
    const infraChange = cfgUpdate !== undefined || u.categoryLogDetails !== undefined;
    const allowed: string[] = infraChange
      ? [DeploymentState.Active, DeploymentState.Inactive]
      : [DeploymentState.Active, DeploymentState.Inactive, DeploymentState.Failed];
    if (!allowed.includes(d.lifecycleState)) {
      throw incorrectState(
        `Model deployment ${d.id} is ${d.lifecycleState}; it can be updated when ${allowed.join(' or ')}`,
      );
    }
    const config = structuredClone(d.modelDeploymentConfigurationDetails);
    if (cfgUpdate?.modelConfigurationDetails) {
      const mc = cfgUpdate.modelConfigurationDetails;
      const current = (config.modelConfigurationDetails ?? {}) as Record<string, unknown>;
      if (mc.modelId !== current.modelId) this.requireDeployableModel(mc.modelId);
      config.modelConfigurationDetails = { ...current, ...stripUndefined(mc) };
    }
    if (cfgUpdate?.environmentConfigurationDetails) {
      const current = (config.environmentConfigurationDetails ?? {}) as Record<string, unknown>;
      const next = cfgUpdate.environmentConfigurationDetails;
      config.environmentConfigurationDetails =
        current.environmentConfigurationType === next.environmentConfigurationType
          ? { ...current, ...stripUndefined(next) }
          : next;
    }
    const wasActive = d.lifecycleState === DeploymentState.Active;
    const duration = infraChange && wasActive ? this.delay(this.opts.deploymentUpdateMs) : 0;
    const wr = this.workRequests.create(
      'MODEL_DEPLOYMENT_UPDATE',
      'modelDeployment',
      d.id,
      d.compartmentId,
      'UPDATED',
      duration,
    );
    Object.assign(
      d,
      stripUndefined({
        displayName: u.displayName,
        description: u.description,
        freeformTags: u.freeformTags,
        definedTags: u.definedTags,
        categoryLogDetails: u.categoryLogDetails,
      }),
    );
    d.modelDeploymentConfigurationDetails = config;
    this.announce(DataScienceEventType.UpdateModelDeploymentBegin, d);
    if (duration > 0) {
      // A live update: the old instances keep serving until the new configuration is in place.
      d.lifecycleState = DeploymentState.Updating;
      d.servesWhileUpdating = true;
      d.steps = [
        {
          atMs: wr.finishMs,
          patch: {
            lifecycleState: DeploymentState.Active,
            currentInstanceCount: instanceCountOf(config),
            servesWhileUpdating: undefined,
          },
          events: [DataScienceEventType.UpdateModelDeploymentEnd],
        },
      ];
    } else {
      if (wasActive) d.currentInstanceCount = instanceCountOf(config);
      // The update's work request is done at once, so is the operation.
      this.announce(DataScienceEventType.UpdateModelDeploymentEnd, d);
    }
    this.settle(d);
    this.deployments.put(stripUndefined(d));
    this.watchSteps('deployment', d);
    return { status: 202, headers: { 'opc-work-request-id': wr.id } };
  }

  private activateDeployment(req: EmulatorRequest, activate: boolean): EmulatorResponse {
    const d = this.requireDeployment(req.params.modelDeploymentId ?? '');
    checkIfMatch(req.headers['if-match'], this.deploymentView(req, d).etag);
    const from = activate ? DeploymentState.Inactive : DeploymentState.Active;
    if (d.lifecycleState !== from) {
      throw incorrectState(
        `Model deployment ${d.id} is ${d.lifecycleState}; it must be ${from} to be ${activate ? 'activated' : 'deactivated'}`,
      );
    }
    const wr = this.workRequests.create(
      activate ? 'MODEL_DEPLOYMENT_ACTIVATE' : 'MODEL_DEPLOYMENT_DEACTIVATE',
      'modelDeployment',
      d.id,
      d.compartmentId,
      'UPDATED',
      this.delay(activate ? this.opts.deploymentActivateMs : this.opts.deploymentDeactivateMs),
    );
    d.lifecycleState = DeploymentState.Updating;
    delete d.servesWhileUpdating;
    if (!activate) d.currentInstanceCount = 0;
    d.steps = [
      {
        atMs: wr.finishMs,
        patch: activate
          ? {
              lifecycleState: DeploymentState.Active,
              currentInstanceCount: instanceCountOf(d.modelDeploymentConfigurationDetails),
            }
          : { lifecycleState: DeploymentState.Inactive },
        events: [
          activate
            ? DataScienceEventType.ActivateModelDeploymentEnd
            : DataScienceEventType.DeactivateModelDeploymentEnd,
        ],
      },
    ];
    this.announce(
      activate
        ? DataScienceEventType.ActivateModelDeploymentBegin
        : DataScienceEventType.DeactivateModelDeploymentBegin,
      d,
    );
    this.settle(d);
    this.deployments.put(d);
    this.watchSteps('deployment', d);
    return { status: 202, headers: { 'opc-work-request-id': wr.id } };
  }

  private deleteDeployment(req: EmulatorRequest): EmulatorResponse {
    const d = this.requireDeployment(req.params.modelDeploymentId ?? '');
    checkIfMatch(req.headers['if-match'], this.deploymentView(req, d).etag);
    if (d.lifecycleState === DeploymentState.Deleting) {
      throw incorrectState(`Model deployment ${d.id} is already DELETING`);
    }
    const wr = this.workRequests.create(
      'MODEL_DEPLOYMENT_DELETE',
      'modelDeployment',
      d.id,
      d.compartmentId,
      'DELETED',
      this.delay(this.opts.deploymentDeleteMs),
    );
    d.lifecycleState = DeploymentState.Deleting;
    delete d.servesWhileUpdating;
    d.currentInstanceCount = 0;
    d.steps = [
      {
        atMs: wr.finishMs,
        patch: { lifecycleState: DeploymentState.Deleted },
        events: [DataScienceEventType.DeleteModelDeploymentEnd],
      },
    ];
    this.announce(DataScienceEventType.DeleteModelDeploymentBegin, d);
    this.settle(d);
    this.deployments.put(d);
    this.watchSteps('deployment', d);
    return { status: 202, headers: { 'opc-work-request-id': wr.id } };
  }

  // ---- predict ----

  private async predict(req: EmulatorRequest, forceStream: boolean): Promise<EmulatorResponse> {
    const id = req.params.modelDeploymentId ?? '';
    const nowMs = this.nowMs();
    const d = this.loadStepped(this.deployments, id);
    if (!d || d.lifecycleState === DeploymentState.Deleted) throw notFound('Model deployment', id);
    const serving =
      d.lifecycleState === DeploymentState.Active ||
      (d.lifecycleState === DeploymentState.Updating && d.servesWhileUpdating === true);
    const record = (
      status: number,
      usage?: { promptTokens: number; completionTokens: number; streaming: boolean },
    ) =>
      this.meter.record({
        deploymentId: id,
        at: this.iso(nowMs),
        status,
        promptTokens: usage?.promptTokens ?? 0,
        completionTokens: usage?.completionTokens ?? 0,
        streaming: usage?.streaming ?? false,
      });
    if (!serving) {
      record(409);
      throw incorrectState(
        `Model deployment ${id} is ${d.lifecycleState}; only an ACTIVE deployment answers predict`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse((await req.body()).toString('utf8'));
    } catch {
      record(400);
      return {
        status: 400,
        body: {
          object: 'error',
          message: 'The request body is not JSON',
          type: 'BadRequestError',
          param: null,
          code: 400,
        },
      };
    }
    if (forceStream && body !== null && typeof body === 'object' && !Array.isArray(body)) {
      body = { ...body, stream: true };
    }
    const env = (
      (d.modelDeploymentConfigurationDetails.environmentConfigurationDetails ?? {}) as {
        environmentVariables?: Record<string, string>;
      }
    ).environmentVariables;
    const { routeHeader, enableStreaming } = readPredictHeaders(req.headers);
    const outcome = predict({
      deploymentId: id,
      ...(env?.MODEL_DEPLOY_PREDICT_ENDPOINT
        ? { defaultRoute: env.MODEL_DEPLOY_PREDICT_ENDPOINT }
        : {}),
      ...(routeHeader ? { routeHeader } : {}),
      enableStreaming: enableStreaming || forceStream,
      servedModelName: this.opts.servedModelName,
      nowMs,
      body,
    });
    record(outcome.response.status, outcome.usage);
    return outcome.response;
  }
}
