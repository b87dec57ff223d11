/**
 * The Data Science (AI Quick Actions) backend's steps: start an AQUA-style fine-tune (a job with
 * the service fine-tuning container, an output catalog model, a job run carrying
 * `AIP_SMC_FT_ARGUMENTS` and `OCI__LAUNCH_CMD`), deploy the output model (a model deployment with
 * the vLLM or TGI container), and observe both for the reconciler.
 *
 * Every create carries a deterministic retry token, and every per-run resource a display name
 * derived from the run id, so a lost response can neither create a second resource nor lose the
 * one that was created (the same rules as the GenAI path, genai.ts).
 */
import { NoRetryConfigurationDetails } from 'oci-common';
import type { models as ds } from 'oci-datascience';
import { RunState, type Observation, type Run } from '#workflows/machine.ts';
import type { DatascienceSection, Workflow } from '#workflows/schema.ts';
import { isOcid } from '#workflows/schema.ts';
import { advance, type Advanced } from './advance.ts';
import { workflowNamed, type DataSciencePort, type PipelineDeps } from './deps.ts';
import {
  defaultContainerImages,
  deploymentConfig,
  jobRetryToken,
  jobRunSpec,
  jobSpec,
  jobConfigHash,
  outputModelOf,
  outputModelRetryToken,
  predictUrlOf,
  runResourceName,
  samplePredictBody,
  type ContainerImages,
  type JobInputs,
} from './datascience-launch.ts';
import { dataScienceOf } from './datascience-retire.ts';
import { classifyOciError, type OciFailure } from './errors.ts';
import type { StepResult } from './genai.ts';

/** Knobs the wiring may set; the defaults are documented in docs/datascience.md. */
export interface DataScienceStepOptions {
  images?: Partial<ContainerImages>;
}

/** The workflow's own images over the step options' over AQUA's defaults. */
const imagesOf = (
  o: DataScienceStepOptions | undefined,
  s: DatascienceSection,
): ContainerImages => ({
  ...defaultContainerImages,
  ...o?.images,
  ...(s.trainingImage ? { finetune: s.trainingImage } : {}),
  ...(s.deployment.image ? { [s.deployment.container]: s.deployment.image } : {}),
});

const compartmentOf = (deps: PipelineDeps, s: DatascienceSection): string =>
  s.compartmentId ?? deps.compartmentId;

interface Loaded {
  run: Run;
  workflow: Workflow;
  section: DatascienceSection;
  client: DataSciencePort;
}

async function loadRun(
  deps: PipelineDeps,
  runId: string,
  state: Run['state'],
): Promise<Loaded | StepResult> {
  const run = await deps.runs.get(runId);
  if (!run) return { runId, ignored: 'no such run' };
  if (run.state !== state) return { runId, ignored: `run is ${run.state}`, state: run.state };
  if (run.backend !== 'datascience')
    return { runId, ignored: `run uses the ${run.backend} backend`, state: run.state };
  const workflow = workflowNamed(deps, run.workflow);
  if (!workflow?.datascience)
    return { runId, ignored: `workflow ${run.workflow} is not configured here`, state: run.state };
  return { run, workflow, section: workflow.datascience, client: dataScienceOf(deps) };
}

const isStepResult = (x: object): x is StepResult => !('run' in x);

const stepResult = (runId: string, r: Advanced): StepResult => ({
  runId,
  state: r.run.state,
  ...(r.ignored ? { ignored: r.ignored } : {}),
});

function trainFailed(attempt: number, code: string, message: string, retryable: boolean) {
  return {
    type: 'TRAINING_START_FAILED',
    attempt,
    error: { code, message },
    retryable,
  } as const satisfies Observation;
}

function deployFailed(attempt: number, code: string, message: string, retryable: boolean) {
  return {
    type: 'DEPLOYMENT_START_FAILED',
    attempt,
    error: { code, message },
    retryable,
  } as const satisfies Observation;
}

/** Thrown inside a step to end it with a definite, named failure. */
class StepFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

const deadJobRun = new Set(['FAILED', 'CANCELING', 'CANCELED', 'DELETED']);
const deadDeployment = new Set(['FAILED', 'DELETING', 'DELETED']);

// ---------------------------------------------------------------------------------------------
// Start

/**
 * AQUA writes the fine-tuned model to a versioned bucket (fine-tuning-tips.md); without
 * versioning the run would fail late, after GPU time, so it fails here, clearly and for good.
 */
