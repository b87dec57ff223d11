import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIO, Command } from '../command.ts';
import { numberOption, parse, UsageError } from '../command.ts';
import { errorMessage } from '#shared/errors.ts';
import type { DataScienceEmulatorService } from '#local/emulator/datascience.ts';
import type { DemandProfile, DemandRow } from '#local/emulator/demand.ts';
import type { GenAiEmulatorService } from '#local/emulator/genai.ts';
import type { MonitoringService } from '#local/emulator/monitoring.ts';
import type { startStack as startStackFn } from '#local/stack.ts';
import type { Workflow } from '#workflows/schema.ts';
import type { Run } from '#workflows/machine.ts';

const help = `Usage: dacflow demo [options]

Runs the whole pipeline on the embedded local OCI emulator and prints each stage as it happens:
the emulator and the functions (under the real Fn FDK) start in a temporary directory, a generated
dataset and a broken one are uploaded through the OCI SDK, and dacflow validates, fine-tunes,
tracks and deploys until the good dataset is SERVING and the broken one is INVALID.

With --backend genai (the default) the dataset goes to the support-bot workflow
(workflows/examples/genai-support-bot.yaml): a Generative AI fine-tune and endpoint. Then a
burst of synthetic demand hits the hosting cluster: Monitoring alarms fire, scale-dac adds units,
and after the burst it removes them. One emulated minute lasts one second, so the demo shortens the
workflow's cooldowns by the same 60x.

With --backend datascience the dataset goes to the aqua-llama workflow
(workflows/examples/aqua-llama.yaml): an AI Quick Actions style Data Science job run and a model
deployment, whose OCI states are printed as they change; then the deployment's predict endpoint is
called with a request signed by the OCI SDK and its (canned) answer printed, and a burst of demand
on the deployment makes scale-dac add instances (its alarms fire on the deployment's own
PredictLatency and GPUCoreUtilization metrics) and remove them after the burst.

\`npm start\` runs this after building; \`npm start -- --backend datascience\` the Data Science one.

Options:
  --backend B       genai (default) or datascience
  --examples N      examples in the generated dataset (default 600 for genai, whose workflow needs
                    500; 200 for datascience, whose workflow needs 100)
  --no-scaling      stop once the dataset is SERVING (skip the autoscaling stage)
  --timeout SEC     give up after SEC seconds (default 180)
  --data-dir DIR    keep the stack's files in DIR instead of a temporary directory
  -h, --help        this help

Exit codes: 0 the pipeline reached SERVING (and INVALID for the broken dataset), with datascience
the deployment answered predict, and the cluster or deployment scaled up and back down; 1 it did
not (within the timeout, or predict failed); 2 usage error or the stack could not start (run \`npm run build\` first).
`;

/** The shipped example workflow the genai demo drives (workflows/examples/genai-support-bot.yaml). */
const demoPrefix = 'datasets/support-bot/';
/** The shipped example workflow the datascience demo drives (workflows/examples/aqua-llama.yaml). */
const aquaPrefix = 'datasets/aqua-llama/';

const backends = ['genai', 'datascience'] as const;
type DemoBackend = (typeof backends)[number];

/** What differs between the two demos: the workflow, its datasets and the names in the output. */
interface BackendPlan {
  backend: DemoBackend;
  prefix: string;
  workflowFile: string;
  goodName: string;
  datasetText(examples: number): string;
}

const plans: Record<DemoBackend, BackendPlan> = {
  genai: {
    backend: 'genai',
    prefix: demoPrefix,
    workflowFile: 'workflows/examples/genai-support-bot.yaml',
    goodName: 'tickets',
    datasetText,
  },
  datascience: {
    backend: 'datascience',
    prefix: aquaPrefix,
    workflowFile: 'workflows/examples/aqua-llama.yaml',
    goodName: 'finance-qa',
    datasetText: aquaDatasetText,
  },
};

/** AQUA's prompt/completion lines (the aqua-llama workflow sets no chat template). */
function aquaDatasetText(examples: number): string {
  const lines: string[] = [];
  for (let i = 0; i < examples; i++) {
    const coupon = (i % 9) + 1;
    lines.push(
      JSON.stringify({
        prompt: `What does bond B${2000 + i} with a ${coupon}% coupon pay each year?`,
        completion: `Bond B${2000 + i} pays ${coupon} per 100 of face value each year, usually in two halves.`,
      }),
    );
  }
  return lines.join('\n') + '\n';
}

