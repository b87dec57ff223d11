import { describe, expect, it } from 'vitest';
import { genAiService, type GenAiEmulatorOptions } from '#local/emulator/genai.ts';
import { baseModelOcid } from '#local/emulator/genai-catalogue.ts';
import { MemoryStore, fakeContext, router, type FakeContext } from './fake-context.ts';

const delays: GenAiEmulatorOptions = {
  clusterCreateMs: 1_000,
  clusterUpdateMs: 2_000,
  clusterDeleteMs: 500,
  modelTrainingMs: 10_000,
  modelDeleteMs: 500,
  endpointCreateMs: 1_000,
  endpointUpdateMs: 500,
  endpointDeleteMs: 500,
};

const COHERE = baseModelOcid('cohere.command-r-08-2024', 'us-chicago-1');
const LLAMA = baseModelOcid('meta.llama-3.3-70b-instruct', 'us-chicago-1');
const EMBED = baseModelOcid('cohere.embed-english-v3.0', 'us-chicago-1');

function setup(extra: GenAiEmulatorOptions = {}, store = new MemoryStore(), ctx?: FakeContext) {
  const c = ctx ?? fakeContext(store);
  const service = genAiService({ ...delays, ...extra });
  const call = router(service, c);
  const comp = c.compartmentId;
  const createCluster = (body: Record<string, unknown>, headers?: Record<string, string>) =>
    call('POST', '/20231130/dedicatedAiClusters', { compartmentId: comp, ...body }, headers);
  const activeCluster = async (type: string, unitShape: string, unitCount: number) => {
    const r = await createCluster({ type, unitShape, unitCount });
    expect(r.status).toBe(200);
    c.advance(1_000);
    return r.body.id as string;
  };
  const modelBody = (clusterId: string, over: Record<string, unknown> = {}) => ({
    compartmentId: comp,
    displayName: 'ft-1',
    baseModelId: COHERE,
    fineTuneDetails: {
      trainingDataset: {
        datasetType: 'OBJECT_STORAGE',
        namespaceName: 'ns',
        bucketName: 'datasets',
        objectName: 'train.jsonl',
      },
      dedicatedAiClusterId: clusterId,
      trainingConfig: { trainingConfigType: 'LORA_TRAINING_CONFIG', loraR: 8 },
    },
    ...over,
  });
  c.objects.add('ns/datasets/train.jsonl');
  return { ctx: c, call, service, comp, createCluster, activeCluster, modelBody, store };
}

