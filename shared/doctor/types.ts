/**
 * What `dacflow doctor` reports: one finding per thing it looked at, each with what is wrong and
 * how to fix it. Pure data, shared by the checks, the CLI and its JSON output.
 */
import type { FunctionName, TopicKey, WorkflowTrigger } from '#shared/wiring.ts';
import type { Workflow } from '#workflows/schema.ts';

export const FindingStatus = { OK: 'ok', WARN: 'warn', FAIL: 'fail' } as const;
export type FindingStatus = (typeof FindingStatus)[keyof typeof FindingStatus];

/** Stable check ids: scripts filter `--json` output on them. */
export const CheckId = {
  WORKFLOWS: 'workflows',
  BUCKET: 'bucket',
  BUCKET_EVENTS: 'bucket.object-events',
  BUCKET_VERSIONING: 'bucket.versioning',
  STATE_WRITABLE: 'state.writable',
  EVENTS_RULE: 'events.rule',
  TOPIC: 'notifications.topic',
  SUBSCRIPTION: 'notifications.subscription',
  EMAIL: 'notifications.email',
  CLUSTER: 'genai.hosting-cluster',
  ALARM: 'monitoring.alarm',
} as const;
export type CheckId = (typeof CheckId)[keyof typeof CheckId];

export interface Finding {
  check: CheckId;
  status: FindingStatus;
  /** What was found, naming the resource (name and OCID) and the field that differs. */
  message: string;
  /** How to fix it; empty for `ok`. */
  fix: string;
}

/** Where the stack lives: decides the wording of fixes (restart the local stack, or Terraform). */
export const TargetMode = { LOCAL: 'local', TENANCY: 'tenancy' } as const;
export type TargetMode = (typeof TargetMode)[keyof typeof TargetMode];

/** Everything the checks compare the deployment against. */
export interface DoctorTarget {
  mode: TargetMode;
  /** The local stack's data dir (local mode), for fix texts. */
  dataDir?: string;
  compartmentId: string;
  namespace: string;
  /** Holds `dacflow/state/`; also a datasets bucket on a Terraform deployment. */
  stateBucket: string;
  /** Display-name prefix of topics (Terraform's `name_prefix`, `dacflow` by default). */
  namePrefix: string;
  /** What to wire: from the workflows, or the local stack's trigger list. */
  triggers: readonly WorkflowTrigger[];
  /** Parsed workflows (for hosting clusters and autoscaling); may be empty. */
  workflows: readonly Workflow[];
  /** Topic OCIDs the functions are configured with (local.json or the env file), when known. */
  topicIds?: Partial<Record<TopicKey, string>>;
  /** Function OCIDs, when known: subscriptions and rule actions must target exactly these. */
  functionIds?: Partial<Record<FunctionName, string>>;
}

/** 0 when nothing failed, 1 when any finding is `fail` (warnings do not fail the run). */
export function exitCodeFor(findings: readonly Finding[]): 0 | 1 {
  return findings.some((f) => f.status === FindingStatus.FAIL) ? 1 : 0;
}

export function countFindings(findings: readonly Finding[]): Record<FindingStatus, number> {
  const counts = { ok: 0, warn: 0, fail: 0 };
  for (const f of findings) counts[f.status]++;
  return counts;
}

/** How to re-create what dacflow's own setup creates, in the words of the target. */
export function redeployFix(target: DoctorTarget, what: string): string {
  return target.mode === TargetMode.LOCAL
    ? `restart \`dacflow local --data-dir ${target.dataDir ?? '<dir>'}\`: it re-creates ${what}`
    : `run \`terraform apply\` with dacflow's module: it re-creates ${what}`;
}

export const ok = (check: CheckId, message: string): Finding => ({
  check,
  status: FindingStatus.OK,
  message,
  fix: '',
});
export const warn = (check: CheckId, message: string, fix: string): Finding => ({
  check,
  status: FindingStatus.WARN,
  message,
  fix,
});
export const fail = (check: CheckId, message: string, fix: string): Finding => ({
  check,
  status: FindingStatus.FAIL,
  message,
  fix,
});
