import type { RedisConfig } from "../config";

/**
 * Every Redis key of one queue set. The three lists keep AutoCNet's names (config `processing_queue`,
 * `working_queue`, `completed_queue`); the rest derive from `basename`, so clearing a queue set never
 * touches another user's keys.
 */
export interface QueueKeys {
  /** List of messages waiting for a worker (pushed at the left, claimed from the right). */
  processing: string;
  /** List of claimed messages, each stamped with `max_time`. */
  working: string;
  /** Sorted set: lease key of a working entry -> the time (ms) after which it is presumed dead (lease or walltime). */
  deadlines: string;
  /** Hash: lease key (16 hex digits of the entry's SHA-1; "a" + that for adopted entries) -> the working entry, byte for byte. */
  leases: string;
  /** Sorted set: retry message -> the time (ms) its backoff ends (claim and the sentinel move it to processing then). */
  delayed: string;
  /** Hash of counters: `foreign`, the ids given to messages that came without a job_id. */
  sequence: string;
  /** Set of apply ids whose jobs may not all be accounted for yet (for finding jobs that vanished). */
  openApplies: string;
  /** List of completion messages for the graph's watcher. */
  completed: string;
  /** List the watcher moves a completion message to while its callback runs. */
  completedInFlight: string;
  /** List of jobs given up on: {reason, message, at}. */
  dead: string;
  /** List of malformed messages: {reason, raw, from, at}. */
  quarantine: string;
  /** Hash job_id -> final outcome ("c<attempt>" completed, "d" dead-lettered): counts each job once. */
  outcomes: string;
  /** Hash job_id -> its current retry message (where it waits), so a late completion can withdraw it. */
  retries: string;
  /**
   * Hash of the campaign's cumulative counters, moved by the transitions that change them (O(1) to read):
   * `completed`, `dead`, `retried` (every retry, whoever decided it), `retried_by_sentinel`, `released`,
   * and per cause `retried:<cause>`, `dead:<cause>`.
   */
  stats: string;
  /** Hash apply_id -> JSON record of one submission. */
  applies: string;
  /** Prefix of per-apply counter hashes (total, completed, dead). */
  applyPrefix: string;
  /** Prefix of per-job lineage lists. */
  lineagePrefix: string;
  /** The sentinel's sweep lock. */
  sentinelLock: string;
  /** Hash of sentinel status, for displays in other processes. */
  sentinelStatus: string;
  /** The adoption scan's cursor into the working list. */
  adoptCursor: string;
  /** Pub/sub channel: every recorded completion, so every graph on the campaign sees it (a notification, not storage). */
  completionsChannel: string;
}

export function queueKeys(redis: Pick<RedisConfig, "basename" | "processing_queue" | "working_queue" | "completed_queue">): QueueKeys {
  const b = redis.basename;
  return {
    processing: redis.processing_queue,
    working: redis.working_queue,
    deadlines: `${b}:deadlines`,
    leases: `${b}:leases`,
    delayed: `${b}:delayed`,
    sequence: `${b}:seq`,
    openApplies: `${b}:open`,
    completed: redis.completed_queue,
    completedInFlight: `${b}:completed:inflight`,
    dead: `${b}:dead`,
    quarantine: `${b}:quarantine`,
    outcomes: `${b}:outcomes`,
    retries: `${b}:retries`,
    stats: `${b}:stats`,
    applies: `${b}:applies`,
    applyPrefix: `${b}:apply:`,
    lineagePrefix: `${b}:lineage:`,
    sentinelLock: `${b}:sentinel:lock`,
    sentinelStatus: `${b}:sentinel:status`,
    adoptCursor: `${b}:sentinel:adopt-cursor`,
    completionsChannel: `${b}:completions`,
  };
}

/** A glob that matches every key of the queue set (for clearing it). */
export function keyPattern(basename: string): string {
  return `${basename.replace(/([*?[\]\\])/g, "\\$1")}:*`;
}
