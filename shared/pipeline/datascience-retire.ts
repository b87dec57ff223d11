/**
 * Ending what a Data Science run made: delete a superseded or cancelled run's model deployment,
 * cancel a job run still training. Both are idempotent: a resource already gone, or already on its
 * way out, counts as done.
 */
import { NoRetryConfigurationDetails } from 'oci-common';
import type { DataSciencePort, PipelineDeps } from './deps.ts';
import { classifyOciError, PipelineError } from './errors.ts';

/** The Data Science client, or a clear error when this deployment has none wired. */
export function dataScienceOf(deps: PipelineDeps): DataSciencePort {
  if (!deps.datascience) {
    throw new PipelineError(
      'no Data Science client is configured (no workflow uses the datascience backend here)',
      'DATASCIENCE_NOT_CONFIGURED',
      false,
    );
  }
  return deps.datascience;
}

/**
 * Deletes a model deployment. One already DELETING or DELETED is done: deleting again is a 409
 * IncorrectState, which the SDK's default retry would wait out for minutes.
 */
export async function retireModelDeployment(
  deps: PipelineDeps,
  modelDeploymentId: string,
): Promise<void> {
  const ds = dataScienceOf(deps);
  try {
    const { modelDeployment } = await ds.getModelDeployment({ modelDeploymentId });
    const state = modelDeployment.lifecycleState;
    if (state === 'DELETING' || state === 'DELETED') return;
    await ds.deleteModelDeployment({
      modelDeploymentId,
      retryConfiguration: NoRetryConfigurationDetails,
    });
    deps.log.info('model deployment retired', { modelDeploymentId });
  } catch (err) {
    const f = classifyOciError(err);
    if (f.kind === 'NOT_FOUND' || f.kind === 'NOT_READY') return;
    throw err;
  }
}

const finishedJobRun = new Set(['SUCCEEDED', 'FAILED', 'CANCELING', 'CANCELED', 'DELETED']);

/** Cancels a job run that has not finished (a superseded or cancelled run stops paying for GPUs). */
export async function cancelJobRun(deps: PipelineDeps, jobRunId: string): Promise<void> {
  const ds = dataScienceOf(deps);
  try {
    const { jobRun } = await ds.getJobRun({ jobRunId });
    if (finishedJobRun.has(jobRun.lifecycleState)) return;
    await ds.cancelJobRun({ jobRunId, retryConfiguration: NoRetryConfigurationDetails });
    deps.log.info('job run cancelled', { jobRunId });
  } catch (err) {
    const f = classifyOciError(err);
    if (f.kind === 'NOT_FOUND' || f.kind === 'NOT_READY') return;
    throw err;
  }
}
