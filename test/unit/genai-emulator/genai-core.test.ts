import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  canonicalHash,
  checkIfMatch,
  paginate,
  settle,
  sortItems,
  workRequestView,
  type WorkRequestRecord,
} from '#local/emulator/genai-core.ts';
import { OciApiError } from '#local/emulator/service.ts';

describe('paginate', () => {
  test.prop([fc.array(fc.integer(), { maxLength: 60 }), fc.integer({ min: 1, max: 25 })])(
    'walking opc-next-page returns every item once, in order',
    (items, limit) => {
      const seen: number[] = [];
      let page: string | undefined;
      let calls = 0;
      do {
        const r = paginate(items, { limit: String(limit), page });
        expect(r.items.length).toBeLessThanOrEqual(limit);
        seen.push(...r.items);
        page = r.next;
        calls++;
      } while (page);
      expect(seen).toEqual(items);
      expect(calls).toBe(Math.max(1, Math.ceil(items.length / limit)));
    },
  );

  it('rejects bad limits and page tokens with 400', () => {
    for (const req of [{ limit: '0' }, { limit: 'x' }, { limit: '1001' }, { page: '!!' }]) {
      expect(() => paginate([1, 2], req)).toThrow(OciApiError);
    }
  });
});

describe('checkIfMatch', () => {
  it('passes when absent or *, and accepts a quoted etag', () => {
    expect(() => checkIfMatch(undefined, 'abc')).not.toThrow();
    expect(() => checkIfMatch('*', 'abc')).not.toThrow();
    expect(() => checkIfMatch('"abc"', 'abc')).not.toThrow();
  });
  it('is 412 NoEtagMatch on a mismatch', () => {
    try {
      checkIfMatch('old', 'abc');
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ status: 412, code: 'NoEtagMatch' });
    }
  });
});

describe('canonicalHash', () => {
  test.prop([fc.dictionary(fc.string(), fc.jsonValue())])('ignores key order', (obj) => {
    const reversed = Object.fromEntries(Object.entries(obj).reverse());
    expect(canonicalHash(reversed)).toBe(canonicalHash(obj));
  });
  it('differs when a value differs', () => {
    expect(canonicalHash({ a: 1, b: [1, 2] })).not.toBe(canonicalHash({ a: 1, b: [2, 1] }));
  });
});

describe('settle', () => {
  it('applies a due transition once and stamps timeUpdated with its time', () => {
    const r = {
      id: 'x',
      lifecycleState: 'CREATING',
      transition: { atMs: 1_000, patch: { lifecycleState: 'ACTIVE' } },
    };
    expect(settle(r, 999)).toBe(false);
    expect(r.lifecycleState).toBe('CREATING');
    expect(settle(r, 1_500)).toBe(true);
    expect(r).toEqual({
      id: 'x',
      lifecycleState: 'ACTIVE',
      timeUpdated: new Date(1_000).toISOString(),
    });
    expect(settle(r, 2_000)).toBe(false);
  });
});

describe('workRequestView', () => {
  const wr: WorkRequestRecord = {
    id: 'wr',
    operationType: 'CREATE_ENDPOINT',
    compartmentId: 'c',
    entityKind: 'endpoint',
    entityId: 'e',
    action: 'CREATED',
    acceptedMs: 0,
    startMs: 100,
    finishMs: 1_100,
  };
  it('moves ACCEPTED -> IN_PROGRESS -> SUCCEEDED with a rising percentComplete', () => {
    const at = (ms: number) => workRequestView(wr, ms, '/uri', undefined);
    expect(at(50)).toMatchObject({ status: 'ACCEPTED', percentComplete: 0 });
    expect(at(50).timeStarted).toBeUndefined();
    expect(at(600)).toMatchObject({ status: 'IN_PROGRESS', percentComplete: 50 });
    expect(at(1_099).percentComplete).toBe(99);
    expect(at(1_100)).toMatchObject({ status: 'SUCCEEDED', percentComplete: 100 });
    expect((at(1_100).resources as { actionType: string }[])[0]?.actionType).toBe('CREATED');
  });
  it('is FAILED with actionType FAILED when the entity failed', () => {
    const v = workRequestView(wr, 2_000, '/uri', { code: 'X', message: 'm' });
    expect(v.status).toBe('FAILED');
    expect((v.resources as { actionType: string }[])[0]?.actionType).toBe('FAILED');
  });
});

describe('sortItems', () => {
  const items = [
    { id: 'a', displayName: 'b', timeCreated: '2026-01-02' },
    { id: 'b', displayName: 'a', timeCreated: '2026-01-01' },
  ];
  it('sorts timeCreated descending and displayName ascending by default', () => {
    expect(sortItems(items, null, null, ['timeCreated', 'displayName']).map((i) => i.id)).toEqual([
      'a',
      'b',
    ]);
    expect(
      sortItems(items, 'displayName', null, ['timeCreated', 'displayName']).map((i) => i.id),
    ).toEqual(['b', 'a']);
  });
  it('rejects unknown sort keys', () => {
    expect(() => sortItems(items, 'size', null, ['timeCreated'])).toThrow(/sortBy/);
  });
});