describe('dedicated AI clusters', () => {
  it('goes CREATING -> ACTIVE after the delay, with a work request that tracks it', async () => {
    const { call, ctx, createCluster } = setup();
    const created = await createCluster({
      type: 'HOSTING',
      unitShape: 'SMALL_COHERE_V2',
      unitCount: 1,
    });
    expect(created.status).toBe(200);
    expect(created.body.lifecycleState).toBe('CREATING');
    expect(created.body.capacity).toEqual({
      capacityType: 'HOSTING_CAPACITY',
      totalEndpointCapacity: 50,
      usedEndpointCapacity: 0,
    });
    expect(typeof created.headers.etag).toBe('string');
    const wrId = String(created.headers['opc-work-request-id']);
    const wr0 = await call('GET', `/20231130/workRequests/${wrId}`);
    expect(wr0.body).toMatchObject({
      status: 'ACCEPTED',
      percentComplete: 0,
      operationType: 'CREATE_DEDICATED_AI_CLUSTER',
    });

    ctx.advance(550);
    const wr1 = await call('GET', `/20231130/workRequests/${wrId}`);
    expect(wr1.body.status).toBe('IN_PROGRESS');
    expect(wr1.body.percentComplete).toBe(50);
    expect(
      (await call('GET', `/20231130/dedicatedAiClusters/${created.body.id}`)).body.lifecycleState,
    ).toBe('CREATING');

    ctx.advance(450);
    const got = await call('GET', `/20231130/dedicatedAiClusters/${created.body.id}`);
    expect(got.body.lifecycleState).toBe('ACTIVE');
    const wr2 = await call('GET', `/20231130/workRequests/${wrId}`);
    expect(wr2.body).toMatchObject({ status: 'SUCCEEDED', percentComplete: 100 });
    expect(wr2.body.resources).toEqual([
      {
        entityType: 'DedicatedAiCluster',
        actionType: 'CREATED',
        identifier: created.body.id,
        entityUri: `/20231130/dedicatedAiClusters/${created.body.id}`,
      },
    ]);
    expect(wr2.body.timeFinished).toBeDefined();
  });

  it('rejects bad types, unknown shapes and wrong fine-tuning unit counts', async () => {
    const { createCluster } = setup();
    const badType = await createCluster({
      type: 'TRAINING',
      unitShape: 'SMALL_COHERE_V2',
      unitCount: 1,
    });
    expect(badType.status).toBe(400);
    const badShape = await createCluster({ type: 'HOSTING', unitShape: 'HUGE', unitCount: 1 });
    expect(badShape.error?.message).toMatch(/unitShape/);
    const ft4 = await createCluster({
      type: 'FINE_TUNING',
      unitShape: 'SMALL_COHERE_V2',
      unitCount: 4,
    });
    expect(ft4.status).toBe(400);
    expect(ft4.error?.message).toMatch(/exactly 8 units/);
    const ft8 = await createCluster({
      type: 'FINE_TUNING',
      unitShape: 'SMALL_COHERE_V2',
      unitCount: 8,
    });
    expect(ft8.status).toBe(200);
    const ftLlama = await createCluster({
      type: 'FINE_TUNING',
      unitShape: 'LARGE_GENERIC',
      unitCount: 2,
    });
    expect(ftLlama.status).toBe(200);
  });

  it('honours If-Match on update and delete, and scales through UPDATING', async () => {
    const { call, ctx, activeCluster } = setup();
    const id = await activeCluster('HOSTING', 'SMALL_COHERE_V2', 1);
    const got = await call('GET', `/20231130/dedicatedAiClusters/${id}`);
    const etag = String(got.headers.etag);

    const stale = await call(
      'PUT',
      `/20231130/dedicatedAiClusters/${id}`,
      { unitCount: 2 },
      { 'if-match': 'nope' },
    );
    expect(stale.status).toBe(412);
    expect(stale.error?.code).toBe('NoEtagMatch');

    const shape = await call('PUT', `/20231130/dedicatedAiClusters/${id}`, {
      unitShape: 'LARGE_GENERIC',
    });
    expect(shape.status).toBe(400);

    const up = await call(
      'PUT',
      `/20231130/dedicatedAiClusters/${id}`,
      { unitCount: 3 },
      { 'if-match': etag },
    );
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ lifecycleState: 'UPDATING', unitCount: 3 });
    expect(up.headers['opc-work-request-id']).toBeDefined();
    expect(up.headers.etag).not.toBe(etag);

    const again = await call('PUT', `/20231130/dedicatedAiClusters/${id}`, { unitCount: 4 });
    expect(again.status).toBe(409);
    expect(again.error?.code).toBe('IncorrectState');

    ctx.advance(2_000);
    expect((await call('GET', `/20231130/dedicatedAiClusters/${id}`)).body.lifecycleState).toBe(
      'ACTIVE',
    );
    const del = await call('DELETE', `/20231130/dedicatedAiClusters/${id}`, undefined, {
      'if-match': etag,
    });
    expect(del.status).toBe(412);
  });

  it('does not change the unit count of a fine-tuning cluster', async () => {
    const { call, activeCluster } = setup();
    const id = await activeCluster('FINE_TUNING', 'SMALL_COHERE_V2', 8);
    const r = await call('PUT', `/20231130/dedicatedAiClusters/${id}`, { unitCount: 16 });
    expect(r.status).toBe(400);
    const rename = await call('PUT', `/20231130/dedicatedAiClusters/${id}`, {
      displayName: 'renamed',
    });
    expect(rename.body).toMatchObject({
      displayName: 'renamed',
      lifecycleState: 'ACTIVE',
      unitCount: 8,
    });
  });

  it('lists with filters, sorting and paging', async () => {
    const { call, ctx, comp, createCluster } = setup();
    for (let i = 0; i < 5; i++) {
      await createCluster({
        type: 'HOSTING',
        unitShape: 'SMALL_COHERE_V2',
        unitCount: 1,
        displayName: `c${i}`,
      });
      ctx.advance(300);
    }
    const missing = await call('GET', '/20231130/dedicatedAiClusters');
    expect(missing.status).toBe(400);

    const names: string[] = [];
    let page: string | undefined;
    let pages = 0;
    do {
      const q = `compartmentId=${comp}&limit=2&sortBy=displayName` + (page ? `&page=${page}` : '');
      const r = await call('GET', `/20231130/dedicatedAiClusters?${q}`);
      names.push(...(r.body.items as { displayName: string }[]).map((i) => i.displayName));
      page = r.headers['opc-next-page'] as string | undefined;
      pages++;
    } while (page);
    expect(names).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(pages).toBe(3);

    const active = await call(
      'GET',
      `/20231130/dedicatedAiClusters?compartmentId=${comp}&lifecycleState=ACTIVE`,
    );
    // c0..c1 are older than 1 s (clusterCreateMs); c2..c4 are still CREATING.
    expect(
      (active.body.items as { displayName: string }[]).map((i) => i.displayName).sort(),
    ).toEqual(['c0', 'c1']);
    const byName = await call(
      'GET',
      `/20231130/dedicatedAiClusters?compartmentId=${comp}&displayName=c3`,
    );
    expect(byName.body.items).toHaveLength(1);
    const other = await call(
      'GET',
      '/20231130/dedicatedAiClusters?compartmentId=ocid1.compartment.oc1..other',
    );
    expect(other.body.items).toEqual([]);
  });

  it('finishes a CREATING cluster after a restart (state comes from timestamps)', async () => {
    const store = new MemoryStore();
    const first = setup({}, store);
    const created = await first.createCluster({
      type: 'HOSTING',
      unitShape: 'SMALL_COHERE_V2',
      unitCount: 1,
    });
    const ctx2 = fakeContext(store, first.ctx.clockMs + 5_000);
    const second = setup({}, store, ctx2);
    const got = await second.call('GET', `/20231130/dedicatedAiClusters/${created.body.id}`);
    expect(got.body.lifecycleState).toBe('ACTIVE');
  });

  it('seeds clusters once, even across restarts', async () => {
    const store = new MemoryStore();
    const seedClusters = [
      {
        displayName: 'ft',
        type: 'FINE_TUNING' as const,
        unitShape: 'SMALL_COHERE_V2',
        unitCount: 8,
      },
      { displayName: 'host', type: 'HOSTING' as const, unitShape: 'SMALL_COHERE_V2', unitCount: 1 },
    ];
    const a = setup({ seedClusters }, store);
    const b = setup({ seedClusters }, store);
    const list = await b.call('GET', `/20231130/dedicatedAiClusters?compartmentId=${b.comp}`);
    expect((list.body.items as { lifecycleState: string }[]).map((i) => i.lifecycleState)).toEqual([
      'ACTIVE',
      'ACTIVE',
    ]);
    expect(a.service.control.clusterIdByName('ft')).toBe(b.service.control.clusterIdByName('ft'));
  });

  it('rejects unknown options', () => {
    expect(() => genAiService({ clusterCreateMillis: 5 } as never)).toThrow(
      /invalid genAiService options/,
    );
  });
});

