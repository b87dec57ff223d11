/**
 * Publishes run transitions and scaling actions to a workflow's ONS topic. Best effort by design:
 * a notification that cannot be sent is logged and reported, never thrown, because a run must not
 * fail (or be retried into a second fine-tune) over an email. ONS delivers at least once, so every
 * body carries a `dedupeKey`.
 */
import type { requests, responses } from 'oci-ons';
import { silentLogger, type Logger } from '#shared/log.ts';
import {
  buildMessage,
  defaultMaxMessageBytes,
  defaultMaxTitleBytes,
  type Notification,
} from './notify-body.ts';

export type {
  Notification,
  RunNotification,
  ScalingNotification,
  ScaledResourceKind,
  BuiltMessage,
} from './notify-body.ts';
export { runNotification, buildMessage } from './notify-body.ts';

/** The one NotificationDataPlaneClient method used; the real client fits. */
export interface NotifyPort {
  publishMessage(
    request: requests.PublishMessageRequest,
  ): Promise<Pick<responses.PublishMessageResponse, 'publishResult'>>;
}

/**
 * A workflow's notification settings (its `notifications` block, plus `enabled` and `scaling`
 * which default to true). `events` filters run events; scaling actions are governed by `scaling`.
 */
export interface NotifySettings {
  enabled?: boolean;
  /** Without a topic nothing is published (the event is only logged). */
  topicId?: string;
  /** Run events to send; all when omitted. */
  events?: readonly string[];
  /** Send scaling actions; true when omitted. */
  scaling?: boolean;
}

export const SkipReason = {
  DISABLED: 'DISABLED',
  NO_TOPIC: 'NO_TOPIC',
  FILTERED: 'FILTERED',
} as const;
export type SkipReason = (typeof SkipReason)[keyof typeof SkipReason];

export type PublishOutcome =
  | { sent: true; messageId: string | undefined; bytes: number; truncated: boolean }
  | { sent: false; skipped: SkipReason }
  | { sent: false; failed: true; errorCode: string; retryable: boolean };

export interface NotifierOptions {
  log?: Logger;
  maxMessageBytes?: number;
  maxTitleBytes?: number;
}

/** Whether `settings` ask for `n`, and why not. */
export function shouldSend(n: Notification, settings: NotifySettings): SkipReason | undefined {
  if (settings.enabled === false) return SkipReason.DISABLED;
  if (n.kind === 'run') {
    if (settings.events !== undefined && !settings.events.includes(n.event)) {
      return SkipReason.FILTERED;
    }
  } else if (settings.scaling === false) {
    return SkipReason.FILTERED;
  }
  if (!settings.topicId) return SkipReason.NO_TOPIC;
  return undefined;
}

export class Notifier {
  private readonly log: Logger;
  private readonly limits: { maxMessageBytes: number; maxTitleBytes: number };

  constructor(
    private readonly port: NotifyPort,
    options: NotifierOptions = {},
  ) {
    this.log = options.log ?? silentLogger;
    this.limits = {
      maxMessageBytes: options.maxMessageBytes ?? defaultMaxMessageBytes,
      maxTitleBytes: options.maxTitleBytes ?? defaultMaxTitleBytes,
    };
  }

  /** Publishes `n` if `settings` want it. Never throws for a failed publish. */
  async publish(n: Notification, settings: NotifySettings): Promise<PublishOutcome> {
    const fields = logFields(n);
    const skipped = shouldSend(n, settings);
    if (skipped) {
      this.log.debug('notification skipped', { ...fields, reason: skipped });
      return { sent: false, skipped };
    }
    const message = buildMessage(n, this.limits);
    try {
      const res = await this.port.publishMessage({
        topicId: settings.topicId as string,
        messageDetails: { title: message.title, body: message.body },
      });
      const messageId = res.publishResult?.messageId;
      this.log.info('notification sent', {
        ...fields,
        messageId,
        bytes: message.bytes,
        truncated: message.truncated,
      });
      return { sent: true, messageId, bytes: message.bytes, truncated: message.truncated };
    } catch (err) {
      const status = (err as { statusCode?: unknown }).statusCode;
      const serviceCode = (err as { serviceCode?: unknown }).serviceCode;
      const errorCode = typeof serviceCode === 'string' ? serviceCode : 'PUBLISH_FAILED';
      const retryable = typeof status !== 'number' || status === 429 || status >= 500;
      this.log.warn('notification not sent', { ...fields, errorCode, status, retryable });
      return { sent: false, failed: true, errorCode, retryable };
    }
  }
}

function logFields(n: Notification): Record<string, unknown> {
  return n.kind === 'run'
    ? { kind: n.kind, event: n.event, runId: n.runId, workflow: n.workflow }
    : { kind: n.kind, action: n.action, clusterId: n.clusterId };
}
