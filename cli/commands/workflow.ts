import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliIO, Command } from '../command.ts';
import { parse, UsageError } from '../command.ts';
import { checkWorkflows, type WorkflowFile } from '#workflows/schema.ts';
import { formatIssue } from '#workflows/errors.ts';

const defaultDir = 'workflows';

const help = `Usage: dacflow workflow check [FILE|DIR...]

Checks workflow files (docs/workflows.md): YAML syntax, every field against the schema (unknown
keys are errors), cross-field rules, and, across all the files given, that no two workflows share
a name or watch overlapping bucket + prefix.

A DIR argument stands for the *.yaml and *.yml files directly inside it. With no arguments, the
files in ./${defaultDir}/ are checked.

Prints "ok <file>" for each valid file on stdout and one line per problem on stderr:
  <file>: <field.path>: <problem> (line L, column C)

Options:
  -h, --help   Show this help

Exit codes: 0 all valid, 1 some file or the set is invalid, 2 usage error or unreadable file.
`;

function isYaml(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

/** Expands directories to their YAML files; reports paths that cannot be read. */
async function collect(paths: string[]): Promise<{ files: string[]; unreadable: string[] }> {
  const files: string[] = [];
  const unreadable: string[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (err) {
      unreadable.push(`${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    if (!isDir) {
      files.push(p);
      continue;
    }
    const names = (await readdir(p)).filter(isYaml).sort();
    files.push(...names.map((n) => join(p, n)));
  }
  return { files, unreadable };
}

async function check(paths: string[], io: CliIO): Promise<number> {
  const usedDefault = paths.length === 0;
  const { files, unreadable } = await collect(usedDefault ? [defaultDir] : paths);
  if (usedDefault && unreadable.length > 0) {
    throw new UsageError(`no ./${defaultDir}/ folder here: pass workflow files or folders`);
  }
  if (files.length === 0 && unreadable.length === 0) {
    throw new UsageError(
      `no *.yaml or *.yml files in ${usedDefault ? `./${defaultDir}/` : paths.join(', ')}`,
    );
  }
  const inputs: WorkflowFile[] = [];
  for (const f of files) {
    try {
      inputs.push({ fileName: f, text: await readFile(f, 'utf8') });
    } catch (err) {
      unreadable.push(`${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  for (const u of unreadable) io.stderr.write(`dacflow workflow: cannot read ${u}\n`);

  const { results, setIssues } = checkWorkflows(inputs);
  const setFiles = new Set(setIssues.map((i) => i.file));
  for (const r of results) {
    if (r.ok && !setFiles.has(r.file)) io.stdout.write(`ok ${r.file}\n`);
    if (!r.ok) for (const i of r.issues) io.stderr.write(formatIssue(i) + '\n');
  }
  for (const i of setIssues) io.stderr.write(formatIssue(i) + '\n');

  if (unreadable.length > 0) return 2;
  return results.every((r) => r.ok) && setIssues.length === 0 ? 0 : 1;
}

export const command: Command = {
  name: 'workflow',
  summary: 'Check workflow files: schema, cross-field rules, overlapping triggers',
  help,
  async run(args: string[], io: CliIO): Promise<number> {
    const { positionals } = parse(args, {});
    const [sub, ...rest] = positionals;
    if (sub === undefined) throw new UsageError('missing subcommand: try `dacflow workflow check`');
    if (sub !== 'check') throw new UsageError(`unknown subcommand "${sub}" (only "check")`);
    return check(rest, io);
  },
};
