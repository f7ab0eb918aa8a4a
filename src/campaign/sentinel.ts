import { randomBytes } from "crypto";
import * as os from "os";
import { errorMessage } from "../errors";
import { redisNowMs } from "../queue/clock";
import { decodeMessage, type JobMessage } from "../queue/message";
import type { CompletionMessage, QueueSet, RequeueItem } from "../queue/queue-set";
import type { JobRegistry } from "../worker/registry";
import { decideRetry, retryDefaults, type FailureCause } from "../worker/retry";

export interface SentinelOptions {
  /** Seconds between sweeps (config `cluster.sentinel_interval`). */
  intervalSeconds?: number;
  /** Expired entries handled per script call; a sweep continues while full batches come back. */
  batchSize?: number;
  /** Working entries read per adoption step (only when the working list and the leases disagree). */
  adoptBatch?: number;
  log?: (line: string) => void;
  /**
   * Called after a sweep that put jobs back in the processing queue, with how many and the longest
   * walltime among them: the graph starts workers for them (AutoCNet's sentinel resubmitted cluster jobs).
   */
  onRequeued?: (count: number, walltime: number) => void | Promise<void>;
}

export interface SentinelStatus {
  running: boolean;
  /** Whether this sentinel holds the sweep lock (another process's sentinel may hold it). */
  leader: boolean;
  sweeps: number;
  lastSweepAt?: number;
  lastSweepMs?: number;
  requeued: number;
  deadLettered: number;
  quarantined: number;
  adopted: number;
  /** Jobs taken to be finished by a foreign worker (they left the queues without a completion message). */
  foreign: number;
  errors: number;
  lastError?: string;
  lastErrorAt?: number;
  /** Where the sentinel runs (host and pid), when read from the campaign's status hash. */
  where?: string;
}

/**
 * Watches the working queue of one queue set: entries whose deadline (walltime or heartbeat lease) has
 * passed are requeued through their function's retry policy, or dead-lettered after `maxfailures`.
 * Each sweep reads only the expired entries (a sorted set by deadline). One sentinel per queue set sweeps
 * at a time (a lock with expiry); others stand by. It never dies on an error: errors are counted and shown.
 */
export class Sentinel {
  private readonly token = randomBytes(8).toString("hex");
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private readonly state: SentinelStatus = {
    running: false, leader: false, sweeps: 0, requeued: 0, deadLettered: 0, quarantined: 0, adopted: 0, foreign: 0, errors: 0,
  };
  private readonly intervalMs: number;
  private readonly log: (line: string) => void;
  /** Redis time of the last sweep's last read of the expired leases: a deadline at or before it was seen. */
  private lastReadAt = 0;

  constructor(
    private readonly queues: QueueSet,
    private readonly registry?: JobRegistry,
    private readonly options: SentinelOptions = {},
  ) {
    this.intervalMs = (options.intervalSeconds ?? queues.config.cluster.sentinel_interval) * 1000;
    this.log = options.log ?? ((line) => console.error(`[sentinel ${queues.config.redis.basename}] ${line}`));
  }

  /** Starts sweeping in the background. Its timer is unref'd: it never keeps a script or kernel alive. */
  start(): this {
    if (this.state.running) return this;
    this.state.running = true;
    this.schedule(0);
    return this;
  }

  /** Stops after the current sweep and releases the lock. */
  async stop(): Promise<void> {
    this.state.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping;
    try {
      if (this.state.leader) await this.queues.redis.hset(this.queues.keys.sentinelStatus, "running", 0);
      await this.queues.transitions.lock(this.token, 0, true);
    } catch {
      // the lock and the status expire by themselves
    }
    this.state.leader = false;
  }

  status(): SentinelStatus {
    return { ...this.state };
  }

  /** One sweep now (also what the timer runs). Returns the entries handled. Never throws. */
  async sweep(): Promise<number> {
    let handled = 0;
    const started = Date.now();
    const run = (async () => {
      try {
        const lockTtl = Math.max(5000, this.intervalMs * 5);
        this.state.leader = await this.queues.transitions.lock(this.token, lockTtl);
        if (!this.state.leader) return;
        handled += await this.promoteRetries();
        handled += await this.requeueExpired();
        handled += await this.adoptOrphans();
        handled += await this.settleVanished();
        this.state.sweeps++;
        this.state.lastSweepAt = Date.now();
        this.state.lastSweepMs = Date.now() - started;
        await this.publishStatus();
      } catch (err) {
        this.error(err);
      }
    })();
    this.sweeping = run;
    await run;
    return handled;
  }

