/**
 * The validate-dataset step: an object event (or a re-drive) names one object version; the run for
 * it is created if absent, the object is streamed through the validator (never buffered whole, never
 * modified), the report is written under dacflow/reports/, and the run moves to VALID or INVALID.
 */
import { reservedPrefixes, isDatasetObject } from '#shared/wiring.ts';
import { validateDataset, type ValidateOptions } from '#shared/dataset/validate.ts';
import { defaultTokenLimits, TokenCounting } from '#shared/dataset/rules.ts';
import type { ValidationReport } from '#shared/dataset/report.ts';
import {
  createRun,
  runInputFor,
  RunState,
  VALIDATION_STALE_SEC,
  type Run,
} from '#workflows/machine.ts';
import type { DatasetRef } from '#workflows/run-id.ts';
import type { Workflow } from '#workflows/schema.ts';
import { advance } from './advance.ts';
import type { PipelineDeps } from './deps.ts';
import { classifyOciError } from './errors.ts';

export interface ValidateStepResult {
  /** Set when the object is not a dataset of any workflow (or is dacflow's own). */
  ignored?: string;
  runId?: string;
  state?: Run['state'];
  reportObject?: string;
}

/** Where the report of a dataset object goes: next to it, under the reserved reports prefix. */
export function reportObjectName(datasetObject: string): string {
  return `${reservedPrefixes.reports}${datasetObject}.report.json`;
}

export function workflowFor(deps: PipelineDeps, ref: DatasetRef): Workflow | undefined {
  return deps.workflows.find((w) => isDatasetObject(w.trigger, ref.bucket, ref.object));
}

export interface ValidateStepOptions {
  /** Aborts the read when the function is about to run out of time. */
  signal?: AbortSignal;
  /** A monotonic clock in ms for the report's duration. */
  clockMs?: () => number;
}

export async function validateStep(
  deps: PipelineDeps,
  ref: DatasetRef,
  options: ValidateStepOptions = {},
): Promise<ValidateStepResult> {
  const workflow = workflowFor(deps, ref);
  if (!workflow) {
    return { ignored: `object is not under any workflow's prefix (or is dacflow's own)` };
  }
  const created = await deps.runs.createIfAbsent(
    createRun(runInputFor(workflow, ref), deps.now()).run,
  );
  const runId = created.run.runId;
  const log = deps.log.child({ runId, workflow: workflow.name });
  if (created.supersededBy !== undefined) {
    // A delayed event for an object version that has already been replaced.
    const r = await advance(deps, runId, { type: 'SUPERSEDED', byRunId: created.supersededBy });
    return { runId, state: r.run.state };
  }
  const started = await advance(deps, runId, { type: 'VALIDATION_STARTED' });
  if (started.run.state !== RunState.VALIDATING) {
    // A duplicate delivery of a run that is already past validation.
    log.info('duplicate delivery: run already past validation', { state: started.run.state });
    return { runId, state: started.run.state };
  }
  const validatingForSec = (deps.now().getTime() - Date.parse(started.run.updatedAt)) / 1000;
  if (started.ignored !== undefined && validatingForSec < VALIDATION_STALE_SEC) {
    // Another call is validating this object version now (a duplicate or re-driven delivery):
    // reading the whole dataset twice helps nothing. After VALIDATION_STALE_SEC the first call
    // is presumed dead and the reconciler's re-drive validates again.
    log.info('duplicate delivery: another call is validating', { validatingForSec });
    return { runId, state: RunState.VALIDATING, ignored: 'another call is validating' };
  }

  let report: ValidationReport;
  try {
    const got = await deps.objects.getObject({
      namespaceName: ref.namespace,
      bucketName: ref.bucket,
      objectName: ref.object,
      // Read exactly the version the event named: an overwrite since then is a new run.
      ifMatch: ref.etag,
    });
    report = await validateDataset(
      toChunks(got.value, options.signal),
      validateOptions(workflow, options),
    );
  } catch (err) {
    const failure = classifyOciError(err);
    if (failure.kind === 'NOT_FOUND' || failure.status === 412) {
      log.warn('dataset gone before validation', { code: failure.code });
      const r = await advance(deps, runId, { type: 'DATASET_MISSING' });
      return { runId, state: r.run.state };
    }
    throw err;
  }

  const reportObject = reportObjectName(ref.object);
  await deps.objects.putObject({
    namespaceName: ref.namespace,
    bucketName: ref.bucket,
    objectName: reportObject,
    putObjectBody: JSON.stringify(
      { runId, dataset: ref, workflow: workflow.name, report },
      null,
      2,
    ),
    contentType: 'application/json',
  });
  const summary = {
    lines: report.stats.lines,
    validExamples: report.exampleCount,
    // Lines that are not valid examples; errorCount also counts file-level findings.
    invalidLines: report.stats.lines - report.exampleCount,
  };
  const r = await advance(
    deps,
    runId,
    report.valid ? { type: 'DATASET_VALID', summary } : { type: 'DATASET_INVALID', summary },
  );
  log.info('dataset validated', {
    valid: report.valid,
    examples: report.exampleCount,
    errors: report.errorCount,
    errorCounts: report.errorCounts,
    durationMs: report.durationMs,
  });
  return { runId, state: r.run.state, reportObject };
}

function validateOptions(workflow: Workflow, options: ValidateStepOptions): ValidateOptions {
  const d = workflow.dataset;
  const baseModel = workflow.genai?.baseModel ?? workflow.datascience?.baseModel;
  const limits = d.tokenLimits;
  return {
    format: d.format,
    ...(baseModel ? { baseModel } : {}),
    ...(d.chatTemplate ? { chatTemplate: d.chatTemplate } : {}),
    ...(d.maxLineBytes ? { maxLineBytes: d.maxLineBytes } : {}),
    minExamples: d.minExamples,
    ...(baseModel && limits
      ? {
          tokenLimits: {
            [baseModel]: {
              ...limits,
              counting:
                defaultTokenLimits[baseModel]?.counting ?? TokenCounting.utf8BytesUpperBound,
              source: `workflow ${workflow.name}`,
            },
          },
        }
      : {}),
    now: options.clockMs ?? (() => performance.now()),
  };
}

/** The SDK's body (a web ReadableStream or a Node stream) as byte chunks, stopping on abort. */
async function* toChunks(
  body: unknown,
  signal: AbortSignal | undefined,
): AsyncIterable<Uint8Array> {
  const source = body as AsyncIterable<Uint8Array | string>;
  if (
    !source ||
    typeof (source as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] !== 'function'
  ) {
    throw new TypeError('getObject returned no readable body');
  }
  for await (const chunk of source) {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
}