async function checkOutputBucket(
  deps: PipelineDeps,
  namespace: string,
  bucketName: string,
): Promise<void> {
  try {
    const { bucket } = await deps.objects.getBucket({ namespaceName: namespace, bucketName });
    if (bucket.versioning !== 'Enabled') {
      throw new StepFailure(
        'OUTPUT_BUCKET_NOT_VERSIONED',
        `results bucket ${bucketName} must have object versioning enabled (it is ${bucket.versioning ?? 'Disabled'}); AQUA writes fine-tuned models only to versioned buckets`,
        false,
      );
    }
  } catch (err) {
    if (err instanceof StepFailure) throw err;
    if (classifyOciError(err).kind === 'NOT_FOUND') {
      throw new StepFailure(
        'OUTPUT_BUCKET_NOT_FOUND',
        `results bucket ${bucketName} does not exist in namespace ${namespace}`,
        false,
      );
    }
    throw err;
  }
}

/** The base model's OCID: given, or the ACTIVE catalog model of that display name. */
async function baseModelId(
  client: DataSciencePort,
  compartmentId: string,
  section: DatascienceSection,
): Promise<string> {
  if (isOcid(section.baseModel)) return section.baseModel;
  const res = await client.listModels({
    compartmentId,
    displayName: section.baseModel,
    lifecycleState: 'ACTIVE' as ds.ModelLifecycleState,
  });
  const found = res.items[0];
  if (!found) {
    throw new StepFailure(
      'BASE_MODEL_NOT_FOUND',
      `no ACTIVE catalog model "${section.baseModel}" in compartment ${compartmentId} (give a service model's OCID)`,
      false,
    );
  }
  return found.id;
}

/** The workflow's fine-tuning job for its current configuration, created once. */
async function ensureJob(client: DataSciencePort, inputs: JobInputs): Promise<string> {
  const spec = jobSpec(inputs);
  const existing = await client.listJobs({
    compartmentId: inputs.compartmentId,
    projectId: inputs.projectId,
    displayName: spec.displayName,
    lifecycleState: 'ACTIVE' as ds.JobLifecycleState,
  });
  // Oldest first: two jobs of one name can only come from token expiry; all later runs pick one.
  const oldest = [...existing.items].sort(
    (a, b) => new Date(a.timeCreated).getTime() - new Date(b.timeCreated).getTime(),
  )[0];
  if (oldest) return oldest.id;
  const res = await client.createJob({
    // The spec uses the SDK's field names and discriminators (datascience-launch.ts).
    createJobDetails: {
      projectId: inputs.projectId,
      compartmentId: inputs.compartmentId,
      ...spec,
    } as unknown as ds.CreateJobDetails,
    opcRetryToken: jobRetryToken(jobConfigHash(inputs)),
  });
  return res.job.id;
}

/** A job run of this run that an earlier attempt created and that is still alive. */
async function adoptableJobRun(
  client: DataSciencePort,
  compartmentId: string,
  runId: string,
): Promise<{ jobRunId: string; modelId: string } | undefined> {
  const res = await client.listJobRuns({ compartmentId, displayName: runResourceName(runId) });
  for (const summary of res.items) {
    if (deadJobRun.has(summary.lifecycleState)) continue;
    const { jobRun } = await client.getJobRun({ jobRunId: summary.id });
    const config = jobRun.jobConfigurationOverrideDetails as
      ds.DefaultJobConfigurationDetails | undefined;
    const modelId =
      outputModelOf(config?.environmentVariables) ?? jobRun.freeformTags?.dacflowOutputModelId;
    if (modelId) return { jobRunId: jobRun.id, modelId };
  }
  return undefined;
}

/** The run's output catalog model (AQUA creates it first, by reference, then trains into it). */
async function ensureOutputModel(
  client: DataSciencePort,
  input: {
    compartmentId: string;
    projectId: string;
    run: Run;
    workflow: string;
    baseModelId: string;
    trainToken: string;
  },
): Promise<string> {
  const name = runResourceName(input.run.runId);
  const existing = await client.listModels({
    compartmentId: input.compartmentId,
    projectId: input.projectId,
    displayName: name,
    lifecycleState: 'ACTIVE' as ds.ModelLifecycleState,
  });
  const found = existing.items[0];
  if (found) return found.id;
  const res = await client.createModel({
    createModelDetails: {
      compartmentId: input.compartmentId,
      projectId: input.projectId,
      displayName: name,
      description: `dacflow fine-tune of ${input.baseModelId} for workflow ${input.workflow}, run ${input.run.runId}`,
      freeformTags: { dacflowRunId: input.run.runId, dacflowWorkflow: input.workflow },
      customMetadataList: [
        { key: 'base_model_id', value: input.baseModelId, category: 'Other' },
        { key: 'dacflow_run_id', value: input.run.runId, category: 'Other' },
      ],
    },
    opcRetryToken: outputModelRetryToken(input.trainToken),
  });
  return res.model.id;
}

/**
 * AQUA records the job run as the output model's training provenance (`trainingId`). Best effort:
 * the run's own record already holds the link, so a failure here is logged, not fatal.
 */