describe('models', () => {
  it('lists the base-model catalogue by capability', async () => {
    const { call, comp } = setup();
    const ft = await call('GET', `/20231130/models?compartmentId=${comp}&capability=FINE_TUNE`);
    const names = (ft.body.items as { displayName: string; type: string }[]).map(
      (m) => m.displayName,
    );
    expect(names).toContain('cohere.command-r-08-2024');
    expect(names).toContain('meta.llama-3.3-70b-instruct');
    expect(names).not.toContain('cohere.embed-english-v3.0');
    const vendor = await call('GET', `/20231130/models?compartmentId=${comp}&vendor=meta`);
    expect((vendor.body.items as { vendor: string }[]).every((m) => m.vendor === 'meta')).toBe(
      true,
    );
    const base = await call('GET', `/20231130/models/${COHERE}`);
    expect(base.body).toMatchObject({
      type: 'BASE',
      lifecycleState: 'ACTIVE',
      capabilities: ['CHAT', 'FINE_TUNE'],
    });
  });

  it('fine-tunes: CREATING -> ACTIVE with metrics after the training time', async () => {
    const { call, ctx, activeCluster, modelBody } = setup();
    const ft = await activeCluster('FINE_TUNING', 'SMALL_COHERE_V2', 8);
    const r = await call('POST', '/20231130/models', modelBody(ft));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      lifecycleState: 'CREATING',
      type: 'CUSTOM',
      baseModelId: COHERE,
      capabilities: ['CHAT'],
    });
    expect(r.body.modelMetrics).toBeUndefined();
    ctx.advance(9_999);
    expect((await call('GET', `/20231130/models/${r.body.id}`)).body.lifecycleState).toBe(
      'CREATING',
    );
    ctx.advance(1);
    const done = await call('GET', `/20231130/models/${r.body.id}`);
    expect(done.body.lifecycleState).toBe('ACTIVE');
    const metrics = done.body.modelMetrics as {
      modelMetricsType: string;
      finalAccuracy: number;
      finalLoss: number;
    };
    expect(metrics.modelMetricsType).toBe('CHAT_MODEL_METRICS');
    expect(metrics.finalAccuracy).toBeGreaterThan(0.5);
    expect(metrics.finalAccuracy).toBeLessThan(1);
    expect(metrics.finalLoss).toBeGreaterThan(0);
    const wr = await call('GET', `/20231130/workRequests/${r.headers['opc-work-request-id']}`);
    expect(wr.body).toMatchObject({ status: 'SUCCEEDED', operationType: 'CREATE_MODEL' });
  });

  it('checks every precondition of createModel', async () => {
    const { call, ctx, activeCluster, createCluster, modelBody } = setup();
    const ft = await activeCluster('FINE_TUNING', 'SMALL_COHERE_V2', 8);
    const host = await activeCluster('HOSTING', 'SMALL_COHERE_V2', 1);
    const llamaFt = await activeCluster('FINE_TUNING', 'LARGE_GENERIC', 2);
    const creating = (
      await createCluster({ type: 'FINE_TUNING', unitShape: 'SMALL_COHERE_V2', unitCount: 8 })
    ).body.id as string;
    const dataset = (objectName: string) => ({
      datasetType: 'OBJECT_STORAGE',
      namespaceName: 'ns',
      bucketName: 'datasets',
      objectName,
    });
    const cases: [string, Record<string, unknown>, number, string, RegExp][] = [
      [
        'unknown base model',
        modelBody(ft, { baseModelId: 'ocid1.generativeaimodel.oc1..nope' }),
        404,
        'NotAuthorizedOrNotFound',
        /Base model/,
      ],
      [
        'base model without FINE_TUNE',
        modelBody(ft, { baseModelId: EMBED }),
        400,
        'InvalidParameter',
        /FINE_TUNE/,
      ],
      [
        'missing dataset',
        modelBody(ft, {
          fineTuneDetails: { trainingDataset: dataset('missing.jsonl'), dedicatedAiClusterId: ft },
        }),
        404,
        'NotAuthorizedOrNotFound',
        /missing\.jsonl not found in bucket datasets/,
      ],
      [
        'missing cluster',
        modelBody('ocid1.generativeaidedicatedaicluster.oc1..nope'),
        404,
        'NotAuthorizedOrNotFound',
        /Dedicated AI cluster/,
      ],
      ['hosting cluster', modelBody(host), 400, 'InvalidParameter', /FINE_TUNING cluster/],
      ['cluster not ACTIVE', modelBody(creating), 409, 'IncorrectState', /CREATING/],
      ['shape mismatch', modelBody(llamaFt), 400, 'InvalidParameter', /SMALL_COHERE_V2/],
      [
        'bad training config type',
        modelBody(ft, {
          fineTuneDetails: {
            trainingDataset: dataset('train.jsonl'),
            dedicatedAiClusterId: ft,
            trainingConfig: { trainingConfigType: 'QLORA' },
          },
        }),
        400,
        'InvalidParameter',
        /trainingConfigType/,
      ],
      [
        'method the model lacks',
        modelBody(ft, {
          fineTuneDetails: {
            trainingDataset: dataset('train.jsonl'),
            dedicatedAiClusterId: ft,
            trainingConfig: { trainingConfigType: 'VANILLA_TRAINING_CONFIG' },
          },
        }),
        400,
        'InvalidParameter',
        /supports TFEW_TRAINING_CONFIG, LORA_TRAINING_CONFIG/,
      ],
      [
        'missing compartment',
        { ...modelBody(ft), compartmentId: undefined },
        400,
        'InvalidParameter',
        /compartmentId/,
      ],
    ];
    for (const [name, body, status, code, message] of cases) {
      const r = await call('POST', '/20231130/models', body);
      expect({ name, status: r.status, code: r.error?.code }).toEqual({ name, status, code });
      expect(r.error?.message).toMatch(message);
    }
    // none of the failed calls created anything
    const list = await call(
      'GET',
      `/20231130/models?compartmentId=${ctx.compartmentId}&lifecycleState=CREATING`,
    );
    expect(list.body.items).toEqual([]);
    const llama = await call(
      'POST',
      '/20231130/models',
      modelBody(llamaFt, { baseModelId: LLAMA }),
    );
    expect(llama.status).toBe(200);
  });

  it('fails training for a dataset carrying the failure marker, with details and a FAILED work request', async () => {
    const { call, ctx, activeCluster, modelBody } = setup();
    ctx.objects.add('ns/datasets/bad-FAIL_TRAINING.jsonl');
    const ft = await activeCluster('FINE_TUNING', 'SMALL_COHERE_V2', 8);
    const body = modelBody(ft);
    (body.fineTuneDetails.trainingDataset as { objectName: string }).objectName =
      'bad-FAIL_TRAINING.jsonl';
    const r = await call('POST', '/20231130/models', body);
    expect(r.body.lifecycleState).toBe('CREATING');
    ctx.advance(10_000);
    const m = await call('GET', `/20231130/models/${r.body.id}`);
    expect(m.body.lifecycleState).toBe('FAILED');
    expect(m.body.lifecycleDetails).toMatch(/bad-FAIL_TRAINING\.jsonl/);
    expect(m.body.modelMetrics).toBeUndefined();
    const wrId = String(r.headers['opc-work-request-id']);
    const wr = await call('GET', `/20231130/workRequests/${wrId}`);
    expect(wr.body.status).toBe('FAILED');
    const errors = await call('GET', `/20231130/workRequests/${wrId}/errors`);
    expect(errors.body.items).toEqual([
      expect.objectContaining({ code: 'FineTuningFailed', message: m.body.lifecycleDetails }),
    ]);
    const logs = await call('GET', `/20231130/workRequests/${wrId}/logs`);
    expect((logs.body.items as { message: string }[]).map((l) => l.message)).toEqual([
      'CREATE_MODEL accepted',
      'CREATE_MODEL started',
      'CREATE_MODEL failed',
    ]);
  });

  it('fails training for configured display names', async () => {
    const { call, ctx, activeCluster, modelBody } = setup({ failModelDisplayNames: ['doomed'] });
    const ft = await activeCluster('FINE_TUNING', 'SMALL_COHERE_V2', 8);
    const r = await call('POST', '/20231130/models', modelBody(ft, { displayName: 'doomed' }));
    ctx.advance(10_000);
    expect((await call('GET', `/20231130/models/${r.body.id}`)).body.lifecycleState).toBe('FAILED');
  });

  it('fails a running fine-tune when its cluster needs attention or disappears', async () => {
    const { call, service, activeCluster, modelBody } = setup();
    const ft = await activeCluster('FINE_TUNING', 'SMALL_COHERE_V2', 8);
    const a = await call('POST', '/20231130/models', modelBody(ft));
    service.control.forceClusterState(ft, 'NEEDS_ATTENTION', 'GPU fault');
    expect((await call('GET', `/20231130/dedicatedAiClusters/${ft}`)).body).toMatchObject({
      lifecycleState: 'NEEDS_ATTENTION',
      lifecycleDetails: 'GPU fault',
    });
    const failed = await call('GET', `/20231130/models/${a.body.id}`);
    expect(failed.body.lifecycleState).toBe('FAILED');
    expect(failed.body.lifecycleDetails).toMatch(/NEEDS_ATTENTION/);
    expect(
      (await call('GET', `/20231130/workRequests/${a.headers['opc-work-request-id']}`)).body.status,
    ).toBe('FAILED');

    service.control.forceClusterState(ft, 'ACTIVE');
    const b = await call('POST', '/20231130/models', modelBody(ft));
    service.control.removeCluster(ft);
    expect((await call('GET', `/20231130/dedicatedAiClusters/${ft}`)).status).toBe(404);
    expect((await call('GET', `/20231130/models/${b.body.id}`)).body.lifecycleState).toBe('FAILED');
  });

  it('honours retry tokens: replay, invalidation, and 24 h expiry', async () => {
    const { call, ctx, comp, activeCluster, modelBody } = setup();
    const ft = await activeCluster('FINE_TUNING', 'SMALL_COHERE_V2', 8);
    const body = modelBody(ft);
    const h = { 'opc-retry-token': 'token-1' };
    const first = await call('POST', '/20231130/models', body, h);
    ctx.advance(5_000);
    // same body with keys in another order is the same request
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const second = await call('POST', '/20231130/models', reordered, h);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers['opc-work-request-id']).toBe(first.headers['opc-work-request-id']);
    const custom = async () =>
      (
        (await call('GET', `/20231130/models?compartmentId=${comp}`)).body.items as {
          type: string;
        }[]
      ).filter((m) => m.type === 'CUSTOM').length;
    expect(await custom()).toBe(1);

    const changed = await call('POST', '/20231130/models', { ...body, displayName: 'other' }, h);
    expect(changed.status).toBe(409);
    expect(changed.error?.code).toBe('InvalidatedRetryToken');

    // concurrent duplicates create one model
    const [x, y] = await Promise.all([
      call('POST', '/20231130/models', body, { 'opc-retry-token': 'token-2' }),
      call('POST', '/20231130/models', body, { 'opc-retry-token': 'token-2' }),
    ]);
    expect(x.body.id).toBe(y.body.id);
    expect(await custom()).toBe(2);

    // a failed request is not remembered: the token can be used once the cause is fixed
    const bad = await call('POST', '/20231130/models', modelBody('ocid1.nope'), {
      'opc-retry-token': 'token-3',
    });
    expect(bad.status).toBe(404);

    ctx.advance(24 * 60 * 60 * 1000);
    const expired = await call('POST', '/20231130/models', body, h);
    expect(expired.status).toBe(200);
    expect(expired.body.id).not.toBe(first.body.id);
    expect(await custom()).toBe(3);
  });

  it('scopes retry tokens per operation and honours them on cluster and endpoint creates', async () => {
    const { call, ctx, comp, createCluster, modelBody } = setup();
    const h = { 'opc-retry-token': 'shared' };
    const body = { type: 'FINE_TUNING', unitShape: 'SMALL_COHERE_V2', unitCount: 8 };
    const a = await createCluster(body, h);
    const b = await createCluster(body, h);
    expect(b.body.id).toBe(a.body.id);
    const clusters = await call('GET', `/20231130/dedicatedAiClusters?compartmentId=${comp}`);
    expect(clusters.body.items).toHaveLength(1);
    ctx.advance(1_000);
    // the same token on another operation is a different request
    const m = await call('POST', '/20231130/models', modelBody(a.body.id as string), h);
    expect(m.status).toBe(200);
    ctx.advance(10_000);
    const host = (
      await createCluster({ type: 'HOSTING', unitShape: 'SMALL_COHERE_V2', unitCount: 1 })
    ).body.id as string;
    ctx.advance(1_000);
    const ep = { compartmentId: comp, modelId: m.body.id, dedicatedAiClusterId: host };
    const e1 = await call('POST', '/20231130/endpoints', ep, { 'opc-retry-token': 'ep' });
    const e2 = await call('POST', '/20231130/endpoints', ep, { 'opc-retry-token': 'ep' });
    expect(e2.body.id).toBe(e1.body.id);
    const cluster = await call('GET', `/20231130/dedicatedAiClusters/${host}`);
    expect((cluster.body.capacity as { usedEndpointCapacity: number }).usedEndpointCapacity).toBe(
      1,
    );
  });

  it('deletes custom models, not base models or models behind endpoints', async () => {
    const { call, ctx, activeCluster, modelBody, comp } = setup();
    const ft = await activeCluster('FINE_TUNING', 'SMALL_COHERE_V2', 8);
    const host = await activeCluster('HOSTING', 'SMALL_COHERE_V2', 1);
    const m = await call('POST', '/20231130/models', modelBody(ft));
    ctx.advance(10_000);
    await call('POST', '/20231130/endpoints', {
      compartmentId: comp,
      modelId: m.body.id,
      dedicatedAiClusterId: host,
    });
    expect((await call('DELETE', `/20231130/models/${m.body.id}`)).error?.code).toBe('Conflict');
    expect((await call('DELETE', `/20231130/models/${COHERE}`)).status).toBe(400);
    const m2 = await call('POST', '/20231130/models', modelBody(ft));
    const del = await call('DELETE', `/20231130/models/${m2.body.id}`);
    expect(del.status).toBe(202);
    ctx.advance(500);
    expect((await call('GET', `/20231130/models/${m2.body.id}`)).body.lifecycleState).toBe(
      'DELETED',
    );
  });
});

