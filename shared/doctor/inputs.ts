/**
 * Reading what `dacflow doctor` checks against: a local stack's `local.json` (written by
 * `startStack` in local/stack.ts), an env file of function configuration, workflow files. Every
 * problem is a DoctorInputError naming the file, so the CLI exits 2 with a clear message.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { configKeys, splitWorkflowDocuments } from '#shared/config.ts';
import { errorMessage } from '#shared/errors.ts';
import { topicKeys } from '#shared/wiring.ts';
import type { WorkflowFile } from '#workflows/schema.ts';
import { DoctorInputError } from './errors.ts';

/** The part of local.json (`LocalJson` in local/stack.ts) doctor reads. */
const localJsonSchema = z.object({
  endpoints: z.record(z.string(), z.string()),
  configFile: z.string().min(1),
  profile: z.string().min(1),
  namespace: z.string().min(1),
  compartmentId: z.string().min(1),
  buckets: z.object({ datasets: z.array(z.string()), state: z.string().min(1) }),
  topics: z.object(
    Object.fromEntries(topicKeys.map((k) => [k, z.string().min(1)])) as Record<
      (typeof topicKeys)[number],
      z.ZodString
    >,
  ),
  functions: z.record(z.string(), z.string()),
  workflows: z.array(
    z.object({
      name: z.string().min(1),
      bucket: z.string().min(1),
      prefix: z.string(),
      backend: z.string().optional(),
    }),
  ),
});
export type LocalStackInfo = z.output<typeof localJsonSchema>;

/** Reads and validates `DIR/local.json`. */
export function readLocalStack(dataDir: string): LocalStackInfo {
  const path = join(resolve(dataDir), 'local.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DoctorInputError(
      `cannot read ${path}: is \`dacflow local --data-dir ${dataDir}\` running? (${errorMessage(err)})`,
      { path },
      err,
    );
  }
  const parsed = localJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new DoctorInputError(
      `${path} is not a local.json of this dacflow: ${issues.join('; ')}`,
      {
        path,
      },
    );
  }
  return parsed.data;
}

/**
 * Reads an env file (`KEY=VALUE` lines, as `node --env-file` reads them: quoted values may span
 * lines) holding function configuration. Unknown DACFLOW_ keys are errors, as in `parseConfig`.
 */
export function readEnvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DoctorInputError(`cannot read ${path}: ${errorMessage(err)}`, { path }, err);
  }
  const env = parseEnv(text) as Record<string, string>;
  const unknown = Object.keys(env).filter(
    (k) => k.startsWith('DACFLOW_') && !(configKeys as string[]).includes(k),
  );
  if (unknown.length > 0) {
    throw new DoctorInputError(
      `${path}: unknown variable ${unknown.join(', ')} (known: ${configKeys.join(', ')})`,
      { path },
    );
  }
  return env;
}

/** The workflow documents of DACFLOW_WORKFLOWS in an env file. */
export function workflowsFromEnv(env: Record<string, string>, path: string): WorkflowFile[] {
  const yaml = env.DACFLOW_WORKFLOWS;
  if (yaml === undefined || yaml.trim() === '') {
    throw new DoctorInputError(`${path} has no DACFLOW_WORKFLOWS`, { path });
  }
  return splitWorkflowDocuments(yaml, `${path}:DACFLOW_WORKFLOWS`);
}

/** Reads workflow files; one unreadable file is an input error. */
export function readWorkflowFiles(paths: readonly string[]): WorkflowFile[] {
  return paths.map((p) => {
    try {
      return { fileName: p, text: readFileSync(p, 'utf8') };
    } catch (err) {
      throw new DoctorInputError(
        `cannot read workflow file ${p}: ${errorMessage(err)}`,
        { path: p },
        err,
      );
    }
  });
}
