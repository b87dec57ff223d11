/**
 * The Generative AI backend's steps: start the fine-tune (createModel on the fine-tuning cluster),
 * deploy the endpoint (createEndpoint on a hosting cluster with room), and observe both for the
 * reconciler. Every create carries the run's retry token for that attempt and a display name
 * derived from the run id, so a lost response can neither create a second resource nor lose the one
 * that was created.
 */
import { createHash } from 'node:crypto';
import type { models as genai } from 'oci-generativeai';
import { RunState, type Observation, type Run } from '#workflows/machine.ts';
import type { GenaiSection, Workflow } from '#workflows/schema.ts';
import { isOcid } from '#workflows/schema.ts';
import { errorMessage } from '#shared/errors.ts';
import { advance, retireEndpoint, type Advanced } from './advance.ts';
import { workflowNamed, type PipelineDeps } from './deps.ts';
import { classifyOciError } from './errors.ts';

export interface StepResult {
  runId: string;
  ignored?: string;
  state?: Run['state'];
}

/** Deterministic display names: the lookup key when a create's response was lost. */
export const modelDisplayName = (runId: string) => `dacflow-${runId}`;
export const endpointDisplayName = (runId: string) => `dacflow-${runId}`;

function compartmentOf(deps: PipelineDeps, section: GenaiSection): string {
  return section.compartmentId ?? deps.compartmentId;
}

async function loadRun(
  deps: PipelineDeps,
  runId: string,
  state: Run['state'],
): Promise<{ run: Run; workflow: Workflow; genai: GenaiSection } | StepResult> {
  const run = await deps.runs.get(runId);
  if (!run) return { runId, ignored: 'no such run' };
  if (run.state !== state) return { runId, ignored: `run is ${run.state}`, state: run.state };
  if (run.backend !== 'genai')
    return { runId, ignored: `run uses the ${run.backend} backend`, state: run.state };
  const workflow = workflowNamed(deps, run.workflow);
  if (!workflow?.genai)
    return { runId, ignored: `workflow ${run.workflow} is not configured here`, state: run.state };
  return { run, workflow, genai: workflow.genai };
}

const isStepResult = (x: object): x is StepResult => !('run' in x);

/** Resolves a base model display name (e.g. `meta.llama-3.3-70b-instruct`) to its OCID. */
async function baseModelId(
  deps: PipelineDeps,
  compartmentId: string,
  ref: string,
): Promise<string | undefined> {
  if (isOcid(ref)) return ref;
  const res = await deps.genai.listModels({
    compartmentId,
    displayName: ref,
    capability: ['FINE_TUNE'] as never,
  });
  return res.modelCollection.items.find((m) => m.lifecycleState === 'ACTIVE')?.id;
}

/** Resolves a cluster id or display name to the cluster (undefined when none exists). */
async function findCluster(
  deps: PipelineDeps,
  compartmentId: string,
  ref: string,
): Promise<genai.DedicatedAiCluster | undefined> {
  try {
    if (isOcid(ref))
      return (await deps.genai.getDedicatedAiCluster({ dedicatedAiClusterId: ref }))
        .dedicatedAiCluster;
    const res = await deps.genai.listDedicatedAiClusters({ compartmentId, displayName: ref });
    const summary = res.dedicatedAiClusterCollection.items.find(
      (c) => c.lifecycleState !== 'DELETED' && c.lifecycleState !== 'DELETING',
    );
    if (!summary) return undefined;
    return (await deps.genai.getDedicatedAiCluster({ dedicatedAiClusterId: summary.id }))
      .dedicatedAiCluster;
  } catch (err) {
    if (classifyOciError(err).kind === 'NOT_FOUND') return undefined;
    throw err;
  }
}

/** Runs `attempt` of a create, turning its outcome into the observation the machine expects. */
async function settle(
  deps: PipelineDeps,
  runId: string,
  observe: () => Promise<Observation>,
): Promise<Advanced> {
  return advance(deps, runId, await observe());
}