describe('endpoints', () => {
  async function withActiveModel(extra: GenAiEmulatorOptions = {}) {
    const s = setup(extra);
    const ft = await s.activeCluster('FINE_TUNING', 'SMALL_COHERE_V2', 8);
    const host = await s.activeCluster('HOSTING', 'SMALL_COHERE_V2', 1);
    const m = await s.call('POST', '/20231130/models', s.modelBody(ft));
    s.ctx.advance(10_000);
    const createEndpoint = (body: Record<string, unknown> = {}) =>
      s.call('POST', '/20231130/endpoints', {
        compartmentId: s.comp,
        modelId: m.body.id,
        dedicatedAiClusterId: host,
        ...body,
      });
    return { ...s, ft, host, modelId: m.body.id as string, createEndpoint };
  }

  it('creates endpoints up to the cluster capacity of 50, then refuses with LimitExceeded', async () => {
    const { call, ctx, host, createEndpoint } = await withActiveModel();
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await createEndpoint({ displayName: `e${i}` });
      expect(r.status).toBe(200);
      ids.push(r.body.id as string);
    }
    const cluster = await call('GET', `/20231130/dedicatedAiClusters/${host}`);
    expect(cluster.body.capacity).toMatchObject({
      totalEndpointCapacity: 50,
      usedEndpointCapacity: 50,
    });
    const full = await createEndpoint();
    expect(full.status).toBe(400);
    expect(full.error?.code).toBe('LimitExceeded');
    expect(full.error?.message).toMatch(/50 of 50/);

    ctx.advance(1_000);
    expect((await call('DELETE', `/20231130/endpoints/${ids[0]}`)).status).toBe(202);
    ctx.advance(500);
    expect((await call('GET', `/20231130/endpoints/${ids[0]}`)).body.lifecycleState).toBe(
      'DELETED',
    );
    expect(
      (
        (await call('GET', `/20231130/dedicatedAiClusters/${host}`)).body.capacity as {
          usedEndpointCapacity: number;
        }
      ).usedEndpointCapacity,
    ).toBe(49);
    expect((await createEndpoint()).status).toBe(200);
  });

  it('stores contentModerationConfig and goes CREATING -> ACTIVE; updates go through UPDATING', async () => {
    const { call, ctx, createEndpoint } = await withActiveModel();
    const r = await createEndpoint({ contentModerationConfig: { isEnabled: true, mode: 'BLOCK' } });
    expect(r.body).toMatchObject({
      lifecycleState: 'CREATING',
      contentModerationConfig: { isEnabled: true, mode: 'BLOCK' },
    });
    expect(r.body.baseModelId).toBeUndefined();
    const id = r.body.id as string;
    const early = await call('PUT', `/20231130/endpoints/${id}`, { displayName: 'x' });
    expect(early.error?.code).toBe('IncorrectState');
    ctx.advance(1_000);
    const active = await call('GET', `/20231130/endpoints/${id}`);
    expect(active.body.lifecycleState).toBe('ACTIVE');
    const stale = await call(
      'PUT',
      `/20231130/endpoints/${id}`,
      { displayName: 'x' },
      { 'if-match': 'old' },
    );
    expect(stale.status).toBe(412);
    const moveModel = await call('PUT', `/20231130/endpoints/${id}`, { modelId: 'other' });
    expect(moveModel.status).toBe(400);
    const up = await call(
      'PUT',
      `/20231130/endpoints/${id}`,
      { contentModerationConfig: { isEnabled: false } },
      { 'if-match': String(active.headers.etag) },
    );
    expect(up.body).toMatchObject({
      lifecycleState: 'UPDATING',
      contentModerationConfig: { isEnabled: false },
    });
    ctx.advance(500);
    expect((await call('GET', `/20231130/endpoints/${id}`)).body.lifecycleState).toBe('ACTIVE');
    const list = await call(
      'GET',
      `/20231130/endpoints?compartmentId=${ctx.compartmentId}&lifecycleState=ACTIVE`,
    );
    expect(list.body.items).toHaveLength(1);
  });

  it('checks model, cluster type, state, shape and base-model sharing', async () => {
    const { call, ctx, ft, host, modelBody, createEndpoint, activeCluster, createCluster, comp } =
      await withActiveModel();
    const training = await call('POST', '/20231130/models', modelBody(ft));
    expect((await createEndpoint({ modelId: training.body.id })).error?.code).toBe(
      'IncorrectState',
    );
    expect((await createEndpoint({ modelId: 'ocid1.generativeaimodel.oc1..nope' })).status).toBe(
      404,
    );
    expect((await createEndpoint({ dedicatedAiClusterId: ft })).error?.message).toMatch(
      /HOSTING cluster/,
    );
    const creatingHost = (
      await createCluster({ type: 'HOSTING', unitShape: 'SMALL_COHERE_V2', unitCount: 1 })
    ).body.id;
    expect((await createEndpoint({ dedicatedAiClusterId: creatingHost })).error?.code).toBe(
      'IncorrectState',
    );
    const llamaHost = await activeCluster('HOSTING', 'LARGE_GENERIC', 1);
    expect((await createEndpoint({ dedicatedAiClusterId: llamaHost })).error?.message).toMatch(
      /hosted on SMALL_COHERE_V2/,
    );
    // a base model can be hosted too, but not next to models of another base on the same cluster
    expect((await createEndpoint()).status).toBe(200);
    const other = await call('POST', '/20231130/endpoints', {
      compartmentId: comp,
      modelId: baseModelOcid('cohere.command-r-16k', 'us-chicago-1'),
      dedicatedAiClusterId: host,
    });
    expect(other.status).toBe(400);
    expect(other.error?.message).toMatch(/cannot also host/);
    ctx.advance(0);
  });

  it('refuses to delete a hosting cluster that still has endpoints', async () => {
    const { call, ctx, host, createEndpoint } = await withActiveModel();
    const e = await createEndpoint();
    ctx.advance(1_000);
    const refused = await call('DELETE', `/20231130/dedicatedAiClusters/${host}`);
    expect(refused.status).toBe(409);
    expect(refused.error?.code).toBe('Conflict');
    await call('DELETE', `/20231130/endpoints/${e.body.id}`);
    ctx.advance(500);
    const ok = await call('DELETE', `/20231130/dedicatedAiClusters/${host}`);
    expect(ok.status).toBe(202);
    expect((await call('GET', `/20231130/dedicatedAiClusters/${host}`)).body.lifecycleState).toBe(
      'DELETING',
    );
    ctx.advance(500);
    expect((await call('GET', `/20231130/dedicatedAiClusters/${host}`)).body.lifecycleState).toBe(
      'DELETED',
    );
  });
});

