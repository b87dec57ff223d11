import type { CliIO, Command } from '../command.ts';
import { numberOption, parse } from '../command.ts';
import type { FaultOptions } from '#local/emulator/index.ts';

export const defaultDataDir = '.dacflow/local';

const help = `Usage: dacflow local [options]

Runs dacflow on this machine: the local OCI emulator (Object Storage, Events, Notifications, the
Resource Scheduler and Generative AI), the resources Terraform would create (datasets bucket with object
events and versioning, the Notifications topics and subscriptions, the Events rules of each
workflow, the poll-status schedule), and every built function (dist/functions, run \`npm run
build\` first) under the real Fn FDK. Writes DIR/local.json with the endpoints, the OCI config
file to use, resource ids and the invoke endpoint. Function output is printed on stderr. Stops
cleanly, with its function processes, on Ctrl-C (SIGINT) or SIGTERM.

Options:
  --data-dir DIR            State, local.json and emulator data (default ${defaultDataDir})
  --port N                  Emulator port (default: any free port)
  --fast                    Shrink simulated OCI delays 100x and run schedules 60x faster
  --fault-rate RATE         Inject OCI API faults (5xx, 429, latency) on this fraction of calls
  --duplicate-events RATE   Deliver this fraction of events and notifications twice
  --drop-events RATE        Drop this fraction of event deliveries
  --seed N                  Seed of the fault injection (default 1)
  --functions-dir DIR       Built function bundles (default dist/functions)
  -h, --help                Show this help

Exit codes: 0 stopped cleanly, 2 usage error or the stack could not start.
`;

export const command: Command = {
  name: 'local',
  summary: 'Run the emulator, the wiring and the functions locally',
  help,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values } = parse(
      args,
      {
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        fast: { type: 'boolean' },
        'fault-rate': { type: 'string' },
        'duplicate-events': { type: 'string' },
        'drop-events': { type: 'string' },
        seed: { type: 'string' },
        'functions-dir': { type: 'string' },
      },
      false,
    );
    const port = numberOption('port', values.port, 0, 0, 65535);
    const rate = numberOption('fault-rate', values['fault-rate'], 0, 0, 1);
    const duplicateEvents = numberOption('duplicate-events', values['duplicate-events'], 0, 0, 1);
    const dropEvents = numberOption('drop-events', values['drop-events'], 0, 0, 1);
    const seed = numberOption('seed', values.seed, 1, 0);
    const faults: FaultOptions | undefined =
      rate > 0 || duplicateEvents > 0 || dropEvents > 0
        ? { rate, duplicateEvents, dropEvents }
        : undefined;
    const dataDir = values['data-dir'] ?? defaultDataDir;

    const { startStack } = await import('#local/stack.ts');
    const stack = await startStack({
      dataDir,
      port,
      fast: values.fast ?? false,
      seed,
      ...(faults ? { faults } : {}),
      ...(values['functions-dir'] ? { functionsDir: values['functions-dir'] } : {}),
      functionLogSink: (e) =>
        io.stderr.write(`[${e.function}${e.callId ? ` ${e.callId}` : ''}] ${e.line}\n`),
    });
    const names = Object.keys(stack.local.functions);
    if (names.length === 0) {
      io.stderr.write('dacflow local: no built functions found: run `npm run build` first.\n');
    }
    io.stdout.write(
      `dacflow local: ready at ${stack.emulator.url} (invoke ${stack.local.invokeUrl}; ` +
        `${names.length} function(s)${names.length ? `: ${names.join(', ')}` : ''}; ` +
        `${stack.localJsonPath})\n`,
    );
    await new Promise<void>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        io.stderr.write(`dacflow local: ${signal}, stopping\n`);
        resolve();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    await stack.stop();
    io.stdout.write('dacflow local: stopped\n');
    return 0;
  },
};
