/** Errors of the function plumbing: trigger parsing, deadlines, configuration. */
import { DacflowError } from '#shared/errors.ts';

/** The payload a function received is not the trigger it expects; retrying the same body fails again. */
export class InvalidTriggerError extends DacflowError {
  constructor(message: string, context?: Record<string, unknown>, cause?: unknown) {
    super(message, { code: 'INVALID_TRIGGER', retryable: false, context, cause });
    this.name = 'InvalidTriggerError';
  }
}

/** The call ran into the safety margin before Fn's deadline; a later call can finish the work. */
export class DeadlineError extends DacflowError {
  constructor(message: string, context?: Record<string, unknown>) {
    super(message, { code: 'DEADLINE_EXCEEDED', retryable: true, context });
    this.name = 'DeadlineError';
  }
}
