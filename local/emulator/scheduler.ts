/**
 * A local stand-in for OCI Resource Scheduler: runs functions on cron expressions (UTC). In fast
 * mode schedule time runs 60x faster, so one cron minute passes in about a second.
 */
import { CronExpressionParser } from 'cron-parser';
import type { Logger } from '#shared/log.ts';
import type { FunctionInvoker } from './service.ts';

export interface ScheduleSpec {
  functionId: string;
  cron: string;
  payload?: unknown;
}

export interface ScheduleRun {
  functionId: string;
  /** The schedule time the run stands for (virtual in fast mode). */
  scheduledFor: string;
  status?: number;
  outcome: 'delivered' | 'failed';
}

export interface SchedulerOptions {
  /** How many schedule milliseconds pass per real millisecond (60 in fast mode). */
  speed: number;
  nowMs(): number;
  invoke(): FunctionInvoker | undefined;
  log: Logger;
}

export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly startRealMs: number;
  private closed = false;
  readonly runs: ScheduleRun[] = [];

  constructor(private readonly o: SchedulerOptions) {
    this.startRealMs = o.nowMs();
  }

  /** The schedule clock: real time, sped up in fast mode. */
  virtualNowMs(): number {
    const real = this.o.nowMs();
    return this.startRealMs + (real - this.startRealMs) * this.o.speed;
  }

  /** Validates `cron` (five fields) and starts it; throws on a bad expression. */
  add(spec: ScheduleSpec): void {
    const fields = spec.cron.trim().split(/\s+/);
    if (fields.length !== 5) throw new Error(`cron must have five fields: '${spec.cron}'`);
    CronExpressionParser.parse(spec.cron, { tz: 'UTC' });
    this.arm(spec, this.virtualNowMs());
  }

  private arm(spec: ScheduleSpec, fromVirtualMs: number): void {
    if (this.closed) return;
    const next = CronExpressionParser.parse(spec.cron, {
      currentDate: new Date(fromVirtualMs),
      tz: 'UTC',
    })
      .next()
      .getTime();
    const delayMs = Math.max(0, (next - this.virtualNowMs()) / this.o.speed);
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.fire(spec, next);
      this.arm(spec, next);
    }, delayMs);
    this.timers.add(t);
  }

  private async fire(spec: ScheduleSpec, scheduledMs: number): Promise<void> {
    const scheduledFor = new Date(scheduledMs).toISOString();
    const invoke = this.o.invoke();
    if (!invoke) {
      this.o.log.warn('emulator.schedule.noInvoker', { functionId: spec.functionId });
      this.runs.push({ functionId: spec.functionId, scheduledFor, outcome: 'failed' });
      return;
    }
    try {
      const body = Buffer.from(JSON.stringify(spec.payload ?? {}));
      const res = await invoke(spec.functionId, body, { 'content-type': 'application/json' });
      const ok = res.status >= 200 && res.status < 300;
      this.runs.push({
        functionId: spec.functionId,
        scheduledFor,
        status: res.status,
        outcome: ok ? 'delivered' : 'failed',
      });
    } catch (err) {
      this.o.log.warn('emulator.schedule.failed', { functionId: spec.functionId, error: err });
      this.runs.push({ functionId: spec.functionId, scheduledFor, outcome: 'failed' });
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
