/**
 * Runs a bundled function the way the Fn agent on OCI Functions does: `node func.js` under the real
 * @fnproject/fdk, speaking the FDK's http-stream protocol over a unix socket (toolchain.md "Fn FDK").
 * One call at a time per instance, as OCI runs one call per container; up to `maxInstances`
 * instances per function.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readFuncSpec } from './func-yaml.ts';

/** OCI Functions' fixed request and response size limit (functionsoverview.htm). */
export const maxPayloadBytes = 6 * 1024 * 1024;

/** One line a function printed, tied to the call that printed it when that is known. */
export interface FunctionLogEntry {
  time: string;
  function: string;
  instance: number;
  stream: 'stdout' | 'stderr';
  callId?: string;
  line: string;
}
export type LogSink = (entry: FunctionLogEntry) => void;

export interface FunctionRunnerOptions {
  /** Function name (FN_FN_NAME); also the default func.yaml name. */
  name: string;
  /** The bundle folder holding func.js (and func.yaml). */
  dir: string;
  /** FN_FN_ID; defaults to `ocid1.fnfunc.oc1..<name>`. */
  functionId?: string;
  /** FN_APP_NAME; defaults to `dacflow`. */
  appName?: string;
  /** Extra environment (function configuration), applied after func.yaml's `config`. */
  env?: Record<string, string>;
  /** Overrides func.yaml `timeout`. */
  timeoutSec?: number;
  /** Overrides func.yaml `memory` (reported as FN_MEMORY). */
  memoryMb?: number;
  /** Concurrent instances (containers) of this function; 1 by default. */
  maxInstances?: number;
  /** How long a cold start may take before it counts as failed. */
  readyTimeoutMs?: number;
  logSink?: LogSink;
  now?: () => Date;
  newCallId?: () => string;
}

export interface InvokeResult {
  callId: string;
  /** HTTP status: the FDK's own, or 504 on timeout, 502 when the process died mid-call. */
  status: number;
  body: Buffer;
  headers: Record<string, string>;
  durationMs: number;
  timedOut: boolean;
  /** The process exited (or the socket broke) before answering. */
  crashed: boolean;
}

const logframeName = 'dacflow_fn_call';
const socketName = 'fn.sock';

