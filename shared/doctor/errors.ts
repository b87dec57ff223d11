import { DacflowError } from '#shared/errors.ts';

/** Which OCI service a doctor port talks to (for "not reachable" findings). */
export type DoctorService =
  'objectstorage' | 'events' | 'notifications' | 'monitoring' | 'generativeai';

/**
 * An OCI call a check needed failed. `unreachable` means the service did not answer at all (no
 * connection, or no such API at this endpoint), as opposed to answering with an error.
 */
export class ServiceCallError extends DacflowError {
  readonly service: DoctorService;
  readonly operation: string;
  readonly status: number | undefined;
  readonly serviceCode: string | undefined;
  readonly unreachable: boolean;

  constructor(
    service: DoctorService,
    operation: string,
    detail: { status?: number; serviceCode?: string; message: string; unreachable: boolean },
    cause?: unknown,
  ) {
    super(`${operation} failed: ${detail.message}`, {
      code: detail.unreachable ? 'SERVICE_UNREACHABLE' : 'SERVICE_CALL_FAILED',
      retryable: detail.unreachable || (detail.status ?? 0) >= 500 || detail.status === 429,
      cause,
      context: { service, operation, status: detail.status, serviceCode: detail.serviceCode },
    });
    this.name = 'ServiceCallError';
    this.service = service;
    this.operation = operation;
    this.status = detail.status;
    this.serviceCode = detail.serviceCode;
    this.unreachable = detail.unreachable;
  }
}

/** `doctor`'s inputs (local.json, env file, workflow files) cannot be read or do not validate. */
export class DoctorInputError extends DacflowError {
  constructor(message: string, context?: Record<string, unknown>, cause?: unknown) {
    super(message, { code: 'DOCTOR_INPUT_INVALID', context, cause });
    this.name = 'DoctorInputError';
  }
}

/** A short description of a failed call for a finding's message. */
export function describeCallError(err: unknown): string {
  if (err instanceof ServiceCallError) {
    const status = err.status !== undefined ? `${err.status} ${err.serviceCode ?? ''}`.trim() : '';
    const cause = err.cause instanceof Error ? err.cause.message.split('\n')[0] : '';
    return [status, cause].filter((s) => s).join(': ') || err.message;
  }
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}