/** start-finetune: createModel for a VALID run. A cluster that is not ACTIVE is a wait, not a failure. */
export async function startFinetune(deps: PipelineDeps, runId: string): Promise<StepResult> {
  const loaded = await loadRun(deps, runId, RunState.VALID);
  if (isStepResult(loaded)) return loaded;
  const { run, workflow, genai: section } = loaded;
  const attempt = run.attempts.train;
  const retryToken = run.retryTokens.train;
  const compartmentId = compartmentOf(deps, section);
  const result = await settle(deps, runId, async (): Promise<Observation> => {
    try {
      if (attempt > 0) {
        // A re-drive: the earlier attempt may have created the model and lost the answer.
        const existing = await deps.genai.listModels({
          compartmentId,
          displayName: modelDisplayName(runId),
        });
        const found = existing.modelCollection.items.find(
          (m) => m.lifecycleState !== 'DELETED' && m.lifecycleState !== 'FAILED',
        );
        if (found) return { type: 'TRAINING_STARTED', attempt, modelId: found.id };
      }
      const cluster = await findCluster(deps, compartmentId, section.fineTuningCluster);
      if (!cluster) {
        return failed(
          attempt,
          'TRAINING_START_FAILED',
          'CLUSTER_NOT_FOUND',
          `fine-tuning cluster "${section.fineTuningCluster}" does not exist`,
          false,
        );
      }
      if (cluster.type !== 'FINE_TUNING') {
        return failed(
          attempt,
          'TRAINING_START_FAILED',
          'WRONG_CLUSTER_TYPE',
          `cluster ${cluster.id} is a ${cluster.type} cluster, not FINE_TUNING`,
          false,
        );
      }
      if (cluster.lifecycleState !== 'ACTIVE') {
        return {
          type: 'TRAINING_START_BLOCKED',
          attempt,
          detail: `fine-tuning cluster ${cluster.id} is ${cluster.lifecycleState}`,
        };
      }
      const baseId = await baseModelId(deps, compartmentId, section.baseModel);
      if (!baseId) {
        return failed(
          attempt,
          'TRAINING_START_FAILED',
          'BASE_MODEL_NOT_FOUND',
          `no ACTIVE base model "${section.baseModel}" supports fine-tuning`,
          false,
        );
      }
      const res = await deps.genai.createModel({
        createModelDetails: {
          compartmentId,
          baseModelId: baseId,
          displayName: modelDisplayName(runId),
          description: `dacflow workflow ${workflow.name}, dataset ${run.dataset.object}`,
          fineTuneDetails: {
            trainingDataset: {
              datasetType: 'OBJECT_STORAGE',
              namespaceName: run.dataset.namespace,
              bucketName: run.dataset.bucket,
              objectName: run.dataset.object,
            } as genai.ObjectStorageDataset,
            dedicatedAiClusterId: cluster.id,
            trainingConfig: { ...section.trainingConfig } as genai.TrainingConfig,
          },
          freeformTags: { dacflowRunId: runId, dacflowWorkflow: workflow.name },
        },
        ...(retryToken ? { opcRetryToken: retryToken } : {}),
      });
      return {
        type: 'TRAINING_STARTED',
        attempt,
        modelId: res.model.id,
        ...(res.opcWorkRequestId ? { workRequestId: res.opcWorkRequestId } : {}),
      };
    } catch (err) {
      const f = classifyOciError(err);
      if (f.kind === 'NOT_READY')
        return { type: 'TRAINING_START_BLOCKED', attempt, detail: f.message };
      return failed(attempt, 'TRAINING_START_FAILED', f.code, f.message, f.kind === 'TRANSIENT');
    }
  });
  return { runId, state: result.run.state, ...(result.ignored ? { ignored: result.ignored } : {}) };
}

function failed<T extends 'TRAINING_START_FAILED' | 'DEPLOYMENT_START_FAILED'>(
  attempt: number,
  type: T,
  code: string,
  message: string,
  retryable: boolean,
) {
  return { type, attempt, error: { code, message }, retryable } as Extract<
    Observation,
    { type: T }
  >;
}

/**
 * The service's "this hosting cluster has no room" rejection. OCI does not document its code (a
 * hosting cluster holds at most 50 endpoints, limitations.htm); LimitExceeded is its generic code.
 */
function isCapacityError(f: ReturnType<typeof classifyOciError>): boolean {
  return f.kind === 'REJECTED' && (f.code === 'LimitExceeded' || /capacity/i.test(f.message));
}

/**
 * A retry token per attempt and cluster: trying the next cluster after a definite "no room" must not
 * reuse a token OCI may have recorded for the rejected request.
 */
function tokenForCluster(token: string, clusterId: string): string {
  return `${token}-${createHash('sha256').update(clusterId).digest('hex').slice(0, 8)}`;
}

