/**
 * The local OCI emulator: one HTTP server on 127.0.0.1 that the unmodified OCI TypeScript SDK
 * clients talk to (set `client.endpoint = emulator.url`), with real API-key signature checks,
 * persisted state in a data dir, seeded fault injection, and Object Storage, Events, Notifications
 * and a local Resource Scheduler built in. Further services (GenAI, Monitoring, Data Science) plug in
 * through the `EmulatorService` contract in service.ts.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { silentLogger, type Logger } from '#shared/log.ts';
import { loadOrCreateCredentials, makeOcid } from './auth.ts';
import { EmulatorStartError, ScheduleError } from './errors.ts';
import { EventsService, type EventDelivery } from './events.ts';
import { FaultInjector, type FaultDecision, type FaultOptions } from './faults.ts';
import {
  NotificationsService,
  type FunctionDeliveryAttempt,
  type NotificationRecord,
} from './notifications.ts';
import { ObjectStorageService } from './object-storage.ts';
import { Scheduler, type ScheduleRun } from './scheduler.ts';
import { createEmulatorServer } from './server.ts';
import type { EmulatorContext, EmulatorService, FunctionInvoker } from './service.ts';
import { CollectionStore } from './store.ts';

export type { FaultOptions, FaultDecision } from './faults.ts';
export type { NotificationRecord, FunctionDeliveryAttempt } from './notifications.ts';
export type { EventDelivery } from './events.ts';
export type { ScheduleRun } from './scheduler.ts';
export type { EmulatorContext, EmulatorService, FunctionInvoker } from './service.ts';

/** The region the generated OCI config names. */
export const defaultRegion = 'us-chicago-1';

export interface EmulatorOptions {
  /** Persisted state; created if missing; reused across restarts. */
  dataDir: string;
  /** 0 (any free port) by default. */
  port?: number;
  /** Shrink simulated delays (`scaleDelayMs`) 100x and run schedules 60x faster. */
  fast?: boolean;
  /** Off by default. */
  faults?: FaultOptions;
  /** Seeds fault injection (1 by default). */
  seed?: number;
  /** How FAAS actions, ORACLE_FUNCTIONS subscriptions and schedules reach functions. */
  invokeFunction?: FunctionInvoker;
  /** Extra services (GenAI etc.). */
  services?: EmulatorService[];
  /** Quiet (silent) by default. */
  logger?: Logger;
  /** Region written to the generated config on first start; `us-chicago-1` by default. */
  region?: string;
  /** EMAIL subscriptions start ACTIVE instead of PENDING. */
  autoConfirmEmail?: boolean;
  /** Status for `If-Match` on a missing object (OCI's is undocumented): 404 (default) or 412. */
  ifMatchMissingStatus?: 404 | 412;
  /** First ONS retry delay before `fast` scaling; 60000 (OCI's 1 minute) by default. */
  deliveryRetryBaseMs?: number;
  /** Allowed difference between a request's x-date and the clock; 300 s by default. */
  clockSkewSec?: number;
}

export interface Emulator {
  url: string;
  namespace: string;
  tenancyId: string;
  compartmentId: string;
  region: string;
  configFile: string;
  profile: string;
  dataDir: string;
  context: EmulatorContext;
  setInvoker(fn: FunctionInvoker): void;
  setFaults(f: FaultOptions | undefined): void;
  /** Local Resource Scheduler: invokes `functionId` with `payload` (JSON) on `cron` (UTC). */
  addSchedule(s: { functionId: string; cron: string; payload?: unknown }): void;
  /** Messages delivered to EMAIL (and other sink) subscriptions. */
  outbox(topicId?: string): NotificationRecord[];
  /** Every injected fault so far, in order. */
  injectedFaults(): FaultDecision[];
  /** Every event delivery attempt so far. */
  eventDeliveries(): EventDelivery[];
  /** Every ORACLE_FUNCTIONS delivery attempt so far. */
  functionDeliveries(): FunctionDeliveryAttempt[];
  /** Every scheduled run so far. */
  scheduleRuns(): ScheduleRun[];
  close(): Promise<void>;
}

