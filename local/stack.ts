/**
 * The whole of dacflow on one machine: the OCI emulator, the resources Terraform would create
 * (made through the real SDK clients, so the wiring is exercised exactly as on OCI), one Fn runner
 * per built function, and a loopback invoke endpoint for `dacflow invoke`.
 */
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigFileAuthenticationDetailsProvider,
  type AuthenticationDetailsProvider,
} from 'oci-common';
import { EventsClient } from 'oci-events';
import { ObjectStorageClient, models as osModels } from 'oci-objectstorage';
import { NotificationControlPlaneClient, NotificationDataPlaneClient } from 'oci-ons';
import { joinWorkflowDocuments } from '#shared/config.ts';
import { errorMessage } from '#shared/errors.ts';
import { silentLogger, type Logger } from '#shared/log.ts';
import { createClient } from '#shared/oci/clients.ts';
import { topicKeys, wiringFor, type TopicKey, type WorkflowTrigger } from '#shared/wiring.ts';
import { parseWorkflows, type Workflow } from '#workflows/schema.ts';
import {
  startEmulator,
  type Emulator,
  type EmulatorService,
  type FaultOptions,
  type FunctionInvoker,
} from './emulator/index.ts';
import {
  FunctionRunner,
  type FunctionLogEntry,
  type InvokeResult,
  type LogSink,
} from './runner/index.ts';

const { CreateBucketDetails, UpdateBucketDetails } = osModels;

export interface StackOptions {
  /** Emulator state, local.json and function logs; reused across restarts. */
  dataDir: string;
  /** Emulator port; any free port by default. */
  port?: number;
  /** Shrink simulated OCI delays and speed schedules up (see the emulator). */
  fast?: boolean;
  /** Fault injection, switched on after the stack's own setup calls. */
  faults?: FaultOptions;
  seed?: number;
  /** Workflow files (YAML texts); the shipped examples by default. */
  workflows?: readonly string[];
  /** Triggers to wire when no workflow files are given or found (tests). */
  triggers?: readonly WorkflowTrigger[];
  /** Built function bundles, one folder each; `dist/functions` by default. */
  functionsDir?: string;
  /** Function name to bundle folder, overriding `functionsDir` (tests run fixtures as functions). */
  functions?: Readonly<Record<string, string>>;
  /** Extra emulator services (GenAI, Monitoring, Data Science). */
  services?: EmulatorService[];
  /** Poll schedule; every minute by default. */
  pollCron?: string;
  /** Where function output goes; `<dataDir>/functions.log` (JSON lines) by default. */
  functionLogSink?: LogSink;
  /** Port of the loopback invoke endpoint; any free port by default. */
  invokePort?: number;
  /** Address of the EMAIL subscription on the pipeline topic. */
  email?: string;
  /** Function timeout override (tests). */
  timeoutSec?: number;
  /**
   * Concurrent instances per function name (`default` for the rest; 1 when unset). OCI Functions
   * runs concurrent calls in separate containers; one instance queues every call behind the last.
   */
  instances?: Readonly<Record<string, number>>;
  logger?: Logger;
}

/** What `DIR/local.json` holds: how tools and the CLI reach a running stack. */
export interface LocalJson {
  pid: number;
  endpoints: Record<string, string>;
  /** POST `<invokeUrl>/20181201/functions/<name or OCID>/actions/invoke` (loopback, unauthenticated). */
  invokeUrl: string;
  configFile: string;
  profile: string;
  region: string;
  namespace: string;
  tenancyId: string;
  compartmentId: string;
  buckets: { datasets: string[]; state: string };
  topics: Record<TopicKey, string>;
  functions: Record<string, string>;
  workflows: WorkflowTrigger[];
}

