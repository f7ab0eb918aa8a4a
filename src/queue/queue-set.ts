import type { Redis } from "ioredis";
import type { Config } from "../config";
import { keyPattern, queueKeys, type QueueKeys } from "./keys";
import { isUtf8 } from "buffer";
import { applyIdOf, jobIdOf, newApplyId } from "./job-id";
import {
  describeTarget, encodeMessage, firstAttemptEncoder, isEdgeTarget, leaseKeyOf, MAX_NESTING, nestingDepth, targetProblem,
  type JobMessage, type Target,
} from "./message";
import { Transitions, type ClaimedEntry } from "./transitions";
import { parseWalltime } from "../config/walltime";

export interface SubmitOptions {
  /** `node`, `edge`, ...; inferred per target when absent (a pair is an edge). */
  along?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** SLURM time string or seconds; defaults to the config's `cluster.walltime`. */
  walltime?: string | number;
  /** Per-target kwargs overrides, e.g. to give one target a different first attempt. */
  kwargsFor?: (target: Target, index: number) => Record<string, unknown> | undefined;
  /** Messages per pipelined push script call. */
  batchSize?: number;
  /** The apply id to use (default: a new one). */
  applyId?: string;
}

export interface Submission {
  applyId: string;
  func: string;
  count: number;
  /** Job ids are `<applyId>-<index>`, index from 0. */
  jobId(index: number): string;
}

export interface QueueLengths {
  /** Messages waiting for a worker: the processing list, plus retries backing off in the delayed set. */
  processing: number;
  working: number;
  completed: number;
  dead: number;
  quarantine: number;
}

/**
 * The campaign's cumulative counters (the `<b>:stats` hash the transitions move): what finished work and
 * every retry add up to since the queue set was created, unlike the lists' transient lengths.
 */
export interface QueueStats {
  /** Jobs completed (each once; a dead job completed late after all counts here, not as dead). */
  completed: number;
  /** Jobs dead-lettered (including poison: messages quarantined). */
  dead: number;
  /** Retries, whoever decided them: the worker after an exception or SIGTERM, the sentinel after a deadline. */
  retried: number;
  /** Of those, decided by the sentinel (a deadline passed: walltime, heartbeat lost). */
  retriedBySentinel: number;
  /** Claimed-ahead jobs put back unrun (no failure). */
  released: number;
  /** Retries per failure cause (`exception`, `walltime`, `heartbeat`, …). */
  retriedByCause: Record<string, number>;
  /** Dead-lettered jobs per cause (`exception`, `poison`, …); jobs later completed late are not taken off. */
  deadByCause: Record<string, number>;
}

export interface ApplyProgress {
  total: number;
  completed: number;
  dead: number;
  /** Retries of this apply's jobs, whoever decided them. */
  retried?: number;
  submittedAt?: number;
}

/** One claimed job as a worker holds it: the exact working entry (its bytes), its max_time and its lease key. */
export type Claimed = ClaimedEntry;

export interface CompleteItem {
  /** The working entry, exactly (a Buffer from claim; text is taken as UTF-8). */
  entry: string | Buffer;
  /** Its lease key (from claim; derived from the entry if absent). */
  key?: string;
  message: JobMessage;
  /** JSON-serialisable result, carried in the completion message. */
  result?: unknown;
  worker?: string;
  /** The completion message, already encoded (`completionMessage(item)`); encoded by complete() if absent. */
  completion?: string;
}

export type CompleteStatus = "completed" | "late" | "duplicate";

export interface RequeueItem {
  /** The working entry, exactly. */
  entry: string | Buffer;
  /** Its lease key (derived from the entry if absent). */
  key?: string;
  jobId: string;
  /** The attempt that failed (recorded if an adopted entry turns out to have been finished by its foreign worker). */
  attempt?: number;
  action: "retry" | "dead";
  /** The next attempt's message, or the dead-letter record. */
  payload: string;
  /** Lineage event (JSON object) describing why. */
  event: Record<string, unknown>;
  /** A retry's backoff: it waits this long in the delayed set before a worker can claim it (0: at once). */
  delayMs?: number;
  /** For an adopted entry (lease key "a..."): the completion notice to record if it left working on its own. */
  foreignDone?: string;
}

export type RequeueStatus = "requeued" | "delayed" | "dead" | "alive" | "gone" | "finished" | "foreign";

/** An apply that cannot be queued as asked: names the target and what to do. Nothing was pushed. */
export class SubmitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SubmitError";
  }
}

