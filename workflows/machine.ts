/**
 * The run state machine: one run per dataset object version, from "an object landed" to "an
 * endpoint is serving it". Pure: `decide(run, observation, now)` returns the next run and the side
 * effects to perform as data; `nextAction(run, now)` tells the reconciler what to look at or re-drive
 * for a run whose events may have been lost. No SDK, no clock, no I/O (STYLE practice 2).
 *
 * Design rules that make replays harmless (STYLE practice 9):
 * - An observation that does not apply to the current state is ignored (run unchanged, no effects,
 *   an `ignored` reason), never thrown: stale and duplicate events are normal.
 * - Results of OCI create calls carry the `attempt` they answer. Each pending create has a
 *   deterministic retry token (`retryTokenFor(runId, step, attempt)`); a re-drive of the same
 *   attempt reuses it, so a lost response cannot create a second model or endpoint.
 * - `decide` never bumps `version`: the state store does that on its conditional write.
 */
import { retryTokenFor, runIdFor, type DatasetRef, type RetryStep } from './run-id.ts';
import type { Workflow } from './schema.ts';

export type { DatasetRef } from './run-id.ts';

// ---------------------------------------------------------------------------------------------
// States

export const RunState = {
  RECEIVED: 'RECEIVED',
  VALIDATING: 'VALIDATING',
  INVALID: 'INVALID',
  VALID: 'VALID',
  TRAINING: 'TRAINING',
  TRAINING_FAILED: 'TRAINING_FAILED',
  TRAINED: 'TRAINED',
  DEPLOYING: 'DEPLOYING',
  DEPLOY_FAILED: 'DEPLOY_FAILED',
  SERVING: 'SERVING',
  SUPERSEDED: 'SUPERSEDED',
  CANCELLED: 'CANCELLED',
} as const;
export type RunState = (typeof RunState)[keyof typeof RunState];

/** No observation moves a run out of these. */
export const terminalStates: ReadonlySet<RunState> = new Set<RunState>([
  RunState.INVALID,
  RunState.TRAINING_FAILED,
  RunState.DEPLOY_FAILED,
  RunState.SUPERSEDED,
  RunState.CANCELLED,
]);

/**
 * SERVING is a resting state: dacflow has nothing left to do or poll, but a newer run of the same
 * workflow reaching SERVING still ends it (SUPERSEDED, which retires its endpoint).
 */
export const restingStates: ReadonlySet<RunState> = new Set<RunState>([RunState.SERVING]);

export function isTerminal(state: RunState): boolean {
  return terminalStates.has(state);
}

/** Why a non-terminal run is held, as data rather than extra states. */
export const WaitingFor = {
  /** The fine-tuning cluster (or, for Data Science, the training shape) is not available yet. */
  FINE_TUNING_CLUSTER: 'FINE_TUNING_CLUSTER',
  /** No hosting cluster has room for another endpoint (or deployment capacity is short). */
  HOSTING_CAPACITY: 'HOSTING_CAPACITY',
  /** OCI reports NEEDS_ATTENTION on the job run or model deployment. */
  OPERATOR_ATTENTION: 'OPERATOR_ATTENTION',
} as const;
export type WaitingFor = (typeof WaitingFor)[keyof typeof WaitingFor];

/** Run events a workflow can ask to be notified about (`notifications.events`). */
export const notifyEvents = [
  'DATASET_INVALID',
  'TRAINING_STARTED',
  'WAITING',
  'TRAINING_FAILED',
  'TRAINED',
  'DEPLOY_FAILED',
  'SERVING',
  'SUPERSEDED',
  'CANCELLED',
] as const;
export type NotifyEvent = (typeof notifyEvents)[number];

export type RunBackend = 'genai' | 'datascience';

/** History entries kept per run; older ones are dropped and counted in `historyDropped`. */
export const HISTORY_LIMIT = 50;
/** Retryable create failures (429, 5xx) tolerated per step before the run fails. */
export const MAX_RETRYABLE_FAILURES = 5;
/** A validation that has not finished after this long is re-driven (functions time out at 300 s). */
export const VALIDATION_STALE_SEC = 900;
/** A create call just issued is not re-driven before this (it may still be in flight). */
export const REDRIVE_GRACE_SEC = 300;
/** Longest wait between re-drives of a blocked or failing create. */
export const MAX_BACKOFF_SEC = 1800;

// ---------------------------------------------------------------------------------------------
// The run record

export interface OciIds {
  /** GenAI custom model, or the Data Science catalog model AQUA writes the result to. */
  modelId?: string;
  modelWorkRequestId?: string;
  endpointId?: string;
  jobRunId?: string;
  modelDeploymentId?: string;
}

