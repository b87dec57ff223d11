/**
 * `dacflow doctor` against the local OCI emulator (with the Generative AI and Monitoring services),
 * through the real SDK clients: a setup made the way Terraform and the local stack make it is all
 * ok; then deliberate breakage is reported exactly, with fixes.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileAuthenticationDetailsProvider } from 'oci-common';
import { EventsClient, type models as eventsModels } from 'oci-events';
import { MonitoringClient } from 'oci-monitoring';
import { ObjectStorageClient } from 'oci-objectstorage';
import { NotificationControlPlaneClient, NotificationDataPlaneClient } from 'oci-ons';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command } from '#cli/commands/doctor.ts';
import { genAiService, type GenAiEmulatorService } from '#local/emulator/genai.ts';
import { startEmulator, type Emulator } from '#local/emulator/index.ts';
import { monitoringService } from '#local/emulator/monitoring.ts';
import type { Finding } from '#shared/doctor/types.ts';
import { createClient } from '#shared/oci/clients.ts';
import { createScalingAlarms } from '#local/emulator/monitoring-scenario.ts';
import { policyFromAutoscaling } from '#shared/pipeline/scale.ts';
import { formatAlarmBody } from '#shared/scaling/alarm.ts';
import { deploymentAlarmDefinitions } from '#shared/scaling/alarm-definitions.ts';
import { defaultScalingPolicy } from '#shared/scaling/policy.ts';
import { alarmRulesFor } from '#shared/scaling/simulate.ts';
import {
  dataScienceEventsRule,
  datasetCondition,
  topicKeys,
  wiringFor,
  type TopicKey,
} from '#shared/wiring.ts';
import { parseWorkflows } from '#workflows/schema.ts';

const BUCKET = 'dacflow-datasets';
const fnId = (name: string) => `ocid1.fnfunc.oc1..${name}`;

const workflowYaml = `name: support-bot
backend: genai
trigger:
  bucket: ${BUCKET}
  prefix: datasets/support-bot/
genai:
  baseModel: meta.llama-3.3-70b-instruct
  trainingConfig:
    trainingConfigType: LORA_TRAINING_CONFIG
  fineTuningCluster: ft-a
  hostingClusters: [hosting-a]
  endpoint:
    contentModeration:
      isEnabled: false
autoscaling:
  minUnits: 1
  maxUnits: 4
`;
const trigger = { name: 'support-bot', bucket: BUCKET, prefix: 'datasets/support-bot/' };

let dir: string;
let emu: Emulator;
let bare: Emulator;
let genai: GenAiEmulatorService;
let workflowFile: string;
let clusterId: string;
let c: {
  os: ObjectStorageClient;
  events: EventsClient;
  onsCp: NotificationControlPlaneClient;
  onsDp: NotificationDataPlaneClient;
  mon: MonitoringClient;
};
const topics = {} as Record<TopicKey, string>;
const alarmIds: Record<string, string> = {};
let ruleId: string;

function capture() {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
    },
    out: () => out,
    err: () => err,
  };
}

async function doctor(args: string[]) {
  const cap = capture();
  const code = await command.run([...args, '--json'], cap.io);
  if (code === 2) throw new Error(`doctor exited 2: ${cap.err()}`);
  const report = JSON.parse(cap.out()) as { findings: Finding[]; exitCode: number };
  return { code, findings: report.findings, report };
}

const tenancyArgs = () => [
  '--config-file',
  emu.configFile,
  '--profile',
  emu.profile,
  '--compartment',
  emu.compartmentId,
  '--bucket',
  BUCKET,
  '--workflow',
  workflowFile,
  '--endpoint',
  emu.url,
];

/** A FAAS action as Terraform's `actions` block creates it. */
const faasAction = (functionId: string): eventsModels.CreateFaaSActionDetails => ({
  actionType: 'FAAS',
  functionId,
  isEnabled: true,
});

