import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIO, Command } from '../command.ts';
import { numberOption, parse } from '../command.ts';
import { errorMessage } from '#shared/errors.ts';

const help = `Usage: dacflow demo [options]

Runs the whole pipeline on the embedded local OCI emulator and prints each stage as it happens:
the emulator and the functions (under the real Fn FDK) start in a temporary directory, a generated
dataset and a broken one are uploaded through the OCI SDK, and dacflow validates, fine-tunes,
tracks and deploys until the good dataset is SERVING and the broken one is INVALID.
\`npm start\` runs this after building.

Options:
  --examples N      examples in the generated dataset (default 600; the workflow needs 500)
  --timeout SEC     give up after SEC seconds (default 180)
  --data-dir DIR    keep the stack's files in DIR instead of a temporary directory
  -h, --help        this help

Exit codes: 0 the pipeline reached SERVING (and INVALID for the broken dataset), 1 it did not
within the timeout, 2 usage error or the stack could not start (run \`npm run build\` first).
`;

/** The shipped example workflow the demo drives (workflows/examples/genai-support-bot.yaml). */
const demoPrefix = 'datasets/support-bot/';

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

function brokenText(): string {
  const good = datasetText(40).trimEnd().split('\n');
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
      },
      false,
    );
    const examples = numberOption('examples', values.examples, 600, 1, 10_000_000);
    const timeoutSec = numberOption('timeout', values.timeout, 180, 1, 86_400);
    const temp = values['data-dir'] === undefined;
    const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'dacflow-demo-'));
    try {
      return await runDemo(io, { dataDir, examples, timeoutMs: timeoutSec * 1000 });
    } finally {
      if (temp) rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

interface DemoOptions {
  dataDir: string;
  examples: number;
  timeoutMs: number;
}

async function runDemo(io: CliIO, o: DemoOptions): Promise<number> {
  const t0 = Date.now();
  const say = (line: string) =>
    io.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);
  io.stdout.write('dacflow demo: the whole pipeline on the embedded local OCI emulator\n');

  const { startStack } = await import('#local/stack.ts');
  let stack: Awaited<ReturnType<typeof startStack>>;
  try {
    stack = await startStack({ dataDir: o.dataDir, fast: true });
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
    return await drive(stack, o, say);
  } finally {
    await stack.stop();
  }
}

async function drive(
  stack: Awaited<ReturnType<typeof import('#local/stack.ts').startStack>>,
  o: DemoOptions,
  say: (line: string) => void,
): Promise<number> {
  const [common, { ObjectStorageClient }, { GenerativeAiClient }] = await Promise.all([
    import('oci-common'),
    import('oci-objectstorage'),
    import('oci-generativeai'),
  ]);
  const { ObjectStorageStore } = await import('#shared/state/object-storage.ts');
  const { RunRepository, runRecordShape } = await import('#shared/state/runs.ts');
  const { realCasDeps } = await import('#shared/state/cas.ts');
  const local = stack.local;
  const provider = new common.ConfigFileAuthenticationDetailsProvider(
    local.configFile,
    local.profile,
  );
  const objects = new ObjectStorageClient({ authenticationDetailsProvider: provider });
  objects.endpoint = stack.emulator.url;
  const genai = new GenerativeAiClient({ authenticationDetailsProvider: provider });
  genai.endpoint = stack.emulator.url;
  const bucket = local.workflows.find((w) => w.prefix === demoPrefix)?.bucket;
  if (!bucket) {
    say(
      `no workflow watches ${demoPrefix}: the demo needs workflows/examples/genai-support-bot.yaml`,
    );
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
    { name: `${demoPrefix}tickets-${stamp}.jsonl`, text: datasetText(o.examples), want: 'SERVING' },
    { name: `${demoPrefix}broken-${stamp}.jsonl`, text: brokenText(), want: 'INVALID' },
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
  for (;;) {
    const ids: string[] = [];
    for await (const id of runs.runIds()) ids.push(id);
    const current = (await Promise.all(ids.map((id) => runs.get(id)))).filter(
      (r) => r !== undefined,
    );
    for (const run of current) {
      const label =
        labels.get(run.runId) ?? `${run.runId} (${run.dataset.object.slice(demoPrefix.length)})`;
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
              ? ` (custom model ${short(run.oci.modelId)})`
              : h.to === 'DEPLOYING'
                ? ` (endpoint ${short(run.oci.endpointId)})`
                : h.waitingFor
                  ? ` (waiting for ${h.waitingFor})`
                  : '';
        if (h.from !== h.to || h.waitingFor) say(`run ${label}: ${h.from} -> ${h.to}${detail}`);
      }
      seen.set(run.runId, run.history.length + run.historyDropped);
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
  const endpoint = good?.oci.endpointId
    ? (await genai.getEndpoint({ endpointId: good.oci.endpointId })).endpoint
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

function io(say: (line: string) => void, line: string): void {
  say(line);
}

const short = (id: string | undefined) => (id ? `…${id.slice(-12)}` : '?');
