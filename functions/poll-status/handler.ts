// poll-status: the scheduled reconciler. Observes every active run, re-drives lost steps, repairs
// lost object events, and supersedes older runs of a dataset name.
import { createHandler } from '#shared/fn/handler.ts';
import { schedulePayloadSchema } from '#shared/fn/triggers.ts';
import { reconcile } from '#shared/pipeline/reconcile.ts';
import { pipelineFromEnv } from '#shared/pipeline/wire.ts';

export const handler = createHandler({
  name: 'poll-status',
  input: schedulePayloadSchema,
  async run(_payload, ctx) {
    const deps = await pipelineFromEnv(ctx.log);
    return { ...(await reconcile(deps, { signal: ctx.signal })) };
  },
});
