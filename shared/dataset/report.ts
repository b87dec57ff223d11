import type { Distribution } from './sketch.ts';
import type { DatasetFormat, Finding, FindingCode, TokenCounting } from './rules.ts';

/**
 * The validation report: what the validate-dataset function stores next to the dataset and what
 * `dacflow validate --json` prints. Plain JSON; messages never quote more than a few characters of
 * dataset text.
 */
export interface ValidationReport {
  valid: boolean;
  format: DatasetFormat;
  baseModel: string | null;
  /** Lines that are valid examples. */
  exampleCount: number;
  /** All errors found, including those beyond `errors`. */
  errorCount: number;
  /** The first `maxFindings` errors in line order. */
  errors: Finding[];
  errorCounts: Partial<Record<FindingCode, number>>;
  warningCount: number;
  warnings: Finding[];
  warningCounts: Partial<Record<FindingCode, number>>;
  stats: {
    bytes: number;
    lines: number;
    /** Estimated tokens per field (characters / 4) over valid examples. */
    promptTokens: Distribution;
    completionTokens: Distribution;
    /** Sum of estimated prompt + completion tokens over valid examples, for one epoch. */
    estimatedTrainingTokens: number;
    /** Examples remembered for duplicate detection; past the cap duplicates go unreported. */
    duplicateTracking: { tracked: number; saturated: boolean };
  };
  tokenCounting: {
    /** How token limits were checked. */
    limitCheck: TokenCounting;
    /** How the statistics' token numbers were obtained. */
    stats: 'estimate-chars-div-4';
    limits: {
      maxPromptTokens: number | null;
      maxCompletionTokens: number | null;
      maxTotalTokens: number | null;
      source: string;
    };
    /** Lines whose byte length was over a limit and were counted with the tokenizer. */
    tokenizedLines: number;
  };
  maxLineBytes: number;
  minExamples: number;
  /** Wall time of the validation, by the caller's clock. */
  durationMs: number;
}

function counts(c: Partial<Record<string, number>>): string {
  return Object.entries(c)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/** A few lines for people: verdict, counts, the first findings and the statistics. */
export function renderSummary(report: ValidationReport, maxListed = 10): string {
  const out: string[] = [];
  const mb = (report.stats.bytes / 1e6).toFixed(1);
  out.push(
    `${report.valid ? 'VALID' : 'INVALID'}: ${report.exampleCount} examples, ${report.errorCount} errors, ${report.warningCount} warnings (${report.format} format${report.baseModel ? `, ${report.baseModel}` : ''}; ${report.stats.lines} lines, ${mb} MB, ${Math.round(report.durationMs)} ms)`,
  );
  if (report.errorCount > 0) {
    out.push(`Errors by code: ${counts(report.errorCounts)}`);
    for (const f of report.errors.slice(0, maxListed)) {
      out.push(`  ${f.line === 0 ? 'file' : `line ${f.line}`}: ${f.code}: ${f.message}`);
    }
    if (report.errorCount > maxListed) {
      out.push(`  ... ${report.errorCount - Math.min(maxListed, report.errors.length)} more`);
    }
  }
  if (report.warningCount > 0) {
    out.push(`Warnings by code: ${counts(report.warningCounts)}`);
    for (const f of report.warnings.slice(0, maxListed)) {
      out.push(`  line ${f.line}: ${f.code}: ${f.message}`);
    }
    if (report.warningCount > maxListed) {
      out.push(`  ... ${report.warningCount - Math.min(maxListed, report.warnings.length)} more`);
    }
  }
  if (report.exampleCount > 0) {
    const d = (x: { min: number; p50: number; p95: number; max: number }) =>
      `min ${x.min} / p50 ${x.p50} / p95 ${x.p95} / max ${x.max}`;
    out.push(`Prompt tokens (estimated): ${d(report.stats.promptTokens)}`);
    out.push(`Completion tokens (estimated): ${d(report.stats.completionTokens)}`);
    out.push(`Estimated training tokens per epoch: ${report.stats.estimatedTrainingTokens}`);
  }
  out.push(
    `Token limits: ${report.tokenCounting.limitCheck} (${report.tokenCounting.limits.source})`,
  );
  return out.join('\n') + '\n';
}