describe('work requests', () => {
  it('lists by compartment, resource and status', async () => {
    const { call, ctx, comp, activeCluster } = setup();
    const a = await activeCluster('HOSTING', 'SMALL_COHERE_V2', 1);
    await call('PUT', `/20231130/dedicatedAiClusters/${a}`, { unitCount: 2 });
    const all = await call('GET', `/20231130/workRequests?compartmentId=${comp}`);
    expect((all.body.items as { operationType: string }[]).map((w) => w.operationType)).toEqual([
      'UPDATE_DEDICATED_AI_CLUSTER',
      'CREATE_DEDICATED_AI_CLUSTER',
    ]);
    const running = await call(
      'GET',
      `/20231130/workRequests?compartmentId=${comp}&status=ACCEPTED`,
    );
    expect(running.body.items).toHaveLength(1);
    const forResource = await call(
      'GET',
      `/20231130/workRequests?compartmentId=${comp}&resourceId=${a}`,
    );
    expect(forResource.body.items).toHaveLength(2);
    ctx.advance(2_000);
    const done = await call('GET', `/20231130/workRequests?compartmentId=${comp}&status=SUCCEEDED`);
    expect(done.body.items).toHaveLength(2);
    expect((await call('GET', '/20231130/workRequests/ocid1.nope')).status).toBe(404);
  });
});