export interface Stack {
  emulator: Emulator;
  local: LocalJson;
  localJsonPath: string;
  runners: ReadonlyMap<string, FunctionRunner>;
  /** Invokes a function by name or OCID, as the emulator does for events and notifications. */
  invoke(nameOrId: string, body: Buffer, headers?: Record<string, string>): Promise<InvokeResult>;
  stop(): Promise<void>;
}

/** Used when no workflow files exist: one workflow watching `datasets/example/`. */
export const builtinTriggers: readonly WorkflowTrigger[] = Object.freeze([
  { name: 'example', bucket: 'dacflow-datasets', prefix: 'datasets/example/' },
]);

/** The display name of each dacflow topic (`dacflow-pipeline`, `dacflow-alarms`, ...). */
export function topicName(key: TopicKey): string {
  return `dacflow-${key}`;
}

/** The function OCID the local stack gives a function name. */
export function localFunctionId(name: string): string {
  return `ocid1.fnfunc.oc1..${name}`;
}

/** The dacflow checkout this module runs from (source or bundled under dist/). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && /"name":\s*"dacflow"/.test(readFileSync(pkg, 'utf8'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** The shipped example workflows, or none. */
export function exampleWorkflows(root = projectRoot()): string[] {
  const dir = join(root, 'workflows/examples');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'));
}

function discoverFunctions(functionsDir: string): Record<string, string> {
  if (!existsSync(functionsDir)) return {};
  // statSync, not Dirent.isDirectory(): a bundle folder may be a symlink.
  return Object.fromEntries(
    readdirSync(functionsDir)
      .map((name) => [name, join(functionsDir, name)] as const)
      .filter(([, dir]) => statSync(dir).isDirectory() && existsSync(join(dir, 'func.js'))),
  );
}

interface Clients {
  os: ObjectStorageClient;
  events: EventsClient;
  ons: NotificationControlPlaneClient;
  onsData: NotificationDataPlaneClient;
}

async function ensureBucket(c: Clients, e: Emulator, name: string): Promise<void> {
  const base = { namespaceName: e.namespace, bucketName: name };
  // List first: a GetBucket 404 would make the SDK log an error on every fresh start.
  const listed = await c.os.listBuckets({
    namespaceName: e.namespace,
    compartmentId: e.compartmentId,
  });
  if (!listed.items.some((b) => b.name === name)) {
    await c.os.createBucket({
      namespaceName: e.namespace,
      createBucketDetails: {
        name,
        compartmentId: e.compartmentId,
        objectEventsEnabled: true,
        versioning: CreateBucketDetails.Versioning.Enabled,
      },
    });
    return;
  }
  const b = await c.os.getBucket(base);
  if (b.bucket.objectEventsEnabled && b.bucket.versioning === 'Enabled') return;
  await c.os.updateBucket({
    ...base,
    updateBucketDetails: {
      objectEventsEnabled: true,
      versioning: UpdateBucketDetails.Versioning.Enabled,
    },
  });
}

/**
 * A datascience workflow's results bucket, created with object versioning Enabled (AQUA writes
 * fine-tuned models only to versioned buckets) when it does not exist. An existing bucket is left
 * as it is, so a bucket without versioning still fails its runs as it would on OCI.
 */
async function ensureResultsBucket(c: Clients, e: Emulator, name: string): Promise<void> {
  const listed = await c.os.listBuckets({
    namespaceName: e.namespace,
    compartmentId: e.compartmentId,
  });
  if (listed.items.some((b) => b.name === name)) return;
  await c.os.createBucket({
    namespaceName: e.namespace,
    createBucketDetails: {
      name,
      compartmentId: e.compartmentId,
      versioning: CreateBucketDetails.Versioning.Enabled,
    },
  });
}

async function ensureTopic(c: Clients, e: Emulator, name: string): Promise<string> {
  const found = (await c.ons.listTopics({ compartmentId: e.compartmentId, name })).items.find(
    (t) => t.name === name,
  );
  if (found) return found.topicId;
  const created = await c.ons.createTopic({
    createTopicDetails: { name, compartmentId: e.compartmentId, description: `dacflow ${name}` },
  });
  return created.notificationTopic.topicId;
}

