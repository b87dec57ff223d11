import { DacflowError } from '#shared/errors.ts';

/** The emulator could not start: bad options, an unusable data dir, a port in use. */
export class EmulatorStartError extends DacflowError {
  constructor(message: string, cause?: unknown, context?: Record<string, unknown>) {
    super(message, { code: 'EMULATOR_START_FAILED', cause, context });
    this.name = 'EmulatorStartError';
  }
}

/** A schedule with a cron expression that does not parse. */
export class ScheduleError extends DacflowError {
  constructor(message: string, cause?: unknown, context?: Record<string, unknown>) {
    super(message, { code: 'EMULATOR_SCHEDULE_INVALID', cause, context });
    this.name = 'ScheduleError';
  }
}
