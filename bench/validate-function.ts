// A GB-sized dataset through the deployed path: the built validate-dataset function under the real
// FDK, started by the local stack, triggered by the Events rule when the SDK's UploadManager
// commits a multipart upload to the emulator. Measures the call's duration (against func.yaml's
// timeout) and the function process's peak RSS (against func.yaml's memory), and prints JSON.
//
// Usage: npm run bench -- validate-function [--size-mb N] (default 1024; functions must be built:
// `node scripts/build.mjs --functions-only`).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileAuthenticationDetailsProvider } from 'oci-common';
import { ObjectStorageClient, UploadManager } from 'oci-objectstorage';
import type { ValidationReport } from '#shared/dataset/report.ts';
import { createClient } from '#shared/oci/clients.ts';
import { reportObjectName } from '#shared/pipeline/validate.ts';
import { realCasDeps } from '#shared/state/cas.ts';
import { ObjectStorageStore } from '#shared/state/object-storage.ts';
import { RunRepository, runRecordShape } from '#shared/state/runs.ts';
import { RunState } from '#workflows/machine.ts';
import { runIdFor } from '#workflows/run-id.ts';
import type { FunctionLogEntry, InvokeResult } from '#local/runner/index.ts';
import { projectRoot, startStack } from '#local/stack.ts';
import { generateDataset } from './validate.ts';

const fnName = 'validate-dataset';
const bucket = 'bench-datasets';
const prefix = 'datasets/bench/';

// A GenAI workflow as a user would write one; cohere.command-r-08-2024 has byte-bound token limits,
// so long lines are measured per field (no tokenizer needed).
const workflowYaml = `
name: bench
backend: genai
trigger: { bucket: ${bucket}, prefix: ${prefix} }
genai:
  baseModel: cohere.command-r-08-2024
  trainingConfig: { trainingConfigType: TFEW_TRAINING_CONFIG, totalTrainingEpochs: 1 }
  fineTuningCluster: bench-ft
  hostingClusters: [bench-hosting]
  endpoint: { contentModeration: { isEnabled: false } }
`;

export interface BenchValidateFunctionOptions {
  /** Dataset size in MiB (default 1024). */
  sizeMB?: number;
  /** How long to wait for the function's call to finish after the upload (default 900 s). */
  waitSec?: number;
  log?: (line: string) => void;
}

interface ProcSample {
  rssKB: number;
  hwmKB: number;
  cpuTicks: number;
}

/** VmRSS, VmHWM (peak RSS over the process's life) and user+system CPU ticks of a live process. */
function readProc(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    // /proc/<pid>/stat: fields 14 and 15 (utime, stime) follow the parenthesised command name.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      rssKB: kb('VmRSS'),
      hwmKB: kb('VmHWM'),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
    };
  } catch {
    return undefined;
  }
}

// USER_HZ: 100 on every Linux platform Node runs on (sysconf(_SC_CLK_TCK)).
const ticksToMs = (ticks: number) => ticks * 10;
const mb = (kb: number) => Math.round(kb / 1024);