/**
 * The queues of one config (its `basename`): processing, working (+ deadlines), completed, dead-letter,
 * quarantine. The producer (`submit`, `resubmit`) and the reads live here; each move of a job is one atomic
 * transition, run by `transitions` (the only caller of the Lua scripts in ./commands).
 */
export class QueueSet {
  readonly keys: QueueKeys;
  readonly transitions: Transitions;

  constructor(readonly redis: Redis, readonly config: Config) {
    this.keys = queueKeys(config.redis);
    this.transitions = new Transitions(redis, this.keys, config.cluster.walltime, this.maxMessageBytes);
  }

  /** `cluster.max_message_bytes`: no message of an apply may be larger (claim quarantines larger foreign ones). */
  get maxMessageBytes(): number {
    return this.config.cluster.max_message_bytes;
  }

  /**
   * Checks an apply before anything is recorded or pushed: every target is a node id or a
   * [source, destination] pair, and every message fits in `cluster.max_message_bytes` and nests at most
   * MAX_NESTING deep. Throws a SubmitError naming the first target that does not, and what to do.
   * Cheap for plain targets: a message is only encoded when its size could come near the limit.
   */
  checkSubmission(func: string, targets: readonly Target[], options: SubmitOptions = {}): void {
    const walltime = options.walltime === undefined ? this.config.cluster.walltime : parseWalltime(options.walltime);
    const fixed = { func, args: options.args ?? [], kwargs: options.kwargs ?? {}, walltime };
    let sample: string;
    try {
      sample = encodeMessage({ ...fixed, job_id: "x", id: 0, along: options.along ?? "node", count: 0, attempt: 1 });
    } catch (err) {
      throw new SubmitError(`apply: the args/kwargs of '${func}' cannot be encoded as JSON (${(err as Error).message})`);
    }
    const fixedBytes = Buffer.byteLength(sample);
    const fixedDepth = nestingDepth(sample);
    targets.forEach((target, index) => {
      const problem = targetProblem(target);
      if (problem) throw new SubmitError(`apply: target ${describeTarget(target)} (#${index}) ${problem}`);
      const own = options.kwargsFor?.(target, index);
      const plain = typeof target === "number" || (Array.isArray(target) && typeof target[0] === "number" && typeof target[1] === "number");
      if (!own && plain && fixedBytes + 120 <= this.maxMessageBytes && fixedDepth + 1 <= MAX_NESTING) return;
      let text: string;
      try {
        text = encodeMessage({ ...fixed, kwargs: own ? { ...fixed.kwargs, ...own } : fixed.kwargs, job_id: jobIdOf("xxxxxxxx", index),
          id: target, along: options.along ?? (isEdgeTarget(target) ? "edge" : "node"), count: 0, attempt: 1 });
      } catch (err) {
        throw new SubmitError(`apply: the message for target ${describeTarget(target)} cannot be encoded as JSON (${(err as Error).message})`);
      }
      this.checkMessage(text, target);
    });
  }

  /** Throws a SubmitError if one encoded message is too large or nests too deep. */
  private checkMessage(text: string, target: Target): void {
    if (text.length * 3 > this.maxMessageBytes) {
      const bytes = Buffer.byteLength(text);
      if (bytes > this.maxMessageBytes) {
        throw new SubmitError(`apply: the message for target ${describeTarget(target)} is ${bytes} bytes, over cluster.max_message_bytes ` +
          `(${this.maxMessageBytes}); pass large inputs by reference (a file path, a database id) in kwargs, or raise cluster.max_message_bytes`);
      }
    }
    if (text.length > 2 * MAX_NESTING && nestingDepth(text) > MAX_NESTING) {
      throw new SubmitError(`apply: the message for target ${describeTarget(target)} nests deeper than ${MAX_NESTING} levels; flatten its args/kwargs`);
    }
  }

