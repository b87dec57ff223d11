import { describe, expect, it } from 'vitest';
import { toServiceCallError } from '#shared/doctor/sdk.ts';

describe('toServiceCallError', () => {
  it('calls an API the endpoint does not host (404 NotFound) unreachable', () => {
    const e = toServiceCallError('monitoring', 'ListAlarms', {
      statusCode: 404,
      serviceCode: 'NotFound',
      message: 'no operation at GET /20180401/alarms',
    });
    expect(e).toMatchObject({ status: 404, serviceCode: 'NotFound', unreachable: true });
  });

  it('keeps an answered error (404 NotAuthorizedOrNotFound, 401) reachable', () => {
    const e = toServiceCallError('events', 'ListRules', {
      statusCode: 404,
      serviceCode: 'NotAuthorizedOrNotFound',
      message: 'x',
    });
    expect(e.unreachable).toBe(false);
    expect(
      toServiceCallError('events', 'ListRules', { statusCode: 401, message: 'x' }).unreachable,
    ).toBe(false);
  });

  it('calls a network failure unreachable and retryable', () => {
    const e = toServiceCallError('monitoring', 'ListAlarms', new TypeError('fetch failed'));
    expect(e).toMatchObject({ unreachable: true, retryable: true, code: 'SERVICE_UNREACHABLE' });
    expect(e.message).toBe('ListAlarms failed: fetch failed');
  });
});
