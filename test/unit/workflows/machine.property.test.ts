import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  decide,
  effectPrecondition,
  EndpointState,
  HISTORY_LIMIT,
  isTerminal,
  isWaiting,
  JobRunState,
  ModelDeploymentState,
  ModelState,
  RunState,
  type Observation,
  type Run,
} from '#workflows/machine.ts';
import { at, newRun } from './helpers.ts';

/** The transitions the design allows (docs/workflows.md), written out independently of decide. */
const allowed: Record<RunState, RunState[]> = {
  RECEIVED: ['VALIDATING', 'VALID', 'INVALID', 'CANCELLED', 'SUPERSEDED'],
  VALIDATING: ['VALID', 'INVALID', 'CANCELLED', 'SUPERSEDED'],
  VALID: ['VALID', 'TRAINING', 'TRAINING_FAILED', 'CANCELLED', 'SUPERSEDED'],
  TRAINING: ['TRAINING', 'TRAINED', 'TRAINING_FAILED', 'CANCELLED', 'SUPERSEDED'],
  TRAINED: ['TRAINED', 'DEPLOYING', 'DEPLOY_FAILED', 'CANCELLED', 'SUPERSEDED'],
  DEPLOYING: ['DEPLOYING', 'SERVING', 'DEPLOY_FAILED', 'CANCELLED', 'SUPERSEDED'],
  SERVING: ['SUPERSEDED'],
  INVALID: [],
  TRAINING_FAILED: [],
  DEPLOY_FAILED: [],
  SUPERSEDED: [],
  CANCELLED: [],
};

const id = (p: string) => fc.constantFrom(`${p}1`, `${p}2`);
const attempt = fc.integer({ min: 0, max: 3 });
const summary = fc.record({
  lines: fc.nat(100),
  validExamples: fc.nat(100),
  invalidLines: fc.nat(100),
});
const error = fc.record({ code: fc.constantFrom('E1', 'E2'), message: fc.constant('x') });
const details = fc.option(fc.constantFrom('d1', 'd2'), { nil: undefined });

/** Any observation, with ids from small pools so that some of them match the run. */
const anyObservation: fc.Arbitrary<Observation> = fc.oneof(
  fc.constant({ type: 'VALIDATION_STARTED' as const }),
  summary.map((s) => ({ type: 'DATASET_VALID' as const, summary: s })),
  summary.map((s) => ({ type: 'DATASET_INVALID' as const, summary: s })),
  fc.constant({ type: 'DATASET_MISSING' as const }),
  fc.record({
    type: fc.constant('TRAINING_STARTED' as const),
    attempt,
    modelId: fc.option(id('m'), { nil: undefined }),
    jobRunId: fc.option(id('j'), { nil: undefined }),
  }),
  fc.record({ type: fc.constant('TRAINING_START_BLOCKED' as const), attempt }),
  fc.record({
    type: fc.constant('TRAINING_START_FAILED' as const),
    attempt,
    error,
    retryable: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('MODEL_OBSERVED' as const),
    modelId: id('m'),
    lifecycleState: fc.constantFrom(...ModelState),
    lifecycleDetails: details,
  }),
  fc.record({
    type: fc.constant('JOB_RUN_OBSERVED' as const),
    jobRunId: id('j'),
    lifecycleState: fc.constantFrom(...JobRunState),
  }),
  fc.record({
    type: fc.constant('DEPLOYMENT_STARTED' as const),
    attempt,
    endpointId: fc.option(id('e'), { nil: undefined }),
    modelDeploymentId: fc.option(id('d'), { nil: undefined }),
  }),
  fc.record({ type: fc.constant('DEPLOYMENT_START_BLOCKED' as const), attempt }),
  fc.record({
    type: fc.constant('DEPLOYMENT_START_FAILED' as const),
    attempt,
    error,
    retryable: fc.boolean(),
  }),
  fc.record({
    type: fc.constant('ENDPOINT_OBSERVED' as const),
    endpointId: id('e'),
    lifecycleState: fc.constantFrom(...EndpointState),
  }),
  fc.record({
    type: fc.constant('MODEL_DEPLOYMENT_OBSERVED' as const),
    modelDeploymentId: id('d'),
    lifecycleState: fc.constantFrom(...ModelDeploymentState),
  }),
  fc.record({
    type: fc.constant('RESOURCE_NOT_FOUND' as const),
    resource: fc.constantFrom('MODEL', 'JOB_RUN', 'ENDPOINT', 'MODEL_DEPLOYMENT' as const),
    id: fc.constantFrom('m1', 'j1', 'e1', 'd1'),
  }),
  fc.record({
    type: fc.constant('SUPERSEDED' as const),
    byRunId: fc.constantFrom('rother', 'rnewer'),
  }),
  fc.record({
    type: fc.constant('CANCEL' as const),
    reason: fc.option(fc.constant('why'), { nil: undefined }),
  }),
);

