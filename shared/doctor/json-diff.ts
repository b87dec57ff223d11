/**
 * A field-by-field comparison of two JSON values, for messages that name exactly what differs.
 * Arrays of scalars compare as sets: in an OCI Events condition an array means OR, so order is
 * meaningless (filterevents.htm).
 */

const show = (v: unknown): string => (v === undefined ? 'missing' : JSON.stringify(v));

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One line per difference, e.g. `data.resourceName is "a*.jsonl", expected "b*.jsonl"`. */
export function diffJson(actual: unknown, expected: unknown, path = ''): string[] {
  const at = path === '' ? '(whole value)' : path;
  if (isPlainObject(expected) && isPlainObject(actual)) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    return keys.flatMap((k) => {
      const p = path === '' ? k : `${path}.${k}`;
      if (!(k in expected)) return [`${p} is ${show(actual[k])}, expected no such field`];
      if (!(k in actual)) return [`${p} is missing, expected ${show(expected[k])}`];
      return diffJson(actual[k], expected[k], p);
    });
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const scalars = [...expected, ...actual].every((v) => typeof v !== 'object' || v === null);
    if (scalars) {
      const a = new Set(actual.map((v) => JSON.stringify(v)));
      const e = new Set(expected.map((v) => JSON.stringify(v)));
      const lacks = [...e].filter((v) => !a.has(v));
      const extra = [...a].filter((v) => !e.has(v));
      const out: string[] = [];
      if (lacks.length > 0) out.push(`${at} lacks ${lacks.join(', ')}`);
      if (extra.length > 0) out.push(`${at} has unexpected ${extra.join(', ')}`);
      return out;
    }
    if (actual.length !== expected.length) {
      return [`${at} has ${actual.length} elements, expected ${expected.length}`];
    }
    return expected.flatMap((e, i) => diffJson(actual[i], e, `${path}[${i}]`));
  }
  return JSON.stringify(actual) === JSON.stringify(expected)
    ? []
    : [`${at} is ${show(actual)}, expected ${show(expected)}`];
}
