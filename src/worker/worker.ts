import * as os from "os";
import type { Redis } from "ioredis";
import { lazyDatabase, type Database } from "../database";
import { errorMessage } from "../errors";
import { decodeMessage, encodeMessage, type JobMessage } from "../queue/message";
import { completionMessage, type Claimed, type CompleteItem, type CompleteStatus, type QueueSet, type RequeueItem } from "../queue/queue-set";
import { isInfrastructureError } from "./infra";
import { inJobScope, outsideJobScope } from "./job-output";
import type { JobContext, JobRegistry } from "./registry";
import { decideRetry, retryDefaults, type Failure, type FailureCause } from "./retry";
import { CompletionBatcher } from "./completion-batch";
import { Slots } from "./slots";

export interface WorkerOptions {
  /**
   * `once`: claim at most one message, run it, return (one SLURM array task per message).
   * `drain`: keep claiming until the processing queue has stayed empty for `idleSeconds`.
   * `forever`: keep claiming until stopped.
   */
  mode?: "once" | "drain" | "forever";
  /** Jobs run at once in this process. */
  concurrency?: number;
  /** `drain`: how long the queue must stay empty before the worker returns. */
  idleSeconds?: number;
  /** Seconds between heartbeats (config `cluster.heartbeat` by default). */
  heartbeatSeconds?: number;
  workerId?: string;
  /** Recorded in the lineage of every claim, e.g. `slurm 1234_7` or `local pid 4242`. */
  task?: string;
  log?: (line: string) => void;
  /** The database job functions write to (`ctx.db`); without one, using `ctx.db` fails the job with a clear error. */
  db?: Database;
  /**
   * Seconds past its walltime a job that ignores its abort signal may keep this worker (config
   * `cluster.stuck_grace`): then the worker moves the job on, stops claiming and run() returns with
   * reason `stuck`, so that its process can exit and be replaced (the job function cannot be killed).
   */
  stuckGraceSeconds?: number;
}

export interface WorkerSummary {
  workerId: string;
  claimed: number;
  completed: number;
  late: number;
  duplicates: number;
  failed: number;
  quarantined: number;
  deadLettered: number;
  redisErrors: number;
  /** Why run() returned (`stuck`: a job ignored its abort signal past walltime + stuck grace; exit the process). */
  reason: "idle" | "once" | "stopped" | "terminated" | "stuck";
}

/** The lease a heartbeat interval implies: a worker is presumed dead 1.5 intervals after its last beat. */
export function leaseMs(heartbeatSeconds: number): number {
  return Math.round(heartbeatSeconds * 1500);
}

