import type { Redis } from "ioredis";
import type { Config } from "../config";
import { keyPattern, queueKeys, type QueueKeys } from "./keys";
import { jobIdOf, newApplyId } from "./job-id";
import { encodeMessage, firstAttemptEncoder, isEdgeTarget, type JobMessage, type Target } from "./message";
import { Transitions } from "./transitions";
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
  processing: number;
  working: number;
  completed: number;
  dead: number;
  quarantine: number;
}

export interface ApplyProgress {
  total: number;
  completed: number;
  dead: number;
  submittedAt?: number;
}

/** One claimed job as a worker holds it: the exact working entry (needed to complete it) and its max_time. */
export interface Claimed {
  entry: string;
  maxTime: number;
}

export interface CompleteItem {
  entry: string;
  message: JobMessage;
  /** JSON-serialisable result, carried in the completion message. */
  result?: unknown;
  worker?: string;
}

export type CompleteStatus = "completed" | "late" | "duplicate";

export interface RequeueItem {
  entry: string;
  jobId: string;
  action: "retry" | "dead";
  /** The next attempt's message, or the dead-letter record. */
  payload: string;
  /** Lineage event (JSON object) describing why. */
  event: Record<string, unknown>;
}

export type RequeueStatus = "requeued" | "dead" | "alive" | "gone" | "finished";

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
    this.transitions = new Transitions(redis, this.keys, config.cluster.walltime);
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
    for (const target of targets) {
      const own = options.kwargsFor?.(target, count);
      const along = isEdgeTarget(target) ? "edge" : "node";
      batch.push(own
        ? encodeMessage({
          job_id: jobIdOf(applyId, count), id: target, along: options.along ?? along, func, args,
          kwargs: { ...kwargs, ...own }, walltime, count: 0, attempt: 1,
        })
        : fast[along](jobIdOf(applyId, count), target));
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
   * Pushes first attempts again under their original job ids (`<applyId>-<index>`), and resets the apply's
   * counters: what `reconcile` does after Redis lost its data. `finished` jobs count as done.
   */
  async resubmit(applyId: string, func: string, jobs: { index: number; target: Target; kwargs?: Record<string, unknown> }[], fixed: {
    along?: string; args?: unknown[]; kwargs?: Record<string, unknown>; walltime: number; total: number; completed: number; dead: number;
  }): Promise<void> {
    const k = this.keys;
    const messages = jobs.map(({ index, target, kwargs }) => encodeMessage({
      job_id: jobIdOf(applyId, index), id: target, along: fixed.along ?? (isEdgeTarget(target) ? "edge" : "node"), func,
      args: fixed.args ?? [], kwargs: kwargs ?? fixed.kwargs ?? {}, walltime: fixed.walltime, count: 0, attempt: 1,
    }));
    const record = JSON.stringify({ func, along: fixed.along ?? null, walltime: fixed.walltime, args: fixed.args ?? [], kwargs: fixed.kwargs ?? {} });
    const pipe = this.redis.pipeline()
      .hset(k.applyPrefix + applyId, { total: fixed.total - messages.length, completed: fixed.completed, dead: fixed.dead });
    for (let i = 0; i < messages.length; i += 1000) {
      this.transitions.pipePush(pipe, applyId, i === 0 ? record : "", messages.slice(i, i + 1000));
    }
    if (messages.length === 0) pipe.hsetnx(k.applies, applyId, record);
    await execOrThrow(pipe);
  }

  /**
   * Job ids present in the processing, working and completed lists (completions the watcher has not
   * handled yet count as present). A full read: for reconciling, not for hot paths.
   */
  async queuedJobIds(): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const key of [this.keys.processing, this.keys.working, this.keys.completed, this.keys.completedInFlight]) {
      const len = await this.redis.llen(key);
      for (let i = 0; i < len; i += 5000) {
        for (const m of await this.redis.lrange(key, i, i + 4999)) {
          const id = /"job_id"\s*:\s*"([^"]*)"/.exec(m)?.[1];
          if (id) ids.add(id);
        }
      }
    }
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

  /** Extends the leases of held entries; returns, per entry, whether it is still held. */
  async heartbeat(held: Claimed[], leaseMs: number): Promise<boolean[]> {
    if (held.length === 0) return [];
    return (await this.transitions.heartbeat(leaseMs, held)).map((x) => x === 1);
  }

  /** Completes jobs: working -> completed, counted once per job (see complete-7.lua). */
  async complete(items: CompleteItem[]): Promise<CompleteStatus[]> {
    if (items.length === 0) return [];
    return this.transitions.complete<CompleteStatus>(items.map((it) => [it.entry, it.message.job_id, it.message.attempt, completionMessage(it)]));
  }

  /** Moves failed working entries on: to processing as their next attempt, or to the dead-letter list. */
  async requeue(items: RequeueItem[], options: { onlyIfExpired: boolean }): Promise<RequeueStatus[]> {
    if (items.length === 0) return [];
    return this.transitions.requeue<RequeueStatus>(
      items.map((it) => [it.entry, it.jobId, it.action, it.payload, JSON.stringify(it.event)]), options.onlyIfExpired);
  }

  /** Moves a malformed entry from `source` (working by default) to quarantine, with the reason. */
  async quarantine(entry: string, reason: string, source: "working" | "completedInFlight" = "working"): Promise<boolean> {
    const record = JSON.stringify({ reason, raw: entry, from: source, at: Date.now() });
    return this.transitions.quarantine(entry, record, source);
  }

  /** Current lengths of every list of the set. */
  async lengths(): Promise<QueueLengths> {
    const k = this.keys;
    const res = await this.redis.pipeline()
      .llen(k.processing).llen(k.working).llen(k.completed).llen(k.dead).llen(k.quarantine).exec();
    const n = (i: number) => Number(res?.[i]?.[1] ?? 0);
    return { processing: n(0), working: n(1), completed: n(2), dead: n(3), quarantine: n(4) };
  }

  /** Counts of one apply: how many were submitted, completed, dead-lettered. */
  async progress(applyId: string): Promise<ApplyProgress> {
    const h = await this.redis.hgetall(this.keys.applyPrefix + applyId);
    return {
      total: Number(h.total ?? 0),
      completed: Number(h.completed ?? 0),
      dead: Number(h.dead ?? 0),
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
    let deleted = await this.redis.del(k.processing, k.working, k.completed);
    const stream = this.redis.scanStream({ match: keyPattern(this.config.redis.basename), count: 1000 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      if (batch.length > 0) deleted += await this.redis.unlink(...batch);
    }
    return deleted;
  }
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
  from: string;
  at: number;
}

/**
 * The message a finished job leaves on the completed queue for the graph's watcher. A dead-lettered job
 * leaves one too, with `status: "dead"` and the reason (the watcher builds it from the dead notice).
 */
export interface CompletionMessage {
  status?: "completed" | "dead";
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

function completionMessage(it: CompleteItem): string {
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