async function recordProvenance(
  deps: PipelineDeps,
  client: DataSciencePort,
  modelId: string,
  jobRunId: string,
): Promise<void> {
  try {
    await client.createModelProvenance({
      modelId,
      createModelProvenanceDetails: { trainingId: jobRunId },
      retryConfiguration: NoRetryConfigurationDetails,
    });
  } catch (err) {
    deps.log.warn('could not record the model provenance', {
      modelId,
      jobRunId,
      code: classifyOciError(err).code,
    });
  }
}

/**
 * start-finetune for a datascience run (state VALID): check the results bucket, find or create the
 * job, create the output model, start the job run. A re-drive adopts what an earlier attempt made.
 */
export async function startJobRun(
  deps: PipelineDeps,
  runId: string,
  options?: DataScienceStepOptions,
): Promise<StepResult> {
  const loaded = await loadRun(deps, runId, RunState.VALID);
  if (isStepResult(loaded)) return loaded;
  const { run, workflow, section, client } = loaded;
  const attempt = run.attempts.train;
  const trainToken = run.retryTokens.train ?? `dacflow-${runId}-train-${attempt}`;
  const compartmentId = compartmentOf(deps, section);
  const images = imagesOf(options, section);

  const observation = async (): Promise<Observation> => {
    try {
      const adopted = await adoptableJobRun(client, compartmentId, runId);
      if (adopted) return { type: 'TRAINING_STARTED', attempt, ...adopted };

      await checkOutputBucket(deps, deps.namespace, section.outputBucket);
      const baseId = await baseModelId(client, compartmentId, section);
      const jobId = await ensureJob(client, {
        workflow: workflow.name,
        compartmentId,
        projectId: section.projectId,
        image: images.finetune,
        shape: section.shape,
        replicas: section.replicas,
        blockStorageGb: section.blockStorageGb,
        ...(section.subnetId ? { subnetId: section.subnetId } : {}),
        ...(section.logGroupId ? { logGroupId: section.logGroupId } : {}),
      });
      const modelId = await ensureOutputModel(client, {
        compartmentId,
        projectId: section.projectId,
        run,
        workflow: workflow.name,
        baseModelId: baseId,
        trainToken,
      });
      const spec = jobRunSpec({
        runId,
        workflow: workflow.name,
        dataset: run.dataset,
        outputBucket: section.outputBucket,
        baseModelId: baseId,
        outputModelId: modelId,
        training: section.training,
      });
      const res = await client.createJobRun({
        createJobRunDetails: {
          projectId: section.projectId,
          compartmentId,
          jobId,
          ...spec,
        } as ds.CreateJobRunDetails,
        opcRetryToken: trainToken,
      });
      deps.log.info('job run started', { runId, jobRunId: res.jobRun.id, modelId, jobId });
      await recordProvenance(deps, client, modelId, res.jobRun.id);
      return { type: 'TRAINING_STARTED', attempt, modelId, jobRunId: res.jobRun.id };
    } catch (err) {
      if (err instanceof StepFailure)
        return trainFailed(attempt, err.code, err.message, err.retryable);
      const f = classifyOciError(err);
      if (f.kind === 'NOT_READY')
        return { type: 'TRAINING_START_BLOCKED', attempt, detail: f.message };
      if (isCapacityError(f))
        return { type: 'TRAINING_START_BLOCKED', attempt, detail: `${f.code}: ${f.message}` };
      return trainFailed(attempt, f.code, f.message, f.kind === 'TRANSIENT');
    }
  };
  return stepResult(runId, await advance(deps, runId, await observation()));
}

/** Service limits or shape capacity: wait and re-drive, do not fail (machine: WaitingFor). */
function isCapacityError(f: OciFailure): boolean {
  return (
    f.kind === 'REJECTED' &&
    (f.code === 'LimitExceeded' || f.code === 'QuotaExceeded' || /capacity/i.test(f.message))
  );
}

// ---------------------------------------------------------------------------------------------
// Deploy

/**
 * deploy-endpoint for a datascience run (state TRAINED): a model deployment of the output model.
 * Adopts a live deployment of the run's display name first (a lost response, an expired token).
 */
