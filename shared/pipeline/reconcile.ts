/**
 * The reconciler (run by the scheduled poll-status function). GenAI emits no events, and Events and
 * Notifications deliveries can be lost, so every tick:
 * 1. repairs dropped object events: dataset objects under a workflow prefix, modified within the
 *    repair window, that have no run get a validate-dataset work message;
 * 2. looks at every active run (`nextAction`): observes the model or endpoint it waits on, or
 *    re-drives the step whose trigger was lost (same retry token, so a re-drive is safe);
 * 3. supersedes older runs of a dataset name once a newer run of it is SERVING, retiring their
 *    endpoints first, so a dataset name never ends with two endpoints by accident.
 */
import { isDatasetObject } from '#shared/wiring.ts';
import { errorMessage } from '#shared/errors.ts';
import { mapLimit } from '#shared/state/runs.ts';
import { nextAction, RunState, isTerminal, type Run } from '#workflows/machine.ts';
import { runIdFor } from '#workflows/run-id.ts';
import { advance, publishWork, retireEndpoint } from './advance.ts';
import { workflowNamed, type PipelineDeps } from './deps.ts';
import { deployEndpoint, observeGenAi, startFinetune } from './genai.ts';
import { deployModel, reconcileDataScience, startJobRun } from './datascience.ts';
import { retireModelDeployment } from './datascience-retire.ts';
import { WorkStep } from './work.ts';

export interface ReconcileOptions {
  /** Runs handled in parallel (OCI calls in flight); the SDK retries 429s. */
  concurrency?: number;
  /** Dataset objects modified longer ago than this without a run are left alone. */
  repairWindowSec?: number;
  /** Stops starting new work when aborted (the function's deadline). */
  signal?: AbortSignal;
  /** The run ids the store holds (for the repair pass); read from the store by default. */
  knownRunIds?: () => Promise<Set<string>>;
}

export interface ReconcileSummary {
  activeRuns: number;
  observed: number;
  redriven: number;
  advanced: number;
  superseded: number;
  repairedEvents: number;
  errors: number;
  /** True when the deadline stopped the pass early; the next tick continues. */
  stoppedEarly: boolean;
}

/** What a Data Science event prompted. */
export interface ResourceEventResult {
  runId?: string;
  state?: Run['state'];
  /** Why nothing was observed, when nothing was. */
  ignored?: string;
}

/**
 * A job-run or model-deployment event: observe the run that resource belongs to now, rather than
 * at its next poll. The event is only a prompt: the state comes from the API (getJobRun /
 * getModelDeployment), so a duplicate, late or misunderstood event changes nothing, and a lost
 * one is made up by the scheduled pass.
 */
export async function observeResourceEvent(
  deps: PipelineDeps,
  event: { resourceId: string; runId: string | undefined },
): Promise<ResourceEventResult> {
  if (!event.runId) return { ignored: 'the resource has no dacflowRunId tag: not dacflow’s' };
  const run = await deps.runs.get(event.runId);
  if (!run) return { runId: event.runId, ignored: 'no such run' };
  const resource =
    run.state === RunState.TRAINING && run.oci.jobRunId === event.resourceId
      ? ('JOB_RUN' as const)
      : run.state === RunState.DEPLOYING && run.oci.modelDeploymentId === event.resourceId
        ? ('MODEL_DEPLOYMENT' as const)
        : undefined;
  if (!resource) {
    return {
      runId: run.runId,
      state: run.state,
      ignored: `run is ${run.state}: not waiting on this resource`,
    };
  }
  const r = await reconcileDataScience(deps, run, resource, event.resourceId);
  return { runId: run.runId, state: r.run.state, ...(r.ignored ? { ignored: r.ignored } : {}) };
}

/** Default repair window: a day, so deploying dacflow on a bucket does not train on old files. */
export const defaultRepairWindowSec = 86_400;

export async function reconcile(
  deps: PipelineDeps,
  options: ReconcileOptions = {},
): Promise<ReconcileSummary> {
  const concurrency = options.concurrency ?? 16;
  const summary: ReconcileSummary = {
    activeRuns: 0,
    observed: 0,
    redriven: 0,
    advanced: 0,
    superseded: 0,
    repairedEvents: 0,
    errors: 0,
    stoppedEarly: false,
  };
  const aborted = () => options.signal?.aborted === true;

  summary.repairedEvents = await repairDroppedEvents(deps, options);

  const scan = await deps.runs.scanActive();
  summary.activeRuns = scan.runs.length;
  const now = deps.now();
  const latest = await mapLimit(scan.runs, concurrency, async (run): Promise<Run> => {
    if (aborted()) {
      summary.stoppedEarly = true;
      return run;
    }
    try {
      return await reconcileRun(deps, run, now, summary);
    } catch (err) {
      summary.errors++;
      deps.log.warn('reconcile of run failed; retried next tick', {
        runId: run.runId,
        error: errorMessage(err),
      });
      return run;
    }
  });

  if (!aborted()) summary.superseded = await supersedeOlderRuns(deps, latest, concurrency);
  deps.log.info('reconcile pass done', { ...summary });
  return summary;
}