function datasetText(examples: number): string {
  const lines: string[] = [];
  for (let i = 0; i < examples; i++) {
    lines.push(
      JSON.stringify({
        prompt: `Customer ticket ${i}: my order ${1000 + i} has not arrived. What can I do?`,
        completion: `I am sorry about order ${1000 + i}. It ships within 2 days; here is how to track it.`,
      }),
    );
  }
  return lines.join('\n') + '\n';
}

function brokenText(text: (examples: number) => string = datasetText): string {
  const good = text(40).trimEnd().split('\n');
  good.splice(7, 0, '{"prompt": "missing its completion"}');
  good.splice(20, 0, 'this line is not JSON');
  return good.join('\n') + '\n';
}

export const command: Command = {
  name: 'demo',
  summary: 'Run the whole pipeline locally on the embedded emulator, printing each stage',
  help,
  async run(args, io) {
    const { values } = parse(
      args,
      {
        examples: { type: 'string' },
        timeout: { type: 'string' },
        'data-dir': { type: 'string' },
        'no-scaling': { type: 'boolean' },
        backend: { type: 'string' },
      },
      false,
    );
    const backend = values.backend ?? 'genai';
    if (!(backends as readonly string[]).includes(backend)) {
      throw new UsageError(`--backend must be ${backends.join(' or ')}, got "${backend}"`);
    }
    const plan = plans[backend as DemoBackend];
    const examples = numberOption(
      'examples',
      values.examples,
      plan.backend === 'genai' ? 600 : 200,
      1,
      10_000_000,
    );
    const timeoutSec = numberOption('timeout', values.timeout, 180, 1, 86_400);
    const temp = values['data-dir'] === undefined;
    const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'dacflow-demo-'));
    try {
      return await runDemo(io, {
        dataDir,
        examples,
        timeoutMs: timeoutSec * 1000,
        scaling: !values['no-scaling'],
        plan,
      });
    } finally {
      if (temp) rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

interface DemoOptions {
  dataDir: string;
  examples: number;
  timeoutMs: number;
  scaling: boolean;
  plan: BackendPlan;
}

/** Emulated seconds per real second in fast mode (the emulator's minute is one second). */
const timeScale = 60;

/**
 * The shipped example workflows, with cooldowns divided by the emulator's time compression: the
 * alarms run on emulated minutes, scale-dac's cooldowns on the real clock.
 */
async function demoWorkflows(): Promise<string[]> {
  const { parseDocument } = await import('yaml');
  const dir = join(projectRoot(), 'workflows/examples');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const doc = parseDocument(readFileSync(join(dir, f), 'utf8'));
      if (doc.has('autoscaling')) {
        doc.setIn(['autoscaling', 'scaleUpCooldownSec'], Math.ceil(300 / timeScale));
        doc.setIn(['autoscaling', 'scaleDownCooldownSec'], Math.ceil(600 / timeScale));
      }
      return doc.toString();
    });
}

function projectRoot(): string {
  // dist/cli/dacflow.js or cli/commands/demo.ts: the project root holds package.json.
  let dir = new URL('.', import.meta.url).pathname;
  while (!existsSync(join(dir, 'package.json')) && dir !== '/') dir = join(dir, '..');
  return dir;
}