const notOk = (fs: Finding[]) => fs.filter((f) => f.status !== 'ok');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dacflow-doctor-'));
  genai = genAiService({
    seedClusters: [
      { displayName: 'hosting-a', type: 'HOSTING', unitShape: 'SMALL_COHERE_V2', unitCount: 1 },
    ],
  });
  const mon = monitoringService({ autoTick: false });
  emu = await startEmulator({ dataDir: join(dir, 'emu'), fast: true, services: [genai, mon] });
  // The same credentials, no GenAI and no Monitoring: an endpoint where those APIs do not exist.
  cpSync(join(dir, 'emu', 'auth'), join(dir, 'bare', 'auth'), { recursive: true });
  bare = await startEmulator({ dataDir: join(dir, 'bare'), fast: true });
  clusterId = genai.control.clusterIdByName('hosting-a')!;
  workflowFile = join(dir, 'support-bot.yaml');
  writeFileSync(workflowFile, workflowYaml);

  const provider = new ConfigFileAuthenticationDetailsProvider(emu.configFile, emu.profile);
  const o = { provider, endpoint: emu.url, env: {} };
  c = {
    os: createClient(ObjectStorageClient, o),
    events: createClient(EventsClient, o),
    onsCp: createClient(NotificationControlPlaneClient, o),
    onsDp: createClient(NotificationDataPlaneClient, o),
    mon: createClient(MonitoringClient, o),
  };
  // What terraform/ creates (storage.tf, notifications.tf, events.tf, monitoring.tf).
  await c.os.createBucket({
    namespaceName: emu.namespace,
    createBucketDetails: {
      name: BUCKET,
      compartmentId: emu.compartmentId,
      objectEventsEnabled: true,
      versioning: 'Enabled' as never,
    },
  });
  for (const key of topicKeys) {
    topics[key] = (
      await c.onsCp.createTopic({
        createTopicDetails: { name: `dacflow-${key}`, compartmentId: emu.compartmentId },
      })
    ).notificationTopic.topicId;
  }
  const wiring = wiringFor([trigger]);
  for (const s of wiring.subscriptions) {
    await c.onsDp.createSubscription({
      createSubscriptionDetails: {
        topicId: topics[s.topic],
        compartmentId: emu.compartmentId,
        protocol: s.protocol,
        endpoint: fnId(s.function),
      },
    });
  }
  for (const r of wiring.rules) {
    ruleId = (
      await c.events.createRule({
        createRuleDetails: {
          displayName: r.name,
          condition: JSON.stringify(r.condition),
          isEnabled: true,
          compartmentId: emu.compartmentId,
          actions: {
            actions: [faasAction(fnId(r.function))],
          },
        },
      })
    ).rule.id;
  }
  const policy = { ...defaultScalingPolicy, minUnits: 1, maxUnits: 4 };
  for (const spec of alarmRulesFor(policy)) {
    const latency = spec.metric === 'p99LatencyMs';
    const metric = latency ? 'InvocationLatency' : 'DerivedUtilization';
    const stat = latency ? 'percentile(0.99)' : 'mean()';
    const op = spec.comparison === 'above' ? '>' : '<';
    const created = await c.mon.createAlarm({
      createAlarmDetails: {
        displayName: `dacflow-managed-${spec.rule}`,
        compartmentId: emu.compartmentId,
        metricCompartmentId: emu.compartmentId,
        namespace: latency ? 'oci_generativeai' : 'dacflow_autoscaling',
        query: `${metric}[${spec.intervalMin}m]{resourceId = "${clusterId}"}.${stat} ${op} ${spec.threshold}`,
        severity: (latency ? 'CRITICAL' : 'WARNING') as never,
        isEnabled: true,
        destinations: [topics.alarms],
        pendingDuration: `PT${spec.pendingMin}M`,
        repeatNotificationDuration: `PT${spec.repeatMin}M`,
        messageFormat: 'RAW' as never,
        ruleName: spec.rule,
        body: formatAlarmBody(clusterId, spec.rule),
      },
    });
    alarmIds[spec.rule] = created.alarm.id;
  }
});

