import { describe, expect, test } from 'vitest';
import {
  createRun,
  decide,
  HISTORY_LIMIT,
  isWaiting,
  MAX_RETRYABLE_FAILURES,
  nextAction,
  REDRIVE_GRACE_SEC,
  RunState,
  VALIDATION_STALE_SEC,
  runInputFor,
  type Observation,
  type Run,
} from '#workflows/machine.ts';
import { retryTokenFor, runIdFor } from '#workflows/run-id.ts';
import { at, dataset, drive, happyPath, last, newRun, summary, t0 } from './helpers.ts';

/** The run after feeding the first `n` happy-path observations. */
function after(n: number, backend: 'genai' | 'datascience' = 'genai', retire = true): Run {
  const obs = happyPath(backend).slice(0, n);
  return obs.length === 0 ? newRun(backend, retire) : last(drive(newRun(backend, retire), obs)).run;
}

const types = (r: { effects: { type: string }[] }) => r.effects.map((e) => e.type);

describe('createRun', () => {
  test('starts RECEIVED with a deterministic id and asks for validation', () => {
    const d = createRun({ workflow: 'bot', backend: 'genai', retireSuperseded: true, dataset }, t0);
    expect(d.run).toMatchObject({
      runId: runIdFor(dataset),
      state: 'RECEIVED',
      version: 0,
      history: [],
      historyDropped: 0,
      createdAt: t0.toISOString(),
      attempts: { train: 0, deploy: 0 },
    });
    expect(d.effects).toEqual([{ type: 'VALIDATE_DATASET' }]);
  });

  test('datascience runs always retire superseded deployments', () => {
    expect(newRun('datascience', false).retireSuperseded).toBe(true);
    expect(newRun('genai', false).retireSuperseded).toBe(false);
  });
});

test('runInputFor snapshots the workflow settings a run needs', () => {
  const input = runInputFor(
    {
      name: 'bot',
      backend: 'genai',
      genai: { endpoint: { retireSuperseded: false } },
    } as Parameters<typeof runInputFor>[0],
    dataset,
  );
  expect(input).toEqual({ workflow: 'bot', backend: 'genai', retireSuperseded: false, dataset });
});

describe('validation', () => {
  test('VALIDATION_STARTED moves RECEIVED to VALIDATING once', () => {
    const [d1, d2] = drive(newRun(), [
      { type: 'VALIDATION_STARTED' },
      { type: 'VALIDATION_STARTED' },
    ]);
    expect(d1!.run.state).toBe('VALIDATING');
    expect(d1!.run.history).toEqual([
      {
        at: at(1).toISOString(),
        from: 'RECEIVED',
        to: 'VALIDATING',
        observation: 'VALIDATION_STARTED',
      },
    ]);
    expect(d2!.ignored).toMatch(/VALIDATING/);
    expect(d2!.run).toBe(d1!.run);
  });

  test('a valid genai dataset writes the report and starts the fine-tune with attempt 0', () => {
    const d = last(drive(newRun(), happyPath('genai').slice(0, 2)));
    expect(d.run.state).toBe('VALID');
    expect(d.run.validation).toEqual(summary);
    const token = retryTokenFor(d.run.runId, 'train', 0);
    expect(d.effects).toEqual([
      { type: 'WRITE_REPORT', report: 'VALIDATION' },
      { type: 'START_FINETUNE', retryToken: token, attempt: 0 },
    ]);
    expect(d.run.retryTokens.train).toBe(token);
  });

  test('a valid datascience dataset starts a job run', () => {
    const d = last(drive(newRun('datascience'), [{ type: 'DATASET_VALID', summary }]));
    expect(types(d)).toEqual(['WRITE_REPORT', 'START_JOB_RUN']);
  });

  test('an invalid dataset ends INVALID with a report and a notification', () => {
    const bad = { lines: 40, validExamples: 10, invalidLines: 30 };
    const d = last(drive(newRun(), [{ type: 'DATASET_INVALID', summary: bad }]));
    expect(d.run.state).toBe('INVALID');
    expect(d.run.lastError?.code).toBe('DATASET_INVALID');
    expect(types(d)).toEqual(['WRITE_REPORT', 'NOTIFY']);
    expect(d.effects[1]).toMatchObject({ event: 'DATASET_INVALID', state: 'INVALID' });
  });

  test('a missing dataset ends INVALID without a validation report', () => {
    const d = last(drive(newRun(), [{ type: 'VALIDATION_STARTED' }, { type: 'DATASET_MISSING' }]));
    expect(d.run.state).toBe('INVALID');
    expect(d.run.lastError?.code).toBe('DATASET_MISSING');
    expect(types(d)).toEqual(['NOTIFY']);
  });

  test('a second verdict is ignored', () => {
    const d = last(drive(after(2), [{ type: 'DATASET_INVALID', summary }]));
    expect(d.ignored).toBeDefined();
    expect(d.run.state).toBe('VALID');
  });
});