/** Observations that fit the run's state now (successes weighted up): they push runs deep. */
function fitting(run: Run): Observation[] {
  const a = run.attempts;
  const { modelId = 'm1', jobRunId = 'j1', endpointId = 'e1', modelDeploymentId = 'd1' } = run.oci;
  const err = { code: 'E', message: 'm' };
  const ok = { lines: 40, validExamples: 40, invalidLines: 0 };
  const genai = run.backend === 'genai';
  switch (run.state) {
    case 'RECEIVED':
      return [
        { type: 'VALIDATION_STARTED' },
        { type: 'DATASET_VALID', summary: ok },
        { type: 'DATASET_MISSING' },
      ];
    case 'VALIDATING':
      return [
        { type: 'DATASET_VALID', summary: ok },
        { type: 'DATASET_VALID', summary: ok },
        { type: 'DATASET_INVALID', summary: ok },
      ];
    case 'VALID':
      return [
        { type: 'TRAINING_STARTED', attempt: a.train, modelId, jobRunId },
        { type: 'TRAINING_STARTED', attempt: a.train, modelId, jobRunId },
        { type: 'TRAINING_START_BLOCKED', attempt: a.train },
        { type: 'TRAINING_START_FAILED', attempt: a.train, error: err, retryable: true },
        { type: 'TRAINING_START_FAILED', attempt: a.train, error: err, retryable: false },
      ];
    case 'TRAINING':
      return genai
        ? [
            { type: 'MODEL_OBSERVED', modelId, lifecycleState: 'CREATING' },
            { type: 'MODEL_OBSERVED', modelId, lifecycleState: 'ACTIVE' },
            { type: 'MODEL_OBSERVED', modelId, lifecycleState: 'ACTIVE' },
            { type: 'MODEL_OBSERVED', modelId, lifecycleState: 'FAILED' },
          ]
        : [
            { type: 'JOB_RUN_OBSERVED', jobRunId, lifecycleState: 'NEEDS_ATTENTION' },
            { type: 'JOB_RUN_OBSERVED', jobRunId, lifecycleState: 'IN_PROGRESS' },
            { type: 'JOB_RUN_OBSERVED', jobRunId, lifecycleState: 'SUCCEEDED' },
            { type: 'JOB_RUN_OBSERVED', jobRunId, lifecycleState: 'SUCCEEDED' },
            { type: 'JOB_RUN_OBSERVED', jobRunId, lifecycleState: 'FAILED' },
          ];
    case 'TRAINED':
      return [
        { type: 'DEPLOYMENT_STARTED', attempt: a.deploy, endpointId, modelDeploymentId },
        { type: 'DEPLOYMENT_STARTED', attempt: a.deploy, endpointId, modelDeploymentId },
        { type: 'DEPLOYMENT_START_BLOCKED', attempt: a.deploy },
        { type: 'DEPLOYMENT_START_FAILED', attempt: a.deploy, error: err, retryable: true },
        { type: 'DEPLOYMENT_START_FAILED', attempt: a.deploy, error: err, retryable: false },
      ];
    case 'DEPLOYING':
      return genai
        ? [
            { type: 'ENDPOINT_OBSERVED', endpointId, lifecycleState: 'CREATING' },
            { type: 'ENDPOINT_OBSERVED', endpointId, lifecycleState: 'ACTIVE' },
            { type: 'ENDPOINT_OBSERVED', endpointId, lifecycleState: 'ACTIVE' },
            { type: 'ENDPOINT_OBSERVED', endpointId, lifecycleState: 'FAILED' },
          ]
        : [
            {
              type: 'MODEL_DEPLOYMENT_OBSERVED',
              modelDeploymentId,
              lifecycleState: 'NEEDS_ATTENTION',
            },
            { type: 'MODEL_DEPLOYMENT_OBSERVED', modelDeploymentId, lifecycleState: 'CREATING' },
            { type: 'MODEL_DEPLOYMENT_OBSERVED', modelDeploymentId, lifecycleState: 'ACTIVE' },
            { type: 'MODEL_DEPLOYMENT_OBSERVED', modelDeploymentId, lifecycleState: 'FAILED' },
          ];
    case 'SERVING':
      return [
        { type: 'ENDPOINT_OBSERVED', endpointId, lifecycleState: 'ACTIVE' },
        { type: 'SUPERSEDED', byRunId: 'rnewer' },
      ];
    default:
      return [{ type: 'CANCEL' }];
  }
}

type Step = { kind: 'any'; obs: Observation } | { kind: 'fit'; pick: number };

const steps = fc.array(
  fc.oneof(
    { weight: 1, arbitrary: anyObservation.map((obs): Step => ({ kind: 'any', obs })) },
    { weight: 5, arbitrary: fc.nat().map((pick): Step => ({ kind: 'fit', pick })) },
  ),
  { maxLength: 60 },
);