export interface RunError {
  /** Stable code, e.g. `MODEL_FAILED`, `QUOTA_EXCEEDED`, `DATASET_MISSING`. */
  code: string;
  /** OCI's lifecycleDetails or error message: ids and reasons, never dataset text. */
  message: string;
}

/** Counts from the dataset validator (the report holds the details). */
export interface ValidationSummary {
  lines: number;
  validExamples: number;
  invalidLines: number;
}

export interface HistoryEntry {
  at: string;
  from: RunState;
  to: RunState;
  observation: Observation['type'];
  waitingFor?: WaitingFor;
  note?: string;
}

export interface Run {
  readonly runId: string;
  readonly workflow: string;
  /** Snapshot of the workflow's backend at creation: a run finishes on the path it started on. */
  readonly backend: RunBackend;
  /** Snapshot of `genai.endpoint.retireSuperseded` (always true for datascience). */
  readonly retireSuperseded: boolean;
  readonly dataset: Readonly<DatasetRef>;
  readonly state: RunState;
  readonly waitingFor?: WaitingFor;
  readonly oci: Readonly<OciIds>;
  /** The token of each step's pending (or last) create attempt. */
  readonly retryTokens: Readonly<Partial<Record<RetryStep, string>>>;
  /** Index of each step's pending attempt = number of attempts that got a definite answer. */
  readonly attempts: Readonly<Record<RetryStep, number>>;
  /** Retryable failures so far per step (bounded by MAX_RETRYABLE_FAILURES). */
  readonly failures: Readonly<Record<RetryStep, number>>;
  readonly validation?: Readonly<ValidationSummary>;
  readonly lastError?: Readonly<RunError>;
  readonly supersededBy?: string;
  readonly history: readonly HistoryEntry[];
  readonly historyDropped: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Owned by the state store (conditional writes); `decide` copies it unchanged. */
  readonly version: number;
}

// ---------------------------------------------------------------------------------------------
// Observations and effects

export const ModelState = ['CREATING', 'ACTIVE', 'FAILED', 'DELETING', 'DELETED'] as const;
export const EndpointState = [
  'CREATING',
  'ACTIVE',
  'UPDATING',
  'FAILED',
  'DELETING',
  'DELETED',
] as const;
export const JobRunState = [
  'ACCEPTED',
  'IN_PROGRESS',
  'FAILED',
  'SUCCEEDED',
  'CANCELING',
  'CANCELED',
  'DELETED',
  'NEEDS_ATTENTION',
] as const;
export const ModelDeploymentState = [
  'CREATING',
  'ACTIVE',
  'DELETING',
  'FAILED',
  'INACTIVE',
  'UPDATING',
  'DELETED',
  'NEEDS_ATTENTION',
] as const;

export type ObservedResource = 'MODEL' | 'JOB_RUN' | 'ENDPOINT' | 'MODEL_DEPLOYMENT';

/** What dacflow learned from an event, a create call's result, or a poll. */
export type Observation =
  | { type: 'VALIDATION_STARTED' }
  | { type: 'DATASET_VALID'; summary: ValidationSummary }
  | { type: 'DATASET_INVALID'; summary: ValidationSummary }
  /** The object (this ETag) is gone: deleted or overwritten before validation. */
  | { type: 'DATASET_MISSING' }
  | {
      type: 'TRAINING_STARTED';
      attempt: number;
      /** genai: the custom model; datascience: AQUA's output catalog model. */
      modelId?: string;
      workRequestId?: string;
      /** datascience only. */
      jobRunId?: string;
    }
  | { type: 'TRAINING_START_BLOCKED'; attempt: number; detail?: string }
  | { type: 'TRAINING_START_FAILED'; attempt: number; error: RunError; retryable: boolean }
  | {
      type: 'MODEL_OBSERVED';
      modelId: string;
      lifecycleState: (typeof ModelState)[number];
      lifecycleDetails?: string;
    }
  | {
      type: 'JOB_RUN_OBSERVED';
      jobRunId: string;
      lifecycleState: (typeof JobRunState)[number];
      lifecycleDetails?: string;
    }
  | { type: 'DEPLOYMENT_STARTED'; attempt: number; endpointId?: string; modelDeploymentId?: string }
  | { type: 'DEPLOYMENT_START_BLOCKED'; attempt: number; detail?: string }
  | { type: 'DEPLOYMENT_START_FAILED'; attempt: number; error: RunError; retryable: boolean }
  | {
      type: 'ENDPOINT_OBSERVED';
      endpointId: string;
      lifecycleState: (typeof EndpointState)[number];
      lifecycleDetails?: string;
    }
  | {
      type: 'MODEL_DEPLOYMENT_OBSERVED';
      modelDeploymentId: string;
      lifecycleState: (typeof ModelDeploymentState)[number];
      lifecycleDetails?: string;
    }
  /** A get call answered 404 for the run's resource. */
  | { type: 'RESOURCE_NOT_FOUND'; resource: ObservedResource; id: string }
  /** A newer run of the same workflow reached SERVING. */
  | { type: 'SUPERSEDED'; byRunId: string }
  | { type: 'CANCEL'; reason?: string };

