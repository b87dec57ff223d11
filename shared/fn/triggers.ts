/**
 * Schemas of the payloads that reach dacflow's functions: OCI Events' CloudEvents 0.1 envelope for
 * object uploads, Monitoring alarm messages delivered by Notifications, and the poll schedule's
 * payload. Parsed defensively: OCI documents these loosely (oci-facts.md sections C and D), so
 * unknown fields pass through and only what dacflow reads is required.
 */
import { z } from 'zod';
import { dataScienceEventTypes, objectEventTypes } from '#shared/wiring.ts';

/** The CloudEvents 0.1 envelope OCI Events delivers (eventenvelopereference.htm). */
export const cloudEventSchema = z.looseObject({
  cloudEventsVersion: z.string(),
  eventID: z.string().min(1),
  eventType: z.string().min(1),
  // Seen as both "objectstorage" and "ObjectStorage" (oci-facts.md D): never matched on.
  source: z.string(),
  eventTypeVersion: z.string().optional(),
  eventTime: z.string(),
  contentType: z.string().optional(),
  extensions: z.looseObject({ compartmentId: z.string().optional() }).optional(),
  data: z.looseObject({}),
});
export type CloudEvent = z.output<typeof cloudEventSchema>;

/** An object create/update event, with the fields dacflow needs to identify the object version. */
export const objectEventSchema = cloudEventSchema.extend({
  eventType: z.enum(objectEventTypes),
  data: z.looseObject({
    compartmentId: z.string().optional(),
    resourceName: z.string().min(1),
    resourceId: z.string().optional(),
    additionalDetails: z.looseObject({
      eTag: z.string().min(1),
      namespace: z.string().min(1),
      bucketName: z.string().min(1),
      bucketId: z.string().optional(),
      archivalState: z.string().optional(),
    }),
  }),
});
export type ObjectEvent = z.output<typeof objectEventSchema>;

/**
 * A job-run or model-deployment event (the Data Science events rule sends them to poll-status).
 * The docs' Data Science example spells its tags `freeFormTags`, Object Storage's `freeformTags`:
 * both are read.
 */
export const dataScienceEventSchema = cloudEventSchema.extend({
  eventType: z.enum(dataScienceEventTypes),
  data: z.looseObject({
    resourceId: z.string().min(1),
    resourceName: z.string().optional(),
    freeformTags: z.record(z.string(), z.string()).optional(),
    freeFormTags: z.record(z.string(), z.string()).optional(),
  }),
});
export type DataScienceEvent = z.output<typeof dataScienceEventSchema>;

/** The object an event names, flattened. */
export interface ObjectRef {
  eventId: string;
  eventType: ObjectEvent['eventType'];
  eventTime: string;
  namespace: string;
  bucket: string;
  /** Object name, possibly with a prefix path. */
  object: string;
  etag: string;
}

/** Flattens a validated object event into the object reference use-cases take. */
export function objectRef(e: ObjectEvent): ObjectRef {
  const d = e.data.additionalDetails;
  return {
    eventId: e.eventID,
    eventType: e.eventType,
    eventTime: e.eventTime,
    namespace: d.namespace,
    bucket: d.bucketName,
    object: e.data.resourceName,
    etag: d.eTag,
  };
}

/** Monitoring's message types (monitoringoverview.htm#MessageTypes); others are kept as strings. */
export const AlarmMessageType = {
  OK_TO_FIRING: 'OK_TO_FIRING',
  FIRING_TO_OK: 'FIRING_TO_OK',
  REPEAT: 'REPEAT',
  RESET: 'RESET',
} as const;
export type AlarmMessageType = (typeof AlarmMessageType)[keyof typeof AlarmMessageType];

const alarmMetaDataSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string(),
  severity: z.string().optional(),
  namespace: z.string().optional(),
  query: z.string().optional(),
  totalMetricsFiring: z.number().optional(),
  dimensions: z.array(z.record(z.string(), z.string())).default([]),
  // Metric values arrive as strings (alarm-message-format.htm).
  metricValues: z.array(z.record(z.string(), z.union([z.string(), z.number()]))).default([]),
  alarmUrl: z.string().optional(),
  alarmSummary: z.string().nullish(),
});

/**
 * A Monitoring alarm message. Notifications hands an ORACLE_FUNCTIONS subscriber the raw alarm
 * JSON; the FDK parses it in json mode, but a body that arrives as a JSON string is accepted too.
 */
export const alarmMessageSchema = z.preprocess(
  parseJsonString,
  z.looseObject({
    dedupeKey: z.string().min(1),
    title: z.string().optional(),
    body: z.string().nullish(),
    type: z.string().min(1),
    severity: z.string().optional(),
    timestampEpochMillis: z.number().optional(),
    timestamp: z.string().min(1),
    alarmMetaData: z.array(alarmMetaDataSchema).default([]),
    notificationType: z.string().optional(),
    version: z.union([z.string(), z.number()]).optional(),
  }),
);
export type AlarmMessage = z.output<typeof alarmMessageSchema>;

/**
 * What the poll schedule sends. Resource Scheduler's payload is whatever Terraform configured and
 * may be empty, so everything is optional; an empty body means "reconcile everything".
 */
export const schedulePayloadSchema = z.preprocess(
  (v) => (v === '' || v === null || v === undefined ? {} : parseJsonString(v)),
  z.looseObject({
    source: z.string().optional(),
    /** Reconcile only this workflow. */
    workflow: z.string().optional(),
    /** Reconcile only this run. */
    runId: z.string().optional(),
  }),
);
export type SchedulePayload = z.output<typeof schedulePayloadSchema>;

/** Parses a string that holds JSON; any other value (or non-JSON text) passes through unchanged. */
export function parseJsonString(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}