  private schedule(delay: number): void {
    if (!this.state.running) return;
    this.timer = setTimeout(async () => {
      await this.sweep();
      this.schedule(await this.nextDelay());
    }, delay);
    this.timer.unref();
  }

  /**
   * Sleeps until the next deadline (or the next retry's backoff end) if that comes before the interval is
   * up: requeues are prompt, idle sweeps rare. A deadline that passed while the sweep ran is swept at once;
   * one already past when the sweep read the expired leases, and still there, is one it could not act on
   * (Redis refused, say): then it waits the interval, never spins.
   */
  private async nextDelay(): Promise<number> {
    if (!this.state.leader) return this.intervalMs;
    try {
      const k = this.queues.keys;
      const [next, retry, now] = await Promise.all([
        this.queues.redis.zrange(k.deadlines, 0, 0, "WITHSCORES"),
        this.queues.redis.zrange(k.delayed, 0, 0, "WITHSCORES"),
        redisNowMs(this.queues.redis),
      ]);
      let delay = this.intervalMs;
      for (const list of [next, retry]) {
        if (list.length < 2) continue;
        const at = Number(list[1]);
        // (a retry due before this returned was promoted by the sweep, or cannot be: workers' claims promote too)
        if (list === retry ? at > now : at > this.lastReadAt) delay = Math.min(delay, Math.max(0, at - now) + 2);
      }
      return Math.max(5, delay);
    } catch {
      return this.intervalMs;
    }
  }

  /** Retries whose backoff is over go to processing (and get workers, as requeues do). */
  private async promoteRetries(): Promise<number> {
    const promoted = await this.queues.transitions.promote(1000);
    if (promoted > 0 && this.options.onRequeued) {
      try {
        await this.options.onRequeued(promoted, this.queues.config.cluster.walltime);
      } catch (err) {
        this.error(err);
      }
    }
    return promoted;
  }

  /**
   * Once every queue is empty, jobs of open applies that have no outcome left the queues through another
   * client (AutoCNet's worker removes a finished message from working): recorded as finished by a foreign
   * worker (vanished-10.lua). Costs one script call that reads five lengths while anything is queued.
   */
  private async settleVanished(): Promise<number> {
    const { found } = await this.queues.transitions.vanished(20_000);
    if (found > 0) {
      this.state.foreign += found;
      this.log(`${found} job(s) left the queues without a completion message: recorded as finished by a foreign worker`);
    }
    return found;
  }

  private async requeueExpired(): Promise<number> {
    const batchSize = this.options.batchSize ?? 500;
    const cfg = this.queues.config.cluster;
    const defaults = retryDefaults(cfg);
    let total = 0;
    for (let round = 0; round < 100; round++) {
      const { now, items: expired } = await this.queues.transitions.expired(batchSize);
      this.lastReadAt = now;
      const items: RequeueItem[] = [];
      // Every expired lease read is acted on: requeued, dead-lettered, or quarantined with the reason —
      // never left to expire again (the sweep would meet it for ever).
      for (const { key, raw } of expired) {
        if (!raw) {
          await this.queues.quarantine("", "a deadline whose working entry is gone", "working", key);
          continue;
        }
        const decoded = decodeMessage(raw, cfg.walltime, { maxBytes: this.queues.maxMessageBytes });
        if (!decoded.ok) {
          if (await this.queues.quarantine(raw, decoded.reason, "working", key)) this.state.quarantined++;
          continue;
        }
        const m = decoded.message;
        // Past max_time it outlived its walltime; before it, its worker stopped heartbeating.
        const cause: FailureCause = m.max_time === undefined || now >= m.max_time ? "walltime" : "heartbeat";
        let item: RequeueItem;
        try {
          item = { ...decideRetry(raw, m, { cause }, this.registry?.get(m.func), defaults), key };
          // an adopted entry (another client's worker holds it) that is gone from working was finished by it
          if (key.startsWith("a")) item.foreignDone = foreignNotice(m, now);
        } catch (err) {
          this.error(err);
          if (await this.queues.quarantine(raw, `the sentinel cannot requeue it: ${errorMessage(err)}`, "working", key)) this.state.quarantined++;
          continue;
        }
        items.push(item);
      }
      const statuses = await this.queues.requeue(items, { onlyIfExpired: true });
      let requeued = 0;
      let walltime = 0;
      statuses.forEach((s, i) => {
        if (s === "requeued" || s === "delayed") {
          requeued++;
          walltime = Math.max(walltime, Number((JSON.parse(items[i].payload) as { walltime?: number }).walltime ?? 0));
        } else if (s === "dead") this.state.deadLettered++;
        else if (s === "foreign") this.state.foreign++;
      });
      this.state.requeued += requeued;
      if (requeued > 0 && this.options.onRequeued) {
        try {
          await this.options.onRequeued(requeued, walltime || cfg.walltime);
        } catch (err) {
          this.error(err);
        }
      }
      total += expired.length;
      if (expired.length < batchSize) break;
    }
    return total;
  }