export type ReportKind = 'VALIDATION' | 'RUN';

/** Side effects for the caller to perform, then report back as observations. */
export type Effect =
  | { type: 'VALIDATE_DATASET' }
  | { type: 'START_FINETUNE'; retryToken: string; attempt: number }
  | { type: 'START_JOB_RUN'; retryToken: string; attempt: number }
  | { type: 'CREATE_ENDPOINT'; modelId: string; retryToken: string; attempt: number }
  | { type: 'CREATE_MODEL_DEPLOYMENT'; modelId: string; retryToken: string; attempt: number }
  | { type: 'RETIRE_ENDPOINT'; endpointId: string }
  | { type: 'RETIRE_MODEL_DEPLOYMENT'; modelDeploymentId: string }
  | { type: 'CANCEL_JOB_RUN'; jobRunId: string }
  /** Feed SUPERSEDED to the workflow's older non-terminal runs. */
  | { type: 'SUPERSEDE_OLDER_RUNS'; workflow: string; runId: string }
  | {
      type: 'NOTIFY';
      event: NotifyEvent;
      runId: string;
      workflow: string;
      state: RunState;
      error?: RunError;
    }
  | { type: 'WRITE_REPORT'; report: ReportKind };

export interface Decision {
  run: Run;
  effects: Effect[];
  /** Set when the observation changed nothing, with the reason (stale, duplicate, not applicable). */
  ignored?: string;
}

// ---------------------------------------------------------------------------------------------
// Creating a run

export interface NewRunInput {
  workflow: string;
  backend: RunBackend;
  retireSuperseded: boolean;
  dataset: DatasetRef;
}

/** The run settings a workflow fixes at creation (a later edit of the file does not change a run). */
export function runInputFor(
  workflow: Pick<Workflow, 'name' | 'backend' | 'genai'>,
  dataset: DatasetRef,
): NewRunInput {
  return {
    workflow: workflow.name,
    backend: workflow.backend,
    retireSuperseded: workflow.genai?.endpoint.retireSuperseded ?? true,
    dataset,
  };
}

/** A run in RECEIVED, its id derived from the object version, with the validation to start. */
export function createRun(input: NewRunInput, now: Date): Decision {
  const at = now.toISOString();
  const run: Run = {
    runId: runIdFor(input.dataset),
    workflow: input.workflow,
    backend: input.backend,
    retireSuperseded: input.backend === 'datascience' ? true : input.retireSuperseded,
    dataset: { ...input.dataset },
    state: RunState.RECEIVED,
    oci: {},
    retryTokens: {},
    attempts: { train: 0, deploy: 0 },
    failures: { train: 0, deploy: 0 },
    history: [],
    historyDropped: 0,
    createdAt: at,
    updatedAt: at,
    version: 0,
  };
  return { run, effects: [{ type: 'VALIDATE_DATASET' }] };
}

// ---------------------------------------------------------------------------------------------
// Helpers

function ignore(run: Run, reason: string): Decision {
  return { run, effects: [], ignored: reason };
}

interface Change {
  state?: RunState;
  /** `null` clears it. */
  waitingFor?: WaitingFor | null;
  oci?: OciIds;
  retryTokens?: Partial<Record<RetryStep, string>>;
  attempts?: Partial<Record<RetryStep, number>>;
  failures?: Partial<Record<RetryStep, number>>;
  validation?: ValidationSummary;
  lastError?: RunError;
  supersededBy?: string;
  note?: string;
}

function apply(run: Run, obs: Observation, change: Change, now: Date): Run {
  const at = now.toISOString();
  const to = change.state ?? run.state;
  const waitingFor =
    change.waitingFor === null
      ? undefined
      : (change.waitingFor ?? (to === run.state ? run.waitingFor : undefined));
  const entry: HistoryEntry = {
    at,
    from: run.state,
    to,
    observation: obs.type,
    ...(waitingFor ? { waitingFor } : {}),
    ...(change.note ? { note: change.note } : {}),
  };
  const all = [...run.history, entry];
  const drop = Math.max(0, all.length - HISTORY_LIMIT);
  const { waitingFor: _old, ...rest } = run;
  return {
    ...rest,
    state: to,
    ...(waitingFor ? { waitingFor } : {}),
    oci: { ...run.oci, ...change.oci },
    retryTokens: { ...run.retryTokens, ...change.retryTokens },
    attempts: { ...run.attempts, ...change.attempts },
    failures: { ...run.failures, ...change.failures },
    ...(change.validation ? { validation: change.validation } : {}),
    ...(change.lastError ? { lastError: change.lastError } : {}),
    ...(change.supersededBy ? { supersededBy: change.supersededBy } : {}),
    history: drop > 0 ? all.slice(drop) : all,
    historyDropped: run.historyDropped + drop,
    updatedAt: at,
  };
}

