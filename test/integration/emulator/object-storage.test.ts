import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as common from 'oci-common';
import { UploadManager } from 'oci-objectstorage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '#local/emulator/index.ts';
import { bodyToBuffer, clients, ociStatus, startTest, tempDir } from './helpers.ts';

describe('Object Storage through the real SDK', () => {
  let emu: Emulator;
  let cleanup: () => Promise<void>;
  let os: ReturnType<typeof clients>['os'];
  const bucketName = 'datasets';

  beforeAll(async () => {
    ({ emu, cleanup } = await startTest());
    ({ os } = clients(emu));
    await os.createBucket({
      namespaceName: emu.namespace,
      createBucketDetails: { name: bucketName, compartmentId: emu.compartmentId },
    });
  });
  afterAll(async () => cleanup());

  const base = () => ({ namespaceName: emu.namespace, bucketName });

  it('returns the namespace', async () => {
    const r = await os.getNamespace({});
    expect(r.value).toBe(emu.namespace);
  });

  it('creates, gets, heads, lists, updates and deletes buckets', async () => {
    const created = await os.createBucket({
      namespaceName: emu.namespace,
      createBucketDetails: {
        name: 'tmp-bucket',
        compartmentId: emu.compartmentId,
        objectEventsEnabled: true,
        versioning: 'Enabled' as never,
      },
    });
    expect(created.bucket.objectEventsEnabled).toBe(true);
    expect(created.bucket.versioning).toBe('Enabled');
    const got = await os.getBucket({ namespaceName: emu.namespace, bucketName: 'tmp-bucket' });
    expect(got.bucket.name).toBe('tmp-bucket');
    const head = await os.headBucket({ namespaceName: emu.namespace, bucketName: 'tmp-bucket' });
    expect(head.eTag).toBe(got.eTag);
    const list = await os.listBuckets({
      namespaceName: emu.namespace,
      compartmentId: emu.compartmentId,
    });
    expect(list.items.map((b) => b.name)).toEqual(['datasets', 'tmp-bucket']);
    const updated = await os.updateBucket({
      namespaceName: emu.namespace,
      bucketName: 'tmp-bucket',
      updateBucketDetails: { objectEventsEnabled: false },
    });
    expect(updated.bucket.objectEventsEnabled).toBe(false);
    await expect(
      os.createBucket({
        namespaceName: emu.namespace,
        createBucketDetails: { name: 'tmp-bucket', compartmentId: emu.compartmentId },
      }),
    ).rejects.toMatchObject({ statusCode: 409, serviceCode: 'BucketAlreadyExists' });
    await os.deleteBucket({ namespaceName: emu.namespace, bucketName: 'tmp-bucket' });
    await expect(
      os.getBucket({ namespaceName: emu.namespace, bucketName: 'tmp-bucket' }),
    ).rejects.toMatchObject({ statusCode: 404, serviceCode: 'BucketNotFound' });
  });

  it('round-trips an object whose name has slashes and spaces, with ETag and metadata', async () => {
    const name = 'datasets/support bot/train v1.jsonl';
    const put = await os.putObject({
      ...base(),
      objectName: name,
      putObjectBody: '{"a":1}\n',
      contentType: 'application/x-ndjson',
      opcMeta: { owner: 'team-a' },
    });
    expect(put.eTag).toBeTruthy();
    expect(put.opcContentMd5).toBe(createHash('md5').update('{"a":1}\n').digest('base64'));
    const got = await os.getObject({ ...base(), objectName: name });
    expect((await bodyToBuffer(got.value)).toString()).toBe('{"a":1}\n');
    expect(got.eTag).toBe(put.eTag);
    expect(got.contentType).toBe('application/x-ndjson');
    // The SDK keeps the full header names in opcMeta.
    expect(got.opcMeta).toMatchObject({ 'opc-meta-owner': 'team-a' });
    const head = await os.headObject({ ...base(), objectName: name });
    expect(head.contentLength).toBe(8);
    await expect(
      os.getObject({ ...base(), objectName: name, ifNoneMatch: put.eTag }),
    ).rejects.toMatchObject({ statusCode: 304 });
    await os.deleteObject({ ...base(), objectName: name });
    await expect(os.getObject({ ...base(), objectName: name })).rejects.toMatchObject({
      statusCode: 404,
      serviceCode: 'ObjectNotFound',
    });
  });

  it('serves range reads', async () => {
    const data = randomBytes(1000);
    await os.putObject({ ...base(), objectName: 'range.bin', putObjectBody: data });
    const got = await os.getObject({
      ...base(),
      objectName: 'range.bin',
      range: new common.Range(100, 199, null),
    });
    expect(got.contentLength).toBe(100);
    // The SDK never fills contentRange: oci-common lower-cases the type name "common.Range" and
    // then fails to match it (helper.js convertStringToType), so the body is the check.
    expect(Buffer.compare(await bodyToBuffer(got.value), data.subarray(100, 200))).toBe(0);
    // The SDK formats both ends (`bytes=${start}-${end}`), so an end past the size is clamped.
    const tail = await os.getObject({
      ...base(),
      objectName: 'range.bin',
      range: new common.Range(990, 5000, null),
    });
    expect(Buffer.compare(await bodyToBuffer(tail.value), data.subarray(990))).toBe(0);
    await expect(
      os.getObject({
        ...base(),
        objectName: 'range.bin',
        range: new common.Range(5000, 6000, null),
      }),
    ).rejects.toMatchObject({ statusCode: 416 });
  });

  it('lists objects with prefix, start, limit, fields and nextStartWith', async () => {
    for (const n of ['p/a', 'p/b', 'p/c', 'p/d/e', 'q/x']) {
      await os.putObject({ ...base(), objectName: n, putObjectBody: n });
    }
    const page1 = await os.listObjects({
      ...base(),
      prefix: 'p/',
      limit: 2,
      fields: 'name,size,etag',
    });
    expect(page1.listObjects.objects.map((o) => o.name)).toEqual(['p/a', 'p/b']);
    expect(page1.listObjects.objects[0]?.size).toBe(3);
    expect(page1.listObjects.objects[0]?.etag).toBeTruthy();
    expect(page1.listObjects.nextStartWith).toBe('p/c');
    const page2 = await os.listObjects({
      ...base(),
      prefix: 'p/',
      start: page1.listObjects.nextStartWith,
    });
    expect(page2.listObjects.objects.map((o) => o.name)).toEqual(['p/c', 'p/d/e']);
    expect(page2.listObjects.nextStartWith).toBeUndefined();
    expect(page2.listObjects.objects[0]?.size).toBeUndefined();
    const delimited = await os.listObjects({ ...base(), prefix: 'p/', delimiter: '/' });
    expect(delimited.listObjects.prefixes).toEqual(['p/d/']);
  });

  it('uploads 20 MB in parts with UploadManager and reads it back', async () => {
    const tmp = tempDir();
    try {
      const data = randomBytes(20 * 1024 * 1024);
      const file = join(tmp.dir, 'big.bin');
      writeFileSync(file, data);
      const um = new UploadManager(os, { partSize: 5 * 1024 * 1024, maxConcurrentUploads: 2 });
      const res = await um.upload({
        content: { filePath: file },
        requestDetails: { ...base(), objectName: 'big/twenty mb.bin' },
      });
      expect(res.multipartMd5).toMatch(/-4$/);
      const head = await os.headObject({ ...base(), objectName: 'big/twenty mb.bin' });
      expect(head.contentLength).toBe(data.length);
      const got = await os.getObject({ ...base(), objectName: 'big/twenty mb.bin' });
      const back = await bodyToBuffer(got.value);
      expect(createHash('sha256').update(back).digest('hex')).toBe(
        createHash('sha256').update(data).digest('hex'),
      );
      const uploads = await os.listMultipartUploads({ ...base() });
      expect(uploads.items).toEqual([]);
    } finally {
      tmp.remove();
    }
  });

  it('creates, lists parts of, and aborts a multipart upload', async () => {
    const created = await os.createMultipartUpload({
      ...base(),
      createMultipartUploadDetails: { object: 'aborted.bin' },
    });
    const uploadId = created.multipartUpload.uploadId;
    await os.uploadPart({
      ...base(),
      objectName: 'aborted.bin',
      uploadId,
      uploadPartNum: 1,
      uploadPartBody: 'abc',
    });
    const parts = await os.listMultipartUploadParts({
      ...base(),
      objectName: 'aborted.bin',
      uploadId,
    });
    expect(parts.items.map((p) => [p.partNumber, p.size])).toEqual([[1, 3]]);
    await os.abortMultipartUpload({ ...base(), objectName: 'aborted.bin', uploadId });
    await expect(
      os.listMultipartUploadParts({ ...base(), objectName: 'aborted.bin', uploadId }),
    ).rejects.toMatchObject({ statusCode: 404, serviceCode: 'NoSuchUpload' });
  });

  it('applies If-Match and If-None-Match on writes', async () => {
    const first = await os.putObject({
      ...base(),
      objectName: 'state/r1.json',
      putObjectBody: '1',
      ifNoneMatch: '*',
    });
    await expect(
      os.putObject({
        ...base(),
        objectName: 'state/r1.json',
        putObjectBody: '2',
        ifNoneMatch: '*',
      }),
    ).rejects.toMatchObject({ statusCode: 412, serviceCode: 'NoEtagMatch' });
    await expect(
      os.putObject({
        ...base(),
        objectName: 'state/r1.json',
        putObjectBody: '2',
        ifMatch: 'wrong',
      }),
    ).rejects.toMatchObject({ statusCode: 412, serviceCode: 'NoEtagMatch' });
    const second = await os.putObject({
      ...base(),
      objectName: 'state/r1.json',
      putObjectBody: '2',
      ifMatch: first.eTag,
    });
    expect(second.eTag).not.toBe(first.eTag);
    await expect(
      os.putObject({
        ...base(),
        objectName: 'state/missing.json',
        putObjectBody: 'x',
        ifMatch: first.eTag,
      }),
    ).rejects.toMatchObject({ statusCode: 404, serviceCode: 'ObjectNotFound' });
    await expect(
      os.deleteObject({ ...base(), objectName: 'state/r1.json', ifMatch: first.eTag }),
    ).rejects.toMatchObject({ statusCode: 412 });
  });

  it('lets exactly one of 20 concurrent If-Match writers win', async () => {
    const start = await os.putObject({
      ...base(),
      objectName: 'race/ifmatch',
      putObjectBody: 'v0',
    });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        os.putObject({
          ...base(),
          objectName: 'race/ifmatch',
          putObjectBody: `writer-${i}`,
          ifMatch: start.eTag,
        }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((r) => ociStatus((r as PromiseRejectedResult).reason).statusCode)).toEqual(
      Array(19).fill(412),
    );
    const winner = (won[0] as PromiseFulfilledResult<{ eTag: string }>).value;
    const got = await os.getObject({ ...base(), objectName: 'race/ifmatch' });
    expect(got.eTag).toBe(winner.eTag);
  });

  it('lets exactly one of 20 concurrent If-None-Match:* creators win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        os.putObject({
          ...base(),
          objectName: 'race/create',
          putObjectBody: `creator-${i}`,
          ifNoneMatch: '*',
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      results
        .filter((r) => r.status === 'rejected')
        .every((r) => ociStatus((r as PromiseRejectedResult).reason).statusCode === 412),
    ).toBe(true);
  });

  it('answers errors with an OCI body and an opc-request-id', async () => {
    const err = await os.getObject({ ...base(), objectName: 'nope' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 404, serviceCode: 'ObjectNotFound' });
    expect((err as { opcRequestId?: string }).opcRequestId).toBeTruthy();
  });
});
