import { randomUUID } from 'node:crypto';
import type { CliIO, Command } from '../command.ts';
import { parse, UsageError } from '../command.ts';
import { eventKinds, generateEvent, type EventKind } from '#local/runner/events.ts';

const alarmTypes = ['OK_TO_FIRING', 'FIRING_TO_OK', 'REPEAT', 'RESET'];

const help = `Usage: dacflow events generate <kind> [options]

Prints a realistic payload of a trigger that reaches dacflow's functions, for
\`dacflow invoke <function> --file -\` and tests:
  objectstorage-create   OCI Events CloudEvents 0.1 envelope of an object upload (validate-dataset)
  objectstorage-update   the same for an overwritten object
  alarm                  a Monitoring alarm message as Notifications delivers it (scale-dac)
  schedule               the poll-status schedule payload

Options:
  --namespace NS         Object Storage namespace (default dacflowlocal)
  --bucket NAME          Bucket (default dacflow-datasets)
  --object NAME          Object name (default datasets/example/train.jsonl)
  --etag ETAG            Object ETag
  --alarm-type TYPE      ${alarmTypes.join(', ')} (default OK_TO_FIRING)
  --cluster-id OCID      Alarm: the dedicated AI cluster the metric is about
  --metric-value V       Alarm: the metric value (a string, as Monitoring sends it)
  --id ID                Event id / alarm dedupe key (default: a random UUID)
  -h, --help             Show this help

Exit codes: 0 printed, 2 usage error.
`;

export const command: Command = {
  name: 'events',
  summary: 'Print realistic OCI trigger payloads (events generate)',
  help,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parse(args, {
      namespace: { type: 'string' },
      bucket: { type: 'string' },
      object: { type: 'string' },
      etag: { type: 'string' },
      'alarm-type': { type: 'string' },
      'cluster-id': { type: 'string' },
      'metric-value': { type: 'string' },
      id: { type: 'string' },
    });
    const [sub, kind, ...extra] = positionals;
    if (sub !== 'generate')
      throw new UsageError(`unknown subcommand "${sub ?? ''}": use \`events generate <kind>\``);
    if (!kind || !(eventKinds as readonly string[]).includes(kind)) {
      throw new UsageError(`<kind> must be one of ${eventKinds.join(', ')}`);
    }
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const alarmType = values['alarm-type'];
    if (alarmType !== undefined && !alarmTypes.includes(alarmType)) {
      throw new UsageError(`--alarm-type must be one of ${alarmTypes.join(', ')}`);
    }
    const event = generateEvent(kind as EventKind, {
      now: new Date(),
      id: values.id ?? randomUUID(),
      ...(values.namespace ? { namespace: values.namespace } : {}),
      ...(values.bucket ? { bucket: values.bucket } : {}),
      ...(values.object ? { object: values.object } : {}),
      ...(values.etag ? { etag: values.etag } : {}),
      ...(alarmType ? { alarmType } : {}),
      ...(values['cluster-id'] ? { clusterId: values['cluster-id'] } : {}),
      ...(values['metric-value'] ? { metricValue: values['metric-value'] } : {}),
    });
    io.stdout.write(JSON.stringify(event, null, 2) + '\n');
    return 0;
  },
};
