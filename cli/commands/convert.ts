import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { access, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { CliIO, Command } from '../command.ts';
import { numberOption, parse, UsageError } from '../command.ts';
import { convertDataset, type ConvertReport, type SourceFormat } from '#shared/dataset/convert.ts';
import { ConvertInputError } from '#shared/dataset/errors.ts';
import { readFileChunks } from '#shared/dataset/file-source.ts';
import {
  defaultMaxLineBytes,
  type ChatTemplate,
  type DatasetFormat,
} from '#shared/dataset/rules.ts';

const help = `Usage: dacflow convert <in> <out> --from alpaca|openai-chat|sharegpt|auto [options]

Converts a dataset into prompt/completion JSONL, streaming (bounded memory at any size).
Input: JSONL, or one JSON array (as alpaca datasets often are).
  alpaca       instruction (+ "\\n\\n" + input when present) -> prompt, output -> completion
  openai-chat  {"messages":[{"role","content"}]}: the last assistant message is the completion,
               the turns before it the prompt (system messages first)
  sharegpt     {"conversations":[{"from","value"}]}: the same, with human/gpt roles
  auto         decides per record from its fields
Records that cannot be converted are dropped and counted by reason.

Options:
  --from FORMAT          Input format (required)
  --format genai|aqua    Output format (default genai)
  --template llama2      With --format aqua: render prompts in the Llama 2 chat template
  --system TEXT          System prompt for records that carry none
  --max-record-bytes N   Drop records larger than this (default ${defaultMaxLineBytes})
  --force                Replace <out> if it exists
  --json                 Print the conversion report as JSON
  -h, --help             Show this help

<out> is written to a temporary file next to it and renamed into place when complete.
Exit codes: 0 at least one record converted, 1 none converted, 2 usage or read/write error.
`;

const sources = ['alpaca', 'openai-chat', 'sharegpt', 'auto'];

function summary(r: ConvertReport, out: string): string {
  const reasons = Object.entries(r.droppedByReason)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lines = [
    `Converted ${r.converted} of ${r.records} records (${r.inputShape}) into ${out}; dropped ${r.dropped}${reasons ? ` (${reasons})` : ''}.`,
  ];
  for (const d of r.drops.slice(0, 5)) lines.push(`  record ${d.record}: ${d.reason}`);
  return lines.join('\n') + '\n';
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export const command: Command = {
  name: 'convert',
  summary: 'Convert alpaca, OpenAI chat or ShareGPT data into prompt/completion JSONL',
  help,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parse(args, {
      from: { type: 'string' },
      format: { type: 'string' },
      template: { type: 'string' },
      system: { type: 'string' },
      'max-record-bytes': { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (positionals.length !== 2) throw new UsageError('expected <in> and <out>');
    const [input, output] = positionals as [string, string];
    if (values.from === undefined) throw new UsageError('--from is required');
    if (!sources.includes(values.from)) {
      throw new UsageError(`--from must be one of ${sources.join(', ')}, got "${values.from}"`);
    }
    const format = values.format ?? 'genai';
    if (format !== 'genai' && format !== 'aqua') {
      throw new UsageError(`--format must be genai or aqua, got "${format}"`);
    }
    if (values.template !== undefined && values.template !== 'llama2') {
      throw new UsageError(`--template must be llama2, got "${values.template}"`);
    }
    if (values.template !== undefined && format !== 'aqua') {
      throw new UsageError('--template llama2 applies only to --format aqua');
    }
    const maxRecordBytes = numberOption(
      'max-record-bytes',
      values['max-record-bytes'],
      defaultMaxLineBytes,
      16,
    );
    try {
      if (!(await stat(input)).isFile()) throw new Error('not a regular file');
    } catch (err) {
      io.stderr.write(`dacflow convert: cannot read ${input}: ${(err as Error).message}\n`);
      return 2;
    }
    if (!values.force && (await exists(output))) {
      io.stderr.write(`dacflow convert: ${output} exists; pass --force to replace it\n`);
      return 2;
    }

    const temp = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
    const sink = createWriteStream(temp, { flags: 'wx' });
    let sinkError: Error | undefined;
    sink.on('error', (err) => (sinkError = err));
    const write = async (text: string) => {
      if (sinkError) throw sinkError;
      if (!sink.write(text)) await once(sink, 'drain');
    };
    let report: ConvertReport;
    try {
      report = await convertDataset(readFileChunks(input), write, {
        from: values.from as SourceFormat,
        format: format as DatasetFormat,
        template: values.template as ChatTemplate | undefined,
        system: values.system,
        maxRecordBytes,
      });
      sink.end();
      // Rejects also when the stream failed before (e.g. opening the temporary file).
      await finished(sink);
      await rename(temp, output);
    } catch (err) {
      sink.destroy();
      await rm(temp, { force: true });
      const what = err instanceof ConvertInputError ? 'cannot convert' : 'failed';
      io.stderr.write(`dacflow convert: ${what} ${input}: ${(err as Error).message}\n`);
      return 2;
    }
    io.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : summary(report, output));
    return report.converted > 0 ? 0 : 1;
  },
};