afterAll(async () => {
  await emu?.close();
  await bare?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dacflow doctor on a correct deployment', () => {
  it('reports every check ok and exits 0 (tenancy mode)', async () => {
    const { code, findings } = await doctor(tenancyArgs());
    expect(notOk(findings)).toEqual([]);
    expect(code).toBe(0);
    const checks = new Set(findings.map((f) => f.check));
    for (const id of [
      'workflows',
      'bucket.object-events',
      'bucket.versioning',
      'state.writable',
      'events.rule',
      'notifications.topic',
      'notifications.subscription',
      'notifications.email',
      'genai.hosting-cluster',
      'monitoring.alarm',
    ]) {
      expect(checks, id).toContain(id);
    }
    // One ok per topic, per function subscription and per alarm rule.
    expect(findings.filter((f) => f.check === 'notifications.topic')).toHaveLength(5);
    expect(findings.filter((f) => f.check === 'notifications.subscription')).toHaveLength(4);
    expect(findings.filter((f) => f.check === 'monitoring.alarm')).toHaveLength(4);
  });

  it('takes compartment, bucket, workflows and topic ids from a --config env file', async () => {
    const envFile = join(dir, 'functions.env');
    writeFileSync(
      envFile,
      [
        `DACFLOW_COMPARTMENT_ID=${emu.compartmentId}`,
        `DACFLOW_STATE_BUCKET=${BUCKET}`,
        `DACFLOW_PIPELINE_TOPIC_ID=${topics.pipeline}`,
        `DACFLOW_START_FINETUNE_TOPIC_ID=${topics['start-finetune']}`,
        `DACFLOW_WORKFLOWS="${workflowYaml}"`,
      ].join('\n') + '\n',
    );
    const args = ['--config', envFile, '--config-file', emu.configFile, '--endpoint', emu.url];
    const good = await doctor(args);
    expect(notOk(good.findings)).toEqual([]);
    expect(good.findings[0]!.message).toBe(
      `1 workflow from DACFLOW_WORKFLOWS in ${envFile} parse: support-bot`,
    );
    // A topic id the functions are configured with that does not exist is a failure.
    writeFileSync(
      envFile,
      `DACFLOW_COMPARTMENT_ID=${emu.compartmentId}\nDACFLOW_STATE_BUCKET=${BUCKET}\nDACFLOW_PIPELINE_TOPIC_ID=ocid1.onstopic.oc1..gone\nDACFLOW_WORKFLOWS="${workflowYaml}"\n`,
    );
    const stale = await doctor(args);
    expect(notOk(stale.findings).map((f) => f.fix)).toEqual([
      `set DACFLOW_PIPELINE_TOPIC_ID = ${topics.pipeline} in the functions' configuration (\`terraform apply\` sets it)`,
    ]);
  });

  it('leaves no probe object behind and never touches user objects', async () => {
    await c.os.putObject({
      namespaceName: emu.namespace,
      bucketName: BUCKET,
      objectName: 'datasets/support-bot/train.jsonl',
      putObjectBody: '{"prompt":"a","completion":"b"}\n',
    });
    const before = await c.os.getObject({
      namespaceName: emu.namespace,
      bucketName: BUCKET,
      objectName: 'datasets/support-bot/train.jsonl',
    });
    await doctor(tenancyArgs());
    const listed = await c.os.listObjects({ namespaceName: emu.namespace, bucketName: BUCKET });
    expect(listed.listObjects.objects.map((o) => o.name)).toEqual([
      'datasets/support-bot/train.jsonl',
    ]);
    const after = await c.os.headObject({
      namespaceName: emu.namespace,
      bucketName: BUCKET,
      objectName: 'datasets/support-bot/train.jsonl',
    });
    expect(after.eTag).toBe(before.eTag);
  });

  it('reads a local stack from local.json and warns when Monitoring and GenAI are not there', async () => {
    const stackDir = join(dir, 'stack');
    const localJson = {
      pid: process.pid,
      endpoints: {
        objectstorage: emu.url,
        events: emu.url,
        notifications: emu.url,
        generativeai: bare.url,
        monitoring: bare.url,
        datascience: emu.url,
      },
      invokeUrl: 'http://127.0.0.1:1',
      configFile: emu.configFile,
      profile: emu.profile,
      region: emu.region,
      namespace: emu.namespace,
      tenancyId: emu.tenancyId,
      compartmentId: emu.compartmentId,
      buckets: { datasets: [BUCKET], state: BUCKET },
      topics,
      functions: { 'validate-dataset': fnId('validate-dataset') },
      workflows: [trigger],
    };
    mkdirSync(stackDir, { recursive: true });
    writeFileSync(join(stackDir, 'local.json'), JSON.stringify(localJson));

    const plain = await doctor(['--data-dir', stackDir]);
    expect(notOk(plain.findings)).toEqual([]);
    expect(plain.code).toBe(0);

    const withWorkflow = await doctor(['--data-dir', stackDir, '--workflow', workflowFile]);
    expect(notOk(withWorkflow.findings).map((f) => [f.check, f.status])).toEqual([
      ['genai.hosting-cluster', 'warn'],
    ]);
    // The display name cannot be resolved without GenAI, so the alarms are not reached; with an
    // OCID the cluster is taken as is and Monitoring's absence is what is reported.
    const byOcid = join(dir, 'by-ocid.yaml');
    writeFileSync(byOcid, workflowYaml.replace('[hosting-a]', `[${clusterId}]`));
    const r = await doctor(['--data-dir', stackDir, '--workflow', byOcid]);
    const warned = notOk(r.findings);
    expect(warned.map((f) => [f.check, f.status])).toEqual([
      ['genai.hosting-cluster', 'warn'],
      ['monitoring.alarm', 'warn'],
    ]);
    expect(warned[1]!.message).toMatch(/^Monitoring not reachable/);
    expect(warned[1]!.message).toContain(clusterId);
    expect(warned[1]!.fix).toMatch(/Monitoring emulator service/);
    expect(r.code).toBe(0);
  });
});