const backend = fc.constantFrom('genai' as const, 'datascience' as const);

interface Trace {
  before: Run;
  obs: Observation;
  after: Run;
  effects: ReturnType<typeof decide>['effects'];
  ignored?: string;
}

function run(b: 'genai' | 'datascience', retire: boolean, script: Step[]): Trace[] {
  let current = newRun(b, retire);
  return script.map((s, i) => {
    const options = fitting(current);
    const obs = s.kind === 'any' ? s.obs : options[s.pick % options.length]!;
    const d = decide(current, obs, at(i + 1));
    const t: Trace = { before: current, obs, after: d.run, effects: d.effects, ignored: d.ignored };
    current = d.run;
    return t;
  });
}

const params = { seed: 20260101, numRuns: 300 };

describe('run state machine properties', () => {
  test.prop([backend, fc.boolean(), steps], params)(
    'transitions follow the allowed edges; terminal states have none',
    (b, retire, script) => {
      for (const t of run(b, retire, script)) {
        if (t.after.state !== t.before.state || !t.ignored) {
          expect(allowed[t.before.state]).toContain(t.after.state);
        }
        if (isTerminal(t.before.state)) {
          expect(t.after).toBe(t.before);
          expect(t.effects).toEqual([]);
        }
      }
    },
  );

  test.prop([backend, fc.boolean(), steps], params)(
    'every run is terminal, resting (SERVING) or waiting on something nextAction names',
    (b, retire, script) => {
      for (const t of run(b, retire, script)) {
        const r = t.after;
        expect(isTerminal(r.state) || r.state === RunState.SERVING || isWaiting(r)).toBe(true);
      }
    },
  );

  test.prop([backend, fc.boolean(), steps], params)(
    'replaying an observation at once changes nothing and performs nothing',
    (b, retire, script) => {
      for (const [i, t] of run(b, retire, script).entries()) {
        const again = decide(t.after, t.obs, at(1000 + i));
        expect(again.run).toBe(t.after);
        expect(again.effects).toEqual([]);
        expect(again.ignored).toBeDefined();
      }
    },
  );

  test.prop([backend, fc.boolean(), steps], params)(
    'history is bounded and accounts for every change; ignored means untouched',
    (b, retire, script) => {
      let changes = 0;
      for (const t of run(b, retire, script)) {
        if (t.ignored) {
          expect(t.after).toBe(t.before);
          expect(t.effects).toEqual([]);
        } else {
          changes++;
          expect(t.after.history.at(-1)).toMatchObject({ from: t.before.state, to: t.after.state });
        }
        expect(t.after.history.length).toBeLessThanOrEqual(HISTORY_LIMIT);
        expect(t.after.history.length + t.after.historyDropped).toBe(changes);
        expect(t.after.version).toBe(0);
        expect(t.after.runId).toBe(t.before.runId);
      }
    },
  );

  test.prop([backend, fc.boolean(), steps], params)(
    "every effect's preconditions hold on the run decide returned",
    (b, retire, script) => {
      for (const t of run(b, retire, script)) {
        for (const e of t.effects)
          expect([e.type, effectPrecondition(t.after, e)]).toEqual([e.type, null]);
      }
    },
  );

  test.prop([backend, fc.boolean(), steps], params)(
    'a waiting flag only sits on states that wait, and ids match the state',
    (b, retire, script) => {
      for (const { after: r } of run(b, retire, script)) {
        if (r.waitingFor !== undefined)
          expect(['VALID', 'TRAINING', 'TRAINED', 'DEPLOYING']).toContain(r.state);
        if (['TRAINING', 'TRAINED', 'DEPLOYING', 'SERVING'].includes(r.state))
          expect(r.oci.modelId).toBeDefined();
        if (r.backend === 'datascience' && r.state === 'TRAINING')
          expect(r.oci.jobRunId).toBeDefined();
        if (['DEPLOYING', 'SERVING'].includes(r.state)) {
          expect(r.backend === 'genai' ? r.oci.endpointId : r.oci.modelDeploymentId).toBeDefined();
        }
      }
    },
  );

  test('the generated scripts reach every state and every waiting reason', () => {
    // A guard on the generators: the properties above mean little if scripts stay shallow.
    const seen = new Set<string>();
    for (const [b, retire, script] of fc.sample(fc.tuple(backend, fc.boolean(), steps), {
      seed: params.seed,
      numRuns: 300,
    })) {
      for (const t of run(b, retire, script)) {
        seen.add(t.after.state);
        if (t.after.waitingFor) seen.add(t.after.waitingFor);
      }
    }
    const wanted = [
      ...Object.values(RunState),
      'FINE_TUNING_CLUSTER',
      'HOSTING_CAPACITY',
      'OPERATOR_ATTENTION',
    ];
    expect(wanted.filter((s) => !seen.has(s))).toEqual([]);
  });
});