/** Child processes still alive, killed if this process exits without stopping its runners. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

function errorBody(code: string, message: string): Buffer {
  return Buffer.from(JSON.stringify({ code, message }));
}

class Instance {
  private child: ChildProcess | undefined;
  private starting: Promise<void> | undefined;
  private readonly socketDir: string;
  /** Call id of the call in flight, for lines printed before the FDK's log frame marker. */
  currentCallId: string | undefined;
  busy = false;

  constructor(
    readonly index: number,
    private readonly runner: FunctionRunner,
  ) {
    // Unix socket paths are limited to ~107 bytes: keep them under the short system tmp dir.
    this.socketDir = mkdtempSync(join(tmpdir(), 'dacflow-fn-'));
  }

  get socketPath(): string {
    return join(this.socketDir, socketName);
  }

  get running(): boolean {
    return (
      this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
    );
  }

  /** The live process's id, or undefined when none runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Starts the process unless it is already up; resolves when the FDK's socket link exists. */
  ensureStarted(): Promise<void> {
    if (this.running && !this.starting) return Promise.resolve();
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private start(): Promise<void> {
    // Stale files make the FDK exit with EADDRINUSE; SIGTERM leaves them behind (toolchain.md).
    for (const f of [this.socketPath, `${this.socketPath}.tmp`]) rmSync(f, { force: true });
    const r = this.runner;
    const child = spawn(process.execPath, ['func.js'], {
      cwd: r.dir,
      env: r.childEnv(this.socketPath),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(child);
    this.child = child;
    const stderrTail: string[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      let frameCallId: string | undefined;
      const rl = createInterface({ input: child[stream]! });
      rl.on('line', (line) => {
        if (line === '') return;
        if (line.startsWith(`${logframeName}=`)) {
          frameCallId = line.slice(logframeName.length + 1);
          return;
        }
        if (stream === 'stderr') {
          stderrTail.push(line);
          if (stderrTail.length > 20) stderrTail.shift();
        }
        r.emitLog({
          instance: this.index,
          stream,
          callId: this.currentCallId ?? frameCallId,
          line,
        });
      });
    }
    return new Promise<void>((resolve, reject) => {
      let watcher: FSWatcher | undefined;
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        clearTimeout(timer);
        watcher?.close();
        child.off('exit', onExit);
        if (err) {
          child.kill('SIGKILL');
          reject(err);
        } else resolve();
      };
      const check = () => {
        if (existsSync(this.socketPath)) finish();
      };
      const onExit = (code: number | null, signal: string | null) =>
        finish(
          new Error(
            `function ${r.name} exited during start (code ${code}, signal ${signal}): ${stderrTail.join(' | ')}`,
          ),
        );
      child.once('exit', onExit);
      child.once('error', (err) => finish(err));
      const timer = setTimeout(
        () => finish(new Error(`function ${r.name} was not ready within ${r.readyTimeoutMs} ms`)),
        r.readyTimeoutMs,
      );
      // The symlink appearing means "ready"; watch for it, with a slow poll as a safety net.
      const poll = setInterval(check, 25);
      try {
        watcher = watch(this.socketDir, check);
      } catch {
        // fs.watch is best effort; the poll still runs.
      }
      check();
    });
  }

  /** Sends one call; never rejects: failures become a result. */
  async call(callId: string, body: Buffer, headers: Record<string, string>): Promise<InvokeResult> {
    const r = this.runner;
    const started = performance.now();
    const timeoutMs = r.timeoutSec * 1000;
    const deadline = new Date(r.now().getTime() + timeoutMs);
    const child = this.child;
    this.currentCallId = callId;
    const result = (partial: Omit<InvokeResult, 'callId' | 'durationMs'>): InvokeResult => ({
      callId,
      durationMs: Math.round(performance.now() - started),
      ...partial,
    });
    try {
      return await new Promise<InvokeResult>((resolve) => {
        let done = false;
        const settle = (res: Omit<InvokeResult, 'callId' | 'durationMs'>) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          child?.off('exit', onExit);
          resolve(result(res));
        };
        const crashed = (message: string) => {
          if (done) return;
          this.kill();
          settle({
            status: 502,
            body: errorBody('FunctionCrashed', message),
            headers: {},
            timedOut: false,
            crashed: true,
          });
        };
        const onExit = (code: number | null, signal: string | null) =>
          crashed(`function ${r.name} exited during the call (code ${code}, signal ${signal})`);
        child?.once('exit', onExit);
        const timer = setTimeout(() => {
          req.destroy();
          this.kill();
          settle({
            status: 504,
            body: errorBody(
              'FunctionTimeout',
              `function ${r.name} timed out after ${r.timeoutSec} s`,
            ),
            headers: {},
            timedOut: true,
            crashed: false,
          });
        }, timeoutMs);
        const req = request(
          {
            socketPath: this.socketPath,
            method: 'POST',
            path: '/call',
            headers: {
              'content-type': 'application/json',
              ...headers,
              'Fn-Call-Id': callId,
              'Fn-Deadline': deadline.toISOString(),
              'content-length': String(body.length),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              chunks.push(c);
            });
            res.on('error', (err) => crashed(`response stream failed: ${err.message}`));
            res.on('end', () => {
              if (!res.complete) return crashed('the function closed the response early');
              const out: Record<string, string> = {};
              for (const [k, v] of Object.entries(res.headers)) {
                if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
              }
              if (size > maxPayloadBytes) {
                return settle({
                  status: 502,
                  body: errorBody('ResponseTooLarge', `response of ${size} bytes exceeds 6 MB`),
                  headers: {},
                  timedOut: false,
                  crashed: false,
                });
              }
              settle({
                status: res.statusCode ?? 502,
                body: Buffer.concat(chunks),
                headers: out,
                timedOut: false,
                crashed: false,
              });
            });
          },
        );
        req.on('error', (err) => crashed(`call failed: ${err.message}`));
        req.end(body);
      });
    } finally {
      this.currentCallId = undefined;
    }
  }

  /** Kills the process now; the next call starts a fresh one (what Fn does after a timeout). */
  kill(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  async stop(graceMs: number): Promise<void> {
    const child = this.child;
    if (child && this.running) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    this.child = undefined;
  }

  dispose(): void {
    rmSync(this.socketDir, { recursive: true, force: true });
  }
}

/** A function's local instances: start, invoke one call at a time per instance, stop. */
export class FunctionRunner {
  readonly name: string;
  readonly dir: string;
  readonly functionId: string;
  readonly timeoutSec: number;
  readonly memoryMb: number;
  readonly readyTimeoutMs: number;
  readonly now: () => Date;
  private readonly env: Record<string, string>;
  private readonly appName: string;
  private readonly maxInstances: number;
  private readonly logSink: LogSink | undefined;
  private readonly newCallId: () => string;
  private readonly instances: Instance[] = [];
  private readonly waiters: ((i: Instance | Error) => void)[] = [];
  private stopped = false;

