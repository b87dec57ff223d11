/**
 * OCI Notifications: topics and subscriptions (control plane) and PublishMessage (data plane), all
 * on `/20181201`. ORACLE_FUNCTIONS subscriptions reach functions through the FunctionInvoker with
 * at-least-once retries; EMAIL (and other protocols) land in the outbox, a sink tests and the demo
 * read.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultInjector } from './faults.ts';
import {
  OciApiError,
  type Collection,
  type EmulatorContext,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorService,
  type FunctionInvoker,
  type Route,
} from './service.ts';

export const subscriptionProtocols = [
  'ORACLE_FUNCTIONS',
  'EMAIL',
  'HTTPS',
  'CUSTOM_HTTPS',
  'SLACK',
  'PAGERDUTY',
  'SMS',
] as const;
export type SubscriptionProtocol = (typeof subscriptionProtocols)[number];

export const SubscriptionState = { Pending: 'PENDING', Active: 'ACTIVE' } as const;
export type SubscriptionState = (typeof SubscriptionState)[keyof typeof SubscriptionState];

/** PublishMessage's size limit per request (notificationoverview.htm, CLI `ons message publish`). */
export const maxMessageBytes = 64 * 1024;

/** Default `maxRetryDuration` of a subscription's backoff policy: 2 h (oci-facts ONS). */
export const defaultMaxRetryDurationMs = 7_200_000;

interface TopicRecord {
  id: string;
  name: string;
  compartmentId: string;
  description?: string;
  timeCreated: string;
  etag: string;
  freeformTags: Record<string, string>;
  definedTags: Record<string, Record<string, unknown>>;
}

interface SubscriptionRecord {
  id: string;
  topicId: string;
  compartmentId: string;
  protocol: SubscriptionProtocol;
  endpoint: string;
  metadata?: string;
  lifecycleState: SubscriptionState;
  createdTime: number;
  etag: string;
  confirmationToken: string;
  maxRetryDurationMs: number;
  freeformTags: Record<string, string>;
  definedTags: Record<string, Record<string, unknown>>;
}

/** A message delivered to a sink subscription (EMAIL and the non-function protocols). */
export interface NotificationRecord {
  kind: 'message' | 'confirmation';
  topicId: string;
  topicName: string;
  subscriptionId: string;
  protocol: string;
  endpoint: string;
  messageId: string;
  title?: string;
  body: string;
  time: string;
}

/** One attempt to deliver to an ORACLE_FUNCTIONS subscription. */
export interface FunctionDeliveryAttempt {
  messageId: string;
  subscriptionId: string;
  functionId: string;
  attempt: number;
  outcome: 'delivered' | 'failed' | 'expired';
  status?: number;
}

export interface NotificationsRuntime {
  faults: FaultInjector;
  invoke(): FunctionInvoker | undefined;
  /** First retry delay before scaling; OCI's schedule is 1, 2, 4, ... minutes. */
  retryBaseMs: number;
  autoConfirmEmail: boolean;
  url(): string;
}

export class NotificationsService implements EmulatorService {
  readonly name = 'notifications';
  private ctx!: EmulatorContext;
  private topics!: Collection<TopicRecord>;
  private subs!: Collection<SubscriptionRecord>;
  private outboxFile = '';
  private readonly sink: NotificationRecord[] = [];
  readonly functionDeliveries: FunctionDeliveryAttempt[] = [];

  constructor(private readonly rt: NotificationsRuntime) {}