export async function startEmulator(o: EmulatorOptions): Promise<Emulator> {
  const dataDir = resolve(o.dataDir);
  const log = o.logger ?? silentLogger;
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new EmulatorStartError(`cannot create data dir ${dataDir}`, err);
  }
  const creds = loadOrCreateCredentials(dataDir, o.region ?? defaultRegion);
  const id = creds.identity;
  const store = new CollectionStore(join(dataDir, 'state'));
  const faults = new FaultInjector(o.seed ?? 1, o.faults);
  const timers = new Set<NodeJS.Timeout>();
  let invoker = o.invokeFunction;
  let url = '';
  const speedDown = o.fast ? 100 : 1;

  const objectStorage = new ObjectStorageService(
    o.ifMatchMissingStatus ? { ifMatchMissingStatus: o.ifMatchMissingStatus } : {},
  );
  const notifications = new NotificationsService({
    faults,
    invoke: () => invoker,
    retryBaseMs: o.deliveryRetryBaseMs ?? 60_000,
    autoConfirmEmail: o.autoConfirmEmail ?? false,
    url: () => url,
  });
  const events = new EventsService({
    faults,
    invoke: () => invoker,
    publishToTopic: (t, title, body) => notifications.publishToTopic(t, title, body),
  });

  const context: EmulatorContext = {
    namespace: id.namespace,
    tenancyId: id.tenancyId,
    compartmentId: id.compartmentId,
    region: id.region,
    dataDir,
    log,
    now: () => new Date(),
    scaleDelayMs: (ms) => ms / speedDown,
    after: (ms, fn) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    },
    newOcid: (type) => makeOcid(type, id.region),
    collection: (name) => store.collection(name),
    objectExists: (ns, bucket, name) => objectStorage.objectExists(ns, bucket, name),
    emitEvent: (e) => {
      events.emit(e);
    },
    publishToTopic: (topicId, title, body) => notifications.publishToTopic(topicId, title, body),
  };

  const services: EmulatorService[] = [objectStorage, events, notifications, ...(o.services ?? [])];
  const routes = services.flatMap((s) => s.routes(context));
  const server = createEmulatorServer({
    routes,
    creds,
    faults,
    log,
    clockSkewSec: o.clockSkewSec ?? 300,
    sleep: (ms) => new Promise((r) => context.after(ms, () => r())),
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err) =>
      reject(new EmulatorStartError(`cannot listen on port ${o.port ?? 0}`, err)),
    );
    server.listen(o.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const scheduler = new Scheduler({
    speed: o.fast ? 60 : 1,
    nowMs: () => Date.now(),
    invoke: () => invoker,
    log,
  });
  log.info('emulator.started', { url, dataDir });

  return {
    url,
    namespace: id.namespace,
    tenancyId: id.tenancyId,
    compartmentId: id.compartmentId,
    region: id.region,
    configFile: creds.configFile,
    profile: creds.profile,
    dataDir,
    context,
    setInvoker: (fn) => {
      invoker = fn;
    },
    setFaults: (f) => faults.set(f),
    addSchedule: (s) => {
      try {
        scheduler.add(s);
      } catch (err) {
        throw new ScheduleError(`invalid schedule for ${s.functionId}: ${s.cron}`, err, {
          functionId: s.functionId,
        });
      }
    },
    outbox: (topicId) => notifications.outbox(topicId),
    injectedFaults: () => [...faults.injected],
    eventDeliveries: () => [...events.deliveries],
    functionDeliveries: () => [...notifications.functionDeliveries],
    scheduleRuns: () => [...scheduler.runs],
    close: async () => {
      scheduler.close();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of services) await s.close?.();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
