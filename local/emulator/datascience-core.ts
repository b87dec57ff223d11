/**
 * Record shapes and small deterministic helpers of the emulated OCI Data Science service: states,
 * multi-step lifecycles stored as timestamped steps (applied on read, so a restarted emulator
 * finishes what the previous one started), the AI Quick Actions fine-tuning conventions read from
 * a job run's environment, and how its work requests are spelled.
 */
import type { CloudEvent } from './service.ts';
import {
  workRequestView as sharedWorkRequestView,
  type StoredWorkRequest,
  type WorkRequestDialect,
  type WorkRequestFailure,
} from './work-requests.ts';

export const JobRunState = {
  Accepted: 'ACCEPTED',
  InProgress: 'IN_PROGRESS',
  Failed: 'FAILED',
  Succeeded: 'SUCCEEDED',
  Canceling: 'CANCELING',
  Canceled: 'CANCELED',
  Deleted: 'DELETED',
  NeedsAttention: 'NEEDS_ATTENTION',
} as const;
export type JobRunState = (typeof JobRunState)[keyof typeof JobRunState];

/** Job-run states after which nothing changes on its own. */
export const terminalJobRunStates: ReadonlySet<string> = new Set([
  JobRunState.Failed,
  JobRunState.Succeeded,
  JobRunState.Canceled,
  JobRunState.Deleted,
]);

export const DeploymentState = {
  Creating: 'CREATING',
  Active: 'ACTIVE',
  Deleting: 'DELETING',
  Failed: 'FAILED',
  Inactive: 'INACTIVE',
  Updating: 'UPDATING',
  Deleted: 'DELETED',
  NeedsAttention: 'NEEDS_ATTENTION',
} as const;
export type DeploymentState = (typeof DeploymentState)[keyof typeof DeploymentState];

