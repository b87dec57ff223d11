import { readFile, stat } from 'node:fs/promises';
import type { CliIO, Command } from '../command.ts';
import { numberOption, parse, UsageError } from '../command.ts';
import { readFileChunks } from '#shared/dataset/file-source.ts';
import { renderSummary } from '#shared/dataset/report.ts';
import {
  defaultMaxLineBytes,
  defaultMinExamples,
  overrideTokenLimits,
  type ChatTemplate,
  type DatasetFormat,
  type TokenLimits,
} from '#shared/dataset/rules.ts';
import { validateDataset, type ValidateOptions } from '#shared/dataset/validate.ts';

const help = `Usage: dacflow validate <file> [options]

Checks a JSONL fine-tuning dataset with the same rules the validate-dataset function applies
(docs/validation.md): UTF-8, one JSON object per line, the fields the format requires, line size,
the base model's token limits, at least N examples; duplicates are warnings.

Options:
  --workflow FILE        Take format, base model, minExamples, maxLineBytes, tokenLimits and
                         chatTemplate from a workflow file (its dataset and genai/datascience
                         sections). Other options override it.
  --base-model ID        Base model id for token limits, e.g. meta.llama-3.3-70b-instruct
  --format genai|aqua    Dataset format (default genai)
  --template llama2      With --format aqua: check Llama 2 chat template markers in prompts
  --min-examples N       Fewer valid examples is an error (default ${defaultMinExamples})
  --max-line-bytes N     Longer lines are errors (default ${defaultMaxLineBytes})
  --json                 Print the report as JSON and nothing else
  -h, --help             Show this help

Exit codes: 0 valid, 1 invalid, 2 usage or read error.
`;

/** Only worth a progress bar above this size. */
const progressMinBytes = 64 * 1024 * 1024;

async function fromWorkflow(
  file: string,
): Promise<Partial<ValidateOptions> & { budgets?: TokenLimits }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read workflow file ${file}: ${(err as Error).message}`);
  }
  const { parseWorkflow } = await import('#workflows/schema.ts');
  const w = parseWorkflow(text, file);
  const baseModel = w.genai?.baseModel ?? w.datascience?.baseModel;
  const d = w.dataset;
  return {
    format: d.format as DatasetFormat | undefined,
    baseModel,
    minExamples: d.minExamples,
    maxLineBytes: d.maxLineBytes,
    chatTemplate: d.chatTemplate as ChatTemplate | undefined,
    budgets:
      d.tokenLimits === undefined
        ? undefined
        : overrideTokenLimits(
            baseModel,
            d.tokenLimits,
            `workflow file ${file} dataset.tokenLimits`,
          ),
  };
}

export const command: Command = {
  name: 'validate',
  summary: 'Check a JSONL fine-tuning dataset against the GenAI/AQUA rules',
  help,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parse(args, {
      workflow: { type: 'string' },
      'base-model': { type: 'string' },
      format: { type: 'string' },
      template: { type: 'string' },
      'min-examples': { type: 'string' },
      'max-line-bytes': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one dataset file');
    const file = positionals[0]!;
    if (values.format !== undefined && values.format !== 'genai' && values.format !== 'aqua') {
      throw new UsageError(`--format must be genai or aqua, got "${values.format}"`);
    }
    if (values.template !== undefined && values.template !== 'llama2') {
      throw new UsageError(`--template must be llama2, got "${values.template}"`);
    }
    const wf = values.workflow !== undefined ? await fromWorkflow(values.workflow) : {};
    const format = (values.format as DatasetFormat | undefined) ?? wf.format ?? 'genai';
    const chatTemplate = (values.template as ChatTemplate | undefined) ?? wf.chatTemplate;
    if (chatTemplate !== undefined && format !== 'aqua') {
      throw new UsageError('--template llama2 applies only to --format aqua');
    }
    const baseModel = values['base-model'] ?? wf.baseModel;
    const options: ValidateOptions = {
      format,
      baseModel,
      chatTemplate,
      minExamples: numberOption(
        'min-examples',
        values['min-examples'],
        wf.minExamples ?? defaultMinExamples,
        1,
      ),
      maxLineBytes: numberOption(
        'max-line-bytes',
        values['max-line-bytes'],
        wf.maxLineBytes ?? defaultMaxLineBytes,
        16,
      ),
      now: () => performance.now(),
    };
    if (wf.budgets !== undefined && baseModel !== undefined && values['base-model'] === undefined) {
      options.tokenLimits = { [baseModel]: wf.budgets };
    }

    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) throw new Error('not a regular file');
      size = s.size;
    } catch (err) {
      io.stderr.write(`dacflow validate: cannot read ${file}: ${(err as Error).message}\n`);
      return 2;
    }
    const showProgress = io.stderr.isTTY === true && !values.json && size >= progressMinBytes;
    let lastPercent = -1;
    const onProgress = (bytes: number) => {
      const percent = Math.floor((bytes / size) * 100);
      if (percent === lastPercent) return;
      lastPercent = percent;
      const filled = Math.round(percent / 5);
      io.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${percent}%`);
    };

    let report;
    try {
      report = await validateDataset(
        readFileChunks(file),
        options,
        showProgress ? { onProgress } : {},
      );
    } catch (err) {
      if (showProgress) io.stderr.write('\n');
      io.stderr.write(`dacflow validate: cannot read ${file}: ${(err as Error).message}\n`);
      return 2;
    }
    if (showProgress) io.stderr.write('\n');
    io.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : renderSummary(report));
    return report.valid ? 0 : 1;
  },
};
