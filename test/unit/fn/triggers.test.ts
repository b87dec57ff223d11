import { describe, expect, it } from 'vitest';
import {
  alarmMessageSchema,
  dataScienceEventSchema,
  objectEventSchema,
  objectRef,
  schedulePayloadSchema,
} from '#shared/fn/triggers.ts';
import { generateEvent } from '#local/runner/events.ts';

// The Console's example create event (oci-facts.md D).
const consoleExample = {
  cloudEventsVersion: '0.1',
  eventID: 'unique_ID',
  eventType: 'com.oraclecloud.objectstorage.createobject',
  source: 'ObjectStorage',
  eventTypeVersion: '2.0',
  eventTime: '2019-01-10T21:19:24.000Z',
  contentType: 'application/json',
  extensions: { compartmentId: 'ocid1.compartment.oc1..unique_ID' },
  data: {
    compartmentId: 'ocid1.compartment.oc1..unique_ID',
    compartmentName: 'example_name',
    resourceName: 'datasets/a/my_object.jsonl',
    resourceId: '/n/example_namespace/b/my_bucket/o/my_object',
    availabilityDomain: 'PHX-AD-1',
    additionalDetails: {
      eTag: 'f8ffb6e9-f602-460f-a6c0-00b5abfa24c7',
      namespace: 'example_namespace',
      bucketName: 'my_bucket',
      bucketId: 'ocid1.bucket.oc1.phx.unique_id',
      archivalState: 'Available',
    },
  },
};

const alarm = {
  dedupeKey: 'd-1',
  title: 'gpu high',
  body: null,
  type: 'OK_TO_FIRING',
  severity: 'CRITICAL',
  timestampEpochMillis: 1700000000000,
  timestamp: '2023-11-14T22:13:20Z',
  alarmMetaData: [
    {
      id: 'ocid1.alarm.oc1..a',
      status: 'FIRING',
      severity: 'CRITICAL',
      namespace: 'oci_generativeai',
      query: 'X[1m].mean() > 80',
      totalMetricsFiring: 1,
      dimensions: [{ resourceId: 'ocid1.generativeaidedicatedaicluster.oc1..c' }],
      metricValues: [{ 'X[1m].mean()': '91.5' }],
    },
  ],
  notificationType: 'Split messages per metric stream',
  version: 1.5,
};

describe('trigger schemas', () => {
  it('parses the Console example object event and flattens it', () => {
    const e = objectEventSchema.parse(consoleExample);
    expect(objectRef(e)).toEqual({
      eventId: 'unique_ID',
      eventType: 'com.oraclecloud.objectstorage.createobject',
      eventTime: '2019-01-10T21:19:24.000Z',
      namespace: 'example_namespace',
      bucket: 'my_bucket',
      object: 'datasets/a/my_object.jsonl',
      etag: 'f8ffb6e9-f602-460f-a6c0-00b5abfa24c7',
    });
  });

  it('rejects a delete event and an event without an ETag', () => {
    expect(
      objectEventSchema.safeParse({
        ...consoleExample,
        eventType: 'com.oraclecloud.objectstorage.deleteobject',
      }).success,
    ).toBe(false);
    const noEtag = structuredClone(consoleExample) as {
      data: { additionalDetails: Record<string, unknown> };
    };
    delete noEtag.data.additionalDetails.eTag;
    expect(objectEventSchema.safeParse(noEtag).success).toBe(false);
  });

  it('parses an alarm given as an object or as a JSON string', () => {
    const a = alarmMessageSchema.parse(alarm);
    const b = alarmMessageSchema.parse(JSON.stringify(alarm));
    expect(b).toEqual(a);
    expect(a.alarmMetaData[0]?.dimensions[0]?.resourceId).toBe(
      'ocid1.generativeaidedicatedaicluster.oc1..c',
    );
    expect(alarmMessageSchema.safeParse('not json').success).toBe(false);
  });

  it('accepts an empty or loose schedule payload', () => {
    expect(schedulePayloadSchema.parse('')).toEqual({});
    expect(schedulePayloadSchema.parse(null)).toEqual({});
    expect(schedulePayloadSchema.parse('{"workflow":"w"}')).toEqual({ workflow: 'w' });
    expect(schedulePayloadSchema.safeParse({ workflow: 3 }).success).toBe(false);
  });

  it('accepts every payload `dacflow events generate` prints', () => {
    const opts = { now: new Date('2026-01-01T00:00:00Z'), id: 'id-1' };
    expect(objectEventSchema.safeParse(generateEvent('objectstorage-create', opts)).success).toBe(
      true,
    );
    expect(objectEventSchema.safeParse(generateEvent('objectstorage-update', opts)).success).toBe(
      true,
    );
    expect(alarmMessageSchema.safeParse(generateEvent('alarm', opts)).success).toBe(true);
    expect(schedulePayloadSchema.safeParse(generateEvent('schedule', opts)).success).toBe(true);
  });
});

describe('Data Science events', () => {
  // The shape of the docs' Data Science example (create-auto-events.htm), for a job run.
  const jobRunEvent = {
    eventType: 'com.oraclecloud.datascience.createjobrun.end',
    cloudEventsVersion: '0.1',
    eventTypeVersion: '2.0',
    source: 'datascience',
    eventTime: '2026-11-21T12:00:00.000Z',
    eventID: 'e-1',
    contentType: 'application/json',
    data: {
      compartmentId: 'ocid1.compartment.oc1..c',
      resourceName: 'dacflow-r1',
      resourceId: 'ocid1.datasciencejobrun.oc1..j',
      freeFormTags: { dacflowRunId: 'r1', dacflowWorkflow: 'aqua' },
    },
    extensions: { compartmentId: 'ocid1.compartment.oc1..c' },
  };

  it('reads the resource and its tags, whichever way the tags are spelt', () => {
    const e = dataScienceEventSchema.parse(jobRunEvent);
    expect(e.data.resourceId).toBe('ocid1.datasciencejobrun.oc1..j');
    expect(e.data.freeFormTags?.dacflowRunId).toBe('r1');
    const lower = dataScienceEventSchema.parse({
      ...jobRunEvent,
      data: { resourceId: 'x', freeformTags: { dacflowRunId: 'r2' } },
    });
    expect(lower.data.freeformTags?.dacflowRunId).toBe('r2');
  });

  it('is not a schedule payload, an object event, or another Data Science event', () => {
    expect(dataScienceEventSchema.safeParse({ source: 'dacflow-schedule' }).success).toBe(false);
    expect(
      dataScienceEventSchema.safeParse({
        ...jobRunEvent,
        eventType: 'com.oraclecloud.objectstorage.createobject',
      }).success,
    ).toBe(false);
    expect(
      dataScienceEventSchema.safeParse({
        ...jobRunEvent,
        eventType: 'com.oraclecloud.datascience.createproject',
      }).success,
    ).toBe(false);
    expect(
      dataScienceEventSchema.safeParse({ ...jobRunEvent, data: { resourceName: 'no id' } }).success,
    ).toBe(false);
  });
});
