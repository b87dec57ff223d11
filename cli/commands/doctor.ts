import { randomUUID } from 'node:crypto';
import { ConfigFileAuthenticationDetailsProvider } from 'oci-common';
import type { CliIO, Command } from '../command.ts';
import { parse, UsageError } from '../command.ts';
import { defaultDataDir } from './local.ts';
import { localFunctionId } from '#local/stack.ts';
import { errorMessage } from '#shared/errors.ts';
import { DoctorInputError, describeCallError } from '#shared/doctor/errors.ts';
import {
  readEnvFile,
  readLocalStack,
  readWorkflowFiles,
  workflowsFromEnv,
} from '#shared/doctor/inputs.ts';
import { runDoctor } from '#shared/doctor/run.ts';
import { createSdkPorts, type SdkPortOptions } from '#shared/doctor/sdk.ts';
import {
  CheckId,
  countFindings,
  exitCodeFor,
  ok,
  TargetMode,
  type DoctorTarget,
  type Finding,
} from '#shared/doctor/types.ts';
import { checkWorkflowFiles } from '#shared/doctor/workflows.ts';
import { functionNames, type FunctionName, type TopicKey } from '#shared/wiring.ts';

const help = `Usage:
  dacflow doctor [--data-dir DIR] [--workflow FILE...] [--json]
  dacflow doctor --compartment OCID --bucket NAME (--workflow FILE... | --config ENV_FILE)
                 [--config-file PATH] [--profile NAME] [--region R] [--json]

Checks a deployed dacflow stack through the OCI API and says, for each problem, how to fix it
(docs/doctor.md lists every check):
  workflows                   the workflows parse, alone and together
  bucket, bucket.*            each datasets bucket exists, emits object events, is versioned
  state.writable              a probe object under dacflow/state/doctor/ can be written (with
                              If-None-Match: *, so nothing is overwritten) and deleted again
  events.rule                 one rule per workflow: enabled, ACTIVE, the condition of
                              datasetCondition(), a FAAS action to validate-dataset; with a
                              datascience workflow also dacflow-datascience-events to poll-status
  notifications.topic         the pipeline, alarms, validate-dataset, start-finetune and
                              deploy-endpoint topics exist and are ACTIVE
  notifications.subscription  each function subscription exists and is ACTIVE
  notifications.email         EMAIL subscriptions on the pipeline topic are confirmed (warning)
  genai.hosting-cluster       each autoscaled hosting cluster exists (by OCID or display name)
  monitoring.alarm            its scaling alarms: rules, thresholds, intervals, pending and repeat
                              durations, enabled, destination = the alarms topic, body

A local stack (the default): reads DIR/local.json written by \`dacflow local\` (endpoints, OCI
config, namespace, compartment, buckets, topics, functions, workflow triggers). local.json holds
triggers only: give --workflow FILE to check hosting clusters and alarms too.

A tenancy: needs the compartment, the bucket (Terraform's bucket_name) and the workflows, from the
options or from an env file of the functions' configuration (--config: DACFLOW_COMPARTMENT_ID,
DACFLOW_STATE_BUCKET, DACFLOW_STATE_NAMESPACE, DACFLOW_WORKFLOWS and the DACFLOW_*_TOPIC_ID
variables, which are then checked against the topics). Topics are found by display name
<name-prefix>-<topic>.

Options:
  --data-dir DIR        Local stack data dir (default ${defaultDataDir})
  --workflow FILE       A workflow file; repeat for each workflow
  --config ENV_FILE     Function configuration as KEY=VALUE lines (tenancy)
  --compartment OCID    Compartment of the deployment (tenancy)
  --bucket NAME         Datasets bucket that also holds dacflow/state/ (tenancy)
  --namespace NS        Object Storage namespace (default: GetNamespace)
  --config-file PATH    OCI config file (default ~/.oci/config)
  --profile NAME        Profile in it (default DEFAULT)
  --region R            Region, overriding the profile's
  --name-prefix P       Terraform name_prefix of the topics (default dacflow)
  --endpoint URL        One endpoint for every service (default DACFLOW_OCI_ENDPOINT)
  --json                Print {target, counts, findings, exitCode} as JSON
  -h, --help            Show this help

Exit codes: 0 no failure (warnings allowed), 1 some check failed, 2 usage error, unreadable
input (local.json, env file, workflow file, OCI config), or the namespace lookup (GetNamespace)
failing with these credentials.
`;

