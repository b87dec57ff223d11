/**
 * The messages dacflow publishes to its internal work topics (shared/wiring.ts `topicKeys`): the
 * fast path from one step to the next, and how the reconciler re-drives a step whose trigger was
 * lost. Notifications delivers them at least once, so every handler is idempotent.
 */
import { z } from 'zod';

export const WorkStep = {
  VALIDATE_DATASET: 'validate-dataset',
  START_FINETUNE: 'start-finetune',
  DEPLOY_ENDPOINT: 'deploy-endpoint',
} as const;
export type WorkStep = (typeof WorkStep)[keyof typeof WorkStep];

export const datasetRefSchema = z
  .object({
    namespace: z.string().min(1),
    bucket: z.string().min(1),
    object: z.string().min(1),
    etag: z.string().min(1),
  })
  .strict();

export const workMessageSchema = z
  .object({
    dacflow: z.literal('work/v1'),
    step: z.enum([WorkStep.VALIDATE_DATASET, WorkStep.START_FINETUNE, WorkStep.DEPLOY_ENDPOINT]),
    runId: z
      .string()
      .regex(/^r[0-9a-f]{20}$/)
      .optional(),
    /** Set for validate-dataset: the object version to validate. */
    dataset: datasetRefSchema.optional(),
  })
  .strict();
export type WorkMessage = z.output<typeof workMessageSchema>;

/** True when `body` looks like a work message (as opposed to an Events CloudEvent). */
export function isWorkMessage(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    (body as { dacflow?: unknown }).dacflow === 'work/v1'
  );
}
