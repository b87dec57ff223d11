// validate-dataset: an Events object create/update (or a re-drive from the work topic) names one
// dataset object version; validate it and move its run to VALID or INVALID.
import { createHandler } from '#shared/fn/handler.ts';
import { objectEventSchema, objectRef, parseJsonString } from '#shared/fn/triggers.ts';
import { validateStep } from '#shared/pipeline/validate.ts';
import { pipelineFromEnv } from '#shared/pipeline/wire.ts';
import { isWorkMessage, workMessageSchema } from '#shared/pipeline/work.ts';
import type { DatasetRef } from '#workflows/run-id.ts';
import { InvalidTriggerError } from '#shared/fn/errors.ts';

function parse(body: unknown): DatasetRef {
  const value = parseJsonString(body);
  if (isWorkMessage(value)) {
    const work = workMessageSchema.parse(value);
    if (work.step !== 'validate-dataset' || !work.dataset) {
      throw new InvalidTriggerError(`not a validate-dataset message (step ${work.step})`, {});
    }
    return work.dataset;
  }
  const { namespace, bucket, object, etag } = objectRef(objectEventSchema.parse(value));
  return { namespace, bucket, object, etag };
}

export const handler = createHandler({
  name: 'validate-dataset',
  input: parse,
  async run(ref, ctx) {
    const deps = await pipelineFromEnv(ctx.log);
    const result = await validateStep(deps, ref, { signal: ctx.signal });
    if (result.runId) ctx.setRunId(result.runId);
    return { ...result };
  },
});