describe('starting training', () => {
  test('the created model moves VALID to TRAINING and notifies', () => {
    const d = last(drive(after(2), [happyPath('genai')[2]!]));
    expect(d.run.state).toBe('TRAINING');
    expect(d.run.oci).toEqual({ modelId: 'm1', modelWorkRequestId: 'wr1' });
    expect(d.effects).toEqual([
      expect.objectContaining({ type: 'NOTIFY', event: 'TRAINING_STARTED', state: 'TRAINING' }),
    ]);
  });

  test('a start without ids, or for an attempt never issued, is ignored', () => {
    const run = after(2);
    expect(decide(run, { type: 'TRAINING_STARTED', attempt: 0 }, at(9)).ignored).toBeDefined();
    expect(
      decide(run, { type: 'TRAINING_STARTED', attempt: 1, modelId: 'm1' }, at(9)).ignored,
    ).toBeDefined();
    const ds = after(2, 'datascience');
    expect(
      decide(ds, { type: 'TRAINING_STARTED', attempt: 0, modelId: 'm1' }, at(9)).ignored,
    ).toMatch(/jobRunId/);
  });

  test('a busy fine-tuning cluster makes the run wait, with a new token for the next attempt', () => {
    const run = after(2);
    const d1 = decide(
      run,
      { type: 'TRAINING_START_BLOCKED', attempt: 0, detail: 'cluster busy' },
      at(10),
    );
    expect(d1.run).toMatchObject({
      state: 'VALID',
      waitingFor: 'FINE_TUNING_CLUSTER',
      attempts: { train: 1 },
    });
    expect(d1.run.retryTokens.train).toBe(retryTokenFor(run.runId, 'train', 1));
    expect(d1.effects).toEqual([expect.objectContaining({ type: 'NOTIFY', event: 'WAITING' })]);
    // The same answer again is stale; the next attempt's answer does not notify twice.
    expect(decide(d1.run, { type: 'TRAINING_START_BLOCKED', attempt: 0 }, at(11)).ignored).toMatch(
      /stale/,
    );
    const d2 = decide(d1.run, { type: 'TRAINING_START_BLOCKED', attempt: 1 }, at(12));
    expect(d2.run.attempts.train).toBe(2);
    expect(d2.effects).toEqual([]);
    // A success clears the wait.
    const d3 = decide(d2.run, { type: 'TRAINING_STARTED', attempt: 2, modelId: 'm9' }, at(13));
    expect(d3.run.state).toBe('TRAINING');
    expect(d3.run.waitingFor).toBeUndefined();
  });

  test('a non-retryable failure (quota, 4xx) ends TRAINING_FAILED', () => {
    const error = { code: 'LimitExceeded', message: 'dedicated-unit-llama2-70-count' };
    const d = decide(
      after(2),
      { type: 'TRAINING_START_FAILED', attempt: 0, error, retryable: false },
      at(10),
    );
    expect(d.run.state).toBe('TRAINING_FAILED');
    expect(d.run.lastError).toEqual(error);
    expect(d.effects).toEqual([
      expect.objectContaining({ type: 'NOTIFY', event: 'TRAINING_FAILED', error }),
      { type: 'WRITE_REPORT', report: 'RUN' },
    ]);
  });

  test(`retryable failures are retried, and the ${MAX_RETRYABLE_FAILURES}th ends the run`, () => {
    let run = after(2);
    const error = { code: 'TooManyRequests', message: '429' };
    for (let i = 0; i < MAX_RETRYABLE_FAILURES - 1; i++) {
      run = decide(
        run,
        { type: 'TRAINING_START_FAILED', attempt: i, error, retryable: true },
        at(10 + i),
      ).run;
      expect(run.state).toBe('VALID');
      expect(run.retryTokens.train).toBe(retryTokenFor(run.runId, 'train', i + 1));
    }
    const end = decide(
      run,
      {
        type: 'TRAINING_START_FAILED',
        attempt: MAX_RETRYABLE_FAILURES - 1,
        error,
        retryable: true,
      },
      at(99),
    );
    expect(end.run.state).toBe('TRAINING_FAILED');
    expect(end.run.failures.train).toBe(MAX_RETRYABLE_FAILURES);
  });
});