/** deploy-endpoint: createEndpoint for a TRAINED run on the first hosting cluster with room. */
export async function deployEndpoint(deps: PipelineDeps, runId: string): Promise<StepResult> {
  const loaded = await loadRun(deps, runId, RunState.TRAINED);
  if (isStepResult(loaded)) return loaded;
  const { run, workflow, genai: section } = loaded;
  const attempt = run.attempts.deploy;
  const retryToken = run.retryTokens.deploy ?? `dacflow-${runId}-deploy-${attempt}`;
  const modelId = run.oci.modelId;
  const compartmentId = compartmentOf(deps, section);
  if (!modelId) return { runId, ignored: 'TRAINED run has no model id', state: run.state };
  let created: string | undefined;
  const result = await settle(deps, runId, async (): Promise<Observation> => {
    try {
      if (attempt > 0) {
        const existing = await deps.genai.listEndpoints({
          compartmentId,
          displayName: endpointDisplayName(runId),
        });
        const found = existing.endpointCollection.items.find(
          (e) =>
            e.lifecycleState !== 'DELETED' &&
            e.lifecycleState !== 'DELETING' &&
            e.lifecycleState !== 'FAILED',
        );
        if (found) return { type: 'DEPLOYMENT_STARTED', attempt, endpointId: found.id };
      }
      const notes: string[] = [];
      for (const ref of section.hostingClusters) {
        const cluster = await findCluster(deps, compartmentId, ref);
        if (!cluster) {
          notes.push(`${ref}: not found`);
          continue;
        }
        const capacity = cluster.capacity as genai.DedicatedAiClusterHostingCapacity | undefined;
        if (cluster.type !== 'HOSTING' || cluster.lifecycleState !== 'ACTIVE') {
          notes.push(`${ref}: ${cluster.type} ${cluster.lifecycleState}`);
          continue;
        }
        if (
          capacity &&
          (capacity.usedEndpointCapacity ?? 0) >= (capacity.totalEndpointCapacity ?? Infinity)
        ) {
          notes.push(
            `${ref}: full (${capacity.usedEndpointCapacity}/${capacity.totalEndpointCapacity} endpoints)`,
          );
          continue;
        }
        try {
          const res = await deps.genai.createEndpoint({
            createEndpointDetails: {
              compartmentId,
              modelId,
              dedicatedAiClusterId: cluster.id,
              displayName: endpointDisplayName(runId),
              description: `dacflow workflow ${workflow.name}, dataset ${run.dataset.object}`,
              contentModerationConfig: {
                ...section.endpoint.contentModeration,
              } as genai.ContentModerationConfig,
              freeformTags: { dacflowRunId: runId, dacflowWorkflow: workflow.name },
            },
            opcRetryToken: tokenForCluster(retryToken, cluster.id),
          });
          created = res.endpoint.id;
          return { type: 'DEPLOYMENT_STARTED', attempt, endpointId: res.endpoint.id };
        } catch (err) {
          const f = classifyOciError(err);
          if (isCapacityError(f)) {
            notes.push(`${ref}: full`);
            continue;
          }
          throw err;
        }
      }
      return {
        type: 'DEPLOYMENT_START_BLOCKED',
        attempt,
        detail: `no hosting cluster has room: ${notes.join('; ')}`,
      };
    } catch (err) {
      const f = classifyOciError(err);
      if (f.kind === 'NOT_READY')
        return { type: 'DEPLOYMENT_START_BLOCKED', attempt, detail: f.message };
      return failed(attempt, 'DEPLOYMENT_START_FAILED', f.code, f.message, f.kind === 'TRANSIENT');
    }
  });
  await retireLostEndpoint(deps, created, result.run);
  return { runId, state: result.run.state, ...(result.ignored ? { ignored: result.ignored } : {}) };
}

/**
 * Two deliveries of one deploy message can both pass the TRAINED check; when a hosting cluster
 * fills between their capacity checks they pick different clusters, and the per-cluster retry
 * tokens then make two endpoints (the e2e storm found two in 200 runs). The run keeps the one
 * recorded first; the other call deletes its own. Best effort: a failed delete is logged.
 */
async function retireLostEndpoint(
  deps: PipelineDeps,
  endpointId: string | undefined,
  run: Run,
): Promise<void> {
  if (endpointId === undefined || run.oci.endpointId === endpointId) return;
  deps.log.warn('endpoint of a losing duplicate deploy; deleting it', {
    runId: run.runId,
    endpointId,
    kept: run.oci.endpointId,
  });
  try {
    await retireEndpoint(deps, endpointId);
  } catch (err) {
    deps.log.error('duplicate endpoint not deleted', {
      runId: run.runId,
      endpointId,
      error: errorMessage(err),
    });
  }
}

/** The reconciler's look at a run's model or endpoint, as an observation. */
export async function observeGenAi(
  deps: PipelineDeps,
  run: Run,
  resource: 'MODEL' | 'ENDPOINT',
  id: string,
): Promise<Observation> {
  try {
    if (resource === 'MODEL') {
      const { model } = await deps.genai.getModel({ modelId: id });
      return {
        type: 'MODEL_OBSERVED',
        modelId: id,
        lifecycleState: model.lifecycleState as Extract<
          Observation,
          { type: 'MODEL_OBSERVED' }
        >['lifecycleState'],
        ...(model.lifecycleDetails ? { lifecycleDetails: model.lifecycleDetails } : {}),
      };
    }
    const { endpoint } = await deps.genai.getEndpoint({ endpointId: id });
    return {
      type: 'ENDPOINT_OBSERVED',
      endpointId: id,
      lifecycleState: endpoint.lifecycleState as Extract<
        Observation,
        { type: 'ENDPOINT_OBSERVED' }
      >['lifecycleState'],
      ...(endpoint.lifecycleDetails ? { lifecycleDetails: endpoint.lifecycleDetails } : {}),
    };
  } catch (err) {
    if (classifyOciError(err).kind === 'NOT_FOUND')
      return { type: 'RESOURCE_NOT_FOUND', resource, id };
    throw err;
  }
}
