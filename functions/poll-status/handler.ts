// poll-status: the scheduled reconciler. Observes every active run, re-drives lost steps, repairs
// lost object events, and supersedes older runs of a dataset name. A Data Science job-run or
// model-deployment event (the datascience events rule) instead observes that one run at once.
import { z } from 'zod';
import { createHandler } from '#shared/fn/handler.ts';
import { dataScienceEventSchema, schedulePayloadSchema } from '#shared/fn/triggers.ts';
import { observeResourceEvent, reconcile } from '#shared/pipeline/reconcile.ts';
import { publishDerivedUtilizationFromEnv } from '#shared/pipeline/utilization.ts';
import { pipelineFromEnv } from '#shared/pipeline/wire.ts';
import { errorMessage } from '#shared/errors.ts';

export const handler = createHandler({
  name: 'poll-status',
  // An event first: the schedule's payload is all optional and would accept anything.
  input: z.union([dataScienceEventSchema, schedulePayloadSchema]),
  async run(payload, ctx) {
    const deps = await pipelineFromEnv(ctx.log);
    const event = dataScienceEventSchema.safeParse(payload);
    if (event.success) {
      const e = event.data;
      const tags = e.data.freeformTags ?? e.data.freeFormTags;
      return {
        event: e.eventType,
        ...(await observeResourceEvent(deps, {
          resourceId: e.data.resourceId,
          runId: tags?.dacflowRunId,
        })),
      };
    }
    const runs = await reconcile(deps, { signal: ctx.signal });
    // Derived utilization for the scaling alarms; its failure must not fail the reconcile pass.
    const utilization = await publishDerivedUtilizationFromEnv(ctx.log).catch((err: unknown) => {
      ctx.log.warn('derived utilization not published', { error: errorMessage(err) });
      return { error: errorMessage(err) };
    });
    return { runs: { ...runs }, utilization: JSON.parse(JSON.stringify(utilization)) };
  },
});
