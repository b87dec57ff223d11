/**
 * OCI Events: rules CRUD on `/20181201/rules` and delivery of matching events to FAAS and ONS
 * actions. Delivery is asynchronous (never inside the request that caused the event) and subject to
 * seeded drop/duplicate injection.
 */
import { randomUUID } from 'node:crypto';
import { ConditionSyntaxError, matchesCondition, parseCondition } from './condition.ts';
import type { FaultInjector } from './faults.ts';
import {
  OciApiError,
  type CloudEvent,
  type Collection,
  type EmulatorContext,
  type EmulatorRequest,
  type EmulatorResponse,
  type EmulatorService,
  type FunctionInvoker,
  type Route,
} from './service.ts';

export const actionTypes = ['FAAS', 'ONS', 'OSS'] as const;
export type ActionType = (typeof actionTypes)[number];

interface ActionRecord {
  id: string;
  actionType: ActionType;
  isEnabled: boolean;
  description?: string;
  functionId?: string;
  topicId?: string;
  streamId?: string;
  lifecycleState: 'ACTIVE';
  lifecycleMessage: string;
}

interface RuleRecord {
  id: string;
  displayName: string;
  description?: string;
  condition: string;
  compartmentId: string;
  isEnabled: boolean;
  actions: ActionRecord[];
  lifecycleState: 'ACTIVE';
  timeCreated: string;
  etag: string;
  freeformTags: Record<string, string>;
  definedTags: Record<string, Record<string, unknown>>;
}

/** One attempted delivery, for tests and `doctor`. */
export interface EventDelivery {
  eventID: string;
  eventType: string;
  ruleId: string;
  actionType: ActionType;
  target: string;
  /** `dropped` is an injected drop; `failed` means the function returned non-2xx or threw. */
  outcome: 'delivered' | 'failed' | 'dropped';
}

export interface EventsRuntime {
  faults: FaultInjector;
  invoke(): FunctionInvoker | undefined;
  publishToTopic(topicId: string, title: string | undefined, body: string): Promise<void>;
}

function notFound(id: string): OciApiError {
  return new OciApiError(404, 'NotAuthorizedOrNotFound', `Rule ${id} not found or not authorized`);
}

export class EventsService implements EmulatorService {
  readonly name = 'events';
  private ctx!: EmulatorContext;
  private rules!: Collection<RuleRecord>;
  /** Every delivery attempt, newest last. */
  readonly deliveries: EventDelivery[] = [];

  constructor(private readonly rt: EventsRuntime) {}

  routes(ctx: EmulatorContext): Route[] {
    this.ctx = ctx;
    this.rules = ctx.collection<RuleRecord>('events-rules');
    const base = '/20181201/rules';
    return [
      { method: 'POST', path: base, operation: 'CreateRule', handler: (r) => this.create(r) },
      { method: 'GET', path: base, operation: 'ListRules', handler: (r) => this.list(r) },
      {
        method: 'GET',
        path: `${base}/{ruleId}`,
        operation: 'GetRule',
        handler: (r) => this.get(r),
      },
      {
        method: 'PUT',
        path: `${base}/{ruleId}`,
        operation: 'UpdateRule',
        handler: (r) => this.update(r),
      },
      {
        method: 'DELETE',
        path: `${base}/{ruleId}`,
        operation: 'DeleteRule',
        handler: (r) => this.remove(r),
      },
    ];
  }

  private checkCondition(condition: unknown): string {
    if (typeof condition !== 'string')
      throw new OciApiError(400, 'MissingParameter', 'condition is required');
    try {
      parseCondition(condition);
    } catch (err) {
      if (err instanceof ConditionSyntaxError)
        throw new OciApiError(400, 'InvalidParameter', `invalid condition: ${err.message}`);
      throw err;
    }
    return condition;
  }

