/**
 * The narrow views of OCI that the doctor's checks need: plain data in and out, so unit tests hand
 * in small in-memory fakes and `sdk.ts` wires the real clients. A port throws `ServiceCallError`
 * for a failed call; "not found" is `undefined` where a check must tell the two apart.
 */

export interface BucketView {
  name: string;
  objectEventsEnabled: boolean;
  /** `Enabled`, `Suspended` or `Disabled` (Bucket.Versioning). */
  versioning: string;
}

export interface StoragePort {
  /** The bucket, or undefined when it does not exist (404). */
  getBucket(bucket: string): Promise<BucketView | undefined>;
  /** PutObject with `If-None-Match: *`: the new ETag, or `exists` when the name is taken (412). */
  createObjectIfAbsent(
    bucket: string,
    objectName: string,
    body: string,
  ): Promise<string | 'exists'>;
  /** DeleteObject with `If-Match: etag`, so only the object this run wrote is removed. */
  deleteObject(bucket: string, objectName: string, ifMatch: string): Promise<void>;
}

export interface RuleActionView {
  actionType: string;
  functionId?: string;
  topicId?: string;
  isEnabled: boolean;
}

export interface RuleView {
  id: string;
  displayName: string;
  condition: string;
  isEnabled: boolean;
  lifecycleState: string;
  actions: RuleActionView[];
}

export interface EventsPort {
  /** Rules of the compartment whose display name starts with `displayNamePrefix`, with actions. */
  listRules(compartmentId: string, displayNamePrefix: string): Promise<RuleView[]>;
}

export interface TopicView {
  id: string;
  name: string;
  lifecycleState: string;
}

export interface SubscriptionView {
  id: string;
  topicId: string;
  protocol: string;
  endpoint: string;
  /** `PENDING`, `ACTIVE` or `DELETED`. */
  lifecycleState: string;
}

export interface NotificationsPort {
  listTopics(compartmentId: string): Promise<TopicView[]>;
  listSubscriptions(compartmentId: string, topicId: string): Promise<SubscriptionView[]>;
}

export interface AlarmSummaryView {
  id: string;
  displayName: string;
  /** Picks out model-deployment alarms, whose queries name no resource. */
  namespace: string;
  query: string;
  lifecycleState: string;
}

export interface AlarmView extends AlarmSummaryView {
  isEnabled: boolean;
  /** Split: one message and one state per metric stream (a model-deployment alarm needs it). */
  isNotificationsPerMetricDimensionEnabled?: boolean;
  destinations: string[];
  body?: string;
  pendingDuration?: string;
  repeatNotificationDuration?: string;
  ruleName?: string;
}

export interface MonitoringPort {
  listAlarms(compartmentId: string): Promise<AlarmSummaryView[]>;
  getAlarm(alarmId: string): Promise<AlarmView>;
}

export interface ClusterView {
  id: string;
  displayName: string;
  type: string;
  lifecycleState: string;
}

export interface GenAiPort {
  /** The cluster, or undefined when it does not exist (404). */
  getCluster(clusterId: string): Promise<ClusterView | undefined>;
  /** Live clusters of the compartment with exactly this display name. */
  findClusters(compartmentId: string, displayName: string): Promise<ClusterView[]>;
}

export interface DoctorPorts {
  storage: StoragePort;
  events: EventsPort;
  notifications: NotificationsPort;
  monitoring: MonitoringPort;
  genai: GenAiPort;
}