async function ensureSubscription(
  c: Clients,
  e: Emulator,
  topicId: string,
  protocol: 'EMAIL' | 'ORACLE_FUNCTIONS',
  endpoint: string,
): Promise<void> {
  const subs = (await c.onsData.listSubscriptions({ compartmentId: e.compartmentId, topicId }))
    .items;
  if (subs.some((s) => s.protocol === protocol && s.endpoint === endpoint)) return;
  await c.onsData.createSubscription({
    createSubscriptionDetails: { topicId, compartmentId: e.compartmentId, protocol, endpoint },
  });
}

async function ensureRule(
  c: Clients,
  e: Emulator,
  displayName: string,
  condition: string,
  functionId: string,
): Promise<void> {
  const actions = { actions: [{ actionType: 'FAAS', functionId, isEnabled: true }] };
  const existing = (
    await c.events.listRules({ compartmentId: e.compartmentId, displayName })
  ).items.find((r) => r.displayName === displayName);
  if (existing) {
    await c.events.updateRule({
      ruleId: existing.id,
      updateRuleDetails: { condition, isEnabled: true, actions },
    });
    return;
  }
  await c.events.createRule({
    createRuleDetails: {
      displayName,
      condition,
      isEnabled: true,
      compartmentId: e.compartmentId,
      actions,
    },
  });
}