  /**
   * Working entries that have no lease were put there by someone else (an AutoCNet worker, a hand
   * LMOVE): they get first-seen + walltime. Costs two O(1) reads per sweep; the list is read (as bytes), a
   * chunk per sweep, only when it holds more entries than the leases hash. (If a foreign client also
   * removed an adopted entry, the counts can agree for a while; the stale lease is settled when it
   * expires — the entry left working on its own: finished by that client — and the counts then disagree
   * again.)
   */
  private async adoptOrphans(): Promise<number> {
    const k = this.queues.keys;
    const [[, workingLen], [, leaseCount], [, cursorText]] = (await this.queues.redis.pipeline()
      .llen(k.working).hlen(k.leases).get(k.adoptCursor).exec()) as [unknown, number | string | null][];
    let cursor = Number(cursorText ?? 0);
    if (Number(workingLen) <= Number(leaseCount) && cursor === 0) return 0;
    const chunk = this.options.adoptBatch ?? 1000;
    const entries = await this.queues.redis.lrangeBuffer(k.working, cursor, cursor + chunk - 1);
    cursor = entries.length < chunk ? 0 : cursor + chunk;
    await this.queues.redis.set(k.adoptCursor, cursor);
    if (entries.length === 0) return 0;
    const adopted = await this.queues.transitions.adopt(entries);
    if (adopted > 0) this.log(`adopted ${adopted} working entr${adopted === 1 ? "y" : "ies"} that had no deadline`);
    this.state.adopted += adopted;
    return adopted;
  }

  /**
   * The sweeping sentinel's status, for displays in any process (`readCampaignSentinelStatus`). It expires
   * a few intervals after the last sweep, so a sentinel that died does not look alive.
   */
  private async publishStatus(): Promise<void> {
    const s = this.state;
    const k = this.queues.keys.sentinelStatus;
    await this.queues.redis.multi()
      .hset(k, {
        token: this.token, running: 1, where: `${os.hostname()} pid ${process.pid}`, intervalMs: this.intervalMs,
        lastSweepAt: s.lastSweepAt ?? 0, lastSweepMs: s.lastSweepMs ?? 0, sweeps: s.sweeps, requeued: s.requeued,
        deadLettered: s.deadLettered, quarantined: s.quarantined, adopted: s.adopted, foreign: s.foreign, errors: s.errors,
        lastError: s.lastError ?? "", lastErrorAt: s.lastErrorAt ?? 0,
      })
      .pexpire(k, Math.max(10_000, this.intervalMs * 10))
      .exec();
  }

  private error(err: unknown): void {
    this.state.errors++;
    this.state.lastError = errorMessage(err);
    this.state.lastErrorAt = Date.now();
    this.log(`sweep error (${this.state.errors} so far), will retry: ${this.state.lastError}`);
  }
}

/**
 * The status the campaign's sweeping sentinel published (wherever it runs), or undefined if none is
 * sweeping now (no status, a stopped one, or one that has not swept for several intervals).
 */
export async function readCampaignSentinelStatus(queues: QueueSet, now = Date.now()): Promise<SentinelStatus | undefined> {
  const h = await queues.redis.hgetall(queues.keys.sentinelStatus);
  if (!h.token || h.running !== "1") return undefined;
  const last = Number(h.lastSweepAt ?? 0);
  if (now - last > Math.max(5000, Number(h.intervalMs ?? 500) * 10)) return undefined;
  const n = (k: string) => Number(h[k] ?? 0);
  return {
    running: true, leader: true, sweeps: n("sweeps"), lastSweepAt: last, lastSweepMs: n("lastSweepMs"), requeued: n("requeued"),
    deadLettered: n("deadLettered"), quarantined: n("quarantined"), adopted: n("adopted"), foreign: n("foreign"), errors: n("errors"),
    ...(h.lastError ? { lastError: h.lastError, lastErrorAt: n("lastErrorAt") || undefined } : {}),
    where: h.where,
  };
}

/** The completion notice of a job its foreign worker finished (it left working without one). */
function foreignNotice(m: JobMessage, now: number): string {
  const notice: CompletionMessage = {
    job_id: m.job_id, id: m.id, along: m.along, func: m.func, attempt: m.attempt, count: m.count, kwargs: m.kwargs,
    worker: m.worker ?? "foreign", finished_at: now, foreign: true,
  };
  if (m.param_step !== undefined) notice.param_step = m.param_step;
  return JSON.stringify(notice);
}