async function runDemo(io: CliIO, o: DemoOptions): Promise<number> {
  const t0 = Date.now();
  const say = (line: string) =>
    io.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
  io.stdout.write(
    o.plan.backend === 'genai'
      ? 'dacflow demo: the whole pipeline on the embedded local OCI emulator\n'
      : 'dacflow demo: the whole Data Science (AI Quick Actions) pipeline on the embedded local OCI emulator\n',
  );

  const { startStack } = await import('#local/stack.ts');
  const { genAiService, seedClustersFor } = await import('#local/emulator/genai.ts');
  const { monitoringService } = await import('#local/emulator/monitoring.ts');
  const { dataScienceService, seedDataScienceFor } = await import('#local/emulator/datascience.ts');
  const { parseWorkflows } = await import('#workflows/schema.ts');
  const workflows = await demoWorkflows();
  const parsed = parseWorkflows(
    workflows.map((text, i) => ({ fileName: `example-${i}.yaml`, text })),
  );
  const services = {
    genai: genAiService({ seedClusters: seedClustersFor(parsed) }),
    monitoring: monitoringService({ minuteMs: 1000 }),
    // The workflows' project (by its OCID) and base model (by name), as the stack seeds them.
    // OCI-scale delays, divided by 100 in fast mode: each state shows for a second or more.
    datascience: dataScienceService({
      ...seedDataScienceFor(parsed),
      failMissingTrainingData: true,
      jobRunStartMs: 150_000,
      jobRunDurationMs: 400_000,
      deploymentCreateMs: 250_000,
      // A live resize: three emulated minutes, like a hosting cluster update in the demo.
      deploymentUpdateMs: 300_000,
    }),
  };
  let stack: Awaited<ReturnType<typeof startStackFn>>;
  try {
    stack = await startStack({
      dataDir: o.dataDir,
      fast: true,
      workflows,
      services: [services.genai, services.monitoring, services.datascience],
    });
  } catch (err) {
    io.stderr.write(`dacflow demo: the local stack did not start: ${errorMessage(err)}\n`);
    return 2;
  }
  try {
    const names = Object.keys(stack.local.functions);
    say(`emulator at ${stack.emulator.url} (signed OCI requests; data in ${o.dataDir})`);
    if (names.length === 0) {
      io.stderr.write('dacflow demo: no built functions: run `npm run build` first.\n');
      return 2;
    }
    say(`${names.length} functions ready under the Fn FDK: ${names.join(', ')}`);
    say(
      `wired: ${stack.local.workflows.map((w) => `${w.name} watches ${w.bucket}/${w.prefix}`).join('; ')}`,
    );
    const served = await drive(stack, o, say);
    if (served !== 0 || !o.scaling) return served;
    return await scale(stack, services, parsed, o, say);
  } finally {
    await stack.stop();
  }
}

/** SDK clients on the stack's emulator, signed with its key like every client of the stack. */
async function clients(stack: Awaited<ReturnType<typeof startStackFn>>) {
  const [common, { ObjectStorageClient }, { GenerativeAiClient }, { DataScienceClient }] =
    await Promise.all([
      import('oci-common'),
      import('oci-objectstorage'),
      import('oci-generativeai'),
      import('oci-datascience'),
    ]);
  const local = stack.local;
  const provider = new common.ConfigFileAuthenticationDetailsProvider(
    local.configFile,
    local.profile,
  );
  const objects = new ObjectStorageClient({ authenticationDetailsProvider: provider });
  objects.endpoint = stack.emulator.url;
  const genai = new GenerativeAiClient({ authenticationDetailsProvider: provider });
  genai.endpoint = stack.emulator.url;
  const datascience = new DataScienceClient({ authenticationDetailsProvider: provider });
  datascience.endpoint = stack.emulator.url;
  return { common, provider, objects, genai, datascience };
}

type Clients = Awaited<ReturnType<typeof clients>>;