function notify(run: Run, event: NotifyEvent, error?: RunError): Effect {
  return {
    type: 'NOTIFY',
    event,
    runId: run.runId,
    workflow: run.workflow,
    state: run.state,
    ...(error ? { error } : {}),
  };
}

/** The pending training create of `run` (state VALID), with its current token. */
function startEffect(run: Run): Effect {
  const attempt = run.attempts.train;
  const retryToken = retryTokenFor(run.runId, 'train', attempt);
  return run.backend === 'genai'
    ? { type: 'START_FINETUNE', retryToken, attempt }
    : { type: 'START_JOB_RUN', retryToken, attempt };
}

/** The pending deployment create of `run` (state TRAINED, modelId known). */
function deployEffect(run: Run, modelId: string): Effect {
  const attempt = run.attempts.deploy;
  const retryToken = retryTokenFor(run.runId, 'deploy', attempt);
  return run.backend === 'genai'
    ? { type: 'CREATE_ENDPOINT', modelId, retryToken, attempt }
    : { type: 'CREATE_MODEL_DEPLOYMENT', modelId, retryToken, attempt };
}

function retireEffects(run: Run): Effect[] {
  if (run.oci.endpointId) return [{ type: 'RETIRE_ENDPOINT', endpointId: run.oci.endpointId }];
  if (run.oci.modelDeploymentId) {
    return [{ type: 'RETIRE_MODEL_DEPLOYMENT', modelDeploymentId: run.oci.modelDeploymentId }];
  }
  return [];
}

/** Moves to `state` and emits the notification and final report that go with a terminal state. */
function finish(
  run: Run,
  obs: Observation,
  state: RunState,
  event: NotifyEvent,
  now: Date,
  change: Change = {},
  extra: Effect[] = [],
): Decision {
  const next = apply(run, obs, { ...change, state, waitingFor: null }, now);
  return {
    run: next,
    effects: [
      ...extra,
      notify(next, event, change.lastError),
      { type: 'WRITE_REPORT', report: 'RUN' },
    ],
  };
}

/** Ends an in-flight or serving run early: cancels what can be cancelled, retires what was made. */
function endEarly(
  run: Run,
  obs: Observation,
  now: Date,
  superseded: boolean,
  byRunId?: string,
): Decision {
  const effects: Effect[] = [];
  if (run.state === RunState.TRAINING && run.oci.jobRunId) {
    effects.push({ type: 'CANCEL_JOB_RUN', jobRunId: run.oci.jobRunId });
  }
  // A cancel retires what it made; a supersede respects retireSuperseded.
  if (
    (run.state === RunState.DEPLOYING || run.state === RunState.SERVING) &&
    (!superseded || run.retireSuperseded)
  ) {
    effects.push(...retireEffects(run));
  }
  return superseded
    ? finish(run, obs, RunState.SUPERSEDED, 'SUPERSEDED', now, { supersededBy: byRunId }, effects)
    : finish(
        run,
        obs,
        RunState.CANCELLED,
        'CANCELLED',
        now,
        { note: (obs as { reason?: string }).reason },
        effects,
      );
}

type CreateResult = Extract<
  Observation,
  {
    type:
      | 'TRAINING_START_BLOCKED'
      | 'TRAINING_START_FAILED'
      | 'DEPLOYMENT_START_BLOCKED'
      | 'DEPLOYMENT_START_FAILED';
  }
>;

