import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

/** Fn's defaults when func.yaml leaves them out (fnproject/docs fn/develop/func-file.md). */
export const defaultMemoryMb = 128;
export const defaultTimeoutSec = 30;
/** OCI Functions' ceiling for a synchronous call (functionscustomizing.htm). */
export const maxTimeoutSec = 300;

const funcYamlSchema = z.object({
  name: z.string().min(1),
  memory: z.number().int().positive().default(defaultMemoryMb),
  timeout: z.number().int().positive().max(maxTimeoutSec).default(defaultTimeoutSec),
  config: z.record(z.string(), z.coerce.string()).default({}),
});

/** The parts of a func.yaml the runner honours. */
export interface FuncSpec {
  name: string;
  memoryMb: number;
  timeoutSec: number;
  /** Function configuration: becomes environment variables, as on OCI. */
  config: Record<string, string>;
}

/** Reads `<dir>/func.yaml`; a missing file gives Fn's defaults with the folder name. */
export function readFuncSpec(dir: string, fallbackName: string): FuncSpec {
  let text: string;
  try {
    text = readFileSync(join(dir, 'func.yaml'), 'utf8');
  } catch {
    return {
      name: fallbackName,
      memoryMb: defaultMemoryMb,
      timeoutSec: defaultTimeoutSec,
      config: {},
    };
  }
  const parsed = funcYamlSchema.safeParse(parse(text) ?? {});
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${join(dir, 'func.yaml')} is invalid: ${where.join('; ')}`);
  }
  const f = parsed.data;
  return { name: f.name, memoryMb: f.memory, timeoutSec: f.timeout, config: f.config };
}
