import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  ConditionSyntaxError,
  matchesCondition,
  parseCondition,
  wildcardToRegExp,
} from '#local/emulator/condition.ts';
import { datasetCondition } from '#shared/wiring.ts';

const event = {
  cloudEventsVersion: '0.1',
  eventID: 'e1',
  eventType: 'com.oraclecloud.objectstorage.createobject',
  source: 'objectstorage',
  eventTypeVersion: '2.0',
  eventTime: '2026-01-01T00:00:00.000Z',
  contentType: 'application/json',
  extensions: { compartmentId: 'ocid1.compartment.oc1..c' },
  data: {
    compartmentId: 'ocid1.compartment.oc1..c',
    resourceName: 'datasets/support-bot/train.jsonl',
    availabilityDomain: 'all',
    freeformTags: {},
    additionalDetails: {
      bucketName: 'datasets',
      eTag: 'etag-1',
      namespace: 'ns',
      archivalState: 'Available',
    },
  },
};

const m = (cond: unknown, ev: unknown = event) =>
  matchesCondition(parseCondition(JSON.stringify(cond)), ev);

describe('OCI Events condition matcher', () => {
  it('matches everything with {}', () => {
    expect(m({})).toBe(true);
  });

  it('ignores fields the condition omits and requires the ones it names', () => {
    expect(m({ eventType: 'com.oraclecloud.objectstorage.createobject' })).toBe(true);
    expect(m({ eventType: 'com.oraclecloud.objectstorage.deleteobject' })).toBe(false);
    expect(m({ data: { missingField: '*' } })).toBe(false);
  });

  it('treats arrays as OR', () => {
    expect(m({ eventType: ['a', 'com.oraclecloud.objectstorage.createobject'] })).toBe(true);
    expect(m({ eventType: ['a', 'b'] })).toBe(false);
  });

  it('matches nested data fields with the same nesting only', () => {
    expect(m({ data: { additionalDetails: { bucketName: 'datasets' } } })).toBe(true);
    expect(m({ data: { additionalDetails: { bucketName: 'other' } } })).toBe(false);
    expect(m({ data: { bucketName: 'datasets' } })).toBe(false);
    expect(m({ additionalDetails: { bucketName: 'datasets' } })).toBe(false);
  });

  it('supports * anywhere in a value', () => {
    expect(m({ data: { resourceName: 'datasets/*.jsonl' } })).toBe(true);
    expect(m({ data: { resourceName: '*support-bot*' } })).toBe(true);
    expect(m({ data: { resourceName: 'datasets/*/train.*' } })).toBe(true);
    expect(m({ data: { resourceName: '*.csv' } })).toBe(false);
    expect(m({ eventType: 'com.oraclecloud.objectstorage.*' })).toBe(true);
  });

  it('gives . and other regex characters no special meaning', () => {
    expect(m({ data: { resourceName: 'datasets/support-bot/train.jsonl' } })).toBe(true);
    expect(m({ data: { resourceName: 'datasets/support-bot/trainXjsonl' } })).toBe(false);
    expect(
      m(
        { data: { resourceName: 'datasets/support-bot/train.jsonl' } },
        {
          ...event,
          data: { ...event.data, resourceName: 'datasets/support-bot/trainXjsonl' },
        },
      ),
    ).toBe(false);
  });

  it('matches a lone * against any non-null value, including objects, but not null', () => {
    expect(m({ data: { freeformTags: '*' } })).toBe(true);
    expect(m({ data: { availabilityDomain: '*' } })).toBe(true);
    expect(m({ data: { x: '*' } }, { ...event, data: { ...event.data, x: null } })).toBe(false);
  });

  it('matches the wiring condition dacflow creates', () => {
    const cond = datasetCondition({
      name: 'w',
      bucket: 'datasets',
      prefix: 'datasets/support-bot/',
    });
    expect(m(cond)).toBe(true);
    expect(m(cond, { ...event, eventType: 'com.oraclecloud.objectstorage.deleteobject' })).toBe(
      false,
    );
    expect(
      m(cond, { ...event, data: { ...event.data, resourceName: 'dacflow/reports/x.jsonl' } }),
    ).toBe(false);
  });

  it('rejects conditions that are not JSON objects or put wildcards in keys', () => {
    expect(() => parseCondition('not json')).toThrow(ConditionSyntaxError);
    expect(() => parseCondition('[]')).toThrow(ConditionSyntaxError);
    expect(() => parseCondition('{"data":{"a*":"x"}}')).toThrow(ConditionSyntaxError);
    expect(() => parseCondition('{"eventType":[]}')).toThrow(ConditionSyntaxError);
    expect(() => parseCondition('{"eventType":null}')).toThrow(ConditionSyntaxError);
  });

  test.prop([fc.string(), fc.string()])('a value matches itself and prefix*', (a, b) => {
    const value = a + b;
    const literal = value.replace(/\*/g, '');
    expect(wildcardToRegExp(literal).test(literal)).toBe(true);
    expect(wildcardToRegExp(`${a.replace(/\*/g, '')}*`).test(a.replace(/\*/g, '') + b)).toBe(true);
  });

  test.prop([fc.string({ minLength: 1 }).filter((s) => !s.includes('*'))])(
    'a pattern without * matches only the identical string',
    (s) => {
      expect(wildcardToRegExp(s).test(s)).toBe(true);
      expect(wildcardToRegExp(s).test(`${s}x`)).toBe(false);
      expect(wildcardToRegExp(s).test(`x${s}`)).toBe(false);
    },
  );
});
