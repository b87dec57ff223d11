import { DacflowError } from '#shared/errors.ts';

/** One problem in one workflow file, located by field path and, when known, by line and column. */
export interface WorkflowIssue {
  file: string;
  /** Dotted field path, e.g. `genai.trainingConfig.loraR`; empty for the whole document. */
  path: string;
  message: string;
  /** 1-based position in the YAML text, when the problem can be pinned to a node. */
  line?: number;
  column?: number;
}

/** Renders an issue as `file: path: message (line L, column C)`, the form the CLI prints. */
export function formatIssue(issue: WorkflowIssue): string {
  const where = issue.path === '' ? '' : `${issue.path}: `;
  const pos =
    issue.line === undefined
      ? ''
      : ` (line ${issue.line}${issue.column === undefined ? '' : `, column ${issue.column}`})`;
  return `${issue.file}: ${where}${issue.message}${pos}`;
}

/**
 * A workflow file (or a set of them) that does not validate. Never retryable: the user has to edit
 * the file. The message lists every issue so one run of `dacflow workflow check` shows them all.
 */
export class WorkflowError extends DacflowError {
  readonly issues: readonly WorkflowIssue[];

  constructor(issues: readonly WorkflowIssue[]) {
    const files = [...new Set(issues.map((i) => i.file))];
    super(issues.map(formatIssue).join('\n'), {
      code: 'WORKFLOW_INVALID',
      retryable: false,
      context: { files, issueCount: issues.length },
    });
    this.name = 'WorkflowError';
    this.issues = Object.freeze([...issues]);
  }
}
