/**
 * Request helpers the emulated control-plane services share: body validation into OCI's 400,
 * the 404/409 errors OCI returns, and small utilities. One copy, so every service answers alike.
 */
import type { z } from 'zod';
import { OciApiError, type EmulatorRequest } from './service.ts';

export function validate<S extends z.ZodType>(raw: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue && issue.path.length > 0 ? issue.path.join('.') : 'body';
    throw new OciApiError(
      400,
      'InvalidParameter',
      `Invalid ${path}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return result.data;
}

export function header(req: EmulatorRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function notFound(kind: string, id: string): OciApiError {
  return new OciApiError(
    404,
    'NotAuthorizedOrNotFound',
    `${kind} ${id} not found or not authorized.`,
  );
}

export function incorrectState(message: string): OciApiError {
  return new OciApiError(409, 'IncorrectState', message);
}

export function requireCompartment(req: EmulatorRequest): string {
  const c = req.query.get('compartmentId');
  if (!c) throw new OciApiError(400, 'MissingParameter', 'compartmentId is required');
  return c;
}

export function defaultName(prefix: string, now: Date): string {
  return prefix + now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
