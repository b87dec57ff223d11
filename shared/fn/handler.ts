/**
 * The one wrapper every dacflow function hands to `fdk.handle`. It turns the FDK 0.0.76 contract,
 * which has sharp edges (oci-facts.md E: a thrown error becomes a generic HTTP 502, returning
 * `undefined` crashes the process), into: validated input in, a JSON result out, always.
 */
import type { ZodType } from 'zod';
import { DacflowError, errorMessage } from '#shared/errors.ts';
import { createLogger, type Logger, type LogLevel } from '#shared/log.ts';
import { DeadlineError, InvalidTriggerError } from './errors.ts';

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined };

/** The parts of the FDK's context the wrapper reads (fn-fdk.js `Context`). */
export interface FdkContext {
  /** Header Fn-Call-Id. */
  callID?: string;
  /** `new Date(Fn-Deadline)`, or null when the header is absent. */
  deadline?: Date | null;
  fnName?: string;
  fnID?: string;
  getHeader?(name: string): string | null;
}

export interface ErrorResult {
  ok: false;
  error: { code: string; message: string; retryable: boolean };
}
export interface OkResult {
  ok: true;
  result: JsonValue;
}
/** What every function returns as its JSON body: never null, never a 502 for a known error. */
export type HandlerResult = OkResult | ErrorResult;

/** What a function's `run` gets besides its input. */
export interface HandlerContext {
  callId: string;
  functionName: string;
  /** Carries fn, callId (and runId once set) on every line. */
  readonly log: Logger;
  /** Adds the run id to every later log line of this call. */
  setRunId(runId: string): void;
  /** Fn's deadline for this call, when Fn sent one. */
  deadline: Date | undefined;
  /** Milliseconds until the deadline minus the safety margin (Infinity without a deadline). */
  remainingMs(): number;
  /** Aborts `safetyMarginMs` before the deadline, so work stops cleanly before Fn kills it. */
  signal: AbortSignal;
  /** Reads a request header (e.g. X-OCI-NS-MessageId from Notifications). */
  header(name: string): string | undefined;
  now(): Date;
}

export interface HandlerOptions<I> {
  /** Function name for logs when Fn does not send FN_FN_NAME. */
  name: string;
  /** A zod schema, or a parse function that throws on bad input. */
  input: ZodType<I> | ((body: unknown) => I);
  run(input: I, ctx: HandlerContext): Promise<JsonValue | undefined | void>;
  logger?: Logger;
  /** How long before Fn's deadline `ctx.signal` fires; 3 s by default. */
  safetyMarginMs?: number;
  now?: () => Date;
}

export const defaultSafetyMarginMs = 3000;

const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function defaultLogger(): Logger {
  const level = process.env.DACFLOW_LOG_LEVEL;
  return createLogger({}, { level: logLevels.find((l) => l === level) ?? 'info' });
}

function isZod<I>(input: HandlerOptions<I>['input']): input is ZodType<I> {
  return typeof (input as ZodType<I>).safeParse === 'function';
}

function parseInput<I>(input: HandlerOptions<I>['input'], body: unknown): I {
  if (isZod(input)) {
    const r = input.safeParse(body);
    if (r.success) return r.data;
    const issues = r.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidTriggerError(`invalid trigger payload: ${issues.join('; ')}`, {
      issueCount: r.error.issues.length,
    });
  }
  try {
    return input(body);
  } catch (err) {
    if (err instanceof DacflowError) throw err;
    throw new InvalidTriggerError(`invalid trigger payload: ${errorMessage(err)}`, {}, err);
  }
}

/** An OCI SDK error (OciError) recognised by shape, so the wrapper does not import oci-common. */
function ociStatus(err: unknown): { statusCode: number; serviceCode: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; serviceCode?: unknown };
  return typeof e.statusCode === 'number' && typeof e.serviceCode === 'string'
    ? { statusCode: e.statusCode, serviceCode: e.serviceCode }
    : undefined;
}

/** Maps any thrown value to the error result; unknown errors become INTERNAL. */
export function toErrorResult(err: unknown): ErrorResult {
  if (err instanceof DacflowError) {
    return { ok: false, error: { code: err.code, message: err.message, retryable: err.retryable } };
  }
  const oci = ociStatus(err);
  if (oci) {
    // The SDK has already retried retryable statuses (its default retry configuration).
    return {
      ok: false,
      error: {
        code: 'OCI_ERROR',
        message: `OCI ${oci.serviceCode} (HTTP ${oci.statusCode})`,
        retryable: oci.statusCode === 429 || oci.statusCode >= 500,
      },
    };
  }
  return {
    ok: false,
    error: { code: 'INTERNAL', message: 'internal error (see logs)', retryable: false },
  };
}

/**
 * Builds the `(body, ctx)` function for `fdk.handle`. Input is validated (INVALID_TRIGGER on
 * failure), `run` gets a per-call logger and an abort signal tied to Fn's deadline, and every
 * outcome becomes a `HandlerResult`: the FDK never sees a throw or an undefined.
 */
export function createHandler<I>(
  options: HandlerOptions<I>,
): (body: unknown, fdkCtx: FdkContext) => Promise<HandlerResult> {
  const now = options.now ?? (() => new Date());
  const marginMs = options.safetyMarginMs ?? defaultSafetyMarginMs;
  let baseLogger: Logger | undefined = options.logger;
  return async (body, fdkCtx) => {
    baseLogger ??= defaultLogger();
    const started = now().getTime();
    const callId = fdkCtx?.callID ?? 'local';
    const functionName = fdkCtx?.fnName || options.name;
    let log = baseLogger.child({ fn: functionName, callId });
    const deadline =
      fdkCtx?.deadline instanceof Date && !Number.isNaN(fdkCtx.deadline.getTime())
        ? fdkCtx.deadline
        : undefined;
    const remainingMs = () =>
      deadline ? Math.max(0, deadline.getTime() - marginMs - now().getTime()) : Infinity;
    const controller = new AbortController();
    const timer = deadline
      ? setTimeout(
          () =>
            controller.abort(
              new DeadlineError(`stopped ${marginMs} ms before Fn's deadline`, { marginMs }),
            ),
          remainingMs(),
        )
      : undefined;
    timer?.unref?.();
    const ctx: HandlerContext = {
      callId,
      functionName,
      get log() {
        return log;
      },
      setRunId(runId) {
        log = log.child({ runId });
      },
      deadline,
      remainingMs,
      signal: controller.signal,
      header: (name) => fdkCtx?.getHeader?.(name) ?? undefined,
      now,
    };
    let result: HandlerResult;
    try {
      const input = parseInput(options.input, body);
      const value = await options.run(input, ctx);
      result = { ok: true, result: value ?? null };
    } catch (thrown) {
      // Work cut short by the signal reports the deadline, whatever the aborted call threw.
      const err =
        controller.signal.aborted && !(thrown instanceof DacflowError)
          ? controller.signal.reason
          : thrown;
      result = toErrorResult(err);
      const fields = { code: result.error.code, retryable: result.error.retryable };
      if (result.error.code === 'INTERNAL')
        log.error('unexpected error', { ...fields, err: err as Error });
      else log.warn('call failed', fields);
    } finally {
      clearTimeout(timer);
    }
    log.info('call finished', {
      ok: result.ok,
      durationMs: now().getTime() - started,
      ...(result.ok ? {} : { code: result.error.code }),
    });
    return result;
  };
}
