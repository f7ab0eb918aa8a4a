import type { FailureCause } from "../queue/failure-causes";
import type { JobMessage } from "../queue/message";
import { MAX_NESTING, nestingDepth, nextAttempt } from "../queue/message";
import type { RequeueItem } from "../queue/queue-set";

export type { FailureCause };

export interface Failure {
  cause: FailureCause;
  /** The error message, for exceptions. */
  error?: string;
}

/** What a re-parameterise hook returns: changes for the next attempt, or `false` to give up now. */
export type RetryChanges = { kwargs?: Record<string, unknown>; walltime?: number; param_step?: number } | false | undefined;

export interface RetryPolicy {
  /** Failures after which the job goes to the dead-letter list (default: config `cluster.maxfailures`). */
  maxfailures?: number;
  /** The "smarts": given the failed message and the cause, the next attempt's parameters. */
  reparameterize?: (message: JobMessage, failure: Failure) => RetryChanges;
}

/**
 * A re-parameterise hook that walks a ladder of kwargs, one step per failure, like AutoCNet's ring
 * matcher's `{target_points, tolerance}` steps: attempt n runs with `steps[param_step]` merged into kwargs.
 * Past the last step it gives up.
 */
export function ladder(steps: Record<string, unknown>[]): NonNullable<RetryPolicy["reparameterize"]> {
  return (message) => {
    const step = (message.param_step ?? 0) + 1;
    if (step >= steps.length) return false;
    return { kwargs: { ...message.kwargs, ...steps[step] }, param_step: step };
  };
}

/** A re-parameterise hook that multiplies the walltime after a walltime failure (capped). */
export function growWalltime(factor = 2, maxSeconds = 7 * 86400): NonNullable<RetryPolicy["reparameterize"]> {
  return (message, failure) =>
    failure.cause === "walltime" ? { walltime: Math.min(maxSeconds, Math.ceil(message.walltime * factor)) } : undefined;
}

/** What decideRetry falls back on when a function's policy does not say (from `cluster:`). */
export interface RetryDefaults {
  /** `cluster.maxfailures`. */
  maxfailures: number;
  /** `cluster.retry_backoff`: seconds before a failed job's first retry (0: at once). */
  backoff?: number;
  /** `cluster.retry_backoff_max`: the longest backoff, in seconds. */
  backoffMax?: number;
  /** `cluster.max_infra_failures`: attempts an unreachable database or Redis may cost a job. */
  maxInfraFailures?: number;
  /** `cluster.max_message_bytes`: a retry policy may not make the next message larger. */
  maxMessageBytes?: number;
}

/** The retry defaults of a config's `cluster:` section. */
export function retryDefaults(cluster: {
  maxfailures: number; retry_backoff: number; retry_backoff_max: number; max_infra_failures: number; max_message_bytes: number;
}): RetryDefaults {
  return {
    maxfailures: cluster.maxfailures, backoff: cluster.retry_backoff, backoffMax: cluster.retry_backoff_max,
    maxInfraFailures: cluster.max_infra_failures, maxMessageBytes: cluster.max_message_bytes,
  };
}

/**
 * The backoff before the retry that follows the n-th failure (n from 1): exponential, `base` doubling per
 * failure up to `max`, with "equal jitter" (between half and all of it), so that jobs failing together
 * (a database restart) do not come back together. Milliseconds.
 */
export function backoffMs(n: number, base: number, max: number, random: () => number = Math.random): number {
  if (base <= 0) return 0;
  const full = Math.min(max, base * 2 ** Math.max(0, n - 1)) * 1000;
  return Math.round(full / 2 + random() * (full / 2));
}

/**
 * Decides what happens to a failed attempt. Pure: the entry stays in working (durable) while this runs;
 * the caller then moves it with one atomic requeue. A hook that throws counts as "give up", with the
 * hook's error in the reason, so a buggy policy cannot loop a job forever; so does a next attempt that
 * cannot be encoded. A job that threw (cause `exception`) or could not reach the infrastructure (cause
 * `infrastructure`) backs off before its retry; walltime, heartbeat and terminated failures are retried
 * at once. An infrastructure failure does not spend `maxfailures` (the job was not at fault) and keeps
 * its parameters, up to `maxInfraFailures` attempts.
 */
