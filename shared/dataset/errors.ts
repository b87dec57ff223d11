import { DacflowError } from '#shared/errors.ts';

/** The dataset could not be read (missing file, network failure): a retry may help. */
export class DatasetReadError extends DacflowError {
  constructor(message: string, cause?: unknown, context?: Record<string, unknown>) {
    super(message, { code: 'DATASET_READ_FAILED', retryable: true, cause, context });
    this.name = 'DatasetReadError';
  }
}

/** The input cannot be converted at all (compressed, neither JSONL nor a JSON array). */
export class ConvertInputError extends DacflowError {
  constructor(message: string, context?: Record<string, unknown>) {
    super(message, { code: 'CONVERT_INPUT_INVALID', context });
    this.name = 'ConvertInputError';
  }
}
