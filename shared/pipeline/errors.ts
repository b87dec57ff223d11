import { DacflowError } from '#shared/errors.ts';

/** A failure of a pipeline step that is not a state-store or trigger problem. */
export class PipelineError extends DacflowError {
  constructor(
    message: string,
    code: string,
    retryable: boolean,
    context?: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(message, { code, retryable, context, cause });
    this.name = 'PipelineError';
  }
}

/** What an OCI SDK error means for a create or get call. */
export type OciFailureKind =
  /** The resource (or something it names) does not exist. */
  | 'NOT_FOUND'
  /** The target exists but is not ready (409 IncorrectState): wait, do not fail. */
  | 'NOT_READY'
  /** Throttling or a server error that outlived the SDK's retries: the outcome is unknown. */
  | 'TRANSIENT'
  /** A definite rejection (400, 401, 403, 409 other than IncorrectState, 412). */
  | 'REJECTED';

export interface OciFailure {
  kind: OciFailureKind;
  status: number;
  code: string;
  message: string;
}

/**
 * Classifies an error thrown by an OCI SDK call (`OciError` from oci-common carries `statusCode`
 * and `serviceCode`). Anything without a status (network failure, abort) is TRANSIENT.
 */
export function classifyOciError(err: unknown): OciFailure {
  const e = err as { statusCode?: unknown; serviceCode?: unknown; message?: unknown };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 0;
  const code =
    typeof e?.serviceCode === 'string' && e.serviceCode ? e.serviceCode : `HTTP_${status}`;
  // The SDK prefixes nothing useful; keep OCI's message, bounded.
  const message = (typeof e?.message === 'string' ? e.message : String(err)).slice(0, 500);
  let kind: OciFailureKind;
  if (status === 404) kind = 'NOT_FOUND';
  else if (status === 409 && code === 'IncorrectState') kind = 'NOT_READY';
  else if (status === 0 || status === 429 || status >= 500) kind = 'TRANSIENT';
  else kind = 'REJECTED';
  return { kind, status, code, message };
}