describe('training', () => {
  test('CREATING changes nothing; ACTIVE moves to TRAINED and creates the endpoint', () => {
    const run = after(3);
    expect(decide(run, happyPath('genai')[3]!, at(9)).ignored).toBe('still training');
    const d = decide(run, happyPath('genai')[4]!, at(10));
    expect(d.run.state).toBe('TRAINED');
    expect(d.effects).toEqual([
      expect.objectContaining({ type: 'NOTIFY', event: 'TRAINED' }),
      {
        type: 'CREATE_ENDPOINT',
        modelId: 'm1',
        retryToken: retryTokenFor(run.runId, 'deploy', 0),
        attempt: 0,
      },
    ]);
  });

  test.each(['FAILED', 'DELETED', 'DELETING'] as const)(
    'a %s model fails the run with its details',
    (s) => {
      const d = decide(
        after(3),
        {
          type: 'MODEL_OBSERVED',
          modelId: 'm1',
          lifecycleState: s,
          lifecycleDetails: 'loss diverged',
        },
        at(10),
      );
      expect(d.run.state).toBe('TRAINING_FAILED');
      expect(d.run.lastError).toEqual({ code: `MODEL_${s}`, message: 'loss diverged' });
    },
  );

  test('another model, or the model before TRAINING, is ignored', () => {
    expect(
      decide(after(3), { type: 'MODEL_OBSERVED', modelId: 'm2', lifecycleState: 'FAILED' }, at(9))
        .ignored,
    ).toBe('another model');
    expect(
      decide(after(2), { type: 'MODEL_OBSERVED', modelId: 'm1', lifecycleState: 'ACTIVE' }, at(9))
        .ignored,
    ).toBeDefined();
  });

  test('a model that is gone fails the run', () => {
    const d = decide(after(3), { type: 'RESOURCE_NOT_FOUND', resource: 'MODEL', id: 'm1' }, at(9));
    expect(d.run.state).toBe('TRAINING_FAILED');
    expect(d.run.lastError?.code).toBe('MODEL_NOT_FOUND');
    expect(
      decide(after(3), { type: 'RESOURCE_NOT_FOUND', resource: 'MODEL', id: 'm2' }, at(9)).ignored,
    ).toBeDefined();
  });

  test('a job run needing attention waits, and recovers', () => {
    const run = after(3, 'datascience');
    const d1 = decide(
      run,
      {
        type: 'JOB_RUN_OBSERVED',
        jobRunId: 'j1',
        lifecycleState: 'NEEDS_ATTENTION',
        lifecycleDetails: 'OOM',
      },
      at(10),
    );
    expect(d1.run).toMatchObject({ state: 'TRAINING', waitingFor: 'OPERATOR_ATTENTION' });
    expect(d1.effects).toEqual([expect.objectContaining({ event: 'WAITING' })]);
    const d2 = decide(
      d1.run,
      { type: 'JOB_RUN_OBSERVED', jobRunId: 'j1', lifecycleState: 'IN_PROGRESS' },
      at(11),
    );
    expect(d2.run.waitingFor).toBeUndefined();
    expect(d2.run.history.at(-1)?.note).toBe('attention cleared');
  });

  test.each(['FAILED', 'CANCELED', 'DELETED'] as const)('a %s job run fails the run', (s) => {
    const d = decide(
      after(3, 'datascience'),
      { type: 'JOB_RUN_OBSERVED', jobRunId: 'j1', lifecycleState: s },
      at(9),
    );
    expect(d.run.state).toBe('TRAINING_FAILED');
  });

  test('a succeeded job run creates the model deployment for AQUA’s output model', () => {
    const d = last(drive(newRun('datascience'), happyPath('datascience').slice(0, 5)));
    expect(d.run.state).toBe('TRAINED');
    expect(d.effects[1]).toMatchObject({
      type: 'CREATE_MODEL_DEPLOYMENT',
      modelId: 'm1',
      attempt: 0,
    });
  });

  test('observations of the other backend are ignored', () => {
    expect(
      decide(
        after(3),
        { type: 'JOB_RUN_OBSERVED', jobRunId: 'j1', lifecycleState: 'SUCCEEDED' },
        at(9),
      ).ignored,
    ).toBeDefined();
    expect(
      decide(
        after(3, 'datascience'),
        { type: 'MODEL_OBSERVED', modelId: 'm1', lifecycleState: 'ACTIVE' },
        at(9),
      ).ignored,
    ).toBeDefined();
  });
});