  /** Pushes one message per target onto the processing queue, pipelined in batches. */
  async submit(func: string, targets: Iterable<Target>, options: SubmitOptions = {}): Promise<Submission> {
    const applyId = options.applyId ?? newApplyId();
    const walltime = options.walltime === undefined ? this.config.cluster.walltime : parseWalltime(options.walltime);
    const batchSize = options.batchSize ?? 1000;
    const args = options.args ?? [];
    const kwargs = options.kwargs ?? {};
    const record = JSON.stringify({ func, along: options.along ?? null, walltime, args, kwargs });
    let count = 0;
    let batch: string[] = [];
    let pipe = this.redis.pipeline();
    let queued = 0;
    // Encoding the next pipeline overlaps with Redis taking the previous one (at most two in flight).
    const inFlight: Promise<void>[] = [];
    const flushBatch = () => {
      this.transitions.pipePush(pipe, applyId, count === batch.length ? record : "", batch);
      batch = [];
      queued++;
    };
    const sendPipe = async () => {
      const sent = execOrThrow(pipe);
      sent.catch(() => {}); // awaited below; this only stops an early failure counting as unhandled
      inFlight.push(sent);
      pipe = this.redis.pipeline();
      queued = 0;
      if (inFlight.length >= 2) await inFlight.shift();
    };
    const fast = { edge: firstAttemptEncoder({ along: options.along ?? "edge", func, args, kwargs, walltime }),
      node: firstAttemptEncoder({ along: options.along ?? "node", func, args, kwargs, walltime }) };
    const fixedBytes = Buffer.byteLength(fast.node("x", 0));
    if (nestingDepth(fast.edge("x", [0, 0])) > MAX_NESTING) this.checkMessage(fast.edge("x", [0, 0]), "(every target)");
    // (graph.apply checks the whole apply before recording it; a direct caller meeting a bad target here
    // has the batches before it pushed)
    for (const target of targets) {
      const problem = targetProblem(target);
      if (problem) throw new SubmitError(`apply: target ${describeTarget(target)} (#${count}) ${problem}`);
      const own = options.kwargsFor?.(target, count);
      const along = isEdgeTarget(target) ? "edge" : "node";
      const text = own
        ? encodeMessage({
          job_id: jobIdOf(applyId, count), id: target, along: options.along ?? along, func, args,
          kwargs: { ...kwargs, ...own }, walltime, count: 0, attempt: 1,
        })
        : fast[along](jobIdOf(applyId, count), target);
      if (own || fixedBytes + 120 > this.maxMessageBytes || typeof target === "string" || typeof (target as unknown[])[0] === "string") {
        this.checkMessage(text, target);
      }
      batch.push(text);
      count++;
      if (batch.length >= batchSize) flushBatch();
      if (queued >= 20) await sendPipe();
    }
    if (batch.length > 0 || count === 0) flushBatch();
    await sendPipe();
    await Promise.all(inFlight);
    return { applyId, func, count, jobId: (i) => jobIdOf(applyId, i) };
  }

  /**
   * Puts back what Redis lost, from the ledger (what `reconcile` does): the outcomes of `finished` jobs
   * where Redis has none, the apply's counters raised to at least the ledger's (never lowered: what Redis
   * already counted stands), and the first attempts of `jobs` under their original job ids.
   */
  async resubmit(applyId: string, func: string, jobs: { index: number; target: Target; kwargs?: Record<string, unknown> }[], fixed: {
    along?: string; args?: unknown[]; kwargs?: Record<string, unknown>; walltime: number; total: number; completed: number; dead: number;
    finished?: [jobId: string, outcome: string][];
  }): Promise<{ total: number; completed: number; dead: number }> {
    const messages = jobs.map(({ index, target, kwargs }) => encodeMessage({
      job_id: jobIdOf(applyId, index), id: target, along: fixed.along ?? (isEdgeTarget(target) ? "edge" : "node"), func,
      args: fixed.args ?? [], kwargs: kwargs ?? fixed.kwargs ?? {}, walltime: fixed.walltime, count: 0, attempt: 1,
    }));
    const record = JSON.stringify({ func, along: fixed.along ?? null, walltime: fixed.walltime, args: fixed.args ?? [], kwargs: fixed.kwargs ?? {} });
    const counts = { total: fixed.total, completed: fixed.completed, dead: fixed.dead };
    const finished = fixed.finished ?? [];
    let after = counts;
    // outcomes first, then the messages: a job is never pushed before what finished is known again
    for (let i = 0; i < finished.length; i += 5000) {
      after = await this.transitions.resubmit(applyId, record, counts, finished.slice(i, i + 5000), []);
    }
    for (let i = 0; i < messages.length; i += 1000) {
      after = await this.transitions.resubmit(applyId, record, counts, [], messages.slice(i, i + 1000));
    }
    if (finished.length === 0 && messages.length === 0) after = await this.transitions.resubmit(applyId, record, counts, [], []);
    return after;
  }

