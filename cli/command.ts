import { parseArgs, type ParseArgsConfig } from 'node:util';

/** What a command may touch: its streams, so tests can capture them. */
export interface CliIO {
  stdout: { write(chunk: string): unknown; isTTY?: boolean };
  stderr: { write(chunk: string): unknown; isTTY?: boolean };
}

/** One `dacflow <name>` subcommand. */
export interface Command {
  name: string;
  /** One line for `dacflow --help`. */
  summary: string;
  /** The whole text of `dacflow <name> --help`: usage, options, exit codes. */
  help: string;
  /** Runs the command and returns its exit code. Throw `UsageError` for bad arguments (exit 2). */
  run(args: string[], io: CliIO): Promise<number>;
}

/** Bad arguments: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `util.parseArgs` in strict mode, with its errors turned into `UsageError`s. Unknown options are
 * errors. The caller handles `--help` before parsing (see `cli/dacflow.ts`).
 */
export function parse<O extends Options>(args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** Parses a number option, naming it in the error. */
export function numberOption(
  name: string,
  value: string | undefined,
  fallback: number,
  min = 0,
  max = Infinity,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}
