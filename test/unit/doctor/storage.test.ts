import { describe, expect, it } from 'vitest';
import { checkStorage, probeObjectName } from '#shared/doctor/storage.ts';
import { BUCKET, FakeStorage, forbidden, notOk, target } from './fakes.ts';

describe('checkStorage', () => {
  it('is all ok for a bucket with events and versioning, and cleans up its probe', async () => {
    const s = new FakeStorage();
    s.objects.set(`${BUCKET}/datasets/support-bot/a.jsonl`, 'user-etag');
    const findings = await checkStorage(target(), s, 'p1');
    expect(notOk(findings)).toEqual([]);
    expect(findings.map((f) => f.check)).toEqual([
      'bucket.object-events',
      'bucket.versioning',
      'state.writable',
    ]);
    expect(s.calls).toEqual([
      `put ${BUCKET}/dacflow/state/doctor/p1.probe if-none-match *`,
      `delete ${BUCKET}/dacflow/state/doctor/p1.probe if-match etag-1`,
    ]);
    expect([...s.objects.keys()]).toEqual([`${BUCKET}/datasets/support-bot/a.jsonl`]);
  });

  it('puts the probe under the reserved state prefix', () => {
    expect(probeObjectName('x')).toBe('dacflow/state/doctor/x.probe');
  });

  it('fails on a missing bucket, naming the workflows that trigger on it', async () => {
    const s = new FakeStorage();
    s.buckets.clear();
    const findings = await checkStorage(target(), s, 'p1');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ check: 'bucket', status: 'fail' });
    expect(findings[0]!.message).toContain(`bucket ${BUCKET} (namespace ns) does not exist`);
    expect(findings[0]!.message).toContain('workflow support-bot');
    expect(findings[0]!.fix).toContain('oci_objectstorage_bucket.this');
    expect(s.calls).toEqual([]);
  });

  it('fails when object events are off and warns when versioning is not Enabled', async () => {
    const s = new FakeStorage();
    s.buckets.set(BUCKET, { name: BUCKET, objectEventsEnabled: false, versioning: 'Suspended' });
    const bad = notOk(await checkStorage(target(), s, 'p1'));
    expect(bad.map((f) => [f.check, f.status])).toEqual([
      ['bucket.object-events', 'fail'],
      ['bucket.versioning', 'warn'],
    ]);
    expect(bad[0]!.fix).toContain(`--bucket-name ${BUCKET} --object-events-enabled true`);
    expect(bad[1]!.message).toContain('versioning Suspended, expected Enabled');
  });

  it('checks every trigger bucket, and the local fix says to restart the stack', async () => {
    const s = new FakeStorage();
    const t = target({
      mode: 'local',
      dataDir: '/tmp/stack',
      triggers: [{ name: 'other', bucket: 'other-bucket', prefix: 'in/' }],
    });
    const bad = notOk(await checkStorage(t, s, 'p1'));
    expect(bad).toHaveLength(1);
    expect(bad[0]!.message).toContain('bucket other-bucket');
    expect(bad[0]!.fix).toContain('dacflow local --data-dir /tmp/stack');
  });

  it('fails with an IAM fix when the probe cannot be written', async () => {
    const s = new FakeStorage();
    s.putError = forbidden('objectstorage', 'PutObject');
    const bad = notOk(await checkStorage(target(), s, 'p1'));
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ check: 'state.writable', status: 'fail' });
    expect(bad[0]!.message).toContain('404 NotAuthorizedOrNotFound');
    expect(bad[0]!.fix).toContain(`where target.bucket.name = '${BUCKET}'`);
  });

  it('leaves an existing probe alone (warn) and warns when the delete fails', async () => {
    const s = new FakeStorage();
    s.objects.set(`${BUCKET}/dacflow/state/doctor/p1.probe`, 'someone-else');
    const taken = notOk(await checkStorage(target(), s, 'p1'));
    expect(taken.map((f) => f.status)).toEqual(['warn']);
    expect(s.objects.get(`${BUCKET}/dacflow/state/doctor/p1.probe`)).toBe('someone-else');
    expect(s.calls.some((c) => c.startsWith('delete'))).toBe(false);

    const s2 = new FakeStorage();
    s2.deleteError = new Error('boom');
    const undeleted = notOk(await checkStorage(target(), s2, 'p2'));
    expect(undeleted.map((f) => f.status)).toEqual(['warn']);
    expect(undeleted[0]!.fix).toContain('--object-name dacflow/state/doctor/p2.probe');
  });
});
