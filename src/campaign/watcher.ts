import type { Redis } from "ioredis";
import { isUtf8 } from "buffer";
import { errorMessage } from "../errors";
import { decodeMessage, describeTarget, isValidJobId, MAX_NESTING, nestingDepth, targetProblem } from "../queue/message";
import type { CompletionMessage, QueueSet } from "../queue/queue-set";
import { isInfrastructureError } from "../worker/infra";

export type CompletionHandler = (message: CompletionMessage) => void | Promise<void>;

export interface WatcherOptions {
  /** Called for every completion whose function has no handler of its own. */
  onCompletion?: CompletionHandler;
  /** Seconds a blocking read waits before checking whether it should stop. */
  blockSeconds?: number;
  log?: (line: string) => void;
  /**
   * Seconds a message may sit in the in-flight list, untouched by this watcher, before this watcher
   * handles it: its watcher crashed, or Redis came back from an older state (default 30).
   */
  staleSeconds?: number;
  /**
   * How many times a completion handler that fails is retried (with backoff) before its message goes to
   * quarantine (default 3). A handler failing because the database or Redis cannot be reached is retried
   * for as long as it takes: the message is valid, only the infrastructure is away.
   */
  handlerRetries?: number;
}

export interface WatcherStatus {
  running: boolean;
  handled: number;
  quarantined: number;
  /** Handler failures that will be retried. */
  retries: number;
  errors: number;
  lastError?: string;
  lastErrorAt?: number;
}

/** What this watcher knows of a message in the in-flight list: when it first saw it, its handler's failures. */
interface Tracked {
  firstSeen: number;
  attempts: number;
  /** When to handle it (again): after a handler failure's backoff, or once it has been stale for `staleSeconds`. */
  nextAt: number;
}

/**
 * Consumes the completed queue reliably: each message is moved (atomically, BLMOVE) to an in-flight list,
 * handled, then removed. A crash mid-handler leaves it in flight: the next watcher handles it first, and
 * a running watcher re-reads the in-flight list about once a second and handles what has sat there for
 * `staleSeconds` (so an entry left by a crash, or by Redis restarting from an older state, is never
 * stranded). A malformed message goes to quarantine with the reason. A handler that fails is retried with
 * backoff — for as long as the database or Redis is unreachable, else `handlerRetries` times before its
 * message goes to quarantine: the loop never dies, nothing is dropped, and a valid notice is not
 * quarantined because the database was restarting.
 */