export const JobState = {
  Creating: 'CREATING',
  Active: 'ACTIVE',
  Deleting: 'DELETING',
  Failed: 'FAILED',
  Deleted: 'DELETED',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

type Tags = Record<string, string>;
type DefinedTags = Record<string, Record<string, unknown>>;

/** A change that happens at `atMs`: `patch` is merged into the record then. */
export interface Step<R> {
  atMs: number;
  patch: Partial<R>;
  /**
   * OCI Events announced when this step applies. Stored with the step, so a step is announced
   * exactly once however it is applied (timer or read), and after a restart too.
   */
  events?: DataScienceEventType[];
}

export interface Stepped<R> {
  id: string;
  lifecycleState: string;
  lifecycleDetails?: string;
  steps?: Step<R>[];
}

/**
 * Applies every due step in order; returns true when the record changed. A generalisation of
 * genai-core's single `transition` for lifecycles with several timed states (a job run's
 * ACCEPTED -> IN_PROGRESS -> SUCCEEDED). `onStep` sees each step right after its patch applied.
 */
export function applySteps<R extends Stepped<R>>(
  record: R,
  nowMs: number,
  onStep?: (step: Step<R>) => void,
): boolean {
  const steps = record.steps;
  if (!steps || steps.length === 0) return false;
  let changed = false;
  while (record.steps && record.steps.length > 0 && (record.steps[0] as Step<R>).atMs <= nowMs) {
    const step = record.steps.shift() as Step<R>;
    Object.assign(record, step.patch);
    changed = true;
    onStep?.(step);
  }
  if (record.steps && record.steps.length === 0) delete record.steps;
  return changed;
}

export interface ProjectRecord {
  id: string;
  displayName: string;
  description?: string;
  compartmentId: string;
  createdBy: string;
  timeCreated: string;
  lifecycleState: 'ACTIVE' | 'DELETING' | 'DELETED';
  freeformTags: Tags;
  definedTags: DefinedTags;
}

export interface JobRecord extends Stepped<JobRecord> {
  projectId: string;
  compartmentId: string;
  displayName: string;
  description?: string;
  createdBy: string;
  timeCreated: string;
  jobConfigurationDetails: Record<string, unknown>;
  jobInfrastructureConfigurationDetails: Record<string, unknown>;
  jobEnvironmentConfigurationDetails?: Record<string, unknown>;
  jobLogConfigurationDetails?: Record<string, unknown>;
  freeformTags: Tags;
  definedTags: DefinedTags;
}

export interface JobRunRecord extends Stepped<JobRunRecord> {
  projectId: string;
  compartmentId: string;
  jobId: string;
  displayName: string;
  createdBy: string;
  timeAccepted: string;
  timeStarted?: string;
  timeFinished?: string;
  jobConfigurationOverrideDetails: Record<string, unknown>;
  jobInfrastructureConfigurationDetails: Record<string, unknown>;
  jobEnvironmentConfigurationOverrideDetails?: Record<string, unknown>;
  jobInfrastructureConfigurationOverrideDetails?: Record<string, unknown>;
  jobLogConfigurationOverrideDetails?: Record<string, unknown>;
  freeformTags: Tags;
  definedTags: DefinedTags;
  /** Internal: the output model of an AQUA fine-tune (from AIP_SMC_FT_ARGUMENTS). */
  outputModelId?: string;
  /** Internal: the output model has been given its artifact. */
  outputRegistered?: boolean;
}

export interface ModelArtifact {
  timeCreated: string;
  contentLength: number;
  /**
   * `jobRun` when a fine-tuning job run produced it, `upload` for createModelArtifact, `seed` for
   * a model the service was seeded with.
   */
  source: 'jobRun' | 'upload' | 'seed';
  jobRunId?: string;
}

export interface ModelRecord {
  id: string;
  compartmentId: string;
  projectId: string;
  displayName: string;
  description?: string;
  lifecycleState: 'ACTIVE' | 'DELETED' | 'FAILED' | 'INACTIVE';
  lifecycleDetails?: string;
  timeCreated: string;
  createdBy: string;
  freeformTags: Tags;
  definedTags: DefinedTags;
  customMetadataList: Record<string, unknown>[];
  definedMetadataList: Record<string, unknown>[];
  inputSchema?: string;
  outputSchema?: string;
  modelVersionSetId?: string;
  modelVersionSetName?: string;
  versionId?: number;
  versionLabel?: string;
  category: 'USER';
  isModelByReference: boolean;
  /** Internal. */
  artifact?: ModelArtifact;
  /** Internal. */
  provenance?: Record<string, unknown>;
}

export interface VersionSetRecord {
  id: string;
  compartmentId: string;
  projectId: string;
  name: string;
  description: string;
  lifecycleState: 'ACTIVE' | 'DELETING' | 'DELETED' | 'FAILED';
  timeCreated: string;
  timeUpdated: string;
  createdBy: string;
  category: 'USER';
  freeformTags: Tags;
  definedTags: DefinedTags;
  /** Internal: the last version id handed out. */
  lastVersionId: number;
}

export interface DeploymentRecord extends Stepped<DeploymentRecord> {
  displayName: string;
  description?: string;
  projectId: string;
  compartmentId: string;
  createdBy: string;
  timeCreated: string;
  modelDeploymentConfigurationDetails: Record<string, unknown>;
  categoryLogDetails?: Record<string, unknown>;
  freeformTags: Tags;
  definedTags: DefinedTags;
  /** Internal: instances serving now (the instance pool's current size). */
  currentInstanceCount: number;
  /** Internal: the deployment answers predict while UPDATING (it served before the update). */
  servesWhileUpdating?: boolean;
}

export type WorkRequestEntity = 'modelDeployment' | 'job' | 'project';

export type WorkRequestRecord = StoredWorkRequest<WorkRequestEntity, 'entityType'>;

/** Data Science's work requests as oci-datascience's models and requests spell them. */
export const dataScienceWorkRequests: WorkRequestDialect<WorkRequestEntity, 'entityType'> = {
  ocidType: 'datascienceworkrequest',
  api: '/20190101',
  kindField: 'entityType',
  entities: {
    // Only a deployment's state decides its work requests; job and project work always succeeds.
    modelDeployment: {
      entityType: 'modelDeployment',
      uriSegment: 'modelDeployments',
      failureCode: 'WorkRequestFailed',
    },
    job: { entityType: 'job', uriSegment: 'jobs' },
    project: { entityType: 'project', uriSegment: 'projects' },
  },
  failedActionType: 'RELATED',
  percentBeforeResources: true,
  listFilters: { resourceId: 'entityId', id: 'id', operationType: 'operationType' },
  listSortBy: ['operationType', 'status', 'timeAccepted'],
  sortsErrorsAndLogs: false,
};

/**
 * The `WorkRequest` JSON at `nowMs`; `failure` is set when the entity ended FAILED. The service
 * itself goes through `WorkRequests` (work-requests.ts).
 */
export function workRequestView(
  wr: WorkRequestRecord,
  nowMs: number,
  failure: WorkRequestFailure | undefined,
): Record<string, unknown> {
  return sharedWorkRequestView(dataScienceWorkRequests, wr, nowMs, failure);
}

// ---- OCI Events (data-science/using/create-auto-events.htm) ----

/**
 * The Data Science event types the emulator emits. The names are those of the Console's event
 * type list ("Job Run - Create Begin" ...), read from a public copy of that list; the official
 * page's "Job and Job Run Event Types" and "Model Deployment Event Types" tables could not be
 * read, so they are NOT VERIFIED on docs.oracle.com.
 */
export const DataScienceEventType = {
  CreateJobRunBegin: 'com.oraclecloud.datascience.createjobrun.begin',
  CreateJobRunEnd: 'com.oraclecloud.datascience.createjobrun.end',
  CancelJobRunBegin: 'com.oraclecloud.datascience.canceljobrun.begin',
  CancelJobRunEnd: 'com.oraclecloud.datascience.canceljobrun.end',
  DeleteJobRun: 'com.oraclecloud.datascience.deletejobrun',
  CreateModelDeploymentBegin: 'com.oraclecloud.datascience.createmodeldeployment.begin',
  CreateModelDeploymentEnd: 'com.oraclecloud.datascience.createmodeldeployment.end',
  UpdateModelDeploymentBegin: 'com.oraclecloud.datascience.updatemodeldeployment.begin',
  UpdateModelDeploymentEnd: 'com.oraclecloud.datascience.updatemodeldeployment.end',
  ActivateModelDeploymentBegin: 'com.oraclecloud.datascience.activatemodeldeployment.begin',
  ActivateModelDeploymentEnd: 'com.oraclecloud.datascience.activatemodeldeployment.end',
  DeactivateModelDeploymentBegin: 'com.oraclecloud.datascience.deactivatemodeldeployment.begin',
  DeactivateModelDeploymentEnd: 'com.oraclecloud.datascience.deactivatemodeldeployment.end',
  DeleteModelDeploymentBegin: 'com.oraclecloud.datascience.deletemodeldeployment.begin',
  DeleteModelDeploymentEnd: 'com.oraclecloud.datascience.deletemodeldeployment.end',
} as const;
export type DataScienceEventType = (typeof DataScienceEventType)[keyof typeof DataScienceEventType];

/** Event types a resource announces at most once in its life (a run is created and ends once). */
export const onceEventTypes: ReadonlySet<string> = new Set<DataScienceEventType>([
  DataScienceEventType.CreateJobRunBegin,
  DataScienceEventType.CreateJobRunEnd,
  DataScienceEventType.DeleteJobRun,
  DataScienceEventType.CreateModelDeploymentBegin,
  DataScienceEventType.CreateModelDeploymentEnd,
]);

/** What an event says about the resource it concerns. */
export interface EventSubject {
  id: string;
  displayName: string;
  compartmentId: string;
  freeformTags: Tags;
  definedTags: DefinedTags;
}

/**
 * The event as the Data Science docs' example shows it: `source` `datascience`,
 * `eventTypeVersion` `2.0`, and `data` with the resource's display name, OCID and tags. The example
 * spells the tags `freeFormTags` (capital F), unlike Object Storage events' `freeformTags`; it has
 * no `additionalDetails`, so the lifecycle state is not in the event (read it from the API).
 */
export function dataScienceEvent(
  eventType: DataScienceEventType,
  r: EventSubject,
  compartmentName: string,
): Omit<CloudEvent, 'eventID' | 'eventTime' | 'cloudEventsVersion' | 'contentType'> {
  return {
    eventType,
    source: 'datascience',
    eventTypeVersion: '2.0',
    extensions: { compartmentId: r.compartmentId },
    data: {
      compartmentId: r.compartmentId,
      compartmentName,
      resourceName: r.displayName,
      resourceId: r.id,
      // The docs show a placeholder; the emulator has no availability domains.
      availabilityDomain: 'all',
      freeFormTags: { ...r.freeformTags },
      definedTags: structuredClone(r.definedTags),
    },
  };
}

// ---- AI Quick Actions conventions (facts sheet, section H) ----

/**
 * Splits a command line the way a POSIX shell would for plain words and single or double quotes
 * (enough for `OCI__LAUNCH_CMD`); no expansions.
 */
export function splitCommandLine(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (const ch of cmd) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** The value after `--name` (or `--name=value`) in a command line, if any. */
export function launchArg(cmd: string, name: string): string | undefined {
  const words = splitCommandLine(cmd);
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w === `--${name}`) return words[i + 1];
    if (w.startsWith(`--${name}=`)) return w.slice(name.length + 3);
  }
  return undefined;
}