  /**
   * Job ids present in the processing, working and completed lists (completions the watcher has not
   * handled yet count as present). A full read: for reconciling, not for hot paths.
   */
  async queuedJobIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    const add = (m: string) => {
      // the top-level job_id exactly (JSON.parse): never a "job_id" inside kwargs or a string value
      try {
        const v = JSON.parse(m) as { job_id?: unknown };
        if (typeof v.job_id === "string" && v.job_id) ids.add(v.job_id);
      } catch {
        // not JSON: no job of ours (claim or the sentinel quarantines it)
      }
    };
    for (const key of [this.keys.processing, this.keys.working, this.keys.completed, this.keys.completedInFlight]) {
      const len = await this.redis.llen(key);
      for (let i = 0; i < len; i += 5000) for (const m of await this.redis.lrange(key, i, i + 4999)) add(m);
    }
    const delayed = await this.redis.zcard(this.keys.delayed);
    for (let i = 0; i < delayed; i += 5000) for (const m of await this.redis.zrange(this.keys.delayed, i, i + 4999)) add(m);
    return ids;
  }

  /** Atomically moves up to `count` messages from processing to working, stamped; [] if none waits. */
  async claim(workerId: string, options: { count?: number; leaseMs: number; task?: string }): Promise<Claimed[]> {
    return this.transitions.claim(workerId, options.leaseMs, options.count ?? 1, options.task ?? "");
  }

  /**
   * Blocks (on a dedicated connection) until the processing queue is non-empty or `timeoutSeconds`
   * pass, without taking anything: BLMOVE of the list onto its own tail leaves it unchanged.
   */
  async waitForWork(blocking: Redis, timeoutSeconds: number): Promise<boolean> {
    const got = await blocking.blmove(this.keys.processing, this.keys.processing, "RIGHT", "RIGHT", timeoutSeconds);
    return got !== null;
  }

  /** Extends the leases of held entries (named by their lease keys: O(1) bytes each); per entry, whether it is still held. */
  async heartbeat(held: { key: string; maxTime: number }[], leaseMs: number): Promise<boolean[]> {
    if (held.length === 0) return [];
    return (await this.transitions.heartbeat(leaseMs, held)).map((x) => x === 1);
  }

  /**
   * Completes jobs: working -> completed, counted once per job (see complete-10.lua). The completion
   * messages are encoded first: one that cannot be encoded throws here, before anything moves.
   */
  async complete(items: CompleteItem[]): Promise<CompleteStatus[]> {
    if (items.length === 0) return [];
    const args = items.map((it): [string | Buffer, string, string, number, string, string] =>
      [it.entry, it.key ?? leaseKeyOf(it.entry), it.message.job_id, it.message.attempt, it.completion ?? completionMessage(it), lineageResult(it.result)]);
    return this.transitions.complete<CompleteStatus>(args);
  }

  /** Moves failed working entries on: to processing (or the delayed set) as their next attempt, or to the dead-letter list. */
  async requeue(items: RequeueItem[], options: { onlyIfExpired: boolean }): Promise<RequeueStatus[]> {
    if (items.length === 0) return [];
    return this.transitions.requeue<RequeueStatus>(
      items.map((it) => [it.entry, it.key ?? leaseKeyOf(it.entry), it.jobId, it.attempt ?? 1, it.action, it.payload, JSON.stringify(it.event),
        Math.max(0, Math.round(it.delayMs ?? 0)), it.foreignDone ?? ""]), options.onlyIfExpired);
  }

  /**
   * Moves an entry that cannot be handled from `source` (working by default, with its lease) to
   * quarantine, with the reason. The record keeps the entry as text, and its exact bytes in base64 when
   * they are not UTF-8.
   */
  async quarantine(entry: string | Buffer, reason: string, source: "working" | "completedInFlight" = "working", key?: string): Promise<boolean> {
    const record: Record<string, unknown> = { reason, raw: entry.toString(), from: source, at: Date.now() };
    if (Buffer.isBuffer(entry) && !isUtf8(entry)) record.raw_base64 = entry.toString("base64");
    const leaseKey = key ?? (source === "working" && entry.length > 0 ? leaseKeyOf(entry) : "");
    return this.transitions.quarantine(entry, leaseKey, JSON.stringify(record), reason, source);
  }

  /** Current lengths of every list of the set (`processing` includes retries backing off). */
  async lengths(): Promise<QueueLengths> {
    const k = this.keys;
    const res = await this.redis.pipeline()
      .llen(k.processing).llen(k.working).llen(k.completed).llen(k.dead).llen(k.quarantine).zcard(k.delayed).exec();
    const n = (i: number) => Number(res?.[i]?.[1] ?? 0);
    return { processing: n(0) + n(5), working: n(1), completed: n(2), dead: n(3), quarantine: n(4) };
  }

  /** The campaign's cumulative counters (one HGETALL of a small hash). */
  async stats(): Promise<QueueStats> {
    return parseStats(await this.redis.hgetall(this.keys.stats));
  }

  /**
   * The lists' lengths and the cumulative counters in one round trip (what the depth sampler takes):
   * `succeeded`, `deadLettered`, `retried` since the queue set was created.
   */
  async snapshot(): Promise<QueueLengths & { succeeded: number; deadLettered: number; retried: number }> {
    const k = this.keys;
    const res = await this.redis.pipeline()
      .llen(k.processing).llen(k.working).llen(k.completed).llen(k.dead).llen(k.quarantine).zcard(k.delayed)
      .hmget(k.stats, "completed", "dead", "retried").exec();
    const n = (i: number) => Number(res?.[i]?.[1] ?? 0);
    const s = (res?.[6]?.[1] as (string | null)[] | undefined) ?? [];
    return {
      processing: n(0) + n(5), working: n(1), completed: n(2), dead: n(3), quarantine: n(4),
      succeeded: Number(s[0] ?? 0), deadLettered: Number(s[1] ?? 0), retried: Number(s[2] ?? 0),
    };
  }

  /**
   * The job waiting longest among the next `scan` in line at the claim end of the processing queue, and
   * since when it waits: a first attempt since its apply's submission, a retry since its last lineage
   * event (retries go to the claim end, so the oldest first attempt sits right behind them). Bounded:
   * one LRANGE of `scan` entries and one pipelined read per entry. Undefined if none waits.
   */
  async oldestWaiting(scan = 20): Promise<{ jobId: string; since?: number } | undefined> {
    const entries = await this.redis.lrange(this.keys.processing, -scan, -1);
    if (entries.length === 0) return undefined;
    const jobs: { jobId: string; attempt: number }[] = [];
    for (const entry of entries) {
      try {
        const v = JSON.parse(entry) as { job_id?: unknown; attempt?: unknown };
        if (typeof v.job_id === "string") jobs.push({ jobId: v.job_id, attempt: typeof v.attempt === "number" ? v.attempt : 1 });
      } catch {
        // not JSON: claim quarantines it
      }
    }
    if (jobs.length === 0) return { jobId: "(messages without a job_id)" };
    const pipe = this.redis.pipeline();
    for (const j of jobs) {
      const applyId = applyIdOf(j.jobId);
      if (j.attempt > 1 || !applyId) pipe.lindex(this.keys.lineagePrefix + j.jobId, -1);
      else pipe.hget(this.keys.applyPrefix + applyId, "submitted_at");
    }
    const res = (await pipe.exec()) ?? [];
    let best: { jobId: string; since?: number } = { jobId: jobs[jobs.length - 1].jobId };
    jobs.forEach((j, i) => {
      const v = res[i]?.[1] as string | null | undefined;
      let since: number | undefined;
      if (v) {
        try {
          since = j.attempt > 1 || !applyIdOf(j.jobId) ? (JSON.parse(v) as { t: number }).t : Number(v);
        } catch {
          since = undefined;
        }
      }
      if (since !== undefined && Number.isFinite(since) && (best.since === undefined || since < best.since)) best = { jobId: j.jobId, since };
    });
    return best;
  }

  /** Milliseconds until the next retry backing off is due (0 if one is due now); undefined if none waits. */
  async nextRetryDueIn(): Promise<number | undefined> {
    const [next, time] = await Promise.all([this.redis.zrange(this.keys.delayed, 0, 0, "WITHSCORES"), this.redis.time()]);
    if (next.length < 2) return undefined;
    return Math.max(0, Number(next[1]) - (Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000)));
  }

  /** Counts of one apply: how many were submitted, completed, dead-lettered. */
  async progress(applyId: string): Promise<ApplyProgress> {
    const h = await this.redis.hgetall(this.keys.applyPrefix + applyId);
    return {
      total: Number(h.total ?? 0),
      completed: Number(h.completed ?? 0),
      dead: Number(h.dead ?? 0),
      retried: Number(h.retried ?? 0),
      submittedAt: h.submitted_at ? Number(h.submitted_at) : undefined,
    };
  }

  /** Dead-letter records, newest first. */
  async deadLetters(start = 0, stop = 99): Promise<DeadLetter[]> {
    return (await this.redis.lrange(this.keys.dead, start, stop)).map((s) => JSON.parse(s) as DeadLetter);
  }

  /** Quarantine records, newest first. */
  async quarantined(start = 0, stop = 99): Promise<QuarantineRecord[]> {
    return (await this.redis.lrange(this.keys.quarantine, start, stop)).map((s) => JSON.parse(s) as QuarantineRecord);
  }

  /**
   * Deletes every key of this queue set (and only those: its basename's keys and the three named
   * lists). Never FLUSHALL/FLUSHDB: other users share the server. Returns how many keys went.
   */
  async clear(): Promise<number> {
    const k = this.keys;
    // the open applies go first: a sentinel sweeping meanwhile must not take jobs for vanished
    let deleted = await this.redis.del(k.openApplies);
    deleted += await this.redis.del(k.processing, k.working, k.completed);
    const stream = this.redis.scanStream({ match: keyPattern(this.config.redis.basename), count: 1000 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      if (batch.length > 0) deleted += await this.redis.unlink(...batch);
    }
    return deleted;
  }
}