/** Starts the stack; on any failure everything already started is stopped again. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const log = options.logger ?? silentLogger;
  const root = projectRoot();

  const texts = options.workflows ?? (options.triggers ? [] : exampleWorkflows(root));
  const parsed =
    texts.length > 0
      ? parseWorkflows(texts.map((text, i) => ({ fileName: `workflow-${i}.yaml`, text })))
      : [];
  const triggers: WorkflowTrigger[] =
    parsed.length > 0
      ? parsed.map((w) => ({
          name: w.name,
          bucket: w.trigger.bucket,
          prefix: w.trigger.prefix,
          backend: w.backend,
        }))
      : [...(options.triggers ?? builtinTriggers)];
  // With no workflow files, functions get the trigger list only (enough for fixture functions).
  const workflowsYaml =
    texts.length > 0
      ? joinWorkflowDocuments(texts)
      : joinWorkflowDocuments(
          triggers.map(
            (t) => `name: ${t.name}\ntrigger:\n  bucket: ${t.bucket}\n  prefix: ${t.prefix}\n`,
          ),
        );
  const wiring = wiringFor(triggers, options.pollCron);
  const datasetBuckets = [...new Set(triggers.map((t) => t.bucket))];
  const stateBucket = datasetBuckets[0] ?? 'dacflow-datasets';

  const fnDirs =
    options.functions ?? discoverFunctions(options.functionsDir ?? join(root, 'dist/functions'));
  const logFile = options.functionLogSink
    ? undefined
    : createWriteStream(join(dataDir, 'functions.log'), { flags: 'a' });
  const logSink: LogSink =
    options.functionLogSink ??
    ((entry: FunctionLogEntry) => logFile!.write(JSON.stringify(entry) + '\n'));

  const runners = new Map<string, FunctionRunner>();
  const byId = new Map<string, FunctionRunner>();
  const invoke = async (nameOrId: string, body: Buffer, headers: Record<string, string> = {}) => {
    const runner = runners.get(nameOrId) ?? byId.get(nameOrId);
    if (!runner)
      throw new Error(
        `no function "${nameOrId}" in this stack (have: ${[...runners.keys()].join(', ') || 'none'})`,
      );
    return runner.invoke(body, headers);
  };
  const invoker: FunctionInvoker = async (functionId, body, headers) => {
    const runner = byId.get(functionId);
    if (!runner) {
      log.warn('stack.invoke.unknown_function', { functionId });
      return {
        status: 404,
        body: Buffer.from(
          JSON.stringify({
            code: 'NotAuthorizedOrNotFound',
            message: `function ${functionId} not found`,
          }),
        ),
      };
    }
    const r = await runner.invoke(body, headers);
    log.info('stack.invoke', {
      function: runner.name,
      callId: r.callId,
      status: r.status,
      durationMs: r.durationMs,
    });
    return { status: r.status, body: r.body };
  };

  const emulator = await startEmulator({
    dataDir: join(dataDir, 'emulator'),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.fast !== undefined ? { fast: options.fast } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    invokeFunction: invoker,
    services: options.services ?? (await defaultServices(parsed, options.fast ?? false)),
    logger: log,
    autoConfirmEmail: true,
  });
  let invokeServer: Server | undefined;
  const stopAll = async () => {
    await new Promise<void>((r) => (invokeServer ? invokeServer.close(() => r()) : r()));
    invokeServer?.closeAllConnections();
    await emulator.close();
    await Promise.all([...runners.values()].map((r) => r.stop()));
    await new Promise<void>((r) => (logFile ? logFile.end(() => r()) : r()));
  };

  try {
    const provider: AuthenticationDetailsProvider = new ConfigFileAuthenticationDetailsProvider(
      emulator.configFile,
      emulator.profile,
    );
    const clientOptions = { provider, endpoint: emulator.url };
    const c: Clients = {
      os: createClient(ObjectStorageClient, clientOptions),
      events: createClient(EventsClient, clientOptions),
      ons: createClient(NotificationControlPlaneClient, clientOptions),
      onsData: createClient(NotificationDataPlaneClient, clientOptions),
    };
    for (const b of datasetBuckets) await ensureBucket(c, emulator, b);
    const resultsBuckets = new Set(parsed.flatMap((w) => w.datascience?.outputBucket ?? []));
    for (const b of resultsBuckets) {
      if (!datasetBuckets.includes(b)) await ensureResultsBucket(c, emulator, b);
    }
    const topics = {} as Record<TopicKey, string>;
    for (const key of topicKeys) topics[key] = await ensureTopic(c, emulator, topicName(key));
    await ensureSubscription(
      c,
      emulator,
      topics.pipeline,
      'EMAIL',
      options.email ?? 'dacflow-local@example.com',
    );
    for (const s of wiring.subscriptions) {
      await ensureSubscription(
        c,
        emulator,
        topics[s.topic],
        s.protocol,
        localFunctionId(s.function),
      );
    }
    for (const r of wiring.rules) {
      await ensureRule(
        c,
        emulator,
        r.name,
        JSON.stringify(r.condition),
        localFunctionId(r.function),
      );
    }
    await ensureScalingAlarms(emulator, provider, parsed, topics.alarms, log);
    for (const s of wiring.schedules) {
      emulator.addSchedule({
        functionId: localFunctionId(s.function),
        cron: s.cron,
        payload: { source: 'dacflow-schedule' },
      });
    }

    const env: Record<string, string> = {
      OCI_CONFIG_FILE: emulator.configFile,
      OCI_CONFIG_PROFILE: emulator.profile,
      DACFLOW_OCI_ENDPOINT: emulator.url,
      DACFLOW_STATE_BUCKET: stateBucket,
      DACFLOW_STATE_NAMESPACE: emulator.namespace,
      DACFLOW_PIPELINE_TOPIC_ID: topics.pipeline,
      DACFLOW_VALIDATE_DATASET_TOPIC_ID: topics['validate-dataset'],
      DACFLOW_START_FINETUNE_TOPIC_ID: topics['start-finetune'],
      DACFLOW_DEPLOY_ENDPOINT_TOPIC_ID: topics['deploy-endpoint'],
      DACFLOW_COMPARTMENT_ID: emulator.compartmentId,
      DACFLOW_WORKFLOWS: workflowsYaml,
      DACFLOW_LOG_LEVEL: 'info',
    };
    for (const [name, dir] of Object.entries(fnDirs)) {
      const runner = new FunctionRunner({
        name,
        dir,
        functionId: localFunctionId(name),
        env,
        logSink,
        ...(options.timeoutSec !== undefined ? { timeoutSec: options.timeoutSec } : {}),
        maxInstances: options.instances?.[name] ?? options.instances?.default ?? 1,
      });
      runners.set(name, runner);
      byId.set(runner.functionId, runner);
    }
    // Warm every function once so the first event does not pay the cold start.
    await Promise.all([...runners.values()].map((r) => r.start()));

    invokeServer = createServer((req, res) => {
      const m = /^\/20181201\/functions\/([^/]+)\/actions\/invoke$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            code: 'NotFound',
            message: 'POST /20181201/functions/{name or OCID}/actions/invoke',
          }),
        );
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const target = decodeURIComponent(m[1]!);
        const headers: Record<string, string> = {};
        const ct = req.headers['content-type'];
        if (ct) headers['content-type'] = ct;
        invoke(target, Buffer.concat(chunks), headers).then(
          (r) => {
            res
              .writeHead(r.status, {
                'content-type': r.headers['content-type'] ?? 'application/json',
                'fn-call-id': r.callId,
                'x-dacflow-duration-ms': String(r.durationMs),
                'x-dacflow-timed-out': String(r.timedOut),
              })
              .end(r.body);
          },
          (err: unknown) => {
            res
              .writeHead(404, { 'content-type': 'application/json' })
              .end(JSON.stringify({ code: 'NotAuthorizedOrNotFound', message: errorMessage(err) }));
          },
        );
      });
    });
    await new Promise<void>((r, reject) => {
      invokeServer!.once('error', reject);
      invokeServer!.listen(options.invokePort ?? 0, '127.0.0.1', () => r());
    });
    const invokeUrl = `http://127.0.0.1:${(invokeServer.address() as AddressInfo).port}`;

    const local: LocalJson = {
      pid: process.pid,
      endpoints: Object.fromEntries(
        [
          'objectstorage',
          'events',
          'notifications',
          'generativeai',
          'monitoring',
          'datascience',
        ].map((s) => [s, emulator.url]),
      ),
      invokeUrl,
      configFile: emulator.configFile,
      profile: emulator.profile,
      region: emulator.region,
      namespace: emulator.namespace,
      tenancyId: emulator.tenancyId,
      compartmentId: emulator.compartmentId,
      buckets: { datasets: datasetBuckets, state: stateBucket },
      topics,
      functions: Object.fromEntries([...runners.values()].map((r) => [r.name, r.functionId])),
      workflows: triggers,
    };
    const localJsonPath = join(dataDir, 'local.json');
    writeFileSync(localJsonPath, JSON.stringify(local, null, 2) + '\n');
    if (options.faults) emulator.setFaults(options.faults);
    log.info('stack.started', { url: emulator.url, invokeUrl, functions: runners.size });

    let stopping: Promise<void> | undefined;
    return {
      emulator,
      local,
      localJsonPath,
      runners,
      invoke,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
}

/** Reads `DIR/local.json` of a running (or last) stack. */
export function readLocalJson(dataDir: string): LocalJson {
  const path = join(resolve(dataDir), 'local.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LocalJson;
  } catch (err) {
    throw new Error(
      `cannot read ${path}: is \`dacflow local\` running with this data dir? (${errorMessage(err)})`,
    );
  }
}

