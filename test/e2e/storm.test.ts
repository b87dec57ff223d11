/**
 * "Exactly once, measured": 200 dataset uploads through the SDK into the local stack (the real
 * bundled functions under the real FDK) while the emulator duplicates 30% of event deliveries,
 * drops 5% of them, and answers 10% of the functions' OCI calls with 429/500/503 (some 5xx after
 * the call took effect). Every upload must end as exactly one SERVING run with exactly one custom
 * model and one endpoint, no hosting cluster over its 50 endpoints, and no run lost.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mapLimit } from '#shared/state/runs.ts';
import type { Run } from '#workflows/machine.ts';
import {
  datasetText,
  functionOperations,
  startE2eStack,
  waitFor,
  type E2eStack,
} from './storm-stack.ts';

/** DACFLOW_STORM_UPLOADS: a smaller storm while debugging; the test is specified at 200. */
const uploads = Number(process.env.DACFLOW_STORM_UPLOADS ?? 200);
// One spare: a duplicate endpoint would show up as a count, not as a run stuck waiting.
const hostingClusters = Math.max(4, Math.ceil(uploads / 50)) + 1;
const endpointsPerCluster = 50;
/**
 * The whole storm, uploads to the last SERVING run. The target is about 3 minutes for the whole
 * file in CI on 2 cores; the budget leaves room for a loaded machine and the figure is printed.
 */
const stormBudgetMs = Number(process.env.DACFLOW_STORM_BUDGET_MS ?? 420_000);

let e: E2eStack;
let startedMs = 0;
let servedMs = 0;

beforeAll(async () => {
  e = await startE2eStack({
    hostingClusters,
    seed: 20_261_121,
    // OCI runs concurrent calls in separate containers: the figure is latency, not one queue.
    instances: { 'validate-dataset': 8, 'poll-status': 2, default: 6 },
    genai: {
      // 200 s and 30 s at OCI scale become 2 s and 0.3 s in fast mode.
      modelTrainingMs: 200_000,
      endpointCreateMs: 30_000,
      endpointsPerHostingCluster: endpointsPerCluster,
    },
    faults: {
      rate: 0.1,
      kinds: ['429', '500', '503'],
      postCommitRate: 0.3,
      duplicateEvents: 0.3,
      dropEvents: 0.05,
      operations: functionOperations,
    },
  });
}, 60_000);

afterAll(async () => e?.close());