/** A create call that did not create: wait (blocked) or count a failure, then a new token. */
function createNotDone(run: Run, obs: CreateResult, step: RetryStep, now: Date): Decision {
  if (obs.attempt !== run.attempts[step])
    return ignore(run, `stale result of ${step} attempt ${obs.attempt}`);
  const nextAttempt = run.attempts[step] + 1;
  const tokens = { [step]: retryTokenFor(run.runId, step, nextAttempt) };
  if (obs.type === 'TRAINING_START_BLOCKED' || obs.type === 'DEPLOYMENT_START_BLOCKED') {
    const waitingFor =
      step === 'train' ? WaitingFor.FINE_TUNING_CLUSTER : WaitingFor.HOSTING_CAPACITY;
    const next = apply(
      run,
      obs,
      { waitingFor, attempts: { [step]: nextAttempt }, retryTokens: tokens, note: obs.detail },
      now,
    );
    return { run: next, effects: run.waitingFor === waitingFor ? [] : [notify(next, 'WAITING')] };
  }
  const failures = run.failures[step] + 1;
  if (!obs.retryable || failures >= MAX_RETRYABLE_FAILURES) {
    const state = step === 'train' ? RunState.TRAINING_FAILED : RunState.DEPLOY_FAILED;
    return finish(run, obs, state, state, now, {
      lastError: obs.error,
      attempts: { [step]: nextAttempt },
      failures: { [step]: failures },
    });
  }
  const next = apply(
    run,
    obs,
    {
      waitingFor: null,
      attempts: { [step]: nextAttempt },
      failures: { [step]: failures },
      retryTokens: tokens,
      lastError: obs.error,
    },
    now,
  );
  return { run: next, effects: [] };
}

function lifecycleError(prefix: string, state: string, details: string | undefined): RunError {
  return { code: `${prefix}_${state}`, message: details ?? `${prefix.toLowerCase()} is ${state}` };
}

// ---------------------------------------------------------------------------------------------
// decide

/**
 * The next run and the effects to perform after `observation`. Pure and total: anything that does
 * not apply returns the run unchanged with `ignored` set. History grows only when the run changes.
 */
