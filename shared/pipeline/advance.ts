/**
 * Moving a run forward: one compare-and-set write of `decide`'s result, then its effects. A crash
 * between the two is harmless: the reconciler re-drives whatever the written state still needs.
 */
import {
  decide,
  type Decision,
  type Effect,
  type Observation,
  type Run,
} from '#workflows/machine.ts';
import { NoRetryConfigurationDetails } from 'oci-common';
import { errorMessage } from '#shared/errors.ts';
import { classifyOciError } from './errors.ts';
import type { PipelineDeps } from './deps.ts';
import { cancelJobRun, retireModelDeployment } from './datascience-retire.ts';
import { WorkStep, type WorkMessage } from './work.ts';

export interface Advanced {
  run: Run;
  /** Why nothing changed, when nothing did. */
  ignored?: string;
  effects: Effect[];
}

/** Feeds `observation` to the run's state machine, stores the result and performs its effects. */
export async function advance(
  deps: PipelineDeps,
  runId: string,
  observation: Observation,
): Promise<Advanced> {
  let decision: Decision | undefined;
  const run = await deps.runs.update(runId, (current) => {
    decision = decide(current, observation, deps.now());
    return decision.run;
  });
  if (!decision || decision.ignored !== undefined) {
    deps.log.debug('observation ignored', {
      runId,
      observation: observation.type,
      reason: decision?.ignored,
    });
    return { run, ignored: decision?.ignored ?? 'no decision', effects: [] };
  }
  deps.log.info('run advanced', { runId, observation: observation.type, state: run.state });
  await performEffects(deps, run, decision.effects);
  return { run, effects: decision.effects };
}

/**
 * Performs effects that need no answer: notifications, work messages for the next step, endpoint
 * retirement. A failure here is logged, not thrown: the run is already stored, and the reconciler
 * re-drives a lost work message.
 */
export async function performEffects(
  deps: PipelineDeps,
  run: Run,
  effects: readonly Effect[],
): Promise<void> {
  for (const effect of effects) {
    try {
      switch (effect.type) {
        case 'NOTIFY':
          await deps.notify(run, effect);
          break;
        case 'VALIDATE_DATASET':
          await publishWork(deps, {
            dacflow: 'work/v1',
            step: WorkStep.VALIDATE_DATASET,
            runId: run.runId,
            dataset: { ...run.dataset },
          });
          break;
        case 'START_FINETUNE':
        case 'START_JOB_RUN':
          await publishWork(deps, {
            dacflow: 'work/v1',
            step: WorkStep.START_FINETUNE,
            runId: run.runId,
          });
          break;
        case 'CREATE_ENDPOINT':
        case 'CREATE_MODEL_DEPLOYMENT':
          await publishWork(deps, {
            dacflow: 'work/v1',
            step: WorkStep.DEPLOY_ENDPOINT,
            runId: run.runId,
          });
          break;
        case 'RETIRE_ENDPOINT':
          await retireEndpoint(deps, effect.endpointId);
          break;
        case 'RETIRE_MODEL_DEPLOYMENT':
          await retireModelDeployment(deps, effect.modelDeploymentId);
          break;
        case 'CANCEL_JOB_RUN':
          await cancelJobRun(deps, effect.jobRunId);
          break;
        case 'SUPERSEDE_OLDER_RUNS':
          // Done by the reconciler's supersede pass (reconcile.ts), which already holds every
          // active run of the workflow; SERVING is only ever observed there.
          break;
        default:
          // WRITE_REPORT is done by the step that owns the report.
          deps.log.debug('effect not performed here', { runId: run.runId, effect: effect.type });
      }
    } catch (err) {
      deps.log.warn('effect failed; the reconciler will re-drive', {
        runId: run.runId,
        effect: effect.type,
        error: errorMessage(err),
      });
    }
  }
}

const topicFor = (deps: PipelineDeps, step: WorkMessage['step']): string =>
  step === WorkStep.VALIDATE_DATASET
    ? deps.topics.validateDataset
    : step === WorkStep.START_FINETUNE
      ? deps.topics.startFinetune
      : deps.topics.deployEndpoint;

export async function publishWork(deps: PipelineDeps, message: WorkMessage): Promise<void> {
  await deps.ons.publishMessage({
    topicId: topicFor(deps, message.step),
    messageDetails: { title: `dacflow ${message.step}`, body: JSON.stringify(message) },
  });
}

/**
 * Deletes a superseded run's endpoint. An endpoint already DELETING or DELETED is done: deleting it
 * again is a 409 IncorrectState, which the SDK's default retry would wait out for minutes.
 */
export async function retireEndpoint(deps: PipelineDeps, endpointId: string): Promise<void> {
  try {
    const { endpoint } = await deps.genai.getEndpoint({ endpointId });
    if (endpoint.lifecycleState === 'DELETING' || endpoint.lifecycleState === 'DELETED') return;
    await deps.genai.deleteEndpoint({
      endpointId,
      retryConfiguration: NoRetryConfigurationDetails,
    });
    deps.log.info('endpoint retired', { endpointId });
  } catch (err) {
    const f = classifyOciError(err);
    if (f.kind === 'NOT_FOUND' || f.kind === 'NOT_READY') return;
    throw err;
  }
}
