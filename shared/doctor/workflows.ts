/**
 * The workflows doctor compares the deployment with: they must parse, alone and together, exactly
 * as the functions parse DACFLOW_WORKFLOWS at cold start.
 */
import type { WorkflowTrigger } from '#shared/wiring.ts';
import { formatIssue } from '#workflows/errors.ts';
import { checkWorkflows, type Workflow, type WorkflowFile } from '#workflows/schema.ts';
import { CheckId, fail, ok, type Finding } from './types.ts';

export interface WorkflowCheck {
  findings: Finding[];
  /** The workflows that parsed (all of them only when there is no `fail`). */
  workflows: Workflow[];
  triggers: WorkflowTrigger[];
}

/** A workflow's trigger and backend: a datascience workflow also gets the Data Science rule. */
export function triggerOf(w: Workflow): WorkflowTrigger {
  return { name: w.name, bucket: w.trigger.bucket, prefix: w.trigger.prefix, backend: w.backend };
}

/** Parses `files` (from `--workflow` files or DACFLOW_WORKFLOWS) into findings and workflows. */
export function checkWorkflowFiles(files: readonly WorkflowFile[], source: string): WorkflowCheck {
  if (files.length === 0) {
    return {
      findings: [
        fail(
          CheckId.WORKFLOWS,
          `${source} holds no workflow document`,
          'give at least one workflow (docs/workflows.md): the functions refuse to start without one',
        ),
      ],
      workflows: [],
      triggers: [],
    };
  }
  const { results, setIssues } = checkWorkflows(files);
  const findings: Finding[] = [];
  const workflows: Workflow[] = [];
  for (const r of results) {
    if (r.ok) workflows.push(r.workflow);
    else {
      findings.push(
        fail(
          CheckId.WORKFLOWS,
          `workflow does not parse: ${r.issues.map(formatIssue).join('; ')}`,
          `fix the fields named (docs/workflows.md) and check with \`dacflow workflow check ${r.file.includes('#') ? '<file>' : r.file}\`; the functions fail with CONFIG_INVALID until then`,
        ),
      );
    }
  }
  if (setIssues.length > 0) {
    findings.push(
      fail(
        CheckId.WORKFLOWS,
        `the workflows of ${source} conflict: ${setIssues.map(formatIssue).join('; ')}`,
        'give each workflow its own name and a bucket + prefix no other workflow overlaps',
      ),
    );
  }
  if (findings.length === 0) {
    findings.push(
      ok(
        CheckId.WORKFLOWS,
        `${workflows.length} workflow${workflows.length > 1 ? 's' : ''} from ${source} parse: ${workflows.map((w) => w.name).join(', ')}`,
      ),
    );
  }
  return { findings, workflows, triggers: workflows.map(triggerOf) };
}