export function decide(run: Run, observation: Observation, now: Date): Decision {
  const obs = observation;
  if (isTerminal(run.state)) return ignore(run, `run is ${run.state}`);
  if (obs === null || typeof obs !== 'object') return ignore(run, 'not an observation');

  switch (obs.type) {
    case 'CANCEL':
      if (run.state === RunState.SERVING) return ignore(run, 'a serving run ends by supersede');
      return endEarly(run, obs, now, false);

    case 'SUPERSEDED':
      if (obs.byRunId === run.runId) return ignore(run, 'a run cannot supersede itself');
      return endEarly(run, obs, now, true, obs.byRunId);

    case 'VALIDATION_STARTED':
      if (run.state !== RunState.RECEIVED) return ignore(run, `validation already ${run.state}`);
      return { run: apply(run, obs, { state: RunState.VALIDATING }, now), effects: [] };

    case 'DATASET_VALID': {
      if (run.state !== RunState.RECEIVED && run.state !== RunState.VALIDATING) {
        return ignore(run, `dataset already judged (${run.state})`);
      }
      const next = apply(
        run,
        obs,
        {
          state: RunState.VALID,
          validation: obs.summary,
          retryTokens: { train: retryTokenFor(run.runId, 'train', run.attempts.train) },
        },
        now,
      );
      return {
        run: next,
        effects: [{ type: 'WRITE_REPORT', report: 'VALIDATION' }, startEffect(next)],
      };
    }

    case 'DATASET_INVALID':
    case 'DATASET_MISSING': {
      if (run.state !== RunState.RECEIVED && run.state !== RunState.VALIDATING) {
        return ignore(run, `dataset already judged (${run.state})`);
      }
      const lastError: RunError =
        obs.type === 'DATASET_MISSING'
          ? { code: 'DATASET_MISSING', message: 'the object version is gone' }
          : {
              code: 'DATASET_INVALID',
              message: `${obs.summary.invalidLines} invalid lines, ${obs.summary.validExamples} valid examples`,
            };
      const next = apply(
        run,
        obs,
        {
          state: RunState.INVALID,
          waitingFor: null,
          lastError,
          ...(obs.type === 'DATASET_INVALID' ? { validation: obs.summary } : {}),
        },
        now,
      );
      return {
        run: next,
        effects: [
          ...(obs.type === 'DATASET_INVALID'
            ? [{ type: 'WRITE_REPORT', report: 'VALIDATION' } as const]
            : []),
          notify(next, 'DATASET_INVALID', lastError),
        ],
      };
    }

    case 'TRAINING_STARTED': {
      if (run.state !== RunState.VALID) return ignore(run, `training already ${run.state}`);
      if (!Number.isInteger(obs.attempt) || obs.attempt > run.attempts.train || obs.attempt < 0) {
        return ignore(run, `no such train attempt ${obs.attempt}`);
      }
      if (!obs.modelId) return ignore(run, 'training started without a modelId');
      if (run.backend === 'datascience' && !obs.jobRunId)
        return ignore(run, 'job run started without a jobRunId');
      const oci: OciIds = {
        modelId: obs.modelId,
        ...(obs.workRequestId ? { modelWorkRequestId: obs.workRequestId } : {}),
        ...(run.backend === 'datascience' && obs.jobRunId ? { jobRunId: obs.jobRunId } : {}),
      };
      const next = apply(run, obs, { state: RunState.TRAINING, waitingFor: null, oci }, now);
      return { run: next, effects: [notify(next, 'TRAINING_STARTED')] };
    }

    case 'TRAINING_START_BLOCKED':
    case 'TRAINING_START_FAILED':
      if (run.state !== RunState.VALID) return ignore(run, `training already ${run.state}`);
      return createNotDone(run, obs, 'train', now);

    case 'MODEL_OBSERVED': {
      if (run.backend !== 'genai') return ignore(run, 'datascience runs track the job run');
      if (run.state !== RunState.TRAINING) return ignore(run, `model observed in ${run.state}`);
      if (obs.modelId !== run.oci.modelId) return ignore(run, 'another model');
      switch (obs.lifecycleState) {
        case 'CREATING':
          return ignore(run, 'still training');
        case 'ACTIVE':
          return trained(run, obs, now);
        default:
          return finish(run, obs, RunState.TRAINING_FAILED, 'TRAINING_FAILED', now, {
            lastError: lifecycleError('MODEL', obs.lifecycleState, obs.lifecycleDetails),
          });
      }
    }

    case 'JOB_RUN_OBSERVED': {
      if (run.backend !== 'datascience') return ignore(run, 'genai runs track the model');
      if (run.state !== RunState.TRAINING) return ignore(run, `job run observed in ${run.state}`);
      if (obs.jobRunId !== run.oci.jobRunId) return ignore(run, 'another job run');
      switch (obs.lifecycleState) {
        case 'ACCEPTED':
        case 'IN_PROGRESS':
        case 'CANCELING':
          return run.waitingFor === undefined
            ? ignore(run, 'still training')
            : {
                run: apply(run, obs, { waitingFor: null, note: 'attention cleared' }, now),
                effects: [],
              };
        case 'NEEDS_ATTENTION':
          return attention(run, obs, obs.lifecycleDetails, now);
        case 'SUCCEEDED':
          return trained(run, obs, now);
        default:
          return finish(run, obs, RunState.TRAINING_FAILED, 'TRAINING_FAILED', now, {
            lastError: lifecycleError('JOB_RUN', obs.lifecycleState, obs.lifecycleDetails),
          });
      }
    }

    case 'DEPLOYMENT_STARTED': {
      if (run.state !== RunState.TRAINED) return ignore(run, `deployment already ${run.state}`);
      if (!Number.isInteger(obs.attempt) || obs.attempt > run.attempts.deploy || obs.attempt < 0) {
        return ignore(run, `no such deploy attempt ${obs.attempt}`);
      }
      const id = run.backend === 'genai' ? obs.endpointId : obs.modelDeploymentId;
      if (!id) return ignore(run, 'deployment started without an id');
      const oci: OciIds = run.backend === 'genai' ? { endpointId: id } : { modelDeploymentId: id };
      return {
        run: apply(run, obs, { state: RunState.DEPLOYING, waitingFor: null, oci }, now),
        effects: [],
      };
    }

    case 'DEPLOYMENT_START_BLOCKED':
    case 'DEPLOYMENT_START_FAILED':
      if (run.state !== RunState.TRAINED) return ignore(run, `deployment already ${run.state}`);
      return createNotDone(run, obs, 'deploy', now);

    case 'ENDPOINT_OBSERVED': {
      if (run.backend !== 'genai')
        return ignore(run, 'datascience runs track the model deployment');
      if (run.state !== RunState.DEPLOYING) return ignore(run, `endpoint observed in ${run.state}`);
      if (obs.endpointId !== run.oci.endpointId) return ignore(run, 'another endpoint');
      switch (obs.lifecycleState) {
        case 'CREATING':
        case 'UPDATING':
          return ignore(run, 'still deploying');
        case 'ACTIVE':
          return serving(run, obs, now);
        default:
          return finish(run, obs, RunState.DEPLOY_FAILED, 'DEPLOY_FAILED', now, {
            lastError: lifecycleError('ENDPOINT', obs.lifecycleState, obs.lifecycleDetails),
          });
      }
    }

    case 'MODEL_DEPLOYMENT_OBSERVED': {
      if (run.backend !== 'datascience') return ignore(run, 'genai runs track the endpoint');
      if (run.state !== RunState.DEPLOYING)
        return ignore(run, `model deployment observed in ${run.state}`);
      if (obs.modelDeploymentId !== run.oci.modelDeploymentId)
        return ignore(run, 'another model deployment');
      switch (obs.lifecycleState) {
        case 'CREATING':
        case 'UPDATING':
          return run.waitingFor === undefined
            ? ignore(run, 'still deploying')
            : {
                run: apply(run, obs, { waitingFor: null, note: 'attention cleared' }, now),
                effects: [],
              };
        case 'NEEDS_ATTENTION':
          return attention(run, obs, obs.lifecycleDetails, now);
        case 'ACTIVE':
          return serving(run, obs, now);
        default:
          return finish(run, obs, RunState.DEPLOY_FAILED, 'DEPLOY_FAILED', now, {
            lastError: lifecycleError('MODEL_DEPLOYMENT', obs.lifecycleState, obs.lifecycleDetails),
          });
      }
    }

    case 'RESOURCE_NOT_FOUND': {
      const tracked: Partial<Record<ObservedResource, [RunState, string | undefined, RunState]>> = {
        MODEL: [
          RunState.TRAINING,
          run.backend === 'genai' ? run.oci.modelId : undefined,
          RunState.TRAINING_FAILED,
        ],
        JOB_RUN: [RunState.TRAINING, run.oci.jobRunId, RunState.TRAINING_FAILED],
        ENDPOINT: [RunState.DEPLOYING, run.oci.endpointId, RunState.DEPLOY_FAILED],
        MODEL_DEPLOYMENT: [RunState.DEPLOYING, run.oci.modelDeploymentId, RunState.DEPLOY_FAILED],
      };
      const t = tracked[obs.resource];
      if (!t || run.state !== t[0] || t[1] === undefined || t[1] !== obs.id) {
        return ignore(run, `${obs.resource} ${obs.id} is not what this run waits on`);
      }
      const lastError = {
        code: `${obs.resource}_NOT_FOUND`,
        message: `${obs.resource} ${obs.id} not found`,
      };
      return t[2] === RunState.TRAINING_FAILED
        ? finish(run, obs, t[2], 'TRAINING_FAILED', now, { lastError })
        : finish(run, obs, t[2], 'DEPLOY_FAILED', now, { lastError });
    }

    default:
      return ignore(run, `unknown observation ${String((obs as { type?: unknown }).type)}`);
  }
}