/**
 * The emulator services a stack gets unless the caller chooses: Generative AI with the clusters
 * the workflows name, and Data Science with the projects (by their OCIDs) and catalog base models
 * (by display name) the workflows name, so `dacflow local` runs any workflow as written.
 */
async function defaultServices(
  workflows: readonly Workflow[],
  fast: boolean,
): Promise<EmulatorService[]> {
  const { genAiService, seedClustersFor } = await import('./emulator/genai.ts');
  const { monitoringService } = await import('./emulator/monitoring.ts');
  const { dataScienceService, seedDataScienceFor } = await import('./emulator/datascience.ts');
  return [
    genAiService({ seedClusters: seedClustersFor(workflows) }),
    // A job run of a dataset deleted after validation fails, as AQUA's container would.
    dataScienceService({ ...seedDataScienceFor(workflows), failMissingTrainingData: true }),
    // One emulated minute a second in fast mode: the schedules' pace, so poll-status posts the
    // derived utilization once per minute, as on OCI.
    monitoringService(fast ? { minuteMs: 1000 } : {}),
  ];
}

/**
 * The scaling alarms Terraform creates, on the alarms topic that scale-dac subscribes to: one set
 * per hosting cluster a workflow autoscales (its `genai.hostingClusters` by display name), and one
 * set per datascience workflow with autoscaling, covering its model deployments (as
 * terraform/datascience.tf). Skipped when the stack runs without the Monitoring service.
 */