  private checkActions(actions: unknown): ActionRecord[] {
    const list = (actions as { actions?: unknown } | undefined)?.actions;
    if (!Array.isArray(list) || list.length === 0)
      throw new OciApiError(400, 'MissingParameter', 'actions.actions is required');
    // Max 10 actions per rule (managingrules.htm).
    if (list.length > 10)
      throw new OciApiError(400, 'InvalidParameter', 'a rule has at most 10 actions');
    return list.map((a: Record<string, unknown>) => {
      const actionType = a.actionType as ActionType;
      if (!actionTypes.includes(actionType))
        throw new OciApiError(
          400,
          'InvalidParameter',
          `unknown actionType '${String(a.actionType)}'`,
        );
      const key =
        actionType === 'FAAS' ? 'functionId' : actionType === 'ONS' ? 'topicId' : 'streamId';
      if (typeof a[key] !== 'string' || a[key] === '')
        throw new OciApiError(
          400,
          'MissingParameter',
          `${key} is required for ${actionType} actions`,
        );
      if (typeof a.isEnabled !== 'boolean')
        throw new OciApiError(400, 'MissingParameter', 'isEnabled is required');
      return {
        id: this.ctx.newOcid('eventaction'),
        actionType,
        isEnabled: a.isEnabled,
        ...(typeof a.description === 'string' ? { description: a.description } : {}),
        [key]: a[key] as string,
        lifecycleState: 'ACTIVE',
        lifecycleMessage: '',
      } as ActionRecord;
    });
  }

  private body(r: RuleRecord): Record<string, unknown> {
    const { etag: _etag, actions, ...rest } = r;
    return { ...rest, actions: { actions } };
  }

  private async create(req: EmulatorRequest): Promise<EmulatorResponse> {
    const d = (await req.json<Record<string, unknown> | null>()) ?? {};
    if (typeof d.displayName !== 'string' || d.displayName === '')
      throw new OciApiError(400, 'MissingParameter', 'displayName is required');
    if (typeof d.compartmentId !== 'string' || d.compartmentId === '')
      throw new OciApiError(400, 'MissingParameter', 'compartmentId is required');
    if (typeof d.isEnabled !== 'boolean')
      throw new OciApiError(400, 'MissingParameter', 'isEnabled is required');
    // 50 rules per tenancy (eventsoverview.htm).
    if (this.rules.list().length >= 50)
      throw new OciApiError(400, 'LimitExceeded', 'the tenancy has 50 rules already');
    const rule: RuleRecord = {
      id: this.ctx.newOcid('eventrule'),
      displayName: d.displayName,
      ...(typeof d.description === 'string' ? { description: d.description } : {}),
      condition: this.checkCondition(d.condition),
      compartmentId: d.compartmentId,
      isEnabled: d.isEnabled,
      actions: this.checkActions(d.actions),
      lifecycleState: 'ACTIVE',
      timeCreated: this.ctx.now().toISOString(),
      etag: randomUUID(),
      freeformTags: (d.freeformTags as Record<string, string>) ?? {},
      definedTags: (d.definedTags as Record<string, Record<string, unknown>>) ?? {},
    };
    this.rules.put(rule);
    return { status: 200, headers: { etag: rule.etag }, body: this.body(rule) };
  }

  private async list(req: EmulatorRequest): Promise<EmulatorResponse> {
    const compartmentId = req.query.get('compartmentId');
    if (!compartmentId) throw new OciApiError(400, 'MissingParameter', 'compartmentId is required');
    const state = req.query.get('lifecycleState');
    const name = req.query.get('displayName');
    const items = this.rules
      .list()
      .filter((r) => r.compartmentId === compartmentId)
      .filter((r) => state === null || r.lifecycleState === state)
      .filter((r) => name === null || r.displayName === name)
      .sort((a, b) => a.timeCreated.localeCompare(b.timeCreated));
    return { status: 200, body: items.map(({ actions: _a, etag: _e, ...summary }) => summary) };
  }

  private find(req: EmulatorRequest): RuleRecord {
    const id = req.params.ruleId ?? '';
    const r = this.rules.get(id);
    if (!r) throw notFound(id);
    const ifMatch = req.headers['if-match'];
    if (typeof ifMatch === 'string' && ifMatch !== r.etag)
      throw new OciApiError(412, 'NoEtagMatch', 'The If-Match header does not match the rule etag');
    return r;
  }

  private async get(req: EmulatorRequest): Promise<EmulatorResponse> {
    const r = this.find(req);
    return { status: 200, headers: { etag: r.etag }, body: this.body(r) };
  }