async function drive(
  stack: Awaited<ReturnType<typeof startStackFn>>,
  o: DemoOptions,
  say: (line: string) => void,
): Promise<number> {
  const c = await clients(stack);
  const { objects } = c;
  const { ObjectStorageStore } = await import('#shared/state/object-storage.ts');
  const { RunRepository, runRecordShape } = await import('#shared/state/runs.ts');
  const { realCasDeps } = await import('#shared/state/cas.ts');
  const local = stack.local;
  const prefix = o.plan.prefix;
  const bucket = local.workflows.find((w) => w.prefix === prefix)?.bucket;
  if (!bucket) {
    say(`no workflow watches ${prefix}: the demo needs ${o.plan.workflowFile}`);
    return 2;
  }
  const runs = new RunRepository(
    new ObjectStorageStore({
      client: objects,
      namespace: local.namespace,
      bucket: local.buckets.state,
    }),
    runRecordShape,
    { cas: realCasDeps, nowMs: () => Date.now() },
  );

  const stamp = new Date()
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14);
  const uploads = [
    {
      name: `${prefix}${o.plan.goodName}-${stamp}.jsonl`,
      text: o.plan.datasetText(o.examples),
      want: 'SERVING',
    },
    {
      name: `${prefix}broken-${stamp}.jsonl`,
      text: brokenText(o.plan.datasetText),
      want: 'INVALID',
    },
  ];
  for (const u of uploads) {
    const res = await objects.putObject({
      namespaceName: local.namespace,
      bucketName: bucket,
      objectName: u.name,
      putObjectBody: u.text,
    });
    const lines = u.text.trimEnd().split('\n').length;
    say(
      `uploaded ${bucket}/${u.name} (${lines} lines, ${Buffer.byteLength(u.text)} bytes, ETag ${res.eTag.slice(0, 8)}) through the SDK`,
    );
  }

  const seen = new Map<string, number>();
  const outboxSeen = new Set<string>();
  const labels = new Map<string, string>();
  const deadline = Date.now() + o.timeoutMs;
  const byObject = new Map<string, string>();
  const ociStates = new Map<string, string>();
  for (;;) {
    const ids: string[] = [];
    for await (const id of runs.runIds()) ids.push(id);
    const current = (await Promise.all(ids.map((id) => runs.get(id)))).filter(
      (r) => r !== undefined,
    );
    for (const run of current) {
      const label =
        labels.get(run.runId) ?? `${run.runId} (${run.dataset.object.slice(prefix.length)})`;
      labels.set(run.runId, label);
      byObject.set(run.dataset.object, run.runId);
      const from = seen.get(run.runId) ?? 0;
      for (const h of run.history.slice(
        from - run.historyDropped > 0 ? from - run.historyDropped : 0,
      )) {
        const detail =
          h.to === 'VALID' || h.to === 'INVALID'
            ? ` (${run.validation?.validExamples ?? '?'} valid examples, ${run.validation?.invalidLines ?? '?'} bad lines)`
            : h.to === 'TRAINING'
              ? run.oci.jobRunId
                ? ` (job run ${short(run.oci.jobRunId)}, output model ${short(run.oci.modelId)})`
                : ` (custom model ${short(run.oci.modelId)})`
              : h.to === 'DEPLOYING'
                ? run.oci.modelDeploymentId
                  ? ` (model deployment ${short(run.oci.modelDeploymentId)})`
                  : ` (endpoint ${short(run.oci.endpointId)})`
                : h.waitingFor
                  ? ` (waiting for ${h.waitingFor})`
                  : '';
        if (h.from !== h.to || h.waitingFor) say(`run ${label}: ${h.from} -> ${h.to}${detail}`);
      }
      seen.set(run.runId, run.history.length + run.historyDropped);
    }
    if (o.plan.backend === 'datascience') {
      const good = current.find((r) => r.runId === byObject.get(uploads[0]!.name));
      if (good) await sayOciStates(c, good.oci, ociStates, say);
    }
    for (const m of stack.emulator.outbox(local.topics.pipeline)) {
      if (m.kind !== 'message' || outboxSeen.has(m.messageId)) continue;
      outboxSeen.add(m.messageId);
      say(`notification to ${m.endpoint}: ${m.title ?? '(no title)'}`);
    }
    const states = uploads.map((u) => current.find((r) => r.runId === byObject.get(u.name))?.state);
    if (uploads.every((u, i) => states[i] === u.want)) break;
    if (Date.now() > deadline) {
      say(
        `timed out: ${uploads.map((u, i) => `${u.name} is ${states[i] ?? 'not seen'}, expected ${u.want}`).join('; ')}`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  const good = await runs.get(byObject.get(uploads[0]!.name)!);
  if (o.plan.backend === 'datascience') {
    if (good) await sayOciStates(c, good.oci, ociStates, say);
    return finishDataScience(c, good, uploads, bucket, say);
  }
  const endpoint = good?.oci.endpointId
    ? (await c.genai.getEndpoint({ endpointId: good.oci.endpointId })).endpoint
    : undefined;
  say('done:');
  io(
    say,
    `  ${uploads[0]!.name} is SERVING on endpoint ${endpoint?.id} (${endpoint?.lifecycleState})`,
  );
  io(
    say,
    `  the custom model ${good?.oci.modelId} was fine-tuned once (retry token ${good?.retryTokens.train})`,
  );
  io(
    say,
    `  ${uploads[1]!.name} is INVALID: its report is at ${bucket}/dacflow/reports/${uploads[1]!.name}.report.json`,
  );
  io(
    say,
    `  call the endpoint with the GenAI inference API: chat with servingMode {servingType: "DEDICATED", endpointId: "${endpoint?.id}"}`,
  );
  io(
    say,
    `  \`dacflow status --data-dir <dir>\` lists the runs while a stack is up (\`dacflow local\`)`,
  );
  return 0;
}

/** Prints the OCI lifecycle state of the run's job run and model deployment when it changes. */
async function sayOciStates(
  c: Clients,
  oci: Run['oci'],
  last: Map<string, string>,
  say: (line: string) => void,
): Promise<void> {
  const show = (kind: string, id: string, state: string | undefined, details?: string) => {
    if (!state || last.get(id) === state) return;
    last.set(id, state);
    say(`  ${kind} ${short(id)}: ${state}${details ? ` (${details})` : ''}`);
  };
  if (oci.jobRunId) {
    const { jobRun } = await c.datascience.getJobRun({ jobRunId: oci.jobRunId });
    show('job run', jobRun.id, jobRun.lifecycleState, jobRun.lifecycleDetails);
  }
  if (oci.modelDeploymentId) {
    const { modelDeployment: md } = await c.datascience.getModelDeployment({
      modelDeploymentId: oci.modelDeploymentId,
    });
    show('model deployment', md.id, md.lifecycleState, md.lifecycleDetails);
  }
}

/** The serving deployment answers a predict request signed by the SDK's own request signer. */
async function finishDataScience(
  c: Clients,
  good: Run | undefined,
  uploads: readonly { name: string }[],
  bucket: string,
  say: (line: string) => void,
): Promise<number> {
  const mdId = good?.oci.modelDeploymentId;
  if (!good || !mdId) {
    say('the SERVING run has no model deployment id');
    return 1;
  }
  const { modelDeployment: md } = await c.datascience.getModelDeployment({
    modelDeploymentId: mdId,
  });
  const predictUrl = `${md.modelDeploymentUrl}/predict`;
  const body = { model: 'odsc-llm', prompt: 'What is a bond coupon?', max_tokens: 50 };
  const http = new c.common.FetchHttpClient(new c.common.DefaultRequestSigner(c.provider));
  say(
    `predict: POST ${predictUrl} ${JSON.stringify(body)} (signed by the OCI SDK's request signer)`,
  );
  const res = await http.send({
    method: 'POST',
    uri: predictUrl,
    headers: new Headers({ 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) {
    say(`predict answered ${res.status}: ${text.slice(0, 300)}`);
    return 1;
  }
  const answer = (JSON.parse(text) as { choices?: { text?: string }[] }).choices?.[0]?.text;
  say(`predict answered 200: ${JSON.stringify(answer ?? null)} (canned text from the emulator)`);
  say('done:');
  say(`  ${uploads[0]!.name} is SERVING on model deployment ${md.id} (${md.lifecycleState})`);
  say(
    `  job run ${good.oci.jobRunId} fine-tuned it once into catalog model ${good.oci.modelId} (retry token ${good.retryTokens.train})`,
  );
  say(
    `  ${uploads[1]!.name} is INVALID: its report is at ${bucket}/dacflow/reports/${uploads[1]!.name}.report.json`,
  );
  say(
    `  call it like any AQUA deployment: oci raw-request --http-method POST --target-uri "${predictUrl}" --request-body '${JSON.stringify(body)}'`,
  );
  return 0;
}

function io(say: (line: string) => void, line: string): void {
  say(line);
}

const short = (id: string | undefined) => (id ? `…${id.slice(-12)}` : '?');

/** "1 instance", "3 instances". */
const amount = (n: number, plural: 'units' | 'instances') =>
  `${n} ${n === 1 ? plural.slice(0, -1) : plural}`;

type Services = {
  genai: GenAiEmulatorService;
  monitoring: MonitoringService;
  datascience: DataScienceEmulatorService;
};

/** What the scaling stage resizes: a hosting cluster's units or a deployment's instances. */
interface ScaleStageTarget {
  label: string;
  noun: 'units' | 'instances';
  units(): number | undefined;
  startDemand(profile: DemandProfile): { stop(): void; history(): readonly DemandRow[] };
}

/** The demo workflow's autoscaled resource, with its demand generator, or why there is none. */
async function scaleStageTarget(
  services: Services,
  workflows: readonly Workflow[],
  o: DemoOptions,
  compartmentId: string,
): Promise<{ workflow: Workflow; target: ScaleStageTarget } | string> {
  const { startDemand, startDeploymentDemand } = await import('#local/emulator/demand.ts');
  const workflow = workflows.find((w) => w.autoscaling && w.trigger.prefix === o.plan.prefix);
  if (!workflow?.autoscaling) return 'the demo workflow has no autoscaling section';
  const capacity = { tokensPerSecondPerUnit: workflow.autoscaling.tokensPerSecondPerUnit };
  if (workflow.datascience) {
    const serving = services.datascience.control
      .deploymentUnits()
      .filter((d) => d.lifecycleState === 'ACTIVE');
    if (serving.length !== 1)
      return `expected one ACTIVE model deployment, found ${serving.length}`;
    const id = serving[0]!.id;
    return {
      workflow,
      target: {
        label: `model deployment ${short(id)}`,
        noun: 'instances',
        units: () =>
          services.datascience.control.deploymentUnits().find((d) => d.id === id)?.instanceCount,
        startDemand: (profile) =>
          startDeploymentDemand({
            monitoring: services.monitoring,
            datascience: services.datascience,
            profile,
            deploymentIds: [id],
            capacity,
          }),
      },
    };
  }
  const clusterName = workflow.genai?.hostingClusters[0];
  const clusterId = clusterName ? services.genai.control.clusterIdByName(clusterName) : undefined;
  if (!clusterId) return 'no autoscaled hosting cluster in the demo workflow';
  return {
    workflow,
    target: {
      label: clusterName!,
      noun: 'units',
      units: () => services.genai.control.clusterUnits().find((c) => c.id === clusterId)?.unitCount,
      startDemand: (profile) =>
        startDemand({
          monitoring: services.monitoring,
          genai: services.genai,
          profile,
          clusterIds: [clusterId],
          compartmentId,
          capacity,
        }),
    },
  };
}

/**
 * A burst of demand on the demo workflow's hosting cluster or model deployment: the alarms the
 * stack created (as Terraform would) fire on utilization and P99 latency, Notifications delivers
 * them to the real scale-dac function, which resizes it; after the burst it scales back down.
 */
async function scale(
  stack: Awaited<ReturnType<typeof startStackFn>>,
  services: Services,
  workflows: readonly Workflow[],
  o: DemoOptions,
  say: (line: string) => void,
): Promise<number> {
  const { burstProfile } = await import('#local/emulator/demand.ts');
  const found = await scaleStageTarget(services, workflows, o, stack.emulator.compartmentId);
  if (typeof found === 'string') {
    say(`${found}: skipping the scaling stage`);
    return 0;
  }
  const { target } = found;
  const a = found.workflow.autoscaling!;
  const units = target.units;
  const startUnits = units() ?? a.minUnits;
  const capacity = a.tokensPerSecondPerUnit;
  const profile = burstProfile({
    baseTps: Math.round(capacity * startUnits * 0.5),
    burstTps: Math.round(capacity * startUnits * 2.5),
    startMin: 2,
    burstMin: 8,
  });
  say(
    `scaling: ${target.label} serves ${amount(startUnits, target.noun)} (${a.minUnits}-${a.maxUnits}); demand goes from ` +
      `${profile(0, '')} to ${profile(2, '')} tokens/s for 8 minutes, then back (1 minute = 1 s)`,
  );
  say(
    `scaling: cooldowns ${a.scaleUpCooldownSec} s up / ${a.scaleDownCooldownSec} s down ` +
      `(the workflow's 300 s / 600 s divided by ${timeScale}, like the emulator's minutes)`,
  );
  const demand = target.startDemand(profile);
  const deadline = Date.now() + o.timeoutMs;
  let shown = 0;
  let peak = startUnits;
  let lastUnits = startUnits;
  const outboxSeen = new Set(
    stack.emulator.outbox(stack.local.topics.pipeline).map((m) => m.messageId),
  );
  try {
    for (;;) {
      const rows = demand.history();
      for (const r of rows.slice(shown)) {
        say(
          `  minute ${String(r.minute).padStart(2)}: ${String(Math.round(r.tokensPerSecond)).padStart(5)} tokens/s on ` +
            `${amount(r.servingUnits, target.noun)} (${r.lifecycleState}): utilization ${Math.round(r.utilizationPct)}%, ` +
            `P99 ${(r.p99LatencyMs / 1000).toFixed(1)} s`,
        );
      }
      shown = rows.length;
      for (const m of stack.emulator.outbox(stack.local.topics.pipeline)) {
        if (m.kind !== 'message' || outboxSeen.has(m.messageId)) continue;
        outboxSeen.add(m.messageId);
        if (m.title?.includes('SCALE_')) say(`notification: ${m.title}`);
      }
      const now = units() ?? lastUnits;
      if (now !== lastUnits) {
        say(`scale-dac set ${target.label} to ${amount(now, target.noun)} (was ${lastUnits})`);
        lastUnits = now;
        peak = Math.max(peak, now);
      }
      const burstOver = rows.length > 12;
      if (peak > startUnits && burstOver && now < peak) {
        say(
          `done: scaled ${startUnits} -> ${peak} ${target.noun} under the burst and back to ${now} after it`,
        );
        return 0;
      }
      if (Date.now() > deadline) {
        say(
          `timed out: peak ${peak} ${target.noun}, now ${now} (expected a scale-up, then a scale-down)`,
        );
        return 1;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    demand.stop();
  }
}