function trained(run: Run, obs: Observation, now: Date): Decision {
  const modelId = run.oci.modelId;
  if (!modelId) return ignore(run, 'trained without a modelId');
  const next = apply(
    run,
    obs,
    {
      state: RunState.TRAINED,
      waitingFor: null,
      retryTokens: { deploy: retryTokenFor(run.runId, 'deploy', run.attempts.deploy) },
    },
    now,
  );
  return { run: next, effects: [notify(next, 'TRAINED'), deployEffect(next, modelId)] };
}

function serving(run: Run, obs: Observation, now: Date): Decision {
  const next = apply(run, obs, { state: RunState.SERVING, waitingFor: null }, now);
  return {
    run: next,
    effects: [
      notify(next, 'SERVING'),
      { type: 'SUPERSEDE_OLDER_RUNS', workflow: run.workflow, runId: run.runId },
      { type: 'WRITE_REPORT', report: 'RUN' },
    ],
  };
}

function attention(run: Run, obs: Observation, details: string | undefined, now: Date): Decision {
  if (run.waitingFor === WaitingFor.OPERATOR_ATTENTION)
    return ignore(run, 'already waiting for attention');
  const next = apply(
    run,
    obs,
    {
      waitingFor: WaitingFor.OPERATOR_ATTENTION,
      lastError: { code: 'NEEDS_ATTENTION', message: details ?? 'NEEDS_ATTENTION' },
    },
    now,
  );
  return { run: next, effects: [notify(next, 'WAITING', next.lastError)] };
}

// ---------------------------------------------------------------------------------------------
// Reconcile

export type NextAction =
  | { kind: 'NONE'; reason: string }
  | {
      kind: 'OBSERVE';
      resource: 'DATASET' | ObservedResource;
      id?: string;
      notBefore: string;
      due: boolean;
    }
  | { kind: 'REDRIVE'; effect: Effect; notBefore: string; due: boolean };

/** Seconds to wait before re-driving a create whose attempt index is `attempt`. */
export function redriveDelaySec(attempt: number): number {
  if (attempt <= 0) return REDRIVE_GRACE_SEC;
  return Math.min(60 * 2 ** Math.min(attempt - 1, 10), MAX_BACKOFF_SEC);
}

/**
 * What the reconciler does for `run` now: fetch the one resource it waits on, re-drive the pending
 * create (same retry token, so it is safe if the first call did land), or nothing. This is how a
 * lost event or a function killed mid-way gets repaired.
 */
