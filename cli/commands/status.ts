import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { numberOption, parse, UsageError } from '../command.ts';
import { errorMessage } from '#shared/errors.ts';
import { mapLimit, RunRepository, runRecordShape } from '#shared/state/runs.ts';
import { realCasDeps } from '#shared/state/cas.ts';
import { ObjectStorageStore } from '#shared/state/object-storage.ts';
import type { Run } from '#workflows/machine.ts';

const help = `Usage: dacflow status [RUN] [--data-dir DIR | --config-file PATH --bucket NAME] [options]

The runs dacflow is tracking, read from the state store: state, OCI ids, timings and the last error.
With RUN (a run id), that run's whole record, history included.

Where the state is:
  --data-dir DIR        a local stack started with \`dacflow local --data-dir DIR\` (reads DIR/local.json)
  --config-file PATH    an OCI config file, for a real tenancy (with --bucket)
  --profile NAME        profile in the config file (default DEFAULT)
  --bucket NAME         the state bucket (Terraform output state_bucket)
  --namespace NS        its Object Storage namespace (looked up when omitted)
  --endpoint URL        Object Storage endpoint override

Options:
  --workflow NAME       only runs of this workflow
  --state STATE         only runs in this state (e.g. TRAINING, SERVING, TRAINING_FAILED)
  --limit N             at most N runs, newest first (default 50)
  --json                print JSON instead of a table
  -h, --help            this help

Exit codes: 0 ok, 1 RUN not found, 2 usage or read error.
`;

interface Target {
  configFile: string;
  profile: string;
  bucket: string;
  namespace?: string;
  endpoint?: string;
}

function targetFrom(values: Record<string, string | boolean | undefined>): Target {
  const dataDir = values['data-dir'] as string | undefined;
  if (dataDir) {
    let local: {
      configFile: string;
      profile: string;
      namespace: string;
      buckets: { state: string };
      endpoints: Record<string, string>;
    };
    try {
      local = JSON.parse(readFileSync(join(dataDir, 'local.json'), 'utf8'));
    } catch (err) {
      throw new UsageError(
        `cannot read ${join(dataDir, 'local.json')} (is \`dacflow local --data-dir ${dataDir}\` running?): ${errorMessage(err)}`,
      );
    }
    return {
      configFile: local.configFile,
      profile: local.profile,
      bucket: local.buckets.state,
      namespace: local.namespace,
      ...(local.endpoints.objectstorage ? { endpoint: local.endpoints.objectstorage } : {}),
    };
  }
  const configFile = values['config-file'] as string | undefined;
  const bucket = values.bucket as string | undefined;
  if (!configFile || !bucket)
    throw new UsageError('give --data-dir DIR, or --config-file PATH with --bucket NAME');
  return {
    configFile,
    profile: (values.profile as string | undefined) ?? 'DEFAULT',
    bucket,
    ...(values.namespace ? { namespace: values.namespace as string } : {}),
    ...(values.endpoint ? { endpoint: values.endpoint as string } : {}),
  };
}

async function repository(t: Target): Promise<RunRepository<Run>> {
  const [{ ObjectStorageClient }, common] = await Promise.all([
    import('oci-objectstorage'),
    import('oci-common'),
  ]);
  const provider = new common.ConfigFileAuthenticationDetailsProvider(t.configFile, t.profile);
  const client = new ObjectStorageClient({ authenticationDetailsProvider: provider });
  if (t.endpoint) client.endpoint = t.endpoint;
  const namespace = t.namespace ?? (await client.getNamespace({})).value;
  const store = new ObjectStorageStore({ client, namespace, bucket: t.bucket });
  return new RunRepository(store, runRecordShape, { cas: realCasDeps, nowMs: () => Date.now() });
}

const age = (iso: string, now: number): string => {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
};

export function renderTable(runs: readonly Run[], now: number): string {
  if (runs.length === 0) return 'no runs\n';
  const rows = runs.map((r) => [
    r.runId,
    r.workflow,
    r.state + (r.waitingFor ? ` (waiting: ${r.waitingFor})` : ''),
    r.dataset.object,
    r.oci.endpointId ?? r.oci.modelDeploymentId ?? r.oci.modelId ?? r.oci.jobRunId ?? '-',
    age(r.createdAt, now),
    age(r.updatedAt, now),
    r.lastError ? `${r.lastError.code}: ${r.lastError.message}`.slice(0, 80) : '',
  ]);
  const head = [
    'RUN',
    'WORKFLOW',
    'STATE',
    'DATASET',
    'OCI RESOURCE',
    'AGE',
    'UPDATED',
    'LAST ERROR',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

export const command: Command = {
  name: 'status',
  summary: 'Show the runs in the state store: states, OCI ids, timings, last errors',
  help,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      'data-dir': { type: 'string' },
      'config-file': { type: 'string' },
      profile: { type: 'string' },
      bucket: { type: 'string' },
      namespace: { type: 'string' },
      endpoint: { type: 'string' },
      workflow: { type: 'string' },
      state: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length > 1)
      throw new UsageError(`expected at most one RUN, got ${positionals.length}`);
    const limit = numberOption('limit', values.limit, 50, 1, 100_000);
    const repo = await repository(targetFrom(values));
    const runId = positionals[0];
    if (runId) {
      const run = await repo.get(runId);
      if (!run) {
        io.stderr.write(`dacflow status: no run ${runId}\n`);
        return 1;
      }
      io.stdout.write(JSON.stringify(run, null, 2) + '\n');
      return 0;
    }
    const ids: string[] = [];
    for await (const id of repo.runIds()) ids.push(id);
    const runs = (await mapLimit(ids, 16, (id) => repo.get(id)))
      .filter((r): r is Run => r !== undefined)
      .filter((r) => (values.workflow ? r.workflow === values.workflow : true))
      .filter((r) => (values.state ? r.state === values.state : true))
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
      .slice(0, limit);
    io.stdout.write(
      values.json ? JSON.stringify(runs, null, 2) + '\n' : renderTable(runs, Date.now()),
    );
    return 0;
  },
};