export function decideRetry(
  entry: string | Buffer,
  message: JobMessage,
  failure: Failure,
  policy: RetryPolicy | undefined,
  defaults: number | RetryDefaults,
): RequeueItem {
  const d: RetryDefaults = typeof defaults === "number" ? { maxfailures: defaults } : defaults;
  const infra = failure.cause === "infrastructure";
  const failures = message.count + 1;
  const infraFailures = (message.infra_failures ?? 0) + 1;
  const maxfailures = policy?.maxfailures ?? d.maxfailures;
  const base = { cause: failure.cause, a: message.attempt, ...(failure.error ? { error: truncate(failure.error) } : {}) };
  const text = entry.toString();
  // the reason says why, and what the last attempt said: "failed 3 time(s), maxfailures is 3 (cause:
  // exception): ValueError: only 5 of 15 points matched" (the dead-letter list is where people look)
  const dead = (why: string, withCause = true): RequeueItem => {
    const reason = withCause ? `${why} (cause: ${failure.cause})${failure.error ? `: ${errorSummary(failure.error)}` : ""}` : why;
    return deadItem(reason);
  };
  const deadItem = (reason: string): RequeueItem => ({
    entry,
    jobId: message.job_id,
    attempt: message.attempt,
    action: "dead",
    payload: JSON.stringify({
      reason, cause: failure.cause, job_id: message.job_id, func: message.func, message: text, at: Date.now(),
    }),
    event: { e: "dead", ...base, why: reason },
  });
  if (failure.cause === "unknown-function") return dead(failure.error ?? `unknown job function '${message.func}'`, false);
  if (infra) {
    const limit = d.maxInfraFailures ?? 30;
    if (infraFailures >= limit) {
      return dead(`the database or Redis was unreachable on ${infraFailures} attempt(s), cluster.max_infra_failures is ${limit}`);
    }
  } else if (failures >= maxfailures) {
    return dead(`failed ${failures} time(s), maxfailures is ${maxfailures}`);
  }
  let changes: RetryChanges;
  if (!infra) {
    try {
      changes = policy?.reparameterize?.(message, failure);
    } catch (err) {
      return dead(`retry policy of '${message.func}' threw: ${(err as Error).message}`);
    }
    if (changes === false) return dead(`retry policy of '${message.func}' gave up after ${failures} failure(s)`);
  }
  let next: string;
  try {
    next = nextAttempt(message, changes || {}, { infrastructure: infra });
  } catch (err) {
    return dead(`the next attempt cannot be encoded (${(err as Error).message})`);
  }
  // a retry policy's kwargs must fit like an apply's: else the next attempt would be poison
  if (d.maxMessageBytes !== undefined && next.length * 3 > d.maxMessageBytes && Buffer.byteLength(next) > d.maxMessageBytes) {
    return dead(`the retry policy of '${message.func}' made the next message ${Buffer.byteLength(next)} bytes, over cluster.max_message_bytes (${d.maxMessageBytes})`);
  }
  if (next.length > 2 * MAX_NESTING && nestingDepth(next) > MAX_NESTING) {
    return dead(`the retry policy of '${message.func}' made the next message nest deeper than ${MAX_NESTING} levels`);
  }
  const delayMs = failure.cause === "exception" || infra
    ? backoffMs(infra ? infraFailures : failures, d.backoff ?? 0, d.backoffMax ?? 60)
    : 0;
  const event: Record<string, unknown> = { e: "requeued", ...base, next: message.attempt + 1, ...(delayMs > 0 ? { backoff_ms: delayMs } : {}) };
  if (changes) {
    const from: Record<string, unknown> = {};
    const to: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(changes.kwargs ?? {})) {
      if (JSON.stringify(message.kwargs[k]) !== JSON.stringify(v)) { from[k] = message.kwargs[k] ?? null; to[k] = v; }
    }
    if (changes.walltime !== undefined && changes.walltime !== message.walltime) {
      from.walltime = message.walltime; to.walltime = changes.walltime;
    }
    if (changes.param_step !== undefined && changes.param_step !== message.param_step) {
      from.param_step = message.param_step ?? 0; to.param_step = changes.param_step;
    }
    if (Object.keys(to).length > 0) {
      // the lineage keeps a change, not a copy of large parameters
      const size = JSON.stringify({ from, to }).length;
      event.params = size <= 2048 ? { from, to } : { from: { truncated: true }, to: { truncated: true, bytes: size } };
    }
  }
  return { entry, jobId: message.job_id, attempt: message.attempt, action: "retry", payload: next, event, delayMs };
}

function truncate(s: string, n = 300): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/**
 * An error message as a dead-letter reason carries it: its first line (a traceback's last line is the
 * error itself, so a multi-line message keeps that too), blanks collapsed, at most `n` characters, cut at a
 * word boundary with "…".
 */
export function errorSummary(error: string, n = 200): string {
  const lines = error.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  let s = lines.length <= 1 ? (lines[0] ?? "") : /^Traceback/.test(lines[0]) ? lines[lines.length - 1] : `${lines[0]} …`;
  s = s.replace(/\s+/g, " ");
  if (s.length <= n) return s;
  const cut = s.slice(0, n - 1);
  const space = cut.lastIndexOf(" ");
  return `${space > n * 0.6 ? cut.slice(0, space) : cut}…`;
}
