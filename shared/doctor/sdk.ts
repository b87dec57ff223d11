/**
 * The doctor's ports wired to the real OCI SDK clients (built by `createClient`, so auth and
 * DACFLOW_OCI_ENDPOINT work as everywhere else). Each call's failure becomes a ServiceCallError that
 * says whether the service answered at all.
 */
import {
  MaxAttemptsTerminationStrategy,
  type AuthenticationDetailsProvider,
  type RetryConfiguration,
} from 'oci-common';
import { EventsClient } from 'oci-events';
import { GenerativeAiClient } from 'oci-generativeai';
import { MonitoringClient } from 'oci-monitoring';
import { ObjectStorageClient } from 'oci-objectstorage';
import { NotificationControlPlaneClient, NotificationDataPlaneClient } from 'oci-ons';
import { createClient, type Env } from '#shared/oci/clients.ts';
import { ServiceCallError, type DoctorService } from './errors.ts';
import type { DoctorPorts, RuleActionView } from './ports.ts';

export interface SdkPortOptions {
  provider: AuthenticationDetailsProvider;
  /** One endpoint URL per service (a local stack's `endpoints`); unset: the region's endpoints. */
  endpoints?: Partial<Record<DoctorService, string>>;
  /** One URL for every service (DACFLOW_OCI_ENDPOINT); `endpoints` entries win over it. */
  endpoint?: string;
  /** Overrides the config profile's region (ignored for services with an endpoint). */
  region?: string;
  /** Object Storage namespace; looked up with GetNamespace when unset. */
  namespace?: string;
  /** A diagnosis should answer quickly: 3 attempts with the SDK's backoff by default. */
  retryConfiguration?: RetryConfiguration;
  env?: Env;
}

interface MaybeOciError {
  statusCode?: unknown;
  serviceCode?: unknown;
  message?: unknown;
}

/** Turns any SDK failure into a ServiceCallError; 404 "NotFound" means no such API at the endpoint. */
export function toServiceCallError(
  service: DoctorService,
  operation: string,
  err: unknown,
): ServiceCallError {
  if (err instanceof ServiceCallError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as MaybeOciError;
  const message = typeof e.message === 'string' ? e.message.split('\n')[0]! : String(err);
  if (typeof e.statusCode === 'number' && e.statusCode > 0) {
    const serviceCode = typeof e.serviceCode === 'string' ? e.serviceCode : undefined;
    return new ServiceCallError(
      service,
      operation,
      {
        status: e.statusCode,
        ...(serviceCode ? { serviceCode } : {}),
        message,
        // The emulator answers 404 NotFound for an API it does not host; OCI says
        // NotAuthorizedOrNotFound for missing resources, never plain NotFound on these APIs.
        unreachable: e.statusCode === 404 && serviceCode === 'NotFound',
      },
      err,
    );
  }
  return new ServiceCallError(service, operation, { message, unreachable: true }, err);
}

async function call<T>(
  service: DoctorService,
  operation: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toServiceCallError(service, operation, err);
  }
}