  routes(ctx: EmulatorContext): Route[] {
    this.ctx = ctx;
    this.topics = ctx.collection<TopicRecord>('ons-topics');
    this.subs = ctx.collection<SubscriptionRecord>('ons-subscriptions');
    const dir = join(ctx.dataDir, 'notifications');
    mkdirSync(dir, { recursive: true });
    this.outboxFile = join(dir, 'outbox.jsonl');
    if (existsSync(this.outboxFile)) {
      for (const line of readFileSync(this.outboxFile, 'utf8').split('\n')) {
        if (line.trim() !== '') this.sink.push(JSON.parse(line) as NotificationRecord);
      }
    }
    const t = '/20181201/topics';
    const s = '/20181201/subscriptions';
    return [
      { method: 'POST', path: t, operation: 'CreateTopic', handler: (r) => this.createTopic(r) },
      { method: 'GET', path: t, operation: 'ListTopics', handler: (r) => this.listTopics(r) },
      {
        method: 'GET',
        path: `${t}/{topicId}`,
        operation: 'GetTopic',
        handler: (r) => this.getTopic(r),
      },
      {
        method: 'PUT',
        path: `${t}/{topicId}`,
        operation: 'UpdateTopic',
        handler: (r) => this.updateTopic(r),
      },
      {
        method: 'DELETE',
        path: `${t}/{topicId}`,
        operation: 'DeleteTopic',
        handler: (r) => this.deleteTopic(r),
      },
      {
        method: 'POST',
        path: `${t}/{topicId}/messages`,
        operation: 'PublishMessage',
        handler: (r) => this.publishMessage(r),
      },
      {
        method: 'POST',
        path: s,
        operation: 'CreateSubscription',
        handler: (r) => this.createSubscription(r),
      },
      {
        method: 'GET',
        path: s,
        operation: 'ListSubscriptions',
        handler: (r) => this.listSubscriptions(r),
      },
      {
        method: 'GET',
        path: `${s}/{subscriptionId}`,
        operation: 'GetSubscription',
        handler: (r) => this.getSubscription(r),
      },
      {
        method: 'PUT',
        path: `${s}/{subscriptionId}`,
        operation: 'UpdateSubscription',
        handler: (r) => this.updateSubscription(r),
      },
      {
        method: 'DELETE',
        path: `${s}/{subscriptionId}`,
        operation: 'DeleteSubscription',
        handler: (r) => this.deleteSubscription(r),
      },
      {
        method: 'GET',
        path: `${s}/{subscriptionId}/confirmation`,
        operation: 'GetConfirmSubscription',
        handler: (r) => this.confirm(r),
      },
      {
        method: 'POST',
        path: `${s}/{subscriptionId}/resendConfirmation`,
        operation: 'ResendSubscriptionConfirmation',
        handler: (r) => this.resend(r),
      },
      {
        method: 'GET',
        path: `${s}/{subscriptionId}/unsubscription`,
        operation: 'GetUnsubscription',
        handler: (r) => this.unsubscribe(r),
      },
    ];
  }

  /** Messages delivered to sink subscriptions, optionally for one topic. */
  outbox(topicId?: string): NotificationRecord[] {
    return this.sink
      .filter((m) => topicId === undefined || m.topicId === topicId)
      .map((m) => ({ ...m }));
  }

  private topicBody(t: TopicRecord): Record<string, unknown> {
    const { id, etag, ...rest } = t;
    return {
      ...rest,
      topicId: id,
      etag,
      shortTopicId: id.slice(-10),
      lifecycleState: 'ACTIVE',
      apiEndpoint: `${this.rt.url()}/20181201`,
    };
  }

  private subBody(s: SubscriptionRecord): Record<string, unknown> {
    const { confirmationToken: _t, maxRetryDurationMs, ...rest } = s;
    return {
      ...rest,
      deliverPolicy: JSON.stringify({
        backoffRetryPolicy: { maxRetryDuration: maxRetryDurationMs, policyType: 'EXPONENTIAL' },
      }),
      deliveryPolicy: {
        backoffRetryPolicy: { maxRetryDuration: maxRetryDurationMs, policyType: 'EXPONENTIAL' },
      },
    };
  }

  private topic(id: string): TopicRecord {
    const t = this.topics.get(id);
    if (!t)
      throw new OciApiError(
        404,
        'NotAuthorizedOrNotFound',
        `Topic ${id} not found or not authorized`,
      );
    return t;
  }

  private sub(id: string): SubscriptionRecord {
    const s = this.subs.get(id);
    if (!s)
      throw new OciApiError(
        404,
        'NotAuthorizedOrNotFound',
        `Subscription ${id} not found or not authorized`,
      );
    return s;
  }