describe(`a storm of ${uploads} uploads with duplicated, dropped and failing calls`, () => {
  test(
    'ends with every run SERVING exactly once',
    async () => {
      startedMs = Date.now();
      const names = Array.from(
        { length: uploads },
        (_, i) => `storm-${String(i).padStart(3, '0')}.jsonl`,
      );
      await mapLimit(names, 8, (name) => e.upload(name, datasetText(40, name)));
      const uploadedMs = Date.now() - startedMs;

      // Progress from the notifications (no extra OCI calls); the store is the judge below.
      const served = await waitFor(
        () => (e.notified('SERVING').size >= uploads ? true : undefined),
        stormBudgetMs,
        500,
      );
      let runs: Run[] = await e.allRuns();
      if (served) {
        // A lost SERVING notification must not hide a run that is not SERVING yet, nor the reverse.
        runs =
          (await waitFor(
            async () => {
              const all = await e.allRuns();
              return all.length >= uploads && all.every((r) => r.state === 'SERVING')
                ? all
                : undefined;
            },
            20_000,
            1_000,
          )) ?? (await e.allRuns());
      }
      servedMs = Date.now() - startedMs;
      // Checks below are the pipeline's, not the fault injector's.
      e.stack.emulator.setFaults(undefined);

      const byState = new Map<string, number>();
      for (const r of runs) byState.set(r.state, (byState.get(r.state) ?? 0) + 1);
      const deliveries = e.stack.emulator.eventDeliveries();
      const dropped = deliveries.filter((d) => d.outcome === 'dropped').length;
      const perEvent = new Map<string, number>();
      for (const d of deliveries.filter((x) => x.outcome !== 'dropped'))
        perEvent.set(d.eventID, (perEvent.get(d.eventID) ?? 0) + 1);
      const duplicated = [...perEvent.values()].filter((n) => n > 1).length;
      const faults = e.stack.emulator.injectedFaults();
      const liveModels = (await e.customModels()).filter((m) => m.lifecycleState !== 'FAILED');
      const liveEndpoints = (await e.endpoints()).filter(
        (x) => x.lifecycleState !== 'DELETED' && x.lifecycleState !== 'DELETING',
      );
      const duplicates = (names: string[]) =>
        [...new Set(names.filter((n, i) => names.indexOf(n) !== i))].join(',') || 'none';
      const lostRaces = e.logs().filter((l) => l.line.includes('losing duplicate deploy')).length;
      const calls = new Map<string, number>();
      for (const l of e.logs())
        if (l.line.includes('"msg":"call finished"'))
          calls.set(l.function, (calls.get(l.function) ?? 0) + 1);
      const postCommit = faults.filter((f) => f.postCommit).length;
      console.log(
        `storm: ${uploads} uploads in ${uploadedMs} ms, all SERVING after ${servedMs} ms; runs ${JSON.stringify(
          Object.fromEntries(byState),
        )}; event deliveries ${deliveries.length} (${duplicated} duplicated, ${dropped} dropped); ` +
          `${faults.length} injected faults (${postCommit} post-commit) on ${new Set(faults.map((f) => f.operation)).size} operations; ` +
          `function calls ${JSON.stringify(Object.fromEntries(calls))}; ` +
          `${liveModels.length} models (duplicated names: ${duplicates(liveModels.map((m) => m.displayName ?? ''))}), ` +
          `${liveEndpoints.length} endpoints (duplicated names: ${duplicates(liveEndpoints.map((x) => x.displayName ?? ''))}, ` +
          `${lostRaces} deleted after a lost deploy race)`,
      );

      // The storm really happened.
      expect(dropped).toBeGreaterThan(0);
      expect(duplicated).toBeGreaterThan(0);
      expect(postCommit).toBeGreaterThan(0);
      expect(new Set(faults.map((f) => f.kind))).toEqual(new Set(['429', '500', '503']));
      expect(faults.some((f) => f.operation === 'CreateModel')).toBe(true);
      expect(faults.some((f) => f.operation === 'CreateEndpoint')).toBe(true);

      // Exactly one run per upload, none lost (the reconciler repaired the dropped events).
      expect(runs).toHaveLength(uploads);
      expect(new Set(runs.map((r) => r.dataset.object)).size).toBe(uploads);
      expect(Object.fromEntries(byState)).toEqual({ SERVING: uploads });
      for (const r of runs) {
        expect(r.historyDropped, r.runId).toBe(0);
        expect(
          r.history.filter((h) => h.observation === 'TRAINING_STARTED'),
          r.runId,
        ).toHaveLength(1);
        expect(
          r.history.filter((h) => h.to === 'SERVING'),
          r.runId,
        ).toHaveLength(1);
      }

      // Exactly one custom model and one endpoint per run.
      const models = liveModels;
      expect(models).toHaveLength(uploads);
      expect(new Set(models.map((m) => m.id))).toEqual(new Set(runs.map((r) => r.oci.modelId)));
      expect(models.every((m) => m.lifecycleState === 'ACTIVE')).toBe(true);

      const endpoints = liveEndpoints;
      expect(endpoints).toHaveLength(uploads);
      expect(new Set(endpoints.map((x) => x.id))).toEqual(
        new Set(runs.map((r) => r.oci.endpointId)),
      );
      expect(endpoints.every((x) => x.lifecycleState === 'ACTIVE')).toBe(true);
      const perCluster = new Map<string, number>();
      for (const x of endpoints)
        perCluster.set(x.dedicatedAiClusterId, (perCluster.get(x.dedicatedAiClusterId) ?? 0) + 1);
      expect(Math.max(...perCluster.values())).toBeLessThanOrEqual(endpointsPerCluster);
      expect(perCluster.size).toBe(Math.ceil(uploads / endpointsPerCluster));

      // People were told: every run's SERVING notification went out (within the budget).
      expect(served).toBe(true);
    },
    stormBudgetMs + 120_000,
  );
});