const tenancyOptions = [
  'config',
  'compartment',
  'bucket',
  'namespace',
  'config-file',
  'profile',
  'region',
  'name-prefix',
  'endpoint',
] as const;

const topicEnv: Partial<Record<TopicKey, string>> = {
  pipeline: 'DACFLOW_PIPELINE_TOPIC_ID',
  'validate-dataset': 'DACFLOW_VALIDATE_DATASET_TOPIC_ID',
  'start-finetune': 'DACFLOW_START_FINETUNE_TOPIC_ID',
  'deploy-endpoint': 'DACFLOW_DEPLOY_ENDPOINT_TOPIC_ID',
};

interface Prepared {
  target: Omit<DoctorTarget, 'namespace'> & { namespace?: string };
  portOptions: SdkPortOptions;
  findings: Finding[];
  describe: string;
}

type Values = Partial<Record<(typeof tenancyOptions)[number] | 'data-dir', string>> & {
  workflow?: string[];
};

function prepareLocal(values: Values): Prepared {
  const dataDir = values['data-dir'] ?? defaultDataDir;
  const info = readLocalStack(dataDir);
  let findings: Finding[];
  let triggers = info.workflows;
  let workflows: DoctorTarget['workflows'] = [];
  if (values.workflow && values.workflow.length > 0) {
    const checked = checkWorkflowFiles(readWorkflowFiles(values.workflow), 'the --workflow files');
    findings = checked.findings;
    triggers = checked.triggers;
    workflows = checked.workflows;
  } else {
    findings = [
      ok(
        CheckId.WORKFLOWS,
        `the local stack wires ${info.workflows.length} workflow trigger${info.workflows.length === 1 ? '' : 's'} (${info.workflows.map((w) => w.name).join(', ')}); give --workflow FILE to check hosting clusters and alarms`,
      ),
    ];
  }
  const functionIds = Object.fromEntries(
    functionNames.map((n) => [n, info.functions[n] ?? localFunctionId(n)]),
  ) as Record<FunctionName, string>;
  const e = info.endpoints;
  return {
    target: {
      mode: TargetMode.LOCAL,
      dataDir,
      compartmentId: info.compartmentId,
      namespace: info.namespace,
      stateBucket: info.buckets.state,
      namePrefix: 'dacflow',
      triggers,
      workflows,
      topicIds: info.topics,
      functionIds,
    },
    portOptions: {
      provider: new ConfigFileAuthenticationDetailsProvider(info.configFile, info.profile),
      namespace: info.namespace,
      endpoints: {
        ...(e.objectstorage ? { objectstorage: e.objectstorage } : {}),
        ...(e.events ? { events: e.events } : {}),
        ...(e.notifications ? { notifications: e.notifications } : {}),
        ...(e.monitoring ? { monitoring: e.monitoring } : {}),
        ...(e.generativeai ? { generativeai: e.generativeai } : {}),
      },
    },
    findings,
    describe: `local stack ${dataDir}`,
  };
}

