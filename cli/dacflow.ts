import type { CliIO, Command } from './command.ts';
import { UsageError } from './command.ts';

/**
 * Every subcommand, loaded lazily so `dacflow --help` stays fast. Add a line per command file in
 * `cli/commands/`.
 */
const commands: Record<string, () => Promise<Command>> = {
  // registry: keep one line per command, sorted
  convert: async () => (await import('./commands/convert.ts')).command,
  demo: async () => (await import('./commands/demo.ts')).command,
  doctor: async () => (await import('./commands/doctor.ts')).command,
  estimate: async () => (await import('./commands/estimate.ts')).command,
  events: async () => (await import('./commands/events.ts')).command,
  invoke: async () => (await import('./commands/invoke.ts')).command,
  local: async () => (await import('./commands/local.ts')).command,
  simulate: async () => (await import('./commands/simulate.ts')).command,
  status: async () => (await import('./commands/status.ts')).command,
  validate: async () => (await import('./commands/validate.ts')).command,
  workflow: async () => (await import('./commands/workflow.ts')).command,
};

function mainHelp(summaries: [string, string][]): string {
  const width = Math.max(...summaries.map(([n]) => n.length), 8);
  return [
    'dacflow: event-driven LLM fine-tuning and serving on OCI, runnable locally.',
    '',
    'Usage: dacflow <command> [options]',
    '',
    'Commands:',
    ...summaries.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`),
    '',
    "Run `dacflow <command> --help` for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const loaded = await Promise.all(Object.values(commands).map((load) => load()));
    io.stdout.write(mainHelp(loaded.map((c) => [c.name, c.summary])));
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout.write('dacflow 0.1.0\n');
    return 0;
  }
  const load = commands[name];
  if (!load) {
    io.stderr.write(`dacflow: unknown command "${name}". Run \`dacflow --help\` for the list.\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help.endsWith('\n') ? command.help : command.help + '\n');
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(
        `dacflow ${name}: ${err.message}\nRun \`dacflow ${name} --help\` for usage.\n`,
      );
      return 2;
    }
    io.stderr.write(`dacflow ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
