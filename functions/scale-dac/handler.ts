// scale-dac: a Monitoring alarm, delivered by Notifications, may change one hosting cluster's unit
// count. Every outcome is acknowledged with a JSON result: Notifications would redeliver the same
// bytes, and a still-firing alarm repeats on its own.
import { createHandler } from '#shared/fn/handler.ts';
import { parseJsonString } from '#shared/fn/triggers.ts';
import { handleAlarm, scaleDepsFromEnv } from '#shared/pipeline/scale.ts';

// The lease must end with the call; without an Fn deadline assume func.yaml's 120 s timeout.
const defaultRemainingMs = 120_000;

export const handler = createHandler({
  name: 'scale-dac',
  input: (body) => parseJsonString(body),
  async run(message, ctx) {
    const deps = await scaleDepsFromEnv(ctx.log);
    const remaining = ctx.remainingMs();
    const result = await handleAlarm(deps, message, {
      token: ctx.callId,
      remainingMs: Number.isFinite(remaining) ? remaining : defaultRemainingMs,
    });
    return { ...result };
  },
});
