import {
  createRun,
  decide,
  type Decision,
  type Observation,
  type Run,
  type RunBackend,
} from '#workflows/machine.ts';

export const t0 = new Date('2026-01-01T00:00:00.000Z');

/** `t0` plus `sec` seconds. */
export function at(sec: number): Date {
  return new Date(t0.getTime() + sec * 1000);
}

export const dataset = {
  namespace: 'ns',
  bucket: 'data',
  object: 'datasets/bot/a.jsonl',
  etag: 'etag-1',
};

export function newRun(backend: RunBackend = 'genai', retireSuperseded = true): Run {
  return createRun({ workflow: 'bot', backend, retireSuperseded, dataset }, t0).run;
}

/** Feeds observations in order, one second apart; returns every decision. */
export function drive(run: Run, observations: Observation[], startSec = 1): Decision[] {
  const out: Decision[] = [];
  let current = run;
  observations.forEach((o, i) => {
    const d = decide(current, o, at(startSec + i));
    out.push(d);
    current = d.run;
  });
  return out;
}

export function last(ds: Decision[]): Decision {
  const d = ds[ds.length - 1];
  if (!d) throw new Error('no decisions');
  return d;
}

export const summary = { lines: 40, validExamples: 40, invalidLines: 0 };

/** The observations that take a run of `backend` straight to SERVING. */
export function happyPath(backend: RunBackend): Observation[] {
  return backend === 'genai'
    ? [
        { type: 'VALIDATION_STARTED' },
        { type: 'DATASET_VALID', summary },
        { type: 'TRAINING_STARTED', attempt: 0, modelId: 'm1', workRequestId: 'wr1' },
        { type: 'MODEL_OBSERVED', modelId: 'm1', lifecycleState: 'CREATING' },
        { type: 'MODEL_OBSERVED', modelId: 'm1', lifecycleState: 'ACTIVE' },
        { type: 'DEPLOYMENT_STARTED', attempt: 0, endpointId: 'e1' },
        { type: 'ENDPOINT_OBSERVED', endpointId: 'e1', lifecycleState: 'CREATING' },
        { type: 'ENDPOINT_OBSERVED', endpointId: 'e1', lifecycleState: 'ACTIVE' },
      ]
    : [
        { type: 'VALIDATION_STARTED' },
        { type: 'DATASET_VALID', summary },
        { type: 'TRAINING_STARTED', attempt: 0, modelId: 'm1', jobRunId: 'j1' },
        { type: 'JOB_RUN_OBSERVED', jobRunId: 'j1', lifecycleState: 'IN_PROGRESS' },
        { type: 'JOB_RUN_OBSERVED', jobRunId: 'j1', lifecycleState: 'SUCCEEDED' },
        { type: 'DEPLOYMENT_STARTED', attempt: 0, modelDeploymentId: 'd1' },
        { type: 'MODEL_DEPLOYMENT_OBSERVED', modelDeploymentId: 'd1', lifecycleState: 'ACTIVE' },
      ];
}
