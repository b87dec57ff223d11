// deploy-endpoint: a work message names a run; perform its pending step (idempotent: at-least-once delivery).
import { createHandler } from '#shared/fn/handler.ts';
import { parseJsonString } from '#shared/fn/triggers.ts';
import { startDeployment } from '#shared/pipeline/datascience-dispatch.ts';
import { pipelineFromEnv } from '#shared/pipeline/wire.ts';
import { workMessageSchema } from '#shared/pipeline/work.ts';
import { InvalidTriggerError } from '#shared/fn/errors.ts';

function parse(body: unknown): string {
  const work = workMessageSchema.parse(parseJsonString(body));
  if (work.step !== 'deploy-endpoint' || !work.runId) {
    throw new InvalidTriggerError(`not a deploy-endpoint message (step ${work.step})`, {});
  }
  return work.runId;
}

export const handler = createHandler({
  name: 'deploy-endpoint',
  input: parse,
  async run(runId, ctx) {
    ctx.setRunId(runId);
    const deps = await pipelineFromEnv(ctx.log);
    return { ...(await startDeployment(deps, runId)) };
  },
});