async function ensureScalingAlarms(
  emulator: Emulator,
  provider: AuthenticationDetailsProvider,
  workflows: readonly Workflow[],
  alarmsTopicId: string,
  log: Logger,
): Promise<void> {
  const managed = workflows.filter((w) => w.autoscaling);
  if (managed.length === 0) return;
  const [
    { MonitoringClient },
    { GenerativeAiClient },
    { createScalingAlarms },
    { policyFromAutoscaling },
    { clusterAlarmDefinitions, deploymentAlarmDefinitions },
  ] = await Promise.all([
    import('oci-monitoring'),
    import('oci-generativeai'),
    import('./emulator/monitoring-scenario.ts'),
    import('#shared/pipeline/scale.ts'),
    import('#shared/scaling/alarm-definitions.ts'),
  ]);
  const monitoring = createClient(MonitoringClient, { provider, endpoint: emulator.url });
  const genai = createClient(GenerativeAiClient, { provider, endpoint: emulator.url });
  try {
    const existing = await monitoring.listAlarms({ compartmentId: emulator.compartmentId });
    const names = new Set(existing.items.map((a) => a.displayName));
    const exists = (prefix: string) => [...names].some((n) => n.startsWith(prefix));
    const create = (
      namePrefix: string,
      definitions: Parameters<typeof createScalingAlarms>[1]['definitions'],
    ) =>
      createScalingAlarms(monitoring, {
        definitions,
        compartmentId: emulator.compartmentId,
        topicId: alarmsTopicId,
        namePrefix,
      });
    for (const w of managed) {
      const policy = policyFromAutoscaling(w.autoscaling!);
      if (w.datascience) {
        const namePrefix = `dacflow-${w.name}-deployments`;
        const u = w.autoscaling!.utilization;
        if (!exists(namePrefix)) {
          await create(
            namePrefix,
            deploymentAlarmDefinitions(policy, w.name, {
              ...(u.source === 'metric' ? { utilizationMetric: u.metric } : {}),
            }),
          );
        }
        continue;
      }
      for (const ref of w.genai?.hostingClusters ?? []) {
        const found = await genai.listDedicatedAiClusters({
          compartmentId: emulator.compartmentId,
          displayName: ref,
        });
        const cluster = found.dedicatedAiClusterCollection.items.find(
          (c) => c.lifecycleState !== 'DELETED',
        );
        if (!cluster) continue;
        const namePrefix = `dacflow-${w.name}-${ref}`;
        if (exists(namePrefix)) continue;
        await create(namePrefix, clusterAlarmDefinitions(policy, cluster.id));
      }
    }
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (status === 404) {
      log.info('stack.alarms.skipped', { reason: 'no Monitoring or Generative AI service' });
      return;
    }
    throw err;
  }
}
