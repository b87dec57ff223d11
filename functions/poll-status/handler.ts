// poll-status: the scheduled reconciler. Observes every active run, re-drives lost steps, repairs
// lost object events, and supersedes older runs of a dataset name.
import { createHandler } from '#shared/fn/handler.ts';
import { schedulePayloadSchema } from '#shared/fn/triggers.ts';
import { reconcile } from '#shared/pipeline/reconcile.ts';
import { publishDerivedUtilizationFromEnv } from '#shared/pipeline/utilization.ts';
import { pipelineFromEnv } from '#shared/pipeline/wire.ts';
import { errorMessage } from '#shared/errors.ts';

export const handler = createHandler({
  name: 'poll-status',
  input: schedulePayloadSchema,
  async run(_payload, ctx) {
    const deps = await pipelineFromEnv(ctx.log);
    const runs = await reconcile(deps, { signal: ctx.signal });
    // Derived utilization for the scaling alarms; its failure must not fail the reconcile pass.
    const utilization = await publishDerivedUtilizationFromEnv(ctx.log).catch((err: unknown) => {
      ctx.log.warn('derived utilization not published', { error: errorMessage(err) });
      return { error: errorMessage(err) };
    });
    return { runs: { ...runs }, utilization: JSON.parse(JSON.stringify(utilization)) };
  },
});