  private async update(req: EmulatorRequest): Promise<EmulatorResponse> {
    const r = this.find(req);
    const d = (await req.json<Record<string, unknown> | null>()) ?? {};
    if (typeof d.displayName === 'string') r.displayName = d.displayName;
    if (typeof d.description === 'string') r.description = d.description;
    if (typeof d.isEnabled === 'boolean') r.isEnabled = d.isEnabled;
    if (d.condition !== undefined) r.condition = this.checkCondition(d.condition);
    if (d.actions !== undefined) r.actions = this.checkActions(d.actions);
    if (d.freeformTags && typeof d.freeformTags === 'object')
      r.freeformTags = d.freeformTags as Record<string, string>;
    if (d.definedTags && typeof d.definedTags === 'object')
      r.definedTags = d.definedTags as Record<string, Record<string, unknown>>;
    r.etag = randomUUID();
    this.rules.put(r);
    return { status: 200, headers: { etag: r.etag }, body: this.body(r) };
  }

  private async remove(req: EmulatorRequest): Promise<EmulatorResponse> {
    const r = this.find(req);
    this.rules.delete(r.id);
    return { status: 204 };
  }

  /** Completes the envelope and schedules delivery to every matching rule's enabled actions. */
  emit(
    partial: Omit<CloudEvent, 'eventID' | 'eventTime' | 'cloudEventsVersion' | 'contentType'>,
  ): CloudEvent {
    const event: CloudEvent = {
      cloudEventsVersion: '0.1',
      eventID: randomUUID(),
      eventType: partial.eventType,
      source: partial.source,
      eventTypeVersion: partial.eventTypeVersion,
      eventTime: this.ctx.now().toISOString(),
      contentType: 'application/json',
      extensions: partial.extensions,
      data: partial.data,
    };
    // Never deliver inside the request that caused the event.
    this.ctx.after(0, () => {
      void this.deliver(event);
    });
    return event;
  }

  private async deliver(event: CloudEvent): Promise<void> {
    for (const rule of this.rules.list()) {
      if (!rule.isEnabled) continue;
      let matched: boolean;
      try {
        matched = matchesCondition(parseCondition(rule.condition), event);
      } catch {
        matched = false;
      }
      if (!matched) continue;
      for (const action of rule.actions) {
        if (!action.isEnabled) continue;
        const target = action.functionId ?? action.topicId ?? action.streamId ?? '';
        const copies = this.rt.faults.deliveryCopies(`${rule.id}:${action.id}`);
        if (copies === 0) this.record(event, rule, action, target, 'dropped');
        for (let i = 0; i < copies; i++) await this.deliverOne(event, rule, action, target);
      }
    }
  }

  private record(
    event: CloudEvent,
    rule: RuleRecord,
    action: ActionRecord,
    target: string,
    outcome: EventDelivery['outcome'],
  ): void {
    this.deliveries.push({
      eventID: event.eventID,
      eventType: event.eventType,
      ruleId: rule.id,
      actionType: action.actionType,
      target,
      outcome,
    });
    this.ctx.log.debug('emulator.event.delivery', {
      eventID: event.eventID,
      ruleId: rule.id,
      actionType: action.actionType,
      outcome,
    });
  }

  private async deliverOne(
    event: CloudEvent,
    rule: RuleRecord,
    action: ActionRecord,
    target: string,
  ): Promise<void> {
    const body = Buffer.from(JSON.stringify(event));
    try {
      if (action.actionType === 'FAAS') {
        const invoke = this.rt.invoke();
        if (!invoke) {
          this.ctx.log.warn('emulator.event.noInvoker', { ruleId: rule.id, functionId: target });
          this.record(event, rule, action, target, 'failed');
          return;
        }
        const res = await invoke(target, body, { 'content-type': 'application/json' });
        this.record(
          event,
          rule,
          action,
          target,
          res.status >= 200 && res.status < 300 ? 'delivered' : 'failed',
        );
      } else if (action.actionType === 'ONS') {
        await this.rt.publishToTopic(target, event.eventType, body.toString('utf8'));
        this.record(event, rule, action, target, 'delivered');
      } else {
        // Streaming is not emulated: the delivery is recorded only.
        this.record(event, rule, action, target, 'delivered');
      }
    } catch (err) {
      this.ctx.log.warn('emulator.event.deliveryFailed', {
        ruleId: rule.id,
        actionType: action.actionType,
        error: err,
      });
      this.record(event, rule, action, target, 'failed');
    }
  }
}
