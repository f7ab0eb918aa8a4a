import { isUtf8 } from "buffer";
import type { ChainableCommander, Redis } from "ioredis";
import type { QueueKeys } from "./keys";
import { pipeScript, runScript, runScriptBuffer } from "./scripts";

/** A working entry, exactly as Redis holds it, with its lease. */
export interface ClaimedEntry {
  /** The entry's bytes (made on first use from `bytes`). */
  readonly raw: Buffer;
  /** The entry as text (for display; equal to `raw` when it is valid UTF-8). */
  readonly entry: string;
  /**
   * What later transitions send to match the entry byte for byte: `entry` when the bytes are valid UTF-8
   * (the text then encodes back to exactly them, and a string travels cheaper than a Buffer), else a Buffer.
   */
  readonly bytes: string | Buffer;
  /** When this attempt is over (epoch ms, Redis clock). */
  readonly maxTime: number;
  /** Its lease key: what heartbeats name (16 hex digits, whatever the message size). */
  readonly key: string;
}

class Claim implements ClaimedEntry {
  constructor(readonly entry: string, readonly bytes: string | Buffer, readonly maxTime: number, readonly key: string) {}

  get raw(): Buffer {
    return typeof this.bytes === "string" ? Buffer.from(this.bytes, "utf8") : this.bytes;
  }
}

type Bytes = string | Buffer;

/**
 * The only caller of the Lua transition scripts (as BullMQ's `Scripts` class): one method per script in
 * ./commands, each building its KEYS and ARGV in one place. Everything that moves a job between durable
 * places goes through here; the classes above (QueueSet, Worker, Sentinel) stay thin. Entries are matched
 * byte for byte: as text when they are valid UTF-8, as Buffers otherwise.
 */
export class Transitions {
  constructor(
    readonly redis: Redis,
    readonly keys: QueueKeys,
    private readonly defaultWalltime: number,
    private readonly maxMessageBytes: number,
  ) {}

  /** push-4: queues one batch of encoded messages of one apply on a pipeline (and records the apply once). */
  pipePush(pipe: ChainableCommander, applyId: string, record: string, messages: string[]): void {
    const k = this.keys;
    pipeScript(pipe, "push", [k.processing, k.applies, k.applyPrefix + applyId, k.openApplies], [applyId, record, ...messages]);
  }

  /** claim-11: up to `count` messages from processing to working, stamped and leased. */
  async claim(workerId: string, leaseMs: number, count: number, task: string): Promise<ClaimedEntry[]> {
    const k = this.keys;
    // Replies as text: the common case, and the cheapest. An entry that is not valid UTF-8 comes back with
    // U+FFFD in place of its bad bytes; only then are its exact bytes read, from its lease (claim just wrote it).
    const flat = await runScript<(string | number)[]>(this.redis, "claim",
      [k.processing, k.working, k.deadlines, k.leases, k.outcomes, k.quarantine, k.delayed, k.sequence, k.completed, k.applies, k.stats],
      [workerId, Math.round(leaseMs), this.defaultWalltime, count, k.lineagePrefix, task, this.maxMessageBytes, k.applyPrefix]);
    const out: ClaimedEntry[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const entry = flat[i] as string;
      const key = String(flat[i + 2]);
      let bytes: string | Buffer = entry;
      if (entry.includes("\uFFFD")) {
        // (a lease already gone means the entry left working too: the text is all there is, and the
        // transitions that later try to match it find nothing to move)
        // (should Redis fail right here, the text stays: the entries of this claim are still started, and
        // one whose text cannot be matched is left in working for the sentinel, which reads it as bytes)
        const exact = await this.redis.hgetBuffer(k.leases, key).catch(() => null);
        if (exact && !isUtf8(exact)) bytes = exact;
      }
      out.push(new Claim(entry, bytes, Number(flat[i + 1]), key));
    }
    return out;
  }

  /** heartbeat-1: extends leases, named by their keys (O(1) bytes per entry); 1 per entry still held, 0 otherwise. */
  heartbeat(leaseMs: number, held: { key: string; maxTime: number }[]): Promise<number[]> {
    const args: (string | number)[] = [Math.round(leaseMs)];
    for (const h of held) args.push(h.key, h.maxTime);
    return runScript<number[]>(this.redis, "heartbeat", [this.keys.deadlines], args);
  }

  /**
   * complete-10: working -> completed, counted once per job. Items: [entry, lease key, jobId, attempt,
   * completion message, the lineage event's result field ('' or ',"result":…', capped)].
   */
  complete<S>(items: [entry: Bytes, key: string, jobId: string, attempt: number, completion: string, lineageResult: string][]): Promise<S[]> {
    const k = this.keys;
    const args: (Bytes | number)[] = [k.lineagePrefix, k.applyPrefix];
    for (const it of items) for (const a of it) args.push(a);
    return runScript<S[]>(this.redis, "complete",
      [k.working, k.deadlines, k.leases, k.completed, k.outcomes, k.retries, k.processing, k.dead, k.delayed, k.stats], args);
  }

