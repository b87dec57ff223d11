import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DacflowError } from '#shared/errors.ts';
import { createLogger } from '#shared/log.ts';
import { createHandler, type FdkContext } from '#shared/fn/handler.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({}, { write: (l) => lines.push(JSON.parse(l)), level: 'debug' });
  return { lines, logger };
}

const t0 = new Date('2026-03-01T12:00:00Z');
const ctxAt = (deadline: Date | null, callID = 'call-1'): FdkContext => ({
  callID,
  deadline,
  fnName: 'validate-dataset',
  getHeader: (k) => (k === 'X-Oci-Ns-Messageid' ? 'msg-1' : null),
});

describe('createHandler', () => {
  it('validates input with a zod schema and wraps the result', async () => {
    const { logger } = capture();
    const h = createHandler({
      name: 'f',
      input: z.object({ n: z.number() }),
      run: async ({ n }) => ({ doubled: n * 2 }),
      logger,
    });
    expect(await h({ n: 2 }, ctxAt(null))).toEqual({ ok: true, result: { doubled: 4 } });
  });

  it('turns invalid input into INVALID_TRIGGER, not a throw', async () => {
    const { logger } = capture();
    const h = createHandler({
      name: 'f',
      input: z.object({ n: z.number() }),
      run: async () => 'never',
      logger,
    });
    const r = await h({ n: 'x' }, ctxAt(null));
    expect(r).toMatchObject({ ok: false, error: { code: 'INVALID_TRIGGER', retryable: false } });
    expect(r.ok ? '' : r.error.message).toContain('n:');
  });

  it('accepts a parse function and maps its throw to INVALID_TRIGGER', async () => {
    const h = createHandler({
      name: 'f',
      input: (b) => {
        if (typeof b !== 'string') throw new Error('want a string');
        return b;
      },
      run: async (s) => s.length,
      logger: capture().logger,
    });
    expect(await h('abc', ctxAt(null))).toEqual({ ok: true, result: 3 });
    expect(await h(5, ctxAt(null))).toMatchObject({
      ok: false,
      error: { code: 'INVALID_TRIGGER' },
    });
  });

  it('never returns undefined or null', async () => {
    const h = createHandler({
      name: 'f',
      input: z.unknown(),
      run: async () => undefined,
      logger: capture().logger,
    });
    expect(await h({}, ctxAt(null))).toEqual({ ok: true, result: null });
  });

  it('maps a DacflowError to its code and retryable flag', async () => {
    const h = createHandler({
      name: 'f',
      input: z.unknown(),
      run: async () => {
        throw new DacflowError('cluster busy', { code: 'CLUSTER_BUSY', retryable: true });
      },
      logger: capture().logger,
    });
    expect(await h({}, ctxAt(null))).toEqual({
      ok: false,
      error: { code: 'CLUSTER_BUSY', message: 'cluster busy', retryable: true },
    });
  });

  it('maps an OCI SDK error by shape and an unknown error to INTERNAL, logging it', async () => {
    const { lines, logger } = capture();
    const oci = Object.assign(new Error('x'), {
      statusCode: 503,
      serviceCode: 'ServiceUnavailable',
    });
    const h1 = createHandler({
      name: 'f',
      input: z.unknown(),
      run: async () => Promise.reject(oci),
      logger,
    });
    expect(await h1({}, ctxAt(null))).toMatchObject({
      ok: false,
      error: { code: 'OCI_ERROR', retryable: true },
    });
    const h2 = createHandler({
      name: 'f',
      input: z.unknown(),
      run: async () => {
        throw new TypeError('secret dataset text');
      },
      logger,
    });
    const r = await h2({}, ctxAt(null));
    expect(r).toEqual({
      ok: false,
      error: { code: 'INTERNAL', message: 'internal error (see logs)', retryable: false },
    });
    const err = lines.find((l) => l.level === 'error');
    expect(err).toMatchObject({
      msg: 'unexpected error',
      fn: 'validate-dataset',
      callId: 'call-1',
    });
  });

  it('logs with call id, function and run id once set', async () => {
    const { lines, logger } = capture();
    const h = createHandler({
      name: 'fallback',
      input: z.unknown(),
      run: async (_i, ctx) => {
        ctx.setRunId('run-9');
        ctx.log.info('working');
        return ctx.header('X-Oci-Ns-Messageid') ?? null;
      },
      logger,
    });
    expect(await h({}, ctxAt(null, 'abc'))).toEqual({ ok: true, result: 'msg-1' });
    expect(lines.find((l) => l.msg === 'working')).toMatchObject({
      fn: 'validate-dataset',
      callId: 'abc',
      runId: 'run-9',
    });
    expect(lines.find((l) => l.msg === 'call finished')).toMatchObject({
      ok: true,
      runId: 'run-9',
    });
  });

  it('works out remaining time from the deadline minus the safety margin', async () => {
    let nowMs = t0.getTime();
    const h = createHandler({
      name: 'f',
      input: z.unknown(),
      now: () => new Date(nowMs),
      safetyMarginMs: 1000,
      run: async (_i, ctx) => {
        const a = ctx.remainingMs();
        nowMs += 2000;
        return [a, ctx.remainingMs(), ctx.signal.aborted];
      },
      logger: capture().logger,
    });
    expect(await h({}, ctxAt(new Date(t0.getTime() + 10_000)))).toEqual({
      ok: true,
      result: [9000, 7000, false],
    });
    const noDeadline = createHandler({
      name: 'f',
      input: z.unknown(),
      run: async (_i, ctx) => String(ctx.remainingMs()),
      logger: capture().logger,
    });
    expect(await noDeadline({}, ctxAt(null))).toEqual({ ok: true, result: 'Infinity' });
  });

  it('aborts ctx.signal before the deadline and reports DEADLINE_EXCEEDED', async () => {
    const h = createHandler({
      name: 'f',
      input: z.unknown(),
      safetyMarginMs: 1000,
      run: (_i, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted fetch')));
        }),
      logger: capture().logger,
    });
    // Deadline 1.05 s away with a 1 s margin: the signal fires after about 50 ms.
    const r = await h({}, ctxAt(new Date(Date.now() + 1050)));
    expect(r).toMatchObject({ ok: false, error: { code: 'DEADLINE_EXCEEDED', retryable: true } });
  });
});
