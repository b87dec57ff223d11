/**
 * Data Science events drive a run through the real functions with no scheduled reconcile at all:
 * poll-status's schedule is set to once a year, so the only way a TRAINING run becomes TRAINED and
 * a DEPLOYING one SERVING is the emulator's job-run and model-deployment events, delivered by the
 * stack's `dacflow-datascience-events` rule to poll-status, which observes that run at once.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { localFunctionId } from '#local/stack.ts';
import { dataScienceEventTypes } from '#shared/wiring.ts';
import { datasetText, startDsE2eStack, waitFor, type DsE2eStack } from './datascience-stack.ts';

let e: DsE2eStack;

beforeAll(async () => {
  e = await startDsE2eStack({ seed: 11, pollCron: '0 0 1 1 *' });
}, 60_000);

afterAll(async () => e?.close());

test('a job run and a deployment move their run on by their events alone', async () => {
  const name = 'evented.jsonl';
  const etag = await e.upload(name, datasetText(20, name));
  const runId = e.runIdOf(name, etag);
  const serving = await waitFor(
    async () => {
      const run = await e.runs.get(runId);
      return run?.state === 'SERVING' ? run : undefined;
    },
    60_000,
    250,
  );
  const run = serving ?? (await e.runs.get(runId));
  expect(run?.state, JSON.stringify(run?.history.map((h) => h.to))).toBe('SERVING');

  // What Events delivered to poll-status: the job run's and the deployment's events, nothing else.
  const toPollStatus = e.stack.emulator
    .eventDeliveries()
    .filter((d) => d.target === localFunctionId('poll-status'));
  const types = new Set(toPollStatus.map((d) => d.eventType));
  expect(types).toContain('com.oraclecloud.datascience.createjobrun.end');
  expect(types).toContain('com.oraclecloud.datascience.createmodeldeployment.end');
  for (const t of types) expect(dataScienceEventTypes as readonly string[]).toContain(t);
  expect(toPollStatus.every((d) => d.outcome === 'delivered')).toBe(true);
  // And no scheduled pass ran: poll-status never logged a reconcile pass.
  const passes = e
    .logs()
    .filter((l) => l.function === 'poll-status' && l.line.includes('reconcile pass done'));
  expect(passes).toEqual([]);
}, 90_000);
