/**
 * The start-finetune and deploy-endpoint work messages name a run, not a backend: these pick the
 * run's backend (snapshotted at creation, so a run finishes on the path it started on).
 */
import { startJobRun, deployModel } from './datascience.ts';
import type { PipelineDeps } from './deps.ts';
import { deployEndpoint, startFinetune, type StepResult } from './genai.ts';

/** start-finetune: createModel (genai) or an AQUA-style job run (datascience). */
export async function startTraining(deps: PipelineDeps, runId: string): Promise<StepResult> {
  const run = await deps.runs.get(runId);
  return run?.backend === 'datascience' ? startJobRun(deps, runId) : startFinetune(deps, runId);
}

/** deploy-endpoint: createEndpoint (genai) or a model deployment (datascience). */
export async function startDeployment(deps: PipelineDeps, runId: string): Promise<StepResult> {
  const run = await deps.runs.get(runId);
  return run?.backend === 'datascience' ? deployModel(deps, runId) : deployEndpoint(deps, runId);
}
