/**
 * Realistic payloads of the triggers dacflow's functions receive, for `dacflow events generate`
 * and tests (like `sam local generate-event`). Shapes follow oci-facts.md sections C and D.
 */
export const eventKinds = [
  'objectstorage-create',
  'objectstorage-update',
  'alarm',
  'schedule',
] as const;
export type EventKind = (typeof eventKinds)[number];

export interface GenerateOptions {
  now: Date;
  /** Event id / dedupe key; random in the CLI, fixed in tests. */
  id: string;
  namespace?: string;
  bucket?: string;
  object?: string;
  etag?: string;
  compartmentId?: string;
  region?: string;
  /** Alarm message type: OK_TO_FIRING, FIRING_TO_OK, REPEAT or RESET. */
  alarmType?: string;
  /** Alarm: the dedicated AI cluster the metric stream is about. */
  clusterId?: string;
  /** Alarm: the metric value, as the string Monitoring sends. */
  metricValue?: string;
  alarmId?: string;
}

export function generateEvent(kind: EventKind, o: GenerateOptions): Record<string, unknown> {
  const compartmentId = o.compartmentId ?? 'ocid1.compartment.oc1..local';
  const region = o.region ?? 'us-chicago-1';
  const time = o.now.toISOString();
  switch (kind) {
    case 'objectstorage-create':
    case 'objectstorage-update': {
      const namespace = o.namespace ?? 'dacflowlocal';
      const bucket = o.bucket ?? 'dacflow-datasets';
      const object = o.object ?? 'datasets/example/train.jsonl';
      return {
        cloudEventsVersion: '0.1',
        eventID: o.id,
        eventType: `com.oraclecloud.objectstorage.${kind === 'objectstorage-create' ? 'createobject' : 'updateobject'}`,
        source: 'ObjectStorage',
        eventTypeVersion: '2.0',
        eventTime: time,
        contentType: 'application/json',
        extensions: { compartmentId },
        data: {
          compartmentId,
          compartmentName: 'dacflow',
          resourceName: object,
          resourceId: `/n/${namespace}/b/${bucket}/o/${object}`,
          availabilityDomain: 'AD1',
          freeFormTags: {},
          definedTags: {},
          additionalDetails: {
            eTag: o.etag ?? '5c1b2c4e-0d8a-4f7e-9a57-3f1f9b8c2d10',
            namespace,
            bucketName: bucket,
            bucketId: `ocid1.bucket.oc1.${region}.${bucket}`,
            archivalState: 'Available',
          },
        },
      };
    }
    case 'alarm': {
      const type = o.alarmType ?? 'OK_TO_FIRING';
      const status = type === 'FIRING_TO_OK' || type === 'RESET' ? 'OK' : 'FIRING';
      const query = 'InvocationLatency[1m].percentile(0.99) > 5000';
      const alarmId = o.alarmId ?? 'ocid1.alarm.oc1..dacflowlatency';
      return {
        dedupeKey: o.id,
        title: 'dacflow-latency',
        body: null,
        type,
        severity: 'CRITICAL',
        timestampEpochMillis: o.now.getTime(),
        timestamp: time,
        alarmMetaData: [
          {
            id: alarmId,
            status,
            severity: 'CRITICAL',
            namespace: 'oci_generativeai',
            query,
            totalMetricsFiring: status === 'FIRING' ? 1 : 0,
            dimensions: [
              { resourceId: o.clusterId ?? 'ocid1.generativeaidedicatedaicluster.oc1..local' },
            ],
            metricValues: [{ 'InvocationLatency[1m].percentile(0.99)': o.metricValue ?? '7250.0' }],
            alarmUrl: `https://cloud.oracle.com/monitoring/alarms/${alarmId}?region=${region}`,
            alarmSummary: 'dacflow hosting latency',
          },
        ],
        notificationType: 'Split messages per metric stream',
        version: 1.5,
      };
    }
    case 'schedule':
      return { source: 'dacflow-schedule', scheduledTime: time };
  }
}