  /**
   * requeue-10: working -> processing (next attempt, or the delayed set while backing off) or the
   * dead-letter list. Items: [entry, lease key, jobId, attempt, action, payload, event, backoff ms,
   * completion notice if an adopted entry turns out to have left working on its own ('' otherwise)].
   */
  requeue<S>(items: [entry: Bytes, key: string, jobId: string, attempt: number, action: string, payload: string, event: string,
    delayMs: number, foreignDone: string][], onlyIfExpired: boolean): Promise<S[]> {
    const k = this.keys;
    return runScript<S[]>(this.redis, "requeue",
      [k.working, k.deadlines, k.leases, k.processing, k.dead, k.outcomes, k.retries, k.completed, k.delayed, k.stats],
      [k.lineagePrefix, k.applyPrefix, onlyIfExpired ? "1" : "0", ...items.flat()]);
  }

  /**
   * quarantine-8: an entry from `source` to quarantine with its record (and its lease dropped); false if
   * it was not there. An empty entry drops only the lease (a deadline whose entry is gone). A job of an
   * apply quarantined from working is counted as dead, with a notice for the ledger.
   */
  async quarantine(entry: Bytes, key: string, record: string, reason: string, source: "working" | "completedInFlight"): Promise<boolean> {
    const k = this.keys;
    return (await runScript<number>(this.redis, "quarantine",
      [k[source], k.deadlines, k.leases, k.quarantine, k.outcomes, k.completed, k.applies, k.stats],
      [entry, key, record, reason, k.lineagePrefix, k.applyPrefix, source === "working" ? "1" : "0"])) === 1;
  }

  /** adopt-3: working entries without a lease get first-seen + walltime; returns how many. */
  adopt(entries: Buffer[]): Promise<number> {
    const k = this.keys;
    return runScript<number>(this.redis, "adopt", [k.working, k.deadlines, k.leases],
      [this.defaultWalltime, k.lineagePrefix, this.maxMessageBytes, ...entries]);
  }

  /** expired-2: up to `limit` leases whose deadline passed, with their entries (null: the lease lost its entry). */
  async expired(limit: number): Promise<{ now: number; items: { key: string; raw: Buffer | null }[] }> {
    const found = await runScriptBuffer<(Buffer | number | null)[]>(this.redis, "expired", [this.keys.deadlines, this.keys.leases], [limit]);
    const items: { key: string; raw: Buffer | null }[] = [];
    for (let i = 1; i < found.length; i += 2) items.push({ key: String(found[i]), raw: (found[i + 1] as Buffer | null) ?? null });
    return { now: Number(found[0]), items };
  }

  /** lock-1: takes or extends the sentinel's sweep lock for `ttlMs` (or releases it); whether this token holds it. */
  async lock(token: string, ttlMs: number, release = false): Promise<boolean> {
    return (await runScript<number>(this.redis, "lock", [this.keys.sentinelLock], [token, ttlMs, release ? "1" : "0"])) === 1;
  }

  /** promote-2: retries whose backoff is over, delayed -> processing; how many moved. */
  promote(limit: number): Promise<number> {
    return runScript<number>(this.redis, "promote", [this.keys.delayed, this.keys.processing], [limit]);
  }

  /**
   * resubmit-5: reconcile's put-back of one apply: outcomes Redis lost (set where missing), counters
   * raised to at least the ledger's, first attempts pushed. Returns the counters after the call.
   */
  async resubmit(applyId: string, record: string, counts: { total: number; completed: number; dead: number },
    outcomes: [jobId: string, outcome: string][], messages: string[]): Promise<{ total: number; completed: number; dead: number }> {
    const k = this.keys;
    const [total, completed, dead] = await runScript<number[]>(this.redis, "resubmit",
      [k.processing, k.applies, k.applyPrefix + applyId, k.outcomes, k.openApplies],
      [applyId, record, counts.total, counts.completed, counts.dead, outcomes.length, ...outcomes.flat(), ...messages]);
    return { total: Number(total), completed: Number(completed), dead: Number(dead) };
  }

  /** vanished-10: once everything is drained, jobs of open applies that left the queues without an outcome; [found, checked]. */
  async vanished(budget: number): Promise<{ found: number; checked: number }> {
    const k = this.keys;
    const [found, checked] = await runScript<number[]>(this.redis, "vanished",
      [k.processing, k.working, k.delayed, k.completed, k.completedInFlight, k.openApplies, k.outcomes, k.applies, k.retries, k.stats],
      [k.lineagePrefix, k.applyPrefix, budget]);
    return { found: Number(found), checked: Number(checked) };
  }
}