export function nextAction(run: Run, now: Date): NextAction {
  if (isTerminal(run.state)) return { kind: 'NONE', reason: `run is ${run.state}` };
  if (restingStates.has(run.state)) return { kind: 'NONE', reason: `run is ${run.state}` };
  const after = (sec: number) => {
    const t = Date.parse(run.updatedAt) + sec * 1000;
    return { notBefore: new Date(t).toISOString(), due: now.getTime() >= t };
  };
  const observe = (resource: ObservedResource, id: string | undefined): NextAction =>
    id === undefined
      ? { kind: 'NONE', reason: `${run.state} run has no ${resource} id` }
      : { kind: 'OBSERVE', resource, id, ...after(0) };
  switch (run.state) {
    case RunState.RECEIVED:
    case RunState.VALIDATING:
      return {
        kind: 'REDRIVE',
        effect: { type: 'VALIDATE_DATASET' },
        ...after(VALIDATION_STALE_SEC),
      };
    case RunState.VALID:
      return {
        kind: 'REDRIVE',
        effect: startEffect(run),
        ...after(redriveDelaySec(run.attempts.train)),
      };
    case RunState.TRAINING:
      return run.backend === 'genai'
        ? observe('MODEL', run.oci.modelId)
        : observe('JOB_RUN', run.oci.jobRunId);
    case RunState.TRAINED:
      return run.oci.modelId === undefined
        ? { kind: 'NONE', reason: 'TRAINED run has no modelId' }
        : {
            kind: 'REDRIVE',
            effect: deployEffect(run, run.oci.modelId),
            ...after(redriveDelaySec(run.attempts.deploy)),
          };
    case RunState.DEPLOYING:
      return run.backend === 'genai'
        ? observe('ENDPOINT', run.oci.endpointId)
        : observe('MODEL_DEPLOYMENT', run.oci.modelDeploymentId);
    default:
      return { kind: 'NONE', reason: `run is ${run.state}` };
  }
}

/**
 * A run is *waiting* when it is neither terminal nor resting and `nextAction` names something to
 * observe or re-drive whose preconditions hold. Every run that `decide` produces is terminal,
 * resting or waiting: none is stranded.
 */
export function isWaiting(run: Run): boolean {
  if (isTerminal(run.state) || restingStates.has(run.state)) return false;
  const action = nextAction(run, new Date(run.updatedAt));
  if (action.kind === 'NONE') return false;
  if (action.kind === 'OBSERVE') return action.id !== undefined;
  return effectPrecondition(run, action.effect) === null;
}

/**
 * Why `effect` must not be performed for `run` (the run as `decide` returned it), or null when its
 * preconditions hold. Executors can assert this; the property tests do.
 */
export function effectPrecondition(run: Run, effect: Effect): string | null {
  switch (effect.type) {
    case 'VALIDATE_DATASET':
      return run.state === RunState.RECEIVED || run.state === RunState.VALIDATING
        ? null
        : 'not validating';
    case 'START_FINETUNE':
    case 'START_JOB_RUN': {
      const backend = effect.type === 'START_FINETUNE' ? 'genai' : 'datascience';
      if (run.backend !== backend) return `wrong backend ${run.backend}`;
      if (run.state !== RunState.VALID) return `start in ${run.state}`;
      if (effect.attempt !== run.attempts.train) return 'not the pending attempt';
      return effect.retryToken === run.retryTokens.train ? null : 'token is not the recorded one';
    }
    case 'CREATE_ENDPOINT':
    case 'CREATE_MODEL_DEPLOYMENT': {
      const backend = effect.type === 'CREATE_ENDPOINT' ? 'genai' : 'datascience';
      if (run.backend !== backend) return `wrong backend ${run.backend}`;
      if (run.state !== RunState.TRAINED) return `deploy in ${run.state}`;
      if (!run.oci.modelId || effect.modelId !== run.oci.modelId) return 'no modelId';
      if (effect.attempt !== run.attempts.deploy) return 'not the pending attempt';
      return effect.retryToken === run.retryTokens.deploy ? null : 'token is not the recorded one';
    }
    case 'RETIRE_ENDPOINT':
      return effect.endpointId && effect.endpointId === run.oci.endpointId
        ? null
        : 'not this run’s endpoint';
    case 'RETIRE_MODEL_DEPLOYMENT':
      return effect.modelDeploymentId && effect.modelDeploymentId === run.oci.modelDeploymentId
        ? null
        : 'not this run’s model deployment';
    case 'CANCEL_JOB_RUN':
      return effect.jobRunId && effect.jobRunId === run.oci.jobRunId
        ? null
        : 'not this run’s job run';
    case 'SUPERSEDE_OLDER_RUNS':
      return run.state === RunState.SERVING && effect.runId === run.runId
        ? null
        : 'only a serving run supersedes';
    case 'NOTIFY':
      return effect.runId === run.runId &&
        (notifyEvents as readonly string[]).includes(effect.event)
        ? null
        : 'bad notification';
    case 'WRITE_REPORT':
      return null;
    default:
      return 'unknown effect';
  }
}