export async function deployModel(
  deps: PipelineDeps,
  runId: string,
  options?: DataScienceStepOptions,
): Promise<StepResult> {
  const loaded = await loadRun(deps, runId, RunState.TRAINED);
  if (isStepResult(loaded)) return loaded;
  const { run, workflow, section, client } = loaded;
  const attempt = run.attempts.deploy;
  const retryToken = run.retryTokens.deploy ?? `dacflow-${runId}-deploy-${attempt}`;
  const modelId = run.oci.modelId;
  if (!modelId) return { runId, ignored: 'TRAINED run has no model id', state: run.state };
  const compartmentId = compartmentOf(deps, section);

  const observation = async (): Promise<Observation> => {
    try {
      const existing = await client.listModelDeployments({
        compartmentId,
        projectId: section.projectId,
        displayName: runResourceName(runId),
      });
      const found = existing.items.find((d) => !deadDeployment.has(d.lifecycleState));
      if (found) return { type: 'DEPLOYMENT_STARTED', attempt, modelDeploymentId: found.id };
      const res = await client.createModelDeployment({
        createModelDeploymentDetails: {
          projectId: section.projectId,
          compartmentId,
          displayName: runResourceName(runId),
          description: `dacflow workflow ${workflow.name}, run ${runId}`,
          modelDeploymentConfigurationDetails: deploymentConfig({
            modelId,
            deployment: section.deployment,
            images: imagesOf(options, section),
          }) as unknown as ds.SingleModelDeploymentConfigurationDetails,
          freeformTags: { dacflowRunId: runId, dacflowWorkflow: workflow.name },
        },
        opcRetryToken: retryToken,
      });
      deps.log.info('model deployment started', {
        runId,
        modelDeploymentId: res.modelDeployment.id,
      });
      return {
        type: 'DEPLOYMENT_STARTED',
        attempt,
        modelDeploymentId: res.modelDeployment.id,
      };
    } catch (err) {
      const f = classifyOciError(err);
      if (f.kind === 'NOT_READY' || isCapacityError(f))
        return { type: 'DEPLOYMENT_START_BLOCKED', attempt, detail: `${f.code}: ${f.message}` };
      return deployFailed(attempt, f.code, f.message, f.kind === 'TRANSIENT');
    }
  };
  return stepResult(runId, await advance(deps, runId, await observation()));
}

// ---------------------------------------------------------------------------------------------
// Observe (the reconciler)

export interface DataScienceObservation {
  observation: Observation;
  /** The deployment's URL, when the observation is of a model deployment. */
  modelDeploymentUrl?: string;
}

/** The reconciler's look at a run's job run or model deployment. */
export async function observeDataScience(
  deps: PipelineDeps,
  resource: 'JOB_RUN' | 'MODEL_DEPLOYMENT',
  id: string,
): Promise<DataScienceObservation> {
  const client = dataScienceOf(deps);
  try {
    if (resource === 'JOB_RUN') {
      const { jobRun } = await client.getJobRun({ jobRunId: id });
      return {
        observation: {
          type: 'JOB_RUN_OBSERVED',
          jobRunId: id,
          lifecycleState: jobRun.lifecycleState as Extract<
            Observation,
            { type: 'JOB_RUN_OBSERVED' }
          >['lifecycleState'],
          ...(jobRun.lifecycleDetails ? { lifecycleDetails: jobRun.lifecycleDetails } : {}),
        },
      };
    }
    const { modelDeployment: md } = await client.getModelDeployment({ modelDeploymentId: id });
    return {
      observation: {
        type: 'MODEL_DEPLOYMENT_OBSERVED',
        modelDeploymentId: id,
        lifecycleState: md.lifecycleState as Extract<
          Observation,
          { type: 'MODEL_DEPLOYMENT_OBSERVED' }
        >['lifecycleState'],
        ...(md.lifecycleDetails ? { lifecycleDetails: md.lifecycleDetails } : {}),
      },
      ...(md.modelDeploymentUrl ? { modelDeploymentUrl: md.modelDeploymentUrl } : {}),
    };
  } catch (err) {
    if (classifyOciError(err).kind === 'NOT_FOUND')
      return { observation: { type: 'RESOURCE_NOT_FOUND', resource, id } };
    throw err;
  }
}

/**
 * Observes and advances. The SERVING notification carries the predict URL and a sample body as two
 * more entries of its `ids` (the notification's existing field, built from `run.oci`).
 */
export async function reconcileDataScience(
  deps: PipelineDeps,
  run: Run,
  resource: 'JOB_RUN' | 'MODEL_DEPLOYMENT',
  id: string,
): Promise<Advanced> {
  const { observation, modelDeploymentUrl } = await observeDataScience(deps, resource, id);
  if (!modelDeploymentUrl) return advance(deps, run.runId, observation);
  const withPredict: PipelineDeps = {
    ...deps,
    notify: (r, effect) =>
      deps.notify(
        effect.event === 'SERVING'
          ? ({ ...r, oci: { ...r.oci, ...predictIds(modelDeploymentUrl) } } as Run)
          : r,
        effect,
      ),
  };
  return advance(withPredict, run.runId, observation);
}

/** The notification entries that tell a person how to call the deployment (signed POST). */
export function predictIds(modelDeploymentUrl: string): {
  predictUrl: string;
  predictBody: string;
} {
  return { predictUrl: predictUrlOf(modelDeploymentUrl), predictBody: samplePredictBody() };
}
