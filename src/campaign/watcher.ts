import type { Redis } from "ioredis";
import { errorMessage } from "../errors";
import { decodeMessage } from "../queue/message";
import type { CompletionMessage, QueueSet } from "../queue/queue-set";

export type CompletionHandler = (message: CompletionMessage) => void | Promise<void>;

export interface WatcherOptions {
  /** Called for every completion whose function has no handler of its own. */
  onCompletion?: CompletionHandler;
  /** Seconds a blocking read waits before checking whether it should stop. */
  blockSeconds?: number;
  log?: (line: string) => void;
}

export interface WatcherStatus {
  running: boolean;
  handled: number;
  quarantined: number;
  errors: number;
  lastError?: string;
  lastErrorAt?: number;
}

/**
 * Consumes the completed queue reliably: each message is moved (atomically, BLMOVE) to an in-flight list,
 * handled, then removed. A crash mid-handler leaves it in flight, and the next watcher handles it first.
 * A malformed message, or one whose handler throws (say, a target this process does not know), goes to
 * quarantine with the reason: the loop never dies and nothing is dropped.
 */
export class CompletedWatcher {
  private readonly handlers = new Map<string, CompletionHandler>();
  private readonly state: WatcherStatus = { running: false, handled: 0, quarantined: 0, errors: 0 };
  private loop?: Promise<void>;
  private readonly log: (line: string) => void;

  constructor(private readonly queues: QueueSet, private readonly blocking: Redis, private readonly options: WatcherOptions = {}) {
    this.log = options.log ?? ((line) => console.error(`[watcher ${queues.config.redis.basename}] ${line}`));
  }

  /** The handler for one job function's completions (e.g. a graph callback that sets a flag). */
  on(func: string, handler: CompletionHandler): this {
    this.handlers.set(func, handler);
    return this;
  }

  start(): this {
    if (this.state.running) return this;
    this.state.running = true;
    this.loop = this.run();
    return this;
  }

  /** Stops after the current blocking read (at most `blockSeconds`). */
  async stop(): Promise<void> {
    this.state.running = false;
    await this.loop;
  }

  status(): WatcherStatus {
    return { ...this.state };
  }

  /** Handles what is waiting now, without blocking; returns how many. (For scripts and tests.) */
  async drain(): Promise<number> {
    const k = this.queues.keys;
    let n = await this.recoverInFlight();
    for (;;) {
      const raw = await this.queues.redis.lmove(k.completed, k.completedInFlight, "RIGHT", "LEFT");
      if (raw === null) return n;
      await this.handle(raw);
      n++;
    }
  }

  private async run(): Promise<void> {
    const k = this.queues.keys;
    const block = this.options.blockSeconds ?? 1;
    try {
      await this.recoverInFlight();
    } catch (err) {
      this.error(err);
    }
    while (this.state.running) {
      try {
        const raw = await this.blocking.blmove(k.completed, k.completedInFlight, "RIGHT", "LEFT", block);
        if (raw !== null) await this.handle(raw);
      } catch (err) {
        this.error(err);
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  /** Messages left in flight by a watcher that crashed mid-handler. */
  private async recoverInFlight(): Promise<number> {
    const left = await this.queues.redis.lrange(this.queues.keys.completedInFlight, 0, -1);
    for (const raw of left.reverse()) await this.handle(raw);
    return left.length;
  }

  private async handle(raw: string): Promise<void> {
    let message: CompletionMessage;
    try {
      message = toCompletion(JSON.parse(raw));
    } catch (err) {
      await this.quarantine(raw, `malformed completion message: ${errorMessage(err)}`);
      return;
    }
    const handler = this.handlers.get(message.func) ?? this.options.onCompletion;
    try {
      await handler?.(message);
    } catch (err) {
      await this.quarantine(raw, `completion handler for '${message.func}' failed on ${JSON.stringify(message.id)}: ${errorMessage(err)}`);
      return;
    }
    await this.queues.redis.lrem(this.queues.keys.completedInFlight, -1, raw);
    this.state.handled++;
  }

  private async quarantine(raw: string, reason: string): Promise<void> {
    this.log(reason);
    if (await this.queues.quarantine(raw, reason, "completedInFlight")) this.state.quarantined++;
  }

  private error(err: unknown): void {
    this.state.errors++;
    this.state.lastError = errorMessage(err);
    this.state.lastErrorAt = Date.now();
    this.log(`error (${this.state.errors} so far), continuing: ${this.state.lastError}`);
  }
}

/** A completion message, or a dead-letter notice turned into one (`status: "dead"`). Throws if neither. */
function toCompletion(value: unknown): CompletionMessage {
  if (typeof value !== "object" || value === null) throw new Error("not a JSON object");
  const v = value as Record<string, unknown>;
  if (v.dead === true) {
    const decoded = decodeMessage(typeof v.message === "string" ? v.message : null);
    if (!decoded.ok) throw new Error(`dead-letter notice with an unreadable message: ${decoded.reason}`);
    const m = decoded.message;
    return {
      status: "dead", reason: String(v.reason ?? ""), cause: typeof v.cause === "string" ? v.cause : undefined,
      job_id: m.job_id, id: m.id, along: m.along, func: m.func, attempt: m.attempt, count: m.count + 1,
      kwargs: m.kwargs, param_step: m.param_step, worker: m.worker, finished_at: Number(v.at ?? Date.now()),
    };
  }
  if (typeof v.func !== "string") throw new Error("not a completion message (no 'func')");
  return { ...(v as unknown as CompletionMessage), status: "completed" };
}
