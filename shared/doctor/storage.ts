/**
 * The datasets bucket(s): present, emitting object events (without them no upload ever reaches an
 * Events rule, eventsoverview.htm), versioned, and the state prefix writable.
 */
import { reservedPrefixes } from '#shared/wiring.ts';
import { describeCallError } from './errors.ts';
import type { StoragePort } from './ports.ts';
import {
  CheckId,
  fail,
  ok,
  redeployFix,
  TargetMode,
  warn,
  type DoctorTarget,
  type Finding,
} from './types.ts';

/** Where the write probe goes: under dacflow's own state prefix, which no Events rule matches. */
export function probeObjectName(probeId: string): string {
  return `${reservedPrefixes.state}doctor/${probeId}.probe`;
}

/** Every bucket the deployment uses: the state bucket first, then each workflow's trigger bucket. */
export function bucketsOf(target: DoctorTarget): string[] {
  return [...new Set([target.stateBucket, ...target.triggers.map((t) => t.bucket)])];
}

function bucketFix(target: DoctorTarget, bucket: string): string {
  if (target.mode === TargetMode.LOCAL) return redeployFix(target, `bucket ${bucket}`);
  return bucket === target.stateBucket
    ? redeployFix(target, `bucket ${bucket} (oci_objectstorage_bucket.this)`)
    : `create bucket ${bucket} with object events and versioning on (\`oci os bucket create --name ${bucket} --compartment-id ${target.compartmentId} --object-events-enabled true --versioning Enabled\`), or change the trigger.bucket of the workflows that name it`;
}

/** Checks each bucket's settings, then writes and deletes one probe object in the state bucket. */
export async function checkStorage(
  target: DoctorTarget,
  storage: StoragePort,
  probeId: string,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  let stateBucketFound = false;
  for (const name of bucketsOf(target)) {
    const where = `bucket ${name} (namespace ${target.namespace})`;
    let bucket;
    try {
      bucket = await storage.getBucket(name);
    } catch (err) {
      findings.push(
        fail(
          CheckId.BUCKET,
          `cannot read ${where}: ${describeCallError(err)}`,
          `check that the OCI user may \`read buckets\` in compartment ${target.compartmentId} and that the config profile and region point at the deployment's tenancy`,
        ),
      );
      continue;
    }
    if (!bucket) {
      const users = target.triggers.filter((t) => t.bucket === name).map((t) => t.name);
      findings.push(
        fail(
          CheckId.BUCKET,
          `${where} does not exist${users.length > 0 ? ` (trigger bucket of workflow ${users.join(', ')})` : ''}${name === target.stateBucket ? ' (state bucket)' : ''}`,
          bucketFix(target, name),
        ),
      );
      continue;
    }
    if (name === target.stateBucket) stateBucketFound = true;
    findings.push(
      bucket.objectEventsEnabled
        ? ok(CheckId.BUCKET_EVENTS, `${where} emits object events`)
        : fail(
            CheckId.BUCKET_EVENTS,
            `${where} has objectEventsEnabled = false: uploads emit no events, so no Events rule fires and no dataset is validated`,
            `turn object events on: \`oci os bucket update --bucket-name ${name} --object-events-enabled true\` (Terraform sets object_events_enabled = true)`,
          ),
    );
    findings.push(
      bucket.versioning === 'Enabled'
        ? ok(CheckId.BUCKET_VERSIONING, `${where} has versioning Enabled`)
        : warn(
            CheckId.BUCKET_VERSIONING,
            `${where} has versioning ${bucket.versioning}, expected Enabled: an overwritten dataset cannot be recovered`,
            `turn versioning on: \`oci os bucket update --bucket-name ${name} --versioning Enabled\` (Terraform sets versioning = "Enabled")`,
          ),
    );
  }
  if (stateBucketFound) findings.push(await probeState(target, storage, probeId));
  return findings;
}

async function probeState(
  target: DoctorTarget,
  storage: StoragePort,
  probeId: string,
): Promise<Finding> {
  const bucket = target.stateBucket;
  const object = probeObjectName(probeId);
  let etag: string | 'exists';
  try {
    // If-None-Match: * never overwrites anything, so the probe cannot clobber an object.
    etag = await storage.createObjectIfAbsent(
      bucket,
      object,
      JSON.stringify({ dacflow: 'doctor', probeId }),
    );
  } catch (err) {
    return fail(
      CheckId.STATE_WRITABLE,
      `cannot write ${object} in bucket ${bucket}: ${describeCallError(err)}; dacflow's functions keep run state under ${reservedPrefixes.state}`,
      `allow writes to bucket ${bucket}: the functions' dynamic group needs \`manage objects in compartment id ${target.compartmentId} where target.bucket.name = '${bucket}'\` (terraform/iam.tf), and the user running doctor the same to probe it`,
    );
  }
  if (etag === 'exists') {
    return warn(
      CheckId.STATE_WRITABLE,
      `probe ${object} already exists in bucket ${bucket}; it was left untouched, so writability is unknown`,
      `run doctor again (each run picks a new probe name), or delete the old probe: \`oci os object delete --bucket-name ${bucket} --object-name ${object}\``,
    );
  }
  try {
    await storage.deleteObject(bucket, object, etag);
  } catch (err) {
    return warn(
      CheckId.STATE_WRITABLE,
      `wrote ${object} in bucket ${bucket} but could not delete it: ${describeCallError(err)}`,
      `delete the probe: \`oci os object delete --bucket-name ${bucket} --object-name ${object}\`; the functions delete state objects too, so grant \`manage objects\` on bucket ${bucket}`,
    );
  }
  return ok(CheckId.STATE_WRITABLE, `wrote and deleted ${object} in bucket ${bucket}`);
}