export class CompletedWatcher {
  private readonly handlers = new Map<string, CompletionHandler>();
  private readonly state: WatcherStatus = { running: false, handled: 0, quarantined: 0, retries: 0, errors: 0 };
  private readonly tracked = new Map<string, Tracked>();
  private nextRevisit = 0;
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
      const raw = await this.queues.redis.lmoveBuffer(k.completed, k.completedInFlight, "RIGHT", "LEFT");
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
        const raw = await this.blocking.blmoveBuffer(k.completed, k.completedInFlight, "RIGHT", "LEFT", block);
        if (raw !== null) await this.handle(raw);
        if (Date.now() >= this.nextRevisit) await this.revisit();
      } catch (err) {
        this.error(err);
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  /** Messages left in flight by a watcher that crashed mid-handler. */
  private async recoverInFlight(): Promise<number> {
    const left = await this.queues.redis.lrangeBuffer(this.queues.keys.completedInFlight, 0, -1);
    for (const raw of left.reverse()) await this.handle(raw);
    return left.length;
  }

  /**
   * Re-reads the oldest part of the in-flight list (about once a second): handles what is due — a
   * handler retry after its backoff, or a message that sat there untouched for `staleSeconds`.
   */
  private async revisit(): Promise<void> {
    const now = Date.now();
    this.nextRevisit = now + 1000;
    const staleMs = (this.options.staleSeconds ?? 30) * 1000;
    const oldest = await this.queues.redis.lrangeBuffer(this.queues.keys.completedInFlight, -200, -1);
    const present = new Set<string>();
    for (const raw of oldest.reverse()) {
      const id = raw.toString("latin1");
      present.add(id);
      const t = this.tracked.get(id);
      if (!t) this.tracked.set(id, { firstSeen: now, attempts: 0, nextAt: now + staleMs });
      else if (now >= t.nextAt) await this.handle(raw);
    }
    if (oldest.length < 200) for (const id of this.tracked.keys()) if (!present.has(id)) this.tracked.delete(id);
  }

  private async handle(raw: Buffer): Promise<void> {
    const id = raw.toString("latin1");
    let message: CompletionMessage;
    try {
      message = toCompletion(raw);
    } catch (err) {
      this.tracked.delete(id);
      await this.quarantine(raw, `malformed completion message: ${errorMessage(err)}`);
      return;
    }
    const handler = this.handlers.get(message.func) ?? this.options.onCompletion;
    try {
      await handler?.(message);
    } catch (err) {
      const now = Date.now();
      const t = this.tracked.get(id) ?? { firstSeen: now, attempts: 0, nextAt: 0 };
      t.attempts++;
      const what = `completion handler for '${message.func}' failed on ${describeTarget(message.id)}`;
      if (!isInfrastructureError(err) && t.attempts > (this.options.handlerRetries ?? 3)) {
        this.tracked.delete(id);
        await this.quarantine(raw, `${what}: ${errorMessage(err)}`);
        return;
      }
      const backoff = Math.min(30_000, 500 * 2 ** (t.attempts - 1));
      t.nextAt = now + backoff;
      this.tracked.set(id, t);
      this.state.retries++;
      this.log(`${what} (attempt ${t.attempts}), retrying in ${(backoff / 1000).toFixed(1)} s: ${errorMessage(err)}`);
      return; // it stays in flight: revisit() handles it again
    }
    this.tracked.delete(id);
    await this.queues.redis.lrem(this.queues.keys.completedInFlight, -1, raw);
    this.state.handled++;
  }

  private async quarantine(raw: Buffer, reason: string): Promise<void> {
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

/**
 * A completion message, or a dead-letter notice turned into one (`status: "dead"`). Throws, with the
 * reason, if neither: not UTF-8, not JSON, nested too deep, no func, a job id outside the grammar, a
 * target that is not a node id or a [source, destination] pair (never coerced into another's status).
 */
function toCompletion(raw: Buffer): CompletionMessage {
  if (!isUtf8(raw)) throw new Error(`not valid UTF-8 (${raw.length} bytes)`);
  const text = raw.toString("utf8");
  if (text.length > 2 * MAX_NESTING && nestingDepth(text) > MAX_NESTING) throw new Error(`nested deeper than ${MAX_NESTING} levels`);
  const value = JSON.parse(text) as unknown;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a JSON object");
  const v = value as Record<string, unknown>;
  if (v.dead === true && v.quarantined === true) {
    // a job of an apply whose message was poison: counted dead; the ledger takes its target from the apply
    if (!isValidJobId(v.job_id)) throw new Error("dead-letter notice without a valid 'job_id'");
    return {
      status: "dead", reason: String(v.reason ?? "quarantined"), cause: typeof v.cause === "string" ? v.cause : "poison",
      job_id: v.job_id, id: undefined as unknown as CompletionMessage["id"], along: undefined as unknown as string,
      func: typeof v.func === "string" ? v.func : "unknown", attempt: 1, count: 0,
      kwargs: undefined as unknown as Record<string, unknown>, finished_at: Number(v.at ?? Date.now()),
    };
  }
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
  if (!isValidJobId(v.job_id)) throw new Error("not a completion message (no valid 'job_id')");
  // a foreign finish found once the queues drained carries no target: the ledger knows it
  if (!(v.foreign === true && v.id === undefined)) {
    const problem = targetProblem(v.id);
    if (problem) throw new Error(`'id' ${describeTarget(v.id)} ${problem}`);
  }
  if (v.kwargs !== undefined && (typeof v.kwargs !== "object" || v.kwargs === null || Array.isArray(v.kwargs))) {
    throw new Error("'kwargs' is not a mapping");
  }
  return { ...(v as unknown as CompletionMessage), status: "completed" };
}