export function defaultWorkerId(): string {
  const host = os.hostname().replace(/[^\w.-]/g, "_").slice(0, 40);
  return `${host}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
}

interface Running {
  /** This worker's own number for it (two claims can carry byte-identical entries). */
  seq: number;
  claimed: Claimed;
  message?: JobMessage;
  /** Whether its job function has been called (a claimed-ahead job may still wait for a slot). */
  started?: boolean;
  /** performance.now() when its job function was called. */
  startedAt?: number;
  /** Date.now() when it was claimed. */
  claimedAt: number;
  /** Aborted at walltime or SIGTERM; the job function sees it as `ctx.signal`. */
  abort?: AbortController;
  /** Set when it is aborted (walltime, SIGTERM); the signal is only created if the job asks for it. */
  abortCause?: FailureCause;
  /** Its job function returned or threw: its entry is being moved on (heartbeats no longer speak for it). */
  finishing?: boolean;
  /** It ignored its abort signal past walltime + stuck grace: moved on by this worker, which then exits. */
  stuck?: boolean;
  done: Promise<void>;
}

/**
 * Claims messages, runs their registered job function, and completes or fails them. Every message stays
 * in the working list (durable) until one atomic script moves it on; a worker that dies mid-job leaves
 * it there for the sentinel (its lease lapses within 1.5 heartbeats).
 */
export class Worker {
  readonly id: string;
  private readonly mode: NonNullable<WorkerOptions["mode"]>;
  private readonly concurrency: number;
  /** Job functions executing now: what `concurrency` bounds; claimed-ahead jobs wait in its line. */
  private readonly slots: Slots<Running>;
  private readonly idleMs: number;
  private readonly heartbeatSeconds: number;
  private readonly log: (line: string) => void;
  /** Claimed entries not yet moved on (running, or completing): heartbeats and SIGTERM cover these. */
  private readonly held = new Map<number, Running>();
  private seq = 0;
  private readonly stuckGraceMs: number;
  /** Moving average of job run times (ms). */
  private meanRunMs?: number;
  private stopping: "stopped" | "terminated" | "stuck" | undefined;
  private wake?: () => void;
  private readonly completions = new CompletionBatcher<CompleteItem, CompleteStatus>((items) => this.retrying("complete", () => this.queues.complete(items)));
  private readonly summary: WorkerSummary;
  private readonly db: Database;

  constructor(
    private readonly queues: QueueSet,
    private readonly registry: JobRegistry,
    private readonly blocking: Redis,
    private readonly options: WorkerOptions = {},
  ) {
    this.id = options.workerId ?? defaultWorkerId();
    if (!/^[\w.:-]+$/.test(this.id)) throw new Error(`worker id '${this.id}': use letters, digits, '_', '.', ':' or '-'`);
    this.mode = options.mode ?? "drain";
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.slots = new Slots(this.concurrency);
    this.idleMs = (options.idleSeconds ?? 2) * 1000;
    this.heartbeatSeconds = options.heartbeatSeconds ?? queues.config.cluster.heartbeat;
    this.stuckGraceMs = (options.stuckGraceSeconds ?? queues.config.cluster.stuck_grace) * 1000;
    this.log = options.log ?? ((line) => console.error(`[worker ${this.id}] ${line}`));
    this.db = options.db ?? lazyDatabase(async () => {
      throw new Error("no database was given to this worker (Worker options.db)");
    });
    this.summary = {
      workerId: this.id, claimed: 0, completed: 0, late: 0, duplicates: 0, failed: 0, quarantined: 0,
      deadLettered: 0, redisErrors: 0, reason: "idle",
    };
  }

  /** Runs until idle (drain), after one message (once), or until stop()/terminate(). */
  async run(): Promise<WorkerSummary> {
    const beat = setInterval(() => void this.beat(), this.heartbeatSeconds * 1000);
    beat.unref();
    // one timer for every held job's walltime, rather than a timer per job
    const walltimes = setInterval(() => {
      this.abortPastWalltime();
      this.releaseWaitingTooLong();
      this.leaveStuckJobs();
    }, 250);
    walltimes.unref();
    let idleSince = Date.now();
    try {
      while (!this.stopping) {
        // Held = running + waiting for a slot + completing. With fast jobs a worker claims one batch ahead
        // (the next batch's round trip overlaps this one's work); with slow jobs it never hoards.
        const prefetch = this.mode !== "once" && this.fastJobs() && this.noneStalled() ? this.concurrency : 0;
        const free = Math.min(this.concurrency, this.concurrency + prefetch - this.held.size);
        if (free <= 0) {
          await this.slotFreed();
          continue;
        }
        let claimed: Claimed[];
        try {
          claimed = await this.queues.claim(this.id, {
            count: this.mode === "once" ? 1 : free, leaseMs: leaseMs(this.heartbeatSeconds), task: this.options.task,
          });
        } catch (err) {
          this.redisError("claim", err);
          await this.pause(1000);
          continue;
        }
        if (claimed.length > 0) {
          idleSince = Date.now();
          for (const c of claimed) this.start(c);
          if (this.mode === "once") break;
          continue;
        }
        if (this.mode === "once") break;
        if (this.held.size > 0) {
          await Promise.race([this.slotFreed(), this.waitForWork(0.5)]);
          continue;
        }
        const idleFor = Date.now() - idleSince;
        if (this.mode === "drain" && idleFor >= this.idleMs) {
          // a retry backing off soon is queued work: wait for it rather than leave it without a worker
          if (await this.retryDueSoon()) {
            await this.waitForWork(1);
            continue;
          }
          break;
        }
        const wait = this.mode === "drain" ? Math.min(1, (this.idleMs - idleFor) / 1000) : 1;
        await this.waitForWork(Math.max(0.05, wait));
      }
      // a stuck job's function never returns: its entry was moved on, the others are waited for (and a
      // job that turns stuck while they are is left too: leaveStuckJobs wakes this loop)
      for (;;) {
        const pending = [...this.held.values()].filter((r) => !r.stuck);
        if (pending.length === 0) break;
        await Promise.race([Promise.all(pending.map((r) => r.done)), this.slotFreed()]);
      }
      await this.completions.flush();
    } finally {
      clearInterval(beat);
      clearInterval(walltimes);
    }
    this.summary.reason = this.stopping ?? (this.mode === "once" ? "once" : "idle");
    return { ...this.summary };
  }

  /** Stops claiming; running jobs finish; run() then returns. */
  stop(): void {
    this.stopping ??= "stopped";
    this.wake?.();
  }

  /**
   * SIGTERM (SLURM at walltime, scancel, a local cancel): stop claiming, abort running jobs and move
   * each held message on through the retry policy at once. Does not wait for job functions to return.
   */
  async terminate(why: { cause?: FailureCause; error?: string } = {}): Promise<void> {
    this.stopping = "terminated";
    this.wake?.();
    const now = Date.now();
    const held = [...this.held.values()];
    for (const r of held) {
      abortJob(r, why.cause ?? (r.claimed.maxTime - now < 5000 ? "walltime" : "terminated"));
    }
    const waiting = held.filter((r) => !r.started && r.message);
    await Promise.all([
      ...held.filter((r) => r.started && !r.stuck && !r.finishing).map((r) => this.fail(r, { cause: r.abortCause!, error: why.error ?? "worker received SIGTERM" })),
      waiting.length > 0
        ? this.retrying("release", () => this.queues.requeue(waiting.map((r) => unclaimItem(r.claimed, r.message!)), { onlyIfExpired: false }))
        : undefined,
    ]);
    this.slots.clearLine(); // already put back above
  }

  private terminated(): boolean {
    return this.stopping === "terminated";
  }

  /** Whether recent jobs took under 50 ms (then claiming ahead pays, and costs other workers nothing). */
  private fastJobs(): boolean {
    return this.meanRunMs !== undefined && this.meanRunMs < 50;
  }

  /** Whether every running job is still young (a job that suddenly stalls stops the claiming ahead). */
  private noneStalled(): boolean {
    const now = performance.now();
    for (const r of this.held.values()) if (r.startedAt !== undefined && now - r.startedAt > 100) return false;
    return true;
  }

  /** A job function returned: its slot goes to a waiting job, or is free while its completion goes to Redis. */
  private release(): void {
    this.slots.release();
    this.wake?.();
  }

  /**
   * A job claimed ahead must not spend its walltime queueing behind a job that stalled: after a second
   * without a slot it goes back to the processing queue as it was (no failure counted) for another worker.
   */
  private releaseWaitingTooLong(): void {
    this.slots.takeOutWaitingLongerThan(1000, (r) => r.message !== undefined, (r) => {
      const item = unclaimItem(r.claimed, r.message!, "it waited over a second for a slot behind a slow job");
      return this.retrying("release", () => this.queues.requeue([item], { onlyIfExpired: false }));
    });
  }

  private start(claimed: Claimed): void {
    this.summary.claimed++;
    const r: Running = { seq: ++this.seq, claimed, claimedAt: Date.now(), done: RESOLVED };
    this.held.set(r.seq, r);
    r.done = this.handle(r);
  }

  /** One claimed job from start to its entry moved on (one promise per job: jobs can be very short). */
  private async handle(r: Running): Promise<void> {
    try {
      await this.execute(r);
    } catch (err) {
      // never an entry left in working by a bug here: the sentinel would still requeue it, but say so
      this.log(`internal error on a claimed job (the sentinel will requeue it): ${errorMessage(err)}`);
    } finally {
      this.held.delete(r.seq);
      this.wake?.();
    }
  }

  private async execute(r: Running): Promise<void> {
    const decoded = decodeMessage(r.claimed.bytes, this.queues.config.cluster.walltime, { maxBytes: this.queues.maxMessageBytes });
    if (!decoded.ok) {
      r.finishing = true;
      await this.quarantine(r, decoded.reason);
      return;
    }
    const message = (r.message = decoded.message);
    const def = this.registry.get(message.func);
    if (!def) {
      const known = this.registry.names().join(", ") || "none";
      const error = `unknown job function '${message.func}'; this worker registers: ${known}. Add its module to 'jobs:' in the config`;
      this.log(error);
      await this.fail(r, { cause: "unknown-function", error });
      return;
    }
    const ctx: JobContext = {
      message, jobId: message.job_id, id: message.id, along: message.along, args: message.args,
      kwargs: message.kwargs, attempt: message.attempt, redis: this.queues.redis, db: this.db,
      get signal() {
        return signalOf(r);
      },
      config: this.queues.config, log: (...parts) => outsideJobScope(() => this.log(`${message.job_id}: ${parts.map(String).join(" ")}`)),
    };
    let result: unknown;
    // a free slot is taken at once (no await: most claims find one); else wait for one, or be put back
    if (!this.slots.tryTake() && !(await this.slots.wait(r, r.claimedAt))) return; // put back for another worker
    if (this.terminated()) {
      this.release();
      return; // terminate() already put it back
    }
    r.started = true;
    const t0 = (r.startedAt = performance.now());
    try {
      // what the job prints is its own: with captureJobOutput() installed, its lines carry ctx.log's prefix
      result = await inJobScope(`[worker ${this.id}] ${message.job_id}: `, () => def.run(ctx));
    } catch (err) {
      this.release();
      if (this.terminated() || r.stuck) return; // terminate() or leaveStuckJobs() already moved it on
      r.finishing = true;
      await this.fail(r, { cause: r.abortCause ?? (isInfrastructureError(err) ? "infrastructure" : "exception"), error: errorMessage(err) });
      return;
    }
    const ms = performance.now() - t0;
    this.meanRunMs = this.meanRunMs === undefined ? ms : this.meanRunMs * 0.9 + ms * 0.1;
    this.release();
    if (this.stopping === "terminated" || r.stuck) return;
    r.finishing = true;
    const item: CompleteItem = { entry: r.claimed.bytes, key: r.claimed.key, message, result: jsonSafe(result), worker: this.id };
    try {
      item.completion = completionMessage(item);
    } catch (err) {
      await this.quarantine(r, `the job ran, but its completion cannot be encoded: ${errorMessage(err)}`);
      return;
    }
    const batch = this.completions.add(item);
    const status = (await batch.statuses)[batch.index];
    if (status === "completed") this.summary.completed++;
    else if (status === "late") { this.summary.completed++; this.summary.late++; }
    else if (status === "duplicate") this.summary.duplicates++;
  }

  private async quarantine(r: Running, reason: string): Promise<void> {
    this.summary.quarantined++;
    this.log(`quarantined a message: ${reason}`);
    await this.retrying("quarantine", () => this.queues.quarantine(r.claimed.bytes, reason, "working", r.claimed.key));
  }

  /**
   * A job that ignores its abort signal past walltime + stuck grace keeps its function running for ever:
   * its message is moved on (the walltime failure goes through its retry policy, if the sentinel has not
   * requeued it already), and this worker stops claiming, so that its process exits and is replaced.
   */
  private leaveStuckJobs(): void {
    const now = Date.now();
    for (const r of this.held.values()) {
      if (!r.started || r.stuck || r.finishing || now < r.claimed.maxTime + this.stuckGraceMs) continue;
      r.stuck = true;
      this.stopping ??= "stuck";
      this.wake?.();
      this.log(`${r.message?.job_id ?? "a job"} ignored its abort signal ${Math.round((now - r.claimed.maxTime) / 1000)} s past its walltime; ` +
        "moving it on and exiting so that a new worker takes this one's place");
      void this.fail(r, { cause: "walltime", error: "the job ignored its abort signal past walltime" });
    }
  }

  /** Whether a retry backing off is due within the next 10 s (then a draining worker waits for it). */
  private async retryDueSoon(): Promise<boolean> {
    try {
      const due = await this.queues.nextRetryDueIn();
      return due !== undefined && due <= 10_000;
    } catch (err) {
      this.redisError("delayed", err);
      return false;
    }
  }

  private abortPastWalltime(): void {
    const now = Date.now();
    for (const r of this.held.values()) {
      if (!r.abortCause && r.claimed.maxTime <= now) {
        abortJob(r, "walltime");
      }
    }
  }

  private async fail(r: Running, failure: Failure): Promise<void> {
    const message = r.message;
    if (!message) return; // never decoded: nothing to retry; the sentinel will find it if it is still there
    this.summary.failed++;
    const def = this.registry.get(message.func);
    const item = { ...decideRetry(r.claimed.bytes, message, failure, def, retryDefaults(this.queues.config.cluster)), key: r.claimed.key };
    const statuses = await this.retrying("requeue", () => this.queues.requeue([item], { onlyIfExpired: false }));
    if (statuses?.[0] === "dead") this.summary.deadLettered++;
    this.log(`${message.job_id} attempt ${message.attempt} failed (${failure.cause}${failure.error ? `: ${failure.error}` : ""}) -> ${statuses?.[0] ?? "left in working"}`);
  }

  private async beat(): Promise<void> {
    const running = [...this.held.values()].filter((r) => !r.finishing);
    if (running.length === 0) return;
    try {
      const alive = await this.queues.heartbeat(running.map((r) => r.claimed), leaseMs(this.heartbeatSeconds));
      alive.forEach((ok, i) => {
        const r = running[i];
        // a job that finished while the heartbeat was on its way is not a lost lease
        if (!ok && !r.finishing && this.held.get(r.seq) === r && Date.now() < r.claimed.maxTime) {
          this.log(`lost the lease of ${r.message?.job_id ?? "a job"} (the sentinel requeued it); a late completion still counts once`);
        }
      });
    } catch (err) {
      this.redisError("heartbeat", err);
    }
  }

  /** A Redis call that must not be given up lightly: retried with backoff for about 30 s. */
  private async retrying<T>(what: string, call: () => Promise<T>): Promise<T | undefined> {
    for (let i = 0, delay = 200; i < 8; i++, delay = Math.min(delay * 2, 5000)) {
      try {
        return await call();
      } catch (err) {
        this.redisError(what, err);
        await this.pause(delay);
      }
    }
    this.log(`gave up on ${what}; the message stays in working and the sentinel will requeue it`);
    return undefined;
  }

  private redisError(what: string, err: unknown): void {
    this.summary.redisErrors++;
    this.log(`Redis error during ${what}: ${errorMessage(err)}`);
  }

  private async waitForWork(seconds: number): Promise<void> {
    try {
      await this.queues.waitForWork(this.blocking, seconds);
    } catch (err) {
      this.redisError("wait", err);
      await this.pause(1000);
    }
  }

  private slotFreed(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      const prev = this.wake;
      this.wake = () => { clearTimeout(t); resolve(); prev?.(); };
    });
  }
}

const RESOLVED = Promise.resolve();

function abortJob(r: Running, cause: FailureCause): void {
  r.abortCause = cause;
  r.abort?.abort(new Error(cause === "walltime" ? "walltime exceeded" : cause));
}

/** A job's abort signal, made on first use (most jobs never look), already aborted if the job was. */
function signalOf(r: Running): AbortSignal {
  if (!r.abort) {
    r.abort = new AbortController();
    if (r.abortCause) r.abort.abort(new Error(r.abortCause === "walltime" ? "walltime exceeded" : r.abortCause));
  }
  return r.abort.signal;
}

/** Puts a claimed-but-never-started message back as it was: no failure counted. */
function unclaimItem(claimed: Claimed, m: JobMessage, why = "its worker stopped before starting it"): RequeueItem {
  return { entry: claimed.bytes, key: claimed.key, jobId: m.job_id, attempt: m.attempt, action: "retry", payload: encodeMessage(m), event: { e: "released", a: m.attempt, why } };
}

function jsonSafe(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return undefined;
    return text.length > 8192 ? { truncated: true, bytes: text.length } : JSON.parse(text);
  } catch {
    let text = "";
    try {
      text = String(value).slice(0, 200);
    } catch {
      text = Object.prototype.toString.call(value);
    }
    return { unserialisable: text };
  }
}
