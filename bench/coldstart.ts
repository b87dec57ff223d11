// Cold start of each built function: spawn until the FDK's socket is ready (the moment the Fn agent
// can send the first call), median of N fresh processes, against a bare FDK handler measured in
// the same run on the same machine (toolchain.md "Cold start"). Target: within 1.5x of bare.
// Besides dist/functions/*, it measures dist/fixtures/functions/sdk-probe: a function shaped like
// the real ones (handler wrapper, client factory, ObjectStorage + GenerativeAi + ONS clients).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { FunctionRunner } from '#local/runner/index.ts';
import { projectRoot } from '#local/stack.ts';

export const targetRatio = 1.5;

export interface ColdstartResult {
  name: string;
  dir: string;
  bundleBytes: number | null;
  /** Spawn until the FDK socket is ready: the figure the 1.5x target applies to. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Spawn until the first call's answer. */
  medianFirstCallMs: number;
  ratioToBare: number;
  withinTarget: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Spawn to ready (the socket link), and spawn to the answer of a first `{}` call. The first call
 * carries no OCI configuration, so real functions answer it quickly with an error result; it shows
 * work a function defers from import to its first call (lazily imported SDK modules).
 */
async function coldStart(
  name: string,
  dir: string,
): Promise<{ readyMs: number; firstCallMs: number }> {
  const runner = new FunctionRunner({ name, dir, readyTimeoutMs: 30_000, timeoutSec: 60 });
  const t0 = performance.now();
  await runner.start();
  const readyMs = performance.now() - t0;
  await runner.invoke(Buffer.from('{}'));
  const firstCallMs = performance.now() - t0;
  await runner.stop();
  return { readyMs, firstCallMs };
}

export async function benchColdstart(options: { runs?: number } = {}): Promise<unknown> {
  const runs = options.runs ?? 15;
  const root = projectRoot();
  const targets: { name: string; dir: string }[] = [
    { name: 'bare-fdk', dir: join(root, 'test/fixtures/functions/bare') },
  ];
  const fnRoot = join(root, 'dist/functions');
  if (existsSync(fnRoot)) {
    for (const n of readdirSync(fnRoot).sort()) {
      if (existsSync(join(fnRoot, n, 'func.js'))) targets.push({ name: n, dir: join(fnRoot, n) });
    }
  }
  const probe = join(root, 'dist/fixtures/functions/sdk-probe');
  if (existsSync(join(probe, 'func.js'))) targets.push({ name: 'sdk-probe', dir: probe });
  else
    process.stderr.write(
      'coldstart: dist/fixtures/functions/sdk-probe missing: run `npm run build`\n',
    );

  const samples = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const firstCalls = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  // Interleave the targets so machine load drifts affect all of them alike.
  await coldStart('warmup', targets[0]!.dir);
  for (let i = 0; i < runs; i++) {
    for (const t of targets) {
      const r = await coldStart(t.name, t.dir);
      samples.get(t.name)!.push(r.readyMs);
      firstCalls.get(t.name)!.push(r.firstCallMs);
    }
  }
  const bareMs = median(samples.get('bare-fdk')!);
  const results: ColdstartResult[] = targets.map((t) => {
    const xs = samples.get(t.name)!;
    const m = median(xs);
    const bundle = join(t.dir, 'func.js');
    return {
      name: t.name,
      dir: t.dir,
      bundleBytes: existsSync(bundle) ? statSync(bundle).size : null,
      medianMs: Math.round(m * 10) / 10,
      minMs: Math.round(Math.min(...xs) * 10) / 10,
      maxMs: Math.round(Math.max(...xs) * 10) / 10,
      medianFirstCallMs: Math.round(median(firstCalls.get(t.name)!) * 10) / 10,
      ratioToBare: Math.round((m / bareMs) * 100) / 100,
      withinTarget: m / bareMs <= targetRatio,
    };
  });
  const report = {
    bench: 'coldstart',
    runs,
    loadAverage: loadavg().map((l) => Math.round(l * 10) / 10),
    targetRatio,
    node: process.version,
    results,
    allWithinTarget: results.every((r) => r.withinTarget),
  };
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return report;
}