describe('deploying', () => {
  test('the created endpoint moves TRAINED to DEPLOYING', () => {
    const d = decide(after(5), happyPath('genai')[5]!, at(10));
    expect(d.run).toMatchObject({ state: 'DEPLOYING', oci: { modelId: 'm1', endpointId: 'e1' } });
    expect(d.effects).toEqual([]);
  });

  test('full hosting clusters make the run wait for capacity', () => {
    const d = decide(after(5), { type: 'DEPLOYMENT_START_BLOCKED', attempt: 0 }, at(10));
    expect(d.run).toMatchObject({
      state: 'TRAINED',
      waitingFor: 'HOSTING_CAPACITY',
      attempts: { deploy: 1 },
    });
    const a = nextAction(d.run, at(10));
    expect(a).toMatchObject({
      kind: 'REDRIVE',
      effect: { type: 'CREATE_ENDPOINT', attempt: 1 },
      due: false,
    });
  });

  test('a non-retryable create failure ends DEPLOY_FAILED', () => {
    const error = { code: 'InvalidParameter', message: 'bad cluster' };
    const d = decide(
      after(5),
      { type: 'DEPLOYMENT_START_FAILED', attempt: 0, error, retryable: false },
      at(10),
    );
    expect(d.run.state).toBe('DEPLOY_FAILED');
  });

  test('an ACTIVE endpoint serves, supersedes older runs and writes the run report', () => {
    const d = last(drive(newRun(), happyPath('genai')));
    expect(d.run.state).toBe('SERVING');
    expect(d.effects).toEqual([
      expect.objectContaining({ type: 'NOTIFY', event: 'SERVING' }),
      { type: 'SUPERSEDE_OLDER_RUNS', workflow: 'bot', runId: d.run.runId },
      { type: 'WRITE_REPORT', report: 'RUN' },
    ]);
  });

  test('a failed endpoint ends DEPLOY_FAILED', () => {
    const d = decide(
      after(6),
      { type: 'ENDPOINT_OBSERVED', endpointId: 'e1', lifecycleState: 'FAILED' },
      at(20),
    );
    expect(d.run.state).toBe('DEPLOY_FAILED');
    expect(d.run.lastError?.code).toBe('ENDPOINT_FAILED');
  });

  test('the datascience path ends SERVING through the model deployment', () => {
    const d = last(drive(newRun('datascience'), happyPath('datascience')));
    expect(d.run).toMatchObject({
      state: 'SERVING',
      oci: { modelDeploymentId: 'd1', jobRunId: 'j1' },
    });
  });
});

describe('supersede and cancel', () => {
  const serving = () => last(drive(newRun(), happyPath('genai'))).run;

  test('a serving run superseded by a newer one retires its endpoint', () => {
    const d = decide(serving(), { type: 'SUPERSEDED', byRunId: 'rnewer' }, at(100));
    expect(d.run).toMatchObject({ state: 'SUPERSEDED', supersededBy: 'rnewer' });
    expect(d.effects).toEqual([
      { type: 'RETIRE_ENDPOINT', endpointId: 'e1' },
      expect.objectContaining({ type: 'NOTIFY', event: 'SUPERSEDED' }),
      { type: 'WRITE_REPORT', report: 'RUN' },
    ]);
  });

  test('retireSuperseded: false keeps the endpoint', () => {
    const run = last(drive(newRun('genai', false), happyPath('genai'))).run;
    expect(types(decide(run, { type: 'SUPERSEDED', byRunId: 'rnewer' }, at(100)))).toEqual([
      'NOTIFY',
      'WRITE_REPORT',
    ]);
  });

  test('a run cannot supersede itself; a serving run ignores cancel', () => {
    const run = serving();
    expect(decide(run, { type: 'SUPERSEDED', byRunId: run.runId }, at(100)).ignored).toBeDefined();
    expect(decide(run, { type: 'CANCEL' }, at(100)).ignored).toBeDefined();
  });

  test('cancelling a training job run cancels it', () => {
    const d = decide(after(3, 'datascience'), { type: 'CANCEL', reason: 'operator' }, at(50));
    expect(d.run.state).toBe('CANCELLED');
    expect(d.run.history.at(-1)?.note).toBe('operator');
    expect(d.effects[0]).toEqual({ type: 'CANCEL_JOB_RUN', jobRunId: 'j1' });
  });

  test('cancelling a deploying run retires the endpoint being created', () => {
    const d = decide(after(6), { type: 'CANCEL' }, at(50));
    expect(types(d)).toEqual(['RETIRE_ENDPOINT', 'NOTIFY', 'WRITE_REPORT']);
  });
});