function prepareTenancy(values: Values): Prepared {
  const env = values.config ? readEnvFile(values.config) : {};
  const compartmentId = values.compartment ?? env.DACFLOW_COMPARTMENT_ID;
  if (!compartmentId) {
    throw new UsageError('give --compartment OCID (or DACFLOW_COMPARTMENT_ID in --config)');
  }
  const bucket = values.bucket ?? env.DACFLOW_STATE_BUCKET;
  if (!bucket) throw new UsageError('give --bucket NAME (or DACFLOW_STATE_BUCKET in --config)');
  let files;
  let source: string;
  if (values.workflow && values.workflow.length > 0) {
    files = readWorkflowFiles(values.workflow);
    source = 'the --workflow files';
  } else if (values.config) {
    files = workflowsFromEnv(env, values.config);
    source = `DACFLOW_WORKFLOWS in ${values.config}`;
  } else {
    throw new UsageError('give the workflows: --workflow FILE... or --config ENV_FILE');
  }
  const checked = checkWorkflowFiles(files, source);
  const topicIds: Partial<Record<TopicKey, string>> = {};
  for (const [key, variable] of Object.entries(topicEnv)) {
    if (env[variable]) topicIds[key as TopicKey] = env[variable];
  }
  let provider: ConfigFileAuthenticationDetailsProvider;
  try {
    provider = new ConfigFileAuthenticationDetailsProvider(values['config-file'], values.profile);
  } catch (err) {
    throw new DoctorInputError(
      `cannot load OCI config ${values['config-file'] ?? '~/.oci/config'} profile ${values.profile ?? 'DEFAULT'}: ${errorMessage(err)}`,
    );
  }
  const namespace = values.namespace ?? env.DACFLOW_STATE_NAMESPACE;
  const endpoint = values.endpoint ?? (process.env.DACFLOW_OCI_ENDPOINT || undefined);
  return {
    target: {
      mode: TargetMode.TENANCY,
      compartmentId,
      ...(namespace ? { namespace } : {}),
      stateBucket: bucket,
      namePrefix: values['name-prefix'] ?? 'dacflow',
      triggers: checked.triggers,
      workflows: checked.workflows,
      topicIds,
    },
    portOptions: {
      provider,
      ...(namespace ? { namespace } : {}),
      ...(endpoint ? { endpoint } : {}),
      ...(values.region ? { region: values.region } : {}),
    },
    findings: checked.findings,
    describe: `compartment ${compartmentId}`,
  };
}

const label = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

function formatText(describe: string, target: DoctorTarget, findings: readonly Finding[]): string {
  const lines = [`dacflow doctor: ${describe} (namespace ${target.namespace})`];
  for (const f of findings) {
    lines.push(`${label[f.status]}  ${f.check}: ${f.message}`);
    if (f.fix) lines.push(`      fix: ${f.fix}`);
  }
  const c = countFindings(findings);
  lines.push(`${c.ok} ok, ${c.warn} warning${c.warn === 1 ? '' : 's'}, ${c.fail} failed`);
  return lines.join('\n') + '\n';
}

export const command: Command = {
  name: 'doctor',
  summary: 'Check a deployed stack (local or OCI) and say how to fix each problem',
  help,
  async run(args: string[], io: CliIO): Promise<number> {
    const { values } = parse(
      args,
      {
        'data-dir': { type: 'string' },
        workflow: { type: 'string', multiple: true },
        config: { type: 'string' },
        compartment: { type: 'string' },
        bucket: { type: 'string' },
        namespace: { type: 'string' },
        'config-file': { type: 'string' },
        profile: { type: 'string' },
        region: { type: 'string' },
        'name-prefix': { type: 'string' },
        endpoint: { type: 'string' },
        json: { type: 'boolean' },
      },
      false,
    );
    const given = tenancyOptions.filter((o) => values[o] !== undefined);
    if (values['data-dir'] !== undefined && given.length > 0) {
      throw new UsageError(
        `--data-dir checks a local stack; --${given[0]} is for a tenancy: give one or the other`,
      );
    }
    let prepared: Prepared;
    try {
      prepared = given.length > 0 ? prepareTenancy(values) : prepareLocal(values);
    } catch (err) {
      if (err instanceof DoctorInputError) {
        io.stderr.write(`dacflow doctor: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    const { ports, namespace } = createSdkPorts(prepared.portOptions);
    let target: DoctorTarget;
    try {
      target = { ...prepared.target, namespace: prepared.target.namespace ?? (await namespace()) };
    } catch (err) {
      io.stderr.write(
        `dacflow doctor: cannot reach Object Storage with these credentials: ${describeCallError(err)}\n`,
      );
      return 2;
    }
    const findings = [
      ...prepared.findings,
      ...(await runDoctor(target, ports, { probeId: randomUUID() })),
    ];
    const exitCode = exitCodeFor(findings);
    if (values.json) {
      const { workflows: _w, ...shown } = target;
      io.stdout.write(
        JSON.stringify(
          { target: shown, counts: countFindings(findings), findings, exitCode },
          null,
          2,
        ) + '\n',
      );
    } else {
      io.stdout.write(formatText(prepared.describe, target, findings));
    }
    return exitCode;
  },
};