describe('dacflow doctor on the model-deployment alarms of a datascience workflow', () => {
  const aquaYaml = `name: aqua-llama
backend: datascience
trigger: { bucket: ${BUCKET}, prefix: datasets/aqua-llama/ }
dataset: { format: aqua }
datascience:
  projectId: ocid1.datascienceproject.oc1.eu-frankfurt-1.amaaaaaaaqualamaproject
  baseModel: Meta-Llama-3.1-8B-Instruct
  shape: VM.GPU.A10.2
  training: { epochs: 1 }
  outputBucket: dacflow-aqua-models
  deployment: { shape: VM.GPU.A10.1, instanceCount: 1 }
autoscaling:
  minUnits: 1
  maxUnits: 4
  lowUtilizationPct: 25
  utilization: { source: metric, metric: CpuUtilization }
`;
  let aquaFile: string;
  let aquaRuleId: string;
  let dsRuleId: string | undefined;
  let ids: Record<string, string>;
  const args = () => [...tenancyArgs(), '--workflow', aquaFile];
  const deploymentFindings = (fs: Finding[]) =>
    fs.filter((f) => f.check === 'monitoring.alarm' && f.message.includes('model deployments'));

  beforeAll(async () => {
    aquaFile = join(dir, 'aqua-llama.yaml');
    writeFileSync(aquaFile, aquaYaml);
    const [w] = parseWorkflows([{ fileName: 'aqua-llama.yaml', text: aquaYaml }]);
    // The dataset rule and the Data Science events rule, as terraform/events.tf creates them.
    const created: string[] = [];
    for (const r of wiringFor([
      {
        name: 'aqua-llama',
        bucket: BUCKET,
        prefix: 'datasets/aqua-llama/',
        backend: 'datascience',
      },
    ]).rules) {
      created.push(
        (
          await c.events.createRule({
            createRuleDetails: {
              displayName: r.name,
              condition: JSON.stringify(r.condition),
              isEnabled: true,
              compartmentId: emu.compartmentId,
              actions: { actions: [faasAction(fnId(r.function))] },
            },
          })
        ).rule.id,
      );
    }
    [aquaRuleId, dsRuleId] = created as [string, string];
    // As the local stack (and terraform/datascience.tf) create them.
    ids = await createScalingAlarms(c.mon, {
      definitions: deploymentAlarmDefinitions(policyFromAutoscaling(w!.autoscaling!), w!.name, {
        utilizationMetric: 'CpuUtilization',
      }),
      compartmentId: emu.compartmentId,
      topicId: topics.alarms,
      namePrefix: 'dacflow-aqua-llama-deployments',
    });
  });

  afterAll(async () => {
    // The later tests check the support-bot workflow alone.
    await c.events.deleteRule({ ruleId: aquaRuleId });
    if (dsRuleId) await c.events.deleteRule({ ruleId: dsRuleId });
    for (const [rule, id] of Object.entries(ids)) {
      if (rule !== 'utilization-sustained-low') await c.mon.deleteAlarm({ alarmId: id }); // deleted above
    }
  });

  it('reports the four alarms ok next to the hosting-cluster alarms, and exits 0', async () => {
    const { code, findings } = await doctor(args());
    expect(notOk(findings)).toEqual([]);
    expect(code).toBe(0);
    expect(findings.filter((f) => f.check === 'monitoring.alarm')).toHaveLength(8);
    expect(deploymentFindings(findings).map((f) => f.message)).toEqual(
      ['latency-p99-high', 'utilization-high', 'utilization-low', 'utilization-sustained-low'].map(
        (rule) =>
          expect.stringContaining(
            `alarm dacflow-aqua-llama-deployments-${rule} (${ids[rule]}) for ${rule} of the model deployments of workflow aqua-llama is enabled, notifies dacflow-alarms, splits notifications per deployment`,
          ),
      ),
    );
    expect(deploymentFindings(findings)[2]!.message).toContain('(threshold 25, 5m, pending PT5M)');
    expect(findings.filter((f) => f.check === 'events.rule').map((f) => f.message)).toEqual([
      expect.stringContaining('Events rule dacflow-support-bot-dataset'),
      expect.stringContaining('Events rule dacflow-aqua-llama-dataset'),
      `Events rule dacflow-datascience-events (${dsRuleId}) is enabled, ACTIVE, matches the Data Science job-run and model-deployment events of workflow aqua-llama and delivers to poll-status`,
    ]);
  });

  it('fails a grouped alarm, a query without groupBy(resourceId) and a missing alarm', async () => {
    await c.mon.updateAlarm({
      alarmId: ids['utilization-high']!,
      updateAlarmDetails: { isNotificationsPerMetricDimensionEnabled: false },
    });
    await c.mon.updateAlarm({
      alarmId: ids['latency-p99-high']!,
      updateAlarmDetails: { query: 'PredictLatency[1m].percentile(0.99) > 5000' },
    });
    await c.mon.deleteAlarm({ alarmId: ids['utilization-sustained-low']! });
    const { code, findings } = await doctor(args());
    expect(code).toBe(1);
    const problems = notOk(findings);
    expect(problems.map((f) => [f.check, f.status])).toEqual([
      ['monitoring.alarm', 'fail'],
      ['monitoring.alarm', 'fail'],
      ['monitoring.alarm', 'fail'],
    ]);
    const [latency, grouped, missing] = problems as [Finding, Finding, Finding];
    expect(latency.message).toBe(
      `alarm dacflow-aqua-llama-deployments-latency-p99-high (${ids['latency-p99-high']}) for latency-p99-high of the model deployments of workflow aqua-llama has query "PredictLatency[1m].percentile(0.99) > 5000": no groupBy(), expected groupBy(resourceId) (one stream per deployment)`,
    );
    expect(latency.fix).toMatch(
      /^run `terraform apply` \(oci_monitoring_alarm\.deployment_scaling\["aqua-llama-latency-p99-high"\]\), or update alarm \S+ directly: query PredictLatency\[1m\]\.groupBy\(resourceId\)\.percentile\(0\.99\) > 5000$/,
    );
    expect(grouped.message).toContain(
      'for utilization-high of the model deployments of workflow aqua-llama groups notifications across metric streams (isNotificationsPerMetricDimensionEnabled is false)',
    );
    expect(grouped.fix).toContain('--is-notifications-per-metric-dimension-enabled true');
    expect(missing.message).toBe(
      'no utilization-sustained-low alarm for the model deployments of workflow aqua-llama: scale-dac never resizes them on utilization-sustained-low',
    );
    expect(missing.fix).toContain(
      'oci_monitoring_alarm.deployment_scaling["aqua-llama-utilization-sustained-low"]',
    );
  });

  it('fails a Data Science events rule that is disabled or misses an event type, then one deleted', async () => {
    const eventType = dataScienceEventsRule.condition.eventType.filter(
      (t) => t !== 'com.oraclecloud.datascience.createmodeldeployment.end',
    );
    await c.events.updateRule({
      ruleId: dsRuleId!,
      updateRuleDetails: { isEnabled: false, condition: JSON.stringify({ eventType }) },
    });
    const rules = (fs: Finding[]) => notOk(fs).filter((f) => f.check === 'events.rule');
    const broken = await doctor(args());
    expect(broken.code).toBe(1);
    expect(rules(broken.findings).map((f) => [f.status, f.message])).toEqual([
      [
        'fail',
        `Events rule dacflow-datascience-events (${dsRuleId}) is disabled: poll-status notices job-run and model-deployment changes of workflow aqua-llama only at its next scheduled poll`,
      ],
      [
        'fail',
        `Events rule dacflow-datascience-events (${dsRuleId}) has the wrong condition for Data Science job-run and model-deployment events: eventType lacks "com.oraclecloud.datascience.createmodeldeployment.end"`,
      ],
    ]);
    expect(rules(broken.findings)[1]!.fix).toContain(
      '`terraform apply` (oci_events_rule.datascience)',
    );

    await c.events.deleteRule({ ruleId: dsRuleId! });
    dsRuleId = undefined;
    const gone = await doctor(args());
    expect(rules(gone.findings)).toEqual([
      {
        check: 'events.rule',
        status: 'fail',
        message: `no Events rule dacflow-datascience-events in compartment ${emu.compartmentId}: poll-status notices job-run and model-deployment changes of workflow aqua-llama only at its next scheduled poll`,
        fix: "run `terraform apply` with dacflow's module: it re-creates rule dacflow-datascience-events (oci_events_rule.datascience)",
      },
    ]);
  });
});