async function reconcileRun(
  deps: PipelineDeps,
  run: Run,
  now: Date,
  summary: ReconcileSummary,
): Promise<Run> {
  const action = nextAction(run, now);
  if (action.kind === 'NONE' || !action.due) return run;
  if (action.kind === 'OBSERVE') {
    if (action.resource === 'DATASET' || !action.id) return run;
    summary.observed++;
    const r =
      action.resource === 'JOB_RUN' || action.resource === 'MODEL_DEPLOYMENT'
        ? await reconcileDataScience(deps, run, action.resource, action.id)
        : await advance(deps, run.runId, await observeGenAi(deps, run, action.resource, action.id));
    if (!r.ignored) summary.advanced++;
    return r.run;
  }
  summary.redriven++;
  switch (action.effect.type) {
    case 'VALIDATE_DATASET':
      await publishWork(deps, {
        dacflow: 'work/v1',
        step: WorkStep.VALIDATE_DATASET,
        runId: run.runId,
        dataset: { ...run.dataset },
      });
      return run;
    case 'START_FINETUNE':
      await startFinetune(deps, run.runId);
      break;
    case 'CREATE_ENDPOINT':
      await deployEndpoint(deps, run.runId);
      break;
    case 'START_JOB_RUN':
      await startJobRun(deps, run.runId);
      break;
    case 'CREATE_MODEL_DEPLOYMENT':
      await deployModel(deps, run.runId);
      break;
    default:
      return run;
  }
  return (await deps.runs.get(run.runId)) ?? run;
}

/** Dataset objects with no run: their object event was lost. */
async function repairDroppedEvents(deps: PipelineDeps, options: ReconcileOptions): Promise<number> {
  const windowMs = (options.repairWindowSec ?? defaultRepairWindowSec) * 1000;
  const cutoff = deps.now().getTime() - windowMs;
  const known = await (options.knownRunIds ?? (() => listRunIds(deps)))();
  let repaired = 0;
  // Datasets live in the tenancy's one Object Storage namespace, the state store's too.
  const namespace = deps.namespace;
  for (const workflow of deps.workflows) {
    let start: string | undefined;
    do {
      const res = await deps.objects.listObjects({
        namespaceName: namespace,
        bucketName: workflow.trigger.bucket,
        prefix: workflow.trigger.prefix,
        fields: 'name,etag,timeModified',
        ...(start ? { start } : {}),
      });
      for (const o of res.listObjects.objects) {
        if (!o.etag || !isDatasetObject(workflow.trigger, workflow.trigger.bucket, o.name))
          continue;
        const modified = o.timeModified ? new Date(o.timeModified).getTime() : Number.NaN;
        if (!(modified >= cutoff)) continue;
        const dataset = {
          namespace,
          bucket: workflow.trigger.bucket,
          object: o.name,
          etag: o.etag,
        };
        if (known.has(runIdFor(dataset))) continue;
        await publishWork(deps, { dacflow: 'work/v1', step: WorkStep.VALIDATE_DATASET, dataset });
        repaired++;
      }
      start = res.listObjects.nextStartWith;
    } while (start);
  }
  if (repaired > 0)
    deps.log.info('re-drove validation for datasets whose event was lost', { repaired });
  return repaired;
}

async function listRunIds(deps: PipelineDeps): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const runId of deps.runs.runIds()) ids.add(runId);
  return ids;
}

/**
 * For each dataset name, the newest SERVING run ends every older run of that name. The older
 * endpoint is deleted before the run is marked SUPERSEDED, so a failed delete is retried next tick.
 */
async function supersedeOlderRuns(
  deps: PipelineDeps,
  runs: readonly Run[],
  concurrency: number,
): Promise<number> {
  const byName = new Map<string, Run[]>();
  for (const run of runs) {
    if (isTerminal(run.state)) continue;
    const key = JSON.stringify([run.dataset.namespace, run.dataset.bucket, run.dataset.object]);
    byName.set(key, [...(byName.get(key) ?? []), run]);
  }
  const work: { older: Run; by: Run }[] = [];
  for (const group of byName.values()) {
    const serving = group
      .filter((r) => r.state === RunState.SERVING)
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
    if (!serving) continue;
    for (const older of group) {
      if (
        older.runId !== serving.runId &&
        Date.parse(older.createdAt) <= Date.parse(serving.createdAt)
      )
        work.push({ older, by: serving });
    }
  }
  let count = 0;
  await mapLimit(work, concurrency, async ({ older, by }) => {
    try {
      const keep = workflowNamed(deps, older.workflow)?.genai?.endpoint.retireSuperseded === false;
      if (older.oci.endpointId && older.retireSuperseded && !keep)
        await retireEndpoint(deps, older.oci.endpointId);
      if (older.oci.modelDeploymentId && older.retireSuperseded)
        await retireModelDeployment(deps, older.oci.modelDeploymentId);
      const r = await advance(deps, older.runId, { type: 'SUPERSEDED', byRunId: by.runId });
      if (!r.ignored) count++;
    } catch (err) {
      deps.log.warn('supersede failed; retried next tick', {
        runId: older.runId,
        error: errorMessage(err),
      });
    }
  });
  return count;
}