function parseStats(h: Record<string, string>): QueueStats {
  const out: QueueStats = {
    completed: Number(h.completed ?? 0), dead: Number(h.dead ?? 0), retried: Number(h.retried ?? 0),
    retriedBySentinel: Number(h.retried_by_sentinel ?? 0), released: Number(h.released ?? 0), retriedByCause: {}, deadByCause: {},
  };
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith("retried:")) out.retriedByCause[k.slice(8)] = Number(v);
    else if (k.startsWith("dead:")) out.deadByCause[k.slice(5)] = Number(v);
  }
  return out;
}

export interface DeadLetter {
  reason: string;
  cause?: string;
  job_id?: string;
  func?: string;
  message: string;
  at: number;
}

export interface QuarantineRecord {
  reason: string;
  raw: string;
  /** The exact bytes, when they are not UTF-8 text. */
  raw_base64?: string;
  from: string;
  at: number;
}

/**
 * The message a finished job leaves on the completed queue for the graph's watcher. A dead-lettered job
 * leaves one too, with `status: "dead"` and the reason (the watcher builds it from the dead notice).
 */
export interface CompletionMessage {
  status?: "completed" | "dead";
  /**
   * Finished by a foreign worker: the job left working (or every queue) without a completion message, as
   * AutoCNet's worker finishes. A notice found that way once everything drained has no `id` (nor kwargs):
   * the graph's ledger fills them in from the apply before anyone sees it.
   */
  foreign?: boolean;
  reason?: string;
  cause?: string;
  job_id: string;
  id: Target;
  along: string;
  func: string;
  attempt: number;
  count: number;
  kwargs: Record<string, unknown>;
  param_step?: number;
  worker?: string;
  finished_at: number;
  result?: unknown;
}

