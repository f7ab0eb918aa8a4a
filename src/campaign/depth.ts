import type { QueueLengths, QueueSet } from "../queue/queue-set";

export interface DepthSample extends QueueLengths {
  /** Epoch ms. */
  t: number;
  /** Cumulative: jobs completed since the queue set was created (`<b>:stats`), not the completed list's depth. */
  succeeded?: number;
  /** Cumulative: jobs dead-lettered. */
  deadLettered?: number;
  /** Cumulative: retries, whoever decided them. */
  retried?: number;
}

/**
 * Samples the queue lengths of a queue set (and its cumulative succeeded / dead / retried counters) at an interval and keeps the latest `capacity` samples in
 * memory: what the queue-depth display draws. Its timer is unref'd (never keeps a process alive); a
 * failed sample (Redis away) is skipped, not fatal.
 */
export class QueueDepthSampler {
  private readonly buffer: DepthSample[] = [];
  private timer?: NodeJS.Timeout;
  errors = 0;

  constructor(private readonly queues: QueueSet, private readonly options: { intervalMs?: number; capacity?: number } = {}) {}

  start(): this {
    if (this.timer) return this;
    this.timer = setInterval(() => void this.sample().catch(() => { this.errors++; }), this.options.intervalMs ?? 1000);
    this.timer.unref();
    void this.sample().catch(() => { this.errors++; });
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Takes a sample now (and keeps it): the lists' lengths and the cumulative counters, one round trip. */
  async sample(): Promise<DepthSample> {
    const s = { t: Date.now(), ...(await this.queues.snapshot()) };
    this.buffer.push(s);
    const capacity = this.options.capacity ?? 10_000;
    if (this.buffer.length > capacity) this.buffer.splice(0, this.buffer.length - capacity);
    return s;
  }

  samples(): DepthSample[] {
    return [...this.buffer];
  }
}
