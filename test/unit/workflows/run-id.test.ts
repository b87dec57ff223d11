import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  RETRY_TOKEN_MAX_CHARS,
  retryTokenFor,
  retryTokenPattern,
  runIdFor,
  runIdPattern,
} from '#workflows/run-id.ts';

const ref = { namespace: 'ns', bucket: 'b', object: 'datasets/a.jsonl', etag: 'e1' };

describe('runIdFor', () => {
  test('is deterministic and short', () => {
    expect(runIdFor(ref)).toBe(runIdFor({ ...ref }));
    expect(runIdFor(ref)).toMatch(runIdPattern);
  });

  test('a new ETag (the object was overwritten) is a new run', () => {
    expect(runIdFor({ ...ref, etag: 'e2' })).not.toBe(runIdFor(ref));
  });

  test('fields do not run into each other', () => {
    expect(runIdFor({ ...ref, bucket: 'a/b', object: 'c' })).not.toBe(
      runIdFor({ ...ref, bucket: 'a', object: 'b/c' }),
    );
  });

  test.prop(
    [
      fc.record({
        namespace: fc.string(),
        bucket: fc.string(),
        object: fc.string(),
        etag: fc.string(),
      }),
    ],
    { seed: 1, numRuns: 200 },
  )('always URL-safe and of fixed shape', (r) => {
    expect(runIdFor(r)).toMatch(runIdPattern);
  });
});

describe('retryTokenFor', () => {
  test('fits OCI’s 64-character limit and alphabet', () => {
    const token = retryTokenFor(runIdFor(ref), 'deploy', 999_999);
    expect(token.length).toBeLessThanOrEqual(RETRY_TOKEN_MAX_CHARS);
    expect(token).toMatch(retryTokenPattern);
  });

  test('differs per step and attempt, and is stable', () => {
    const id = runIdFor(ref);
    const all = new Set([
      retryTokenFor(id, 'train', 0),
      retryTokenFor(id, 'train', 1),
      retryTokenFor(id, 'deploy', 0),
    ]);
    expect(all.size).toBe(3);
    expect(retryTokenFor(id, 'train', 0)).toBe(retryTokenFor(id, 'train', 0));
  });

  test('rejects a negative attempt and a run id that would break the token', () => {
    expect(() => retryTokenFor(runIdFor(ref), 'train', -1)).toThrow(RangeError);
    expect(() => retryTokenFor('bad id', 'train', 0)).toThrow(RangeError);
    expect(() => retryTokenFor('x'.repeat(60), 'train', 0)).toThrow(RangeError);
  });
});