describe('robustness', () => {
  test.each(
    Object.values(RunState).filter((s) =>
      ['INVALID', 'TRAINING_FAILED', 'DEPLOY_FAILED', 'SUPERSEDED', 'CANCELLED'].includes(s),
    ),
  )('terminal %s ignores everything', (state) => {
    const run = { ...newRun(), state };
    for (const o of [
      ...happyPath('genai'),
      { type: 'CANCEL' } as const,
      { type: 'SUPERSEDED', byRunId: 'x' } as const,
    ]) {
      const d = decide(run, o, at(5));
      expect(d.run).toBe(run);
      expect(d.effects).toEqual([]);
    }
  });

  test('unknown or malformed observations are ignored, not thrown', () => {
    const run = newRun();
    expect(decide(run, { type: 'NOPE' } as unknown as Observation, at(1)).ignored).toMatch(
      /unknown/,
    );
    expect(decide(run, null as unknown as Observation, at(1)).ignored).toBeDefined();
  });

  test('decide never changes the version', () => {
    const run = { ...newRun(), version: 7 };
    for (const d of drive(run, happyPath('genai'))) expect(d.run.version).toBe(7);
  });

  test(`history keeps the last ${HISTORY_LIMIT} entries and counts the dropped`, () => {
    let run = after(3, 'datascience');
    const before = run.history.length;
    const n = 60;
    for (let i = 0; i < n; i++) {
      const s = i % 2 === 0 ? 'NEEDS_ATTENTION' : 'IN_PROGRESS';
      run = decide(
        run,
        { type: 'JOB_RUN_OBSERVED', jobRunId: 'j1', lifecycleState: s },
        at(100 + i),
      ).run;
    }
    expect(run.history).toHaveLength(HISTORY_LIMIT);
    expect(run.historyDropped).toBe(before + n - HISTORY_LIMIT);
    expect(run.history.at(-1)?.at).toBe(at(100 + n - 1).toISOString());
  });
});

describe('nextAction', () => {
  test('RECEIVED re-drives validation once it is stale', () => {
    const run = newRun();
    expect(nextAction(run, at(10))).toMatchObject({
      kind: 'REDRIVE',
      effect: { type: 'VALIDATE_DATASET' },
      due: false,
    });
    expect(nextAction(run, at(VALIDATION_STALE_SEC))).toMatchObject({ kind: 'REDRIVE', due: true });
  });

  test('VALID re-drives the pending start with the same token after the grace period', () => {
    const run = after(2);
    const a = nextAction(run, at(2 + REDRIVE_GRACE_SEC));
    expect(a).toEqual({
      kind: 'REDRIVE',
      effect: { type: 'START_FINETUNE', retryToken: run.retryTokens.train, attempt: 0 },
      notBefore: at(2 + REDRIVE_GRACE_SEC).toISOString(),
      due: true,
    });
  });

  test('TRAINING and DEPLOYING observe the resource the run waits on', () => {
    expect(nextAction(after(3), at(10))).toMatchObject({
      kind: 'OBSERVE',
      resource: 'MODEL',
      id: 'm1',
      due: true,
    });
    expect(nextAction(after(3, 'datascience'), at(10))).toMatchObject({
      resource: 'JOB_RUN',
      id: 'j1',
    });
    expect(nextAction(after(6), at(10))).toMatchObject({ resource: 'ENDPOINT', id: 'e1' });
    expect(nextAction(after(6, 'datascience'), at(10))).toMatchObject({
      resource: 'MODEL_DEPLOYMENT',
      id: 'd1',
    });
  });

  test('serving and terminal runs need nothing', () => {
    const serving = last(drive(newRun(), happyPath('genai'))).run;
    expect(nextAction(serving, at(1000)).kind).toBe('NONE');
    expect(isWaiting(serving)).toBe(false);
    const invalid = last(drive(newRun(), [{ type: 'DATASET_MISSING' }])).run;
    expect(nextAction(invalid, at(1000)).kind).toBe('NONE');
  });

  test('every state on the happy path before SERVING is waiting', () => {
    for (const d of drive(newRun(), happyPath('genai')).slice(0, -1))
      expect(isWaiting(d.run)).toBe(true);
  });
});
