import type { ChainableCommander, Redis } from "ioredis";
import type { QueueKeys } from "./keys";
import { pipeScript, runScript } from "./scripts";

/**
 * The only caller of the Lua transition scripts (as BullMQ's `Scripts` class): one method per script in
 * ./commands, each building its KEYS and ARGV in one place. Everything that moves a job between durable
 * places goes through here; the classes above (QueueSet, Worker, Sentinel) stay thin.
 */
export class Transitions {
  constructor(readonly redis: Redis, readonly keys: QueueKeys, private readonly defaultWalltime: number) {}

  /** push-3: queues one batch of encoded messages of one apply on a pipeline (and records the apply once). */
  pipePush(pipe: ChainableCommander, applyId: string, record: string, messages: string[]): void {
    const k = this.keys;
    pipeScript(pipe, "push", [k.processing, k.applies, k.applyPrefix + applyId], [applyId, record, ...messages]);
  }

  /** claim-5: up to `count` messages from processing to working, stamped; [entry, maxTime] per claim. */
  async claim(workerId: string, leaseMs: number, count: number, task: string): Promise<{ entry: string; maxTime: number }[]> {
    const k = this.keys;
    const flat = await runScript<(string | number)[]>(this.redis, "claim",
      [k.processing, k.working, k.deadlines, k.outcomes, k.quarantine],
      [workerId, Math.round(leaseMs), this.defaultWalltime, count, k.lineagePrefix, task]);
    const out: { entry: string; maxTime: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ entry: String(flat[i]), maxTime: Number(flat[i + 1]) });
    return out;
  }

  /** heartbeat-1: extends leases; 1 per entry still held, 0 otherwise. */
  heartbeat(leaseMs: number, held: { entry: string; maxTime: number }[]): Promise<number[]> {
    const args: (string | number)[] = [Math.round(leaseMs)];
    for (const h of held) args.push(h.entry, h.maxTime);
    return runScript<number[]>(this.redis, "heartbeat", [this.keys.deadlines], args);
  }

  /** complete-7: working -> completed, counted once per job. Items: [entry, jobId, attempt, completion message]. */
  complete<S>(items: [entry: string, jobId: string, attempt: number, completion: string][]): Promise<S[]> {
    const k = this.keys;
    return runScript<S[]>(this.redis, "complete",
      [k.working, k.deadlines, k.completed, k.outcomes, k.retries, k.processing, k.dead],
      [k.lineagePrefix, k.applyPrefix, ...items.flat()]);
  }

  /** requeue-7: working -> processing (next attempt) or the dead-letter list. Items: [entry, jobId, action, payload, event]. */
  requeue<S>(items: [entry: string, jobId: string, action: string, payload: string, event: string][], onlyIfExpired: boolean): Promise<S[]> {
    const k = this.keys;
    return runScript<S[]>(this.redis, "requeue",
      [k.working, k.deadlines, k.processing, k.dead, k.outcomes, k.retries, k.completed],
      [k.lineagePrefix, k.applyPrefix, onlyIfExpired ? "1" : "0", ...items.flat()]);
  }

  /** quarantine-3: an entry from `source` to quarantine with its record; false if it was not there. */
  async quarantine(entry: string, record: string, source: "working" | "completedInFlight"): Promise<boolean> {
    const k = this.keys;
    return (await runScript<number>(this.redis, "quarantine", [k[source], k.deadlines, k.quarantine], [entry, record])) === 1;
  }

  /** adopt-2: working entries without a deadline get first-seen + walltime; returns how many. */
  adopt(entries: string[]): Promise<number> {
    const k = this.keys;
    return runScript<number>(this.redis, "adopt", [k.working, k.deadlines], [this.defaultWalltime, k.lineagePrefix, ...entries]);
  }

  /** expired-1: up to `limit` entries whose deadline passed: {now, entries with their deadlines}. */
  async expired(limit: number): Promise<{ now: number; entries: string[] }> {
    const found = await runScript<string[]>(this.redis, "expired", [this.keys.deadlines], [limit]);
    const entries: string[] = [];
    for (let i = 1; i < found.length; i += 2) entries.push(found[i]!);
    return { now: Number(found[0]), entries };
  }

  /** lock-1: takes or extends the sentinel's sweep lock for `ttlMs` (or releases it); whether this token holds it. */
  async lock(token: string, ttlMs: number, release = false): Promise<boolean> {
    return (await runScript<number>(this.redis, "lock", [this.keys.sentinelLock], [token, ttlMs, release ? "1" : "0"])) === 1;
  }
}
