// Benchmark of the streaming dataset validator against a bare baseline (Buffer.indexOf line split +
// JSON.parse, 1 MiB chunks), each run in its own child process so its peak RSS is its own.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileChunks } from '#shared/dataset/file-source.ts';
import { validateDataset } from '#shared/dataset/validate.ts';

export interface BenchValidateOptions {
  /** Size of the generated dataset (default 200 MB). */
  sizeMB?: number;
  /** Also validate a 2 GB single-line file (peak RSS must stay bounded). */
  big?: boolean;
  /** Size of the single-line file in MB (default 2048). */
  bigSizeMB?: number;
  /** Chunk size of the validator's read stream (default 256 KiB, as the CLI uses). */
  validatorChunkBytes?: number;
  /** Alternating runs of each case; the best of each is reported (default 3). */
  runs?: number;
  /** The script that runs `childMain` (default: this process's own script, dist/bench/run.js). */
  script?: string;
  /** Arguments before `--child` that route the child to `childMain` (default ['validate']). */
  scriptArgs?: string[];
  /**
   * Another build's bench script (e.g. dist/bench/run.js of the previous commit): its validator
   * runs in the same rounds, so a before/after comparison shares one machine state.
   */
  compareScript?: string;
  log?: (line: string) => void;
}

interface ChildResult {
  mode: string;
  bytes: number;
  lines: number;
  ms: number;
  /** User + system CPU time: steadier than wall time on a shared machine. */
  cpuMs: number;
  /** RSS before the work starts: node plus the loaded bench bundle. */
  startRssMB: number;
  peakRssMB: number;
  valid?: boolean;
  errorCounts?: Record<string, number>;
}

// A seeded PRNG (mulberry32): the dataset is the same on every run.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const words = (
  'the of and to in is for on that with as by this be are from at or an it was which revenue ' +
  'quarter interest rate loan bond equity market risk portfolio customer account balance report ' +
  'analysis model forecast growth margin cash flow asset liability capital tax dividend price ' +
  'währung €uro 利率 市场 données prêt "quoted" back\\slash tab\there'
).split(' ');

function sentence(next: () => number, minWords: number, maxWords: number): string {
  const n = minWords + Math.floor(next() * (maxWords - minWords));
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(words[Math.floor(next() * words.length)]!);
  return out.join(' ') + '.';
}