  constructor(options: FunctionRunnerOptions) {
    const spec = readFuncSpec(options.dir, options.name);
    this.name = options.name;
    this.dir = options.dir;
    this.functionId = options.functionId ?? `ocid1.fnfunc.oc1..${options.name}`;
    this.appName = options.appName ?? 'dacflow';
    this.timeoutSec = options.timeoutSec ?? spec.timeoutSec;
    this.memoryMb = options.memoryMb ?? spec.memoryMb;
    this.env = { ...spec.config, ...options.env };
    this.maxInstances = Math.max(1, options.maxInstances ?? 1);
    this.readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
    this.logSink = options.logSink;
    this.now = options.now ?? (() => new Date());
    this.newCallId = options.newCallId ?? (() => randomBytes(13).toString('hex').toUpperCase());
  }

  /** The environment of the function process: the container's basics, Fn's variables, config. */
  childEnv(socketPath: string): Record<string, string> {
    const base: Record<string, string> = {};
    for (const k of ['PATH', 'HOME', 'LANG', 'TZ', 'SystemRoot']) {
      const v = process.env[k];
      if (v !== undefined) base[k] = v;
    }
    return {
      ...base,
      ...this.env,
      FN_FORMAT: 'http-stream',
      FN_LISTENER: `unix:${socketPath}`,
      FN_APP_NAME: this.appName,
      FN_APP_ID: `ocid1.fnapp.oc1..${this.appName}`,
      FN_FN_NAME: this.name,
      FN_FN_ID: this.functionId,
      FN_MEMORY: String(this.memoryMb),
      FN_TYPE: 'sync',
      FN_LOGFRAME_NAME: logframeName,
      FN_LOGFRAME_HDR: 'Fn-Call-Id',
    };
  }

  emitLog(e: Omit<FunctionLogEntry, 'time' | 'function'>): void {
    if (!this.logSink) return;
    const entry: FunctionLogEntry = { time: this.now().toISOString(), function: this.name, ...e };
    if (entry.callId === undefined) delete entry.callId;
    this.logSink(entry);
  }

  /** Starts the first instance now (a warm start for the first call). */
  async start(): Promise<void> {
    if (this.stopped) throw new Error(`function ${this.name} runner is stopped`);
    if (this.instances.length === 0) this.instances.push(new Instance(0, this));
    await this.instances[0]!.ensureStarted();
  }

  /**
   * Runs one call. Never rejects for a function failure (timeout, crash, 502 from the FDK): those
   * come back as a result, as the Fn agent reports them. Rejects only when the function cannot
   * start or the runner is stopped.
   */
  async invoke(body: Buffer, headers: Record<string, string> = {}): Promise<InvokeResult> {
    const callId = this.newCallId();
    if (body.length > maxPayloadBytes) {
      return {
        callId,
        status: 413,
        body: errorBody('PayloadTooLarge', `request of ${body.length} bytes exceeds 6 MB`),
        headers: {},
        durationMs: 0,
        timedOut: false,
        crashed: false,
      };
    }
    const instance = await this.acquire();
    try {
      // A crashed or timed-out instance restarts here, on the next call.
      await instance.ensureStarted();
      return await instance.call(callId, body, headers);
    } finally {
      this.release(instance);
    }
  }

  private acquire(): Promise<Instance> {
    if (this.stopped) return Promise.reject(new Error(`function ${this.name} runner is stopped`));
    const idle =
      this.instances.find((i) => !i.busy && i.running) ?? this.instances.find((i) => !i.busy);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    if (this.instances.length < this.maxInstances) {
      const created = new Instance(this.instances.length, this);
      created.busy = true;
      this.instances.push(created);
      return Promise.resolve(created);
    }
    return new Promise((resolve, reject) => {
      this.waiters.push((i) => (i instanceof Error ? reject(i) : resolve(i)));
    });
  }

  private release(instance: Instance): void {
    const next = this.waiters.shift();
    if (next && !this.stopped) next(instance);
    else instance.busy = false;
  }

  /** Number of instances with a live process. */
  get liveInstances(): number {
    return this.instances.filter((i) => i.running).length;
  }

  /** Process ids of the live instances, read only (bench/validate-function.ts samples their memory). */
  get pids(): number[] {
    return this.instances.flatMap((i) => (i.pid === undefined ? [] : [i.pid]));
  }

  /** Stops every instance (SIGTERM, then SIGKILL after `graceMs`) and removes socket files. */
  async stop(graceMs = 2000): Promise<void> {
    this.stopped = true;
    for (const w of this.waiters.splice(0)) w(new Error(`function ${this.name} runner is stopped`));
    await Promise.all(this.instances.map((i) => i.stop(graceMs)));
    for (const i of this.instances) i.dispose();
  }
}
