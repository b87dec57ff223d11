// start-finetune: a work message names a run; perform its pending step (idempotent: at-least-once delivery).
import { createHandler } from '#shared/fn/handler.ts';
import { parseJsonString } from '#shared/fn/triggers.ts';
import { startTraining } from '#shared/pipeline/datascience-dispatch.ts';
import { pipelineFromEnv } from '#shared/pipeline/wire.ts';
import { workMessageSchema } from '#shared/pipeline/work.ts';
import { InvalidTriggerError } from '#shared/fn/errors.ts';

function parse(body: unknown): string {
  const work = workMessageSchema.parse(parseJsonString(body));
  if (work.step !== 'start-finetune' || !work.runId) {
    throw new InvalidTriggerError(`not a start-finetune message (step ${work.step})`, {});
  }
  return work.runId;
}

export const handler = createHandler({
  name: 'start-finetune',
  input: parse,
  async run(runId, ctx) {
    ctx.setRunId(runId);
    const deps = await pipelineFromEnv(ctx.log);
    return { ...(await startTraining(deps, runId)) };
  },
});