/** The most of a job's return value its lineage keeps (bytes of JSON); larger ones are recorded by size. */
export const LINEAGE_RESULT_BYTES = 512;

/**
 * A job's return value as its lineage's completed event carries it: `,"result":<JSON>` up to
 * LINEAGE_RESULT_BYTES, else `,"result":{"truncated":true,"bytes":N}`; '' when it returned nothing. (The
 * whole value, up to 16 KiB, is in the completion message, the ledger and `jobStatus[func].result`.)
 */
export function lineageResult(result: unknown): string {
  if (result === undefined) return "";
  let text: string | undefined;
  try {
    text = JSON.stringify(result);
  } catch {
    return "";
  }
  if (text === undefined) return "";
  const bytes = text.length * 3 <= LINEAGE_RESULT_BYTES ? text.length : Buffer.byteLength(text);
  return bytes <= LINEAGE_RESULT_BYTES ? `,"result":${text}` : `,"result":{"truncated":true,"bytes":${Buffer.byteLength(text)}}`;
}

/** The completion message of a finished job, encoded (throws if its kwargs or result cannot be). */
export function completionMessage(it: CompleteItem): string {
  const m = it.message;
  const out: CompletionMessage = {
    job_id: m.job_id, id: m.id, along: m.along, func: m.func, attempt: m.attempt, count: m.count,
    kwargs: m.kwargs, worker: it.worker ?? m.worker, finished_at: Date.now(),
  };
  if (m.param_step !== undefined) out.param_step = m.param_step;
  if (it.result !== undefined) out.result = it.result;
  return JSON.stringify(out);
}

async function execOrThrow(pipe: ReturnType<Redis["pipeline"]>): Promise<void> {
  const res = await pipe.exec();
  for (const [err] of res ?? []) if (err) throw err;
}