function statusOf(err: unknown): number | undefined {
  const s = (err as MaybeOciError | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** Follows `opc-next-page` until the last page. */
async function allPages<T>(
  fetch: (page: string | undefined) => Promise<{ items: T[]; opcNextPage?: string | undefined }>,
): Promise<T[]> {
  const out: T[] = [];
  let page: string | undefined;
  do {
    const r = await fetch(page);
    out.push(...r.items);
    page = r.opcNextPage || undefined;
  } while (page);
  return out;
}

/** Builds the ports and a namespace lookup over real SDK clients. */
export function createSdkPorts(o: SdkPortOptions): {
  ports: DoctorPorts;
  namespace(): Promise<string>;
} {
  const retryConfiguration = o.retryConfiguration ?? {
    terminationStrategy: new MaxAttemptsTerminationStrategy(3),
  };
  const make = <T extends { regionId?: string }>(
    Cls: new (...args: never[]) => T,
    service: DoctorService,
  ): T => {
    const endpoint = o.endpoints?.[service] ?? o.endpoint;
    const client = createClient(Cls as unknown as new (...a: unknown[]) => T, {
      provider: o.provider,
      retryConfiguration,
      ...(endpoint ? { endpoint } : {}),
      env: o.env ?? {},
    });
    if (!endpoint && o.region) (client as { regionId: string }).regionId = o.region;
    return client;
  };
  const os = make(ObjectStorageClient, 'objectstorage');
  const events = make(EventsClient, 'events');
  const onsCp = make(NotificationControlPlaneClient, 'notifications');
  const onsDp = make(NotificationDataPlaneClient, 'notifications');
  const monitoring = make(MonitoringClient, 'monitoring');
  const genai = make(GenerativeAiClient, 'generativeai');

  let ns: Promise<string> | undefined;
  const namespace = () =>
    (ns ??= o.namespace
      ? Promise.resolve(o.namespace)
      : call('objectstorage', 'GetNamespace', async () => (await os.getNamespace({})).value));

  const ports: DoctorPorts = {
    storage: {
      getBucket: async (bucketName) => {
        const namespaceName = await namespace();
        try {
          const { bucket } = await os.getBucket({ namespaceName, bucketName });
          return {
            name: bucket.name,
            objectEventsEnabled: bucket.objectEventsEnabled === true,
            versioning: bucket.versioning ?? 'Disabled',
          };
        } catch (err) {
          if (statusOf(err) === 404) return undefined;
          throw toServiceCallError('objectstorage', 'GetBucket', err);
        }
      },
      createObjectIfAbsent: async (bucketName, objectName, body) => {
        const namespaceName = await namespace();
        try {
          const r = await os.putObject({
            namespaceName,
            bucketName,
            objectName,
            putObjectBody: body,
            contentLength: Buffer.byteLength(body),
            contentType: 'application/json',
            ifNoneMatch: '*',
          });
          return r.eTag;
        } catch (err) {
          if (statusOf(err) === 412) return 'exists';
          throw toServiceCallError('objectstorage', 'PutObject', err);
        }
      },
      deleteObject: async (bucketName, objectName, ifMatch) => {
        const namespaceName = await namespace();
        await call('objectstorage', 'DeleteObject', () =>
          os.deleteObject({ namespaceName, bucketName, objectName, ifMatch }),
        );
      },
    },
    events: {
      listRules: async (compartmentId, prefix) => {
        const summaries = await call('events', 'ListRules', () =>
          allPages((page) => events.listRules({ compartmentId, ...(page ? { page } : {}) })),
        );
        const mine = summaries.filter((r) => r.displayName.startsWith(prefix));
        return Promise.all(
          mine.map(async (s) => {
            const { rule } = await call('events', 'GetRule', () =>
              events.getRule({ ruleId: s.id }),
            );
            const actions: RuleActionView[] = (rule.actions?.actions ?? []).map((a) => {
              const x = a as typeof a & { functionId?: string; topicId?: string };
              return {
                actionType: x.actionType,
                isEnabled: x.isEnabled !== false,
                ...(x.functionId ? { functionId: x.functionId } : {}),
                ...(x.topicId ? { topicId: x.topicId } : {}),
              };
            });
            return {
              id: rule.id,
              displayName: rule.displayName,
              condition: rule.condition,
              isEnabled: rule.isEnabled,
              lifecycleState: rule.lifecycleState,
              actions,
            };
          }),
        );
      },
    },
    notifications: {
      listTopics: async (compartmentId) =>
        (
          await call('notifications', 'ListTopics', () =>
            allPages((page) => onsCp.listTopics({ compartmentId, ...(page ? { page } : {}) })),
          )
        ).map((t) => ({ id: t.topicId, name: t.name, lifecycleState: t.lifecycleState })),
      listSubscriptions: async (compartmentId, topicId) =>
        (
          await call('notifications', 'ListSubscriptions', () =>
            allPages((page) =>
              onsDp.listSubscriptions({ compartmentId, topicId, ...(page ? { page } : {}) }),
            ),
          )
        ).map((s) => ({
          id: s.id,
          topicId: s.topicId,
          protocol: s.protocol,
          endpoint: s.endpoint,
          lifecycleState: s.lifecycleState,
        })),
    },
    monitoring: {
      listAlarms: async (compartmentId) =>
        (
          await call('monitoring', 'ListAlarms', () =>
            allPages((page) => monitoring.listAlarms({ compartmentId, ...(page ? { page } : {}) })),
          )
        ).map((a) => ({
          id: a.id,
          displayName: a.displayName,
          namespace: a.namespace,
          query: a.query,
          lifecycleState: a.lifecycleState,
        })),
      getAlarm: async (alarmId) => {
        const { alarm: a } = await call('monitoring', 'GetAlarm', () =>
          monitoring.getAlarm({ alarmId }),
        );
        return {
          id: a.id,
          displayName: a.displayName,
          query: a.query,
          lifecycleState: a.lifecycleState,
          namespace: a.namespace,
          isEnabled: a.isEnabled,
          destinations: a.destinations ?? [],
          ...(a.isNotificationsPerMetricDimensionEnabled != null
            ? {
                isNotificationsPerMetricDimensionEnabled:
                  a.isNotificationsPerMetricDimensionEnabled,
              }
            : {}),
          ...(a.body != null ? { body: a.body } : {}),
          ...(a.pendingDuration ? { pendingDuration: a.pendingDuration } : {}),
          ...(a.repeatNotificationDuration
            ? { repeatNotificationDuration: a.repeatNotificationDuration }
            : {}),
          ...(a.ruleName ? { ruleName: a.ruleName } : {}),
        };
      },
    },
    genai: {
      getCluster: async (dedicatedAiClusterId) => {
        try {
          const { dedicatedAiCluster: c } = await genai.getDedicatedAiCluster({
            dedicatedAiClusterId,
          });
          return {
            id: c.id,
            displayName: c.displayName ?? '',
            type: c.type,
            lifecycleState: c.lifecycleState,
          };
        } catch (err) {
          const e = toServiceCallError('generativeai', 'GetDedicatedAiCluster', err);
          if (e.status === 404 && !e.unreachable) return undefined;
          throw e;
        }
      },
      findClusters: async (compartmentId, displayName) =>
        (
          await call('generativeai', 'ListDedicatedAiClusters', () =>
            allPages(async (page) => {
              const r = await genai.listDedicatedAiClusters({
                compartmentId,
                displayName,
                ...(page ? { page } : {}),
              });
              return { items: r.dedicatedAiClusterCollection.items, opcNextPage: r.opcNextPage };
            }),
          )
        )
          .filter((c) => c.displayName === displayName && c.lifecycleState !== 'DELETED')
          .map((c) => ({
            id: c.id,
            displayName: c.displayName ?? '',
            type: c.type,
            lifecycleState: c.lifecycleState,
          })),
    },
  };
  return { ports, namespace };
}
