/**
 * The OCI Events rule condition language (docs: Events "Matching Events with Filters",
 * filterevents.htm): fields the condition omits are ignored, `{}` matches everything, the event must
 * contain every field the condition names with the same nesting, an array of values means OR, and
 * `*` is a wildcard anywhere in a string value; a lone `*` matches any non-null value.
 * Pure: no I/O.
 */

export type ConditionValue = string | number | boolean | ConditionObject | ConditionValue[];
export interface ConditionObject {
  [key: string]: ConditionValue;
}

export class ConditionSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConditionSyntaxError';
  }
}

/** Parses and checks a rule condition string; throws `ConditionSyntaxError` when it is not valid. */
export function parseCondition(text: string): ConditionObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConditionSyntaxError('condition is not valid JSON');
  }
  if (!isObject(value)) throw new ConditionSyntaxError('condition must be a JSON object');
  check(value, 'condition');
  return value as ConditionObject;
}

function check(v: unknown, path: string): void {
  if (v === null) throw new ConditionSyntaxError(`${path}: null is not allowed`);
  if (Array.isArray(v)) {
    if (v.length === 0) throw new ConditionSyntaxError(`${path}: empty array`);
    v.forEach((x, i) => {
      if (Array.isArray(x)) throw new ConditionSyntaxError(`${path}[${i}]: nested array`);
      check(x, `${path}[${i}]`);
    });
    return;
  }
  if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (k.includes('*'))
        throw new ConditionSyntaxError(`${path}: wildcards are allowed in values only`);
      check(x, `${path}.${k}`);
    }
    return;
  }
  if (!['string', 'number', 'boolean'].includes(typeof v)) {
    throw new ConditionSyntaxError(`${path}: unsupported value`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Compiles a `*` pattern into an anchored regular expression. */
export function wildcardToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`, 's');
}

function matchScalar(pattern: string | number | boolean, value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (pattern === '*') return true;
  if (typeof value === 'object') return false;
  if (typeof pattern !== 'string') return pattern === value || String(pattern) === String(value);
  if (!pattern.includes('*')) return pattern === String(value);
  return wildcardToRegExp(pattern).test(String(value));
}

/** One condition value against one event value; an event array matches when any element does. */
function matchValue(cond: ConditionValue, value: unknown): boolean {
  if (Array.isArray(cond)) return cond.some((c) => matchValue(c, value));
  if (Array.isArray(value)) return value.some((v) => matchValue(cond, v));
  if (isObject(cond)) return isObject(value) && matchObject(cond, value);
  return matchScalar(cond, value);
}

function matchObject(cond: ConditionObject, event: Record<string, unknown>): boolean {
  for (const [k, c] of Object.entries(cond)) {
    if (!Object.prototype.hasOwnProperty.call(event, k)) return false;
    if (!matchValue(c, event[k])) return false;
  }
  return true;
}

/** True when `event` (a CloudEvents envelope as plain JSON) satisfies `condition`. */
export function matchesCondition(condition: ConditionObject, event: unknown): boolean {
  return isObject(event) && matchObject(condition, event);
}
