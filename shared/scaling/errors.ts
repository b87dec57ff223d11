import { DacflowError } from '../errors.ts';

/** Why an alarm message could not become an `AlarmSignal`. Stable codes for logs and metrics. */
export const AlarmParseCode = {
  TooLarge: 'ALARM_MESSAGE_TOO_LARGE',
  NotJson: 'ALARM_MESSAGE_NOT_JSON',
  Invalid: 'ALARM_MESSAGE_INVALID',
  UnknownType: 'ALARM_TYPE_UNKNOWN',
  BodyInvalid: 'ALARM_BODY_INVALID',
  NoCluster: 'ALARM_CLUSTER_UNKNOWN',
  /** A workflow (model-deployment) alarm whose grouped message names several resources. */
  AmbiguousTarget: 'ALARM_TARGET_AMBIGUOUS',
  NoRule: 'ALARM_RULE_UNKNOWN',
} as const;
export type AlarmParseCode = (typeof AlarmParseCode)[keyof typeof AlarmParseCode];

/**
 * An alarm message that cannot be acted on. Never retryable: Notifications redelivers the same
 * bytes, so the function should acknowledge and log the code rather than fail the delivery.
 */
export class AlarmParseError extends DacflowError {
  override readonly code: AlarmParseCode;
  constructor(code: AlarmParseCode, message: string, context?: Record<string, unknown>) {
    super(message, { code, retryable: false, context });
    this.name = 'AlarmParseError';
    this.code = code;
  }
}

/** A scaling policy whose numbers contradict each other (e.g. minUnits above maxUnits). */
export class ScalingPolicyError extends DacflowError {
  constructor(message: string, context?: Record<string, unknown>) {
    super(message, { code: 'SCALING_POLICY_INVALID', context });
    this.name = 'ScalingPolicyError';
  }
}

/** A demand trace that cannot be simulated; `context.line` names the 1-based CSV line. */
export class TraceError extends DacflowError {
  constructor(message: string, context?: Record<string, unknown>) {
    super(message, { code: 'TRACE_INVALID', context });
    this.name = 'TraceError';
  }
}