describe('dacflow doctor on a broken deployment', () => {
  beforeAll(async () => {
    await c.os.updateBucket({
      namespaceName: emu.namespace,
      bucketName: BUCKET,
      updateBucketDetails: { objectEventsEnabled: false },
    });
    await c.onsDp.createSubscription({
      createSubscriptionDetails: {
        topicId: topics.pipeline,
        compartmentId: emu.compartmentId,
        protocol: 'EMAIL',
        endpoint: 'ops@example.com',
      },
    });
    await c.mon.deleteAlarm({ alarmId: alarmIds['utilization-low']! });
    const wrong = datasetCondition({ ...trigger, prefix: 'datasets/other/' });
    await c.events.updateRule({ ruleId, updateRuleDetails: { condition: JSON.stringify(wrong) } });
  });

  it('reports exactly the four problems, each with a specific fix, and exits 1', async () => {
    const { code, findings } = await doctor(tenancyArgs());
    const problems = notOk(findings);
    expect(problems.map((f) => [f.check, f.status])).toEqual([
      ['bucket.object-events', 'fail'],
      ['events.rule', 'fail'],
      ['notifications.email', 'warn'],
      ['monitoring.alarm', 'fail'],
    ]);
    expect(code).toBe(1);
    const [bucket, rule, email, alarm] = problems as [Finding, Finding, Finding, Finding];
    expect(bucket.message).toContain(BUCKET);
    expect(bucket.message).toContain('objectEventsEnabled = false');
    expect(bucket.fix).toContain(`--bucket-name ${BUCKET} --object-events-enabled true`);

    expect(rule.message).toContain('dacflow-support-bot-dataset');
    expect(rule.message).toContain(ruleId);
    expect(rule.message).toContain(
      'data.resourceName is "datasets/other/*.jsonl", expected "datasets/support-bot/*.jsonl"',
    );
    expect(rule.fix).toContain(JSON.stringify(datasetCondition(trigger)));

    expect(email.message).toContain('ops@example.com');
    expect(email.message).toContain('PENDING');
    expect(email.fix).toMatch(/^confirm it/);

    expect(alarm.message).toContain('no utilization-low alarm');
    expect(alarm.message).toContain(clusterId);
    expect(alarm.fix).toBe(
      'run `terraform apply`: it re-creates dacflow-managed-utilization-low (oci_monitoring_alarm.scaling["managed-utilization-low"])',
    );
  });

  it('prints one line per finding and a fix line under each problem (text mode)', async () => {
    const cap = capture();
    const code = await command.run(tenancyArgs(), cap.io);
    expect(code).toBe(1);
    const lines = cap.out().trimEnd().split('\n');
    expect(lines[0]).toBe(
      `dacflow doctor: compartment ${emu.compartmentId} (namespace ${emu.namespace})`,
    );
    const failAt = lines.findIndex((l) => l.startsWith('FAIL  bucket.object-events: '));
    expect(failAt).toBeGreaterThan(0);
    expect(lines[failAt + 1]).toMatch(/^ {6}fix: turn object events on/);
    expect(lines.at(-1)).toMatch(/^\d+ ok, 1 warning, 3 failed$/);
    if (process.env.DACFLOW_DOCTOR_PRINT) process.stdout.write(cap.out());
  });

  it('names each field of an alarm that drifted', async () => {
    await c.mon.updateAlarm({
      alarmId: alarmIds['latency-p99-high']!,
      updateAlarmDetails: {
        isEnabled: false,
        pendingDuration: 'PT5M',
        destinations: [topics.pipeline],
        body: 'scale up please',
      },
    });
    const { findings } = await doctor(tenancyArgs());
    const latency = findings.filter(
      (f) => f.check === 'monitoring.alarm' && f.message.includes('for latency-p99-high'),
    );
    expect(latency.map((f) => f.status)).toEqual(['fail', 'fail', 'fail', 'fail']);
    expect(latency[0]!.message).toContain('is disabled');
    expect(latency[1]!.message).toContain(
      `expected the alarms topic dacflow-alarms (${topics.alarms})`,
    );
    expect(latency[2]!.message).toContain(
      `expected ${formatAlarmBody(clusterId, 'latency-p99-high')}`,
    );
    expect(latency[3]!.message).toContain('pendingDuration PT5M, expected PT1M');
    expect(latency[3]!.fix).toContain('latency_pending_duration = "PT1M"');
  });
});
