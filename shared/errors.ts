/**
 * The base of every dacflow error. Each area keeps its own errors module with subclasses that set
 * `name`, carry context, keep the original failure as `cause`, and say whether a retry can help.
 */
export interface ErrorDetails {
  /** A stable machine-readable code, e.g. `DATASET_NOT_FOUND`. */
  code: string;
  /** True when trying the same thing again later can succeed. */
  retryable?: boolean;
  cause?: unknown;
  /** Identifiers and counts only: never dataset text. */
  context?: Record<string, unknown>;
}

export class DacflowError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(message: string, details: ErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DacflowError';
    this.code = details.code;
    this.retryable = details.retryable ?? false;
    this.context = Object.freeze({ ...details.context });
  }
}

/** Configuration that does not validate; `issues` name each variable or field. */
export class ConfigError extends DacflowError {
  constructor(message: string, context?: Record<string, unknown>) {
    super(message, { code: 'CONFIG_INVALID', context });
    this.name = 'ConfigError';
  }
}

/** The message of any thrown value, without assuming it is an Error. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