/** Runs the measurement once and prints the figures as JSON. */
export async function benchValidateFunction(
  opts: BenchValidateFunctionOptions = {},
): Promise<unknown> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const sizeMB = opts.sizeMB ?? 1024;
  const waitSec = opts.waitSec ?? 900;
  const fnDir = join(projectRoot(), 'dist/functions', fnName);
  if (!existsSync(join(fnDir, 'func.js'))) {
    throw new Error(`${fnDir}/func.js is missing: run \`node scripts/build.mjs --functions-only\``);
  }
  const loadBefore = loadavg();
  const dir = await mkdtemp(join(tmpdir(), 'dacflow-bench-fn-'));
  const logTail: FunctionLogEntry[] = [];
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    const file = join(dir, 'dataset.jsonl');
    log(`generating ${sizeMB} MiB into ${file}`);
    const lines = await generateDataset(file, sizeMB * 1024 * 1024);
    const bytes = statSync(file).size;

    stack = await startStack({
      dataDir: join(dir, 'data'),
      fast: true,
      workflows: [workflowYaml],
      // Only the function under test and no extra services: the run stops at VALID (the
      // start-finetune delivery finds no function), and nothing else competes for the CPU.
      services: [],
      functions: { [fnName]: fnDir },
      functionLogSink: (e) => {
        logTail.push(e);
        if (logTail.length > 50) logTail.shift();
      },
    });
    const runner = stack.runners.get(fnName)!;
    const calls: InvokeResult[] = [];
    let called: (r: InvokeResult) => void = () => {};
    const firstCall = new Promise<InvokeResult>((resolve) => (called = resolve));
    const s = stack;
    s.emulator.setInvoker(async (functionId, body, headers) => {
      const r = await s.invoke(functionId, body, headers);
      if (functionId === runner.functionId) {
        calls.push(r);
        called(r);
      }
      return { status: r.status, body: r.body };
    });

    // Sample the function process while it works; VmHWM is its peak over its whole life.
    const [pid] = runner.pids;
    if (pid === undefined) throw new Error(`${fnName} has no live process after start`);
    const idle = readProc(pid);
    let last = idle;
    let maxRssKB = idle?.rssKB ?? 0;
    sampler = setInterval(() => {
      const now = readProc(pid);
      if (now === undefined) return;
      last = now;
      maxRssKB = Math.max(maxRssKB, now.rssKB);
    }, 50);

    const provider = new ConfigFileAuthenticationDetailsProvider(
      stack.local.configFile,
      stack.local.profile,
    );
    const os = createClient(ObjectStorageClient, { provider, endpoint: stack.emulator.url });
    const namespace = stack.local.namespace;
    const objectName = `${prefix}dataset-${sizeMB}mb.jsonl`;
    log(`uploading ${bytes} bytes with UploadManager`);
    const upload0 = performance.now();
    const uploaded = await new UploadManager(os, {
      // Multipart even for a quick run's small file (a single PUT is what a 1 GB upload avoids).
      partSize: 16 * 1024 * 1024,
      maxConcurrentUploads: 2,
    }).upload({
      content: { filePath: file },
      requestDetails: { namespaceName: namespace, bucketName: bucket, objectName },
    });
    const uploadMs = performance.now() - upload0;
    await rm(file, { force: true });

    const runId = runIdFor({ namespace, bucket, object: objectName, etag: uploaded.eTag });
    const repo = new RunRepository(
      new ObjectStorageStore({ client: os, namespace, bucket: stack.local.buckets.state }),
      runRecordShape,
      { cas: realCasDeps, nowMs: () => Date.now() },
    );
    log(`waiting for the ${fnName} call of run ${runId}`);
    const call = await Promise.race([
      firstCall,
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`no ${fnName} call finished within ${waitSec} s`)),
          waitSec * 1000,
        ).unref(),
      ),
    ]);
    const run = await repo.get(runId);
    if (run === undefined) throw new Error(`run ${runId} is not in the state store`);
    clearInterval(sampler);
    sampler = undefined;
    const final = readProc(pid) ?? last;

    const stored = await os.getObject({
      namespaceName: namespace,
      bucketName: bucket,
      objectName: reportObjectName(objectName),
    });
    const parts: Buffer[] = [];
    for await (const c of stored.value as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
    const report = (
      JSON.parse(Buffer.concat(parts).toString('utf8')) as { report: ValidationReport }
    ).report;
    const at = (state: RunState) => run.history.find((h) => h.to === state)?.at;
    const validatingAt = at(RunState.VALIDATING);
    const doneAt = at(run.state);
    const peakRssMB = mb(final?.hwmKB ?? maxRssKB);
    const result = {
      dataset: { bytes, lines, sizeMB },
      upload: { ms: Math.round(uploadMs), MBps: Math.round(bytes / 1e6 / (uploadMs / 1000)) },
      run: {
        runId,
        state: run.state,
        validatingToDoneMs:
          validatingAt && doneAt ? Date.parse(doneAt) - Date.parse(validatingAt) : null,
      },
      call: {
        status: call.status,
        durationMs: call.durationMs,
        timedOut: call.timedOut,
        crashed: call.crashed,
        calls: calls.length,
      },
      report: {
        valid: report.valid,
        exampleCount: report.exampleCount,
        lines: report.stats.lines,
        bytes: report.stats.bytes,
        durationMs: Math.round(report.durationMs),
        MBps: Math.round(report.stats.bytes / 1e6 / (report.durationMs / 1000)),
        duplicateTracking: report.stats.duplicateTracking,
      },
      functionProcess: {
        pid,
        idleRssMB: mb(idle?.rssKB ?? 0),
        /** VmHWM at the end: the process's peak RSS over its life (cold start included). */
        peakRssMB,
        maxSampledRssMB: mb(maxRssKB),
        cpuMs: final && idle ? ticksToMs(final.cpuTicks - idle.cpuTicks) : null,
      },
      limits: { memoryMB: runner.memoryMb, timeoutSec: runner.timeoutSec },
      withinMemory: peakRssMB <= runner.memoryMb,
      withinTimeout: !call.timedOut && call.durationMs < runner.timeoutSec * 1000,
      machine: { cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    if (call.status !== 200) {
      log(`function answered ${call.status}: ${call.body.toString('utf8').slice(0, 500)}`);
    }
    return result;
  } catch (err) {
    for (const e of logTail.slice(-10)) log(`[${e.function} ${e.stream}] ${e.line}`);
    throw err;
  } finally {
    if (sampler) clearInterval(sampler);
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