/** The output model OCID AQUA names in `AIP_SMC_FT_ARGUMENTS`, if the variable is valid JSON. */
export function outputModelIdOf(env: Record<string, string>): string | undefined {
  const raw = env.AIP_SMC_FT_ARGUMENTS;
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw) as { outputModel?: { modelId?: unknown } };
    const id = parsed.outputModel?.modelId;
    return typeof id === 'string' && id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

export interface FailureRule {
  /** A training-data path containing this fails the run; null disables the rule. */
  failMarker: string | null;
  failJobRunDisplayNames: readonly string[];
  failJobIds: readonly string[];
}

export interface RunFacts {
  displayName: string;
  jobId: string;
  env: Record<string, string>;
  commandLineArguments?: string;
}

/** Why a job run will fail (its `lifecycleDetails`), or undefined when it will succeed. */
export function failureFor(run: RunFacts, rule: FailureRule): string | undefined {
  if (rule.failJobRunDisplayNames.includes(run.displayName)) {
    return 'Job run failed: the container exited with code 1 (emulated failure by display name)';
  }
  if (rule.failJobIds.includes(run.jobId)) {
    return 'Job run failed: the container exited with code 1 (emulated failure by job)';
  }
  if (rule.failMarker !== null) {
    const cmd = [run.env.OCI__LAUNCH_CMD ?? '', run.commandLineArguments ?? ''].join(' ');
    const data = launchArg(cmd, 'training_data');
    if (data !== undefined && data.includes(rule.failMarker)) {
      return `Job run failed: the container exited with code 1 (emulated failure: training data path contains ${rule.failMarker})`;
    }
  }
  return undefined;
}