  private async createTopic(req: EmulatorRequest): Promise<EmulatorResponse> {
    const d = (await req.json<Record<string, unknown> | null>()) ?? {};
    if (typeof d.name !== 'string' || d.name === '')
      throw new OciApiError(400, 'MissingParameter', 'name is required');
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(d.name))
      throw new OciApiError(400, 'InvalidParameter', `invalid topic name '${d.name}'`);
    if (typeof d.compartmentId !== 'string' || d.compartmentId === '')
      throw new OciApiError(400, 'MissingParameter', 'compartmentId is required');
    // Topic names are unique in the tenancy.
    if (this.topics.list().some((t) => t.name === d.name))
      throw new OciApiError(409, 'Conflict', `A topic named '${d.name}' already exists`);
    const t: TopicRecord = {
      id: this.ctx.newOcid('onstopic'),
      name: d.name,
      compartmentId: d.compartmentId,
      ...(typeof d.description === 'string' ? { description: d.description } : {}),
      timeCreated: this.ctx.now().toISOString(),
      etag: randomUUID(),
      freeformTags: (d.freeformTags as Record<string, string>) ?? {},
      definedTags: (d.definedTags as Record<string, Record<string, unknown>>) ?? {},
    };
    this.topics.put(t);
    return { status: 200, headers: { etag: t.etag }, body: this.topicBody(t) };
  }

  private async listTopics(req: EmulatorRequest): Promise<EmulatorResponse> {
    const compartmentId = req.query.get('compartmentId');
    if (!compartmentId) throw new OciApiError(400, 'MissingParameter', 'compartmentId is required');
    const name = req.query.get('name');
    const items = this.topics
      .list()
      .filter((t) => t.compartmentId === compartmentId && (name === null || t.name === name));
    return { status: 200, body: items.map((t) => this.topicBody(t)) };
  }

  private async getTopic(req: EmulatorRequest): Promise<EmulatorResponse> {
    const t = this.topic(req.params.topicId ?? '');
    return { status: 200, headers: { etag: t.etag }, body: this.topicBody(t) };
  }

  private async updateTopic(req: EmulatorRequest): Promise<EmulatorResponse> {
    const t = this.topic(req.params.topicId ?? '');
    const d = (await req.json<Record<string, unknown> | null>()) ?? {};
    if (typeof d.description === 'string') t.description = d.description;
    if (d.freeformTags && typeof d.freeformTags === 'object')
      t.freeformTags = d.freeformTags as Record<string, string>;
    t.etag = randomUUID();
    this.topics.put(t);
    return { status: 200, headers: { etag: t.etag }, body: this.topicBody(t) };
  }

  private async deleteTopic(req: EmulatorRequest): Promise<EmulatorResponse> {
    const t = this.topic(req.params.topicId ?? '');
    for (const s of this.subs.list()) if (s.topicId === t.id) this.subs.delete(s.id);
    this.topics.delete(t.id);
    return { status: 204 };
  }

  private async createSubscription(req: EmulatorRequest): Promise<EmulatorResponse> {
    const d = (await req.json<Record<string, unknown> | null>()) ?? {};
    for (const k of ['topicId', 'compartmentId', 'protocol', 'endpoint']) {
      if (typeof d[k] !== 'string' || d[k] === '')
        throw new OciApiError(400, 'MissingParameter', `${k} is required`);
    }
    const protocol = d.protocol as SubscriptionProtocol;
    if (!subscriptionProtocols.includes(protocol))
      throw new OciApiError(
        400,
        'InvalidParameter',
        `unsupported protocol '${String(d.protocol)}'`,
      );
    const topic = this.topic(d.topicId as string);
    const confirmed =
      protocol === 'ORACLE_FUNCTIONS' || (protocol === 'EMAIL' && this.rt.autoConfirmEmail);
    const s: SubscriptionRecord = {
      id: this.ctx.newOcid('onssubscription'),
      topicId: topic.id,
      compartmentId: d.compartmentId as string,
      protocol,
      endpoint: d.endpoint as string,
      ...(typeof d.metadata === 'string' ? { metadata: d.metadata } : {}),
      // Function subscriptions need no confirmation; EMAIL and the others wait for the recipient.
      lifecycleState: confirmed ? SubscriptionState.Active : SubscriptionState.Pending,
      createdTime: this.ctx.now().getTime(),
      etag: randomUUID(),
      confirmationToken: randomBytes(16).toString('hex'),
      maxRetryDurationMs: defaultMaxRetryDurationMs,
      freeformTags: (d.freeformTags as Record<string, string>) ?? {},
      definedTags: (d.definedTags as Record<string, Record<string, unknown>>) ?? {},
    };
    this.subs.put(s);
    if (!confirmed) this.sendConfirmation(s, topic);
    return { status: 200, headers: { etag: s.etag }, body: this.subBody(s) };
  }

  private sendConfirmation(s: SubscriptionRecord, topic: TopicRecord): void {
    this.toSink(s, topic, {
      kind: 'confirmation',
      messageId: randomUUID(),
      title: `Confirm your subscription to ${topic.name}`,
      body: `${this.rt.url()}/20181201/subscriptions/${encodeURIComponent(s.id)}/confirmation?token=${s.confirmationToken}&protocol=${s.protocol}`,
    });
  }

  private async listSubscriptions(req: EmulatorRequest): Promise<EmulatorResponse> {
    const compartmentId = req.query.get('compartmentId');
    if (!compartmentId) throw new OciApiError(400, 'MissingParameter', 'compartmentId is required');
    const topicId = req.query.get('topicId');
    const items = this.subs
      .list()
      .filter(
        (s) => s.compartmentId === compartmentId && (topicId === null || s.topicId === topicId),
      );
    return { status: 200, body: items.map((s) => this.subBody(s)) };
  }

  private async getSubscription(req: EmulatorRequest): Promise<EmulatorResponse> {
    const s = this.sub(req.params.subscriptionId ?? '');
    return { status: 200, headers: { etag: s.etag }, body: this.subBody(s) };
  }

  private async updateSubscription(req: EmulatorRequest): Promise<EmulatorResponse> {
    const s = this.sub(req.params.subscriptionId ?? '');
    const d = (await req.json<Record<string, unknown> | null>()) ?? {};
    const policy = (
      d.deliveryPolicy as { backoffRetryPolicy?: { maxRetryDuration?: unknown } } | undefined
    )?.backoffRetryPolicy;
    if (policy && policy.maxRetryDuration !== undefined) {
      const ms = Number(policy.maxRetryDuration);
      if (!Number.isFinite(ms) || ms < 60_000 || ms > defaultMaxRetryDurationMs) {
        throw new OciApiError(
          400,
          'InvalidParameter',
          'maxRetryDuration must be between 60000 and 7200000 ms',
        );
      }
      s.maxRetryDurationMs = ms;
    }
    if (d.freeformTags && typeof d.freeformTags === 'object')
      s.freeformTags = d.freeformTags as Record<string, string>;
    s.etag = randomUUID();
    this.subs.put(s);
    return { status: 200, headers: { etag: s.etag }, body: this.subBody(s) };
  }

  private async deleteSubscription(req: EmulatorRequest): Promise<EmulatorResponse> {
    const s = this.sub(req.params.subscriptionId ?? '');
    this.subs.delete(s.id);
    return { status: 204 };
  }

  private async confirm(req: EmulatorRequest): Promise<EmulatorResponse> {
    const s = this.sub(req.params.subscriptionId ?? '');
    if (req.query.get('token') !== s.confirmationToken)
      throw new OciApiError(400, 'InvalidParameter', 'invalid confirmation token');
    s.lifecycleState = SubscriptionState.Active;
    s.etag = randomUUID();
    this.subs.put(s);
    const topic = this.topic(s.topicId);
    return {
      status: 200,
      body: {
        topicName: topic.name,
        topicId: topic.id,
        endpoint: s.endpoint,
        unsubscribeUrl: `${this.rt.url()}/20181201/subscriptions/${encodeURIComponent(s.id)}/unsubscription?token=${s.confirmationToken}`,
        message: 'Subscription confirmed',
        subscriptionId: s.id,
      },
    };
  }

  private async resend(req: EmulatorRequest): Promise<EmulatorResponse> {
    const s = this.sub(req.params.subscriptionId ?? '');
    if (s.lifecycleState === SubscriptionState.Pending)
      this.sendConfirmation(s, this.topic(s.topicId));
    return { status: 200, headers: { etag: s.etag }, body: this.subBody(s) };
  }

  private async unsubscribe(req: EmulatorRequest): Promise<EmulatorResponse> {
    const s = this.sub(req.params.subscriptionId ?? '');
    if (req.query.get('token') !== s.confirmationToken)
      throw new OciApiError(400, 'InvalidParameter', 'invalid token');
    this.subs.delete(s.id);
    return { status: 200, body: 'Unsubscribed' };
  }

  private async publishMessage(req: EmulatorRequest): Promise<EmulatorResponse> {
    const topic = this.topic(req.params.topicId ?? '');
    const d = (await req.json<Record<string, unknown> | null>()) ?? {};
    if (typeof d.body !== 'string')
      throw new OciApiError(400, 'MissingParameter', 'body is required');
    const title = typeof d.title === 'string' ? d.title : undefined;
    const size = Buffer.byteLength(d.body, 'utf8') + (title ? Buffer.byteLength(title, 'utf8') : 0);
    // The status for an oversized message is not documented; 413 is what HTTP prescribes.
    if (size > maxMessageBytes) {
      throw new OciApiError(
        413,
        'RequestEntityTooLarge',
        `message is ${size} bytes; the limit is ${maxMessageBytes} bytes`,
      );
    }
    const messageType =
      typeof req.headers.messagetype === 'string' ? req.headers.messagetype : 'JSON';
    const messageId = this.publish(topic, title, d.body, messageType);
    return { status: 200, body: { messageId, timeStamp: this.ctx.now().toISOString() } };
  }

  /** Publishes as the service would (Monitoring alarms and Events ONS actions come here). */
  async publishToTopic(topicId: string, title: string | undefined, body: string): Promise<void> {
    this.publish(this.topic(topicId), title, body, 'JSON');
  }

  private publish(
    topic: TopicRecord,
    title: string | undefined,
    body: string,
    messageType: string,
  ): string {
    const messageId = randomUUID();
    const subs = this.subs
      .list()
      .filter((s) => s.topicId === topic.id && s.lifecycleState === SubscriptionState.Active);
    this.ctx.after(0, () => {
      for (const s of subs) {
        // ONS is at-least-once per subscription: duplicates are possible (notificationoverview.htm).
        const copies = Math.max(1, this.rt.faults.deliveryCopies(`ons:${s.id}`));
        for (let i = 0; i < copies; i++) {
          if (s.protocol === 'ORACLE_FUNCTIONS') {
            void this.deliverToFunction(
              s,
              topic,
              messageId,
              title,
              body,
              messageType,
              1,
              this.ctx.now().getTime(),
            );
          } else {
            this.toSink(s, topic, {
              kind: 'message',
              messageId,
              ...(title !== undefined ? { title } : {}),
              body,
            });
          }
        }
      }
    });
    return messageId;
  }

  private toSink(
    s: SubscriptionRecord,
    topic: TopicRecord,
    m: Pick<NotificationRecord, 'kind' | 'messageId' | 'title' | 'body'>,
  ): void {
    const rec: NotificationRecord = {
      ...m,
      topicId: topic.id,
      topicName: topic.name,
      subscriptionId: s.id,
      protocol: s.protocol,
      endpoint: s.endpoint,
      time: this.ctx.now().toISOString(),
    };
    this.sink.push(rec);
    appendFileSync(this.outboxFile, JSON.stringify(rec) + '\n');
  }

  private async deliverToFunction(
    s: SubscriptionRecord,
    topic: TopicRecord,
    messageId: string,
    title: string | undefined,
    body: string,
    messageType: string,
    attempt: number,
    firstAttemptMs: number,
  ): Promise<void> {
    const headers: Record<string, string> = {
      'Content-Type': messageType === 'RAW_TEXT' ? 'text/plain' : 'application/json',
      'X-OCI-NS-MessageId': messageId,
      'X-OCI-NS-TopicOcid': topic.id,
      'X-OCI-NS-TopicName': topic.name,
      'X-OCI-NS-MessageType': messageType,
      ...(title !== undefined ? { 'X-OCI-NS-Title': title } : {}),
    };
    let status: number | undefined;
    try {
      const invoke = this.rt.invoke();
      if (!invoke) throw new Error('no function invoker configured');
      status = (await invoke(s.endpoint, Buffer.from(body, 'utf8'), headers)).status;
    } catch (err) {
      this.ctx.log.warn('emulator.ons.deliveryError', {
        subscriptionId: s.id,
        messageId,
        attempt,
        error: err,
      });
    }
    const ok = status !== undefined && status >= 200 && status < 300;
    this.functionDeliveries.push({
      messageId,
      subscriptionId: s.id,
      functionId: s.endpoint,
      attempt,
      outcome: ok ? 'delivered' : 'failed',
      ...(status !== undefined ? { status } : {}),
    });
    if (ok) return;
    // Retry with backoff 1, 2, 4, ... (scaled) until maxRetryDuration, then discard (notificationoverview.htm).
    const delayMs = this.ctx.scaleDelayMs(this.rt.retryBaseMs * 2 ** (attempt - 1));
    const elapsedMs = this.ctx.now().getTime() - firstAttemptMs;
    if (elapsedMs + delayMs > this.ctx.scaleDelayMs(s.maxRetryDurationMs)) {
      this.functionDeliveries.push({
        messageId,
        subscriptionId: s.id,
        functionId: s.endpoint,
        attempt,
        outcome: 'expired',
      });
      this.ctx.log.warn('emulator.ons.discarded', {
        subscriptionId: s.id,
        messageId,
        attempts: attempt,
      });
      return;
    }
    this.ctx.after(delayMs, () => {
      // The subscription may have been deleted meanwhile.
      if (!this.subs.get(s.id)) return;
      void this.deliverToFunction(
        s,
        topic,
        messageId,
        title,
        body,
        messageType,
        attempt + 1,
        firstAttemptMs,
      );
    });
  }
}