/** Writes realistic prompt/completion lines (prompts 20-600 words, completions 5-300) to `file`. */
export async function generateDataset(file: string, sizeBytes: number, seed = 42): Promise<number> {
  const next = rng(seed);
  const out = createWriteStream(file);
  let written = 0;
  let lines = 0;
  while (written < sizeBytes) {
    const batch: string[] = [];
    for (let i = 0; i < 500; i++) {
      const prompt = `Question ${lines + i}: ${sentence(next, 20, 600)}\n\nContext: ${sentence(next, 0, 200)}`;
      batch.push(JSON.stringify({ prompt, completion: sentence(next, 5, 300) }));
    }
    const text = batch.join('\n') + '\n';
    lines += batch.length;
    written += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return lines;
}

/** Writes one line of `sizeBytes` bytes (a prompt that never ends) without holding it. */
async function generateSingleLine(file: string, sizeBytes: number): Promise<void> {
  const out = createWriteStream(file);
  const block = Buffer.alloc(4 * 1024 * 1024, 0x61);
  out.write('{"prompt":"');
  for (let written = 0; written < sizeBytes; written += block.length) {
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end('","completion":"x"}\n');
  await once(out, 'finish');
}

function peakRssMB(): number {
  // maxRSS is in kilobytes.
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/**
 * The child side: `--child baseline|validate|validate-nodup <file> [chunkBytes]`. Prints one JSON
 * result line. `validate-nodup` turns duplicate detection off to show its cost.
 */
export async function childMain(args: string[]): Promise<void> {
  const [mode, file, chunkArg] = args;
  if (file === undefined) throw new Error('usage: --child baseline|validate <file> [chunkBytes]');
  const startRssMB = Math.round(process.memoryUsage().rss / 1024 / 1024);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const cpuMs = () => {
    const c = process.cpuUsage(cpu0);
    return Math.round((c.user + c.system) / 1000);
  };
  let result: ChildResult;
  if (mode === 'baseline') {
    let rest: Buffer | undefined;
    let lines = 0;
    let bytes = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
      const c = chunk as Buffer;
      bytes += c.length;
      const buf = rest === undefined ? c : Buffer.concat([rest, c]);
      let start = 0;
      let nl: number;
      while ((nl = buf.indexOf(10, start)) !== -1) {
        JSON.parse(buf.toString('utf8', start, nl));
        lines++;
        start = nl + 1;
      }
      rest = start < buf.length ? buf.subarray(start) : undefined;
    }
    result = {
      mode,
      bytes,
      lines,
      ms: performance.now() - t0,
      cpuMs: cpuMs(),
      startRssMB,
      peakRssMB: peakRssMB(),
    };
  } else {
    const chunkBytes = Number(chunkArg ?? 256 * 1024);
    const report = await validateDataset(readFileChunks(file, chunkBytes), {
      now: () => performance.now(),
      ...(mode === 'validate-nodup' ? { maxTrackedExamples: 0 } : {}),
    });
    result = {
      mode: `${mode}(${chunkBytes})`,
      bytes: report.stats.bytes,
      lines: report.stats.lines,
      ms: performance.now() - t0,
      cpuMs: cpuMs(),
      startRssMB,
      peakRssMB: peakRssMB(),
      valid: report.valid,
      errorCounts: report.errorCounts as Record<string, number>,
    };
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

async function runChild(
  opts: Required<Pick<BenchValidateOptions, 'script' | 'scriptArgs'>>,
  args: string[],
): Promise<ChildResult> {
  const child = spawn(process.execPath, [opts.script, ...opts.scriptArgs, '--child', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'close')) as [number];
  if (code !== 0) throw new Error(`child ${args.join(' ')} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
}

const mbps = (bytes: number, ms: number) => Math.round(bytes / 1e6 / (ms / 1000));

/** Generates the data, runs each case in a child process and prints the figures as JSON. */
export async function benchValidate(opts: BenchValidateOptions = {}): Promise<unknown> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const child = {
    script: opts.script ?? process.argv[1] ?? '',
    scriptArgs: opts.scriptArgs ?? ['validate'],
  };
  const chunk = opts.validatorChunkBytes ?? 256 * 1024;
  const dir = await mkdtemp(join(tmpdir(), 'dacflow-bench-validate-'));
  try {
    const file = join(dir, 'dataset.jsonl');
    log(`generating ${opts.sizeMB ?? 200} MB into ${file}`);
    const generated = await generateDataset(file, (opts.sizeMB ?? 200) * 1e6);
    const size = (await stat(file)).size;
    // Warm the page cache, then alternate the runs and keep each one's best (the machine is shared).
    await runChild(child, ['baseline', file]);
    const runs = opts.runs ?? 3;
    const best = (a: ChildResult | undefined, b: ChildResult) =>
      a === undefined || b.cpuMs < a.cpuMs ? b : a;
    let baseline: ChildResult | undefined;
    let validator: ChildResult | undefined;
    let noDup: ChildResult | undefined;
    let compared: ChildResult | undefined;
    let peakRss = 0;
    for (let i = 0; i < runs; i++) {
      const b = await runChild(child, ['baseline', file]);
      const v = await runChild(child, ['validate', file, String(chunk)]);
      const n = await runChild(child, ['validate-nodup', file, String(chunk)]);
      const c =
        opts.compareScript === undefined
          ? undefined
          : await runChild({ ...child, script: opts.compareScript }, [
              'validate',
              file,
              String(chunk),
            ]);
      baseline = best(baseline, b);
      validator = best(validator, v);
      noDup = best(noDup, n);
      if (c) compared = best(compared, c);
      peakRss = Math.max(peakRss, v.peakRssMB);
      log(
        `run ${i + 1}: CPU ms baseline ${b.cpuMs}, validator ${v.cpuMs}, without duplicates ${n.cpuMs}` +
          (c ? `, compared build ${c.cpuMs}` : ''),
      );
    }
    const b = baseline!;
    const v = validator!;
    const nd = noDup!;
    const result: Record<string, unknown> = {
      dataset: { bytes: size, lines: generated },
      runs,
      baseline: { ...b, MBps: mbps(b.bytes, b.ms), cpuMBps: mbps(b.bytes, b.cpuMs) },
      validator: { ...v, MBps: mbps(v.bytes, v.ms), cpuMBps: mbps(v.bytes, v.cpuMs) },
      validatorWithoutDuplicates: {
        ...nd,
        MBps: mbps(nd.bytes, nd.ms),
        cpuMBps: mbps(nd.bytes, nd.cpuMs),
      },
      throughputRatioWithoutDuplicates: Number((b.cpuMs / nd.cpuMs).toFixed(2)),
      /** Validator throughput over baseline throughput, by CPU time (target >= 0.8). */
      throughputRatio: Number((b.cpuMs / v.cpuMs).toFixed(2)),
      throughputRatioWall: Number((b.ms / v.ms).toFixed(2)),
      /** The highest peak RSS of any validator run (target <= 128 MB). */
      validatorPeakRssMB: peakRss,
      targets: { throughputRatio: '>= 0.8', validatorPeakRssMB: '<= 128' },
      machine: { cpus: cpus().length, loadavg: loadavg() },
    };
    if (compared) {
      result['comparedBuild'] = {
        script: opts.compareScript,
        ...compared,
        MBps: mbps(compared.bytes, compared.ms),
        cpuMBps: mbps(compared.bytes, compared.cpuMs),
        throughputRatio: Number((b.cpuMs / compared.cpuMs).toFixed(2)),
      };
    }
    await rm(file, { force: true });
    if (opts.big) {
      const bigFile = join(dir, 'single-line.jsonl');
      const bigMB = opts.bigSizeMB ?? 2048;
      log(`generating a ${bigMB} MB single-line file`);
      await generateSingleLine(bigFile, bigMB * 1024 * 1024);
      const big = await runChild(child, ['validate', bigFile, String(chunk)]);
      result['singleLine'] = { ...big, MBps: mbps(big.bytes, big.ms) };
      await rm(bigFile, { force: true });
    }
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
