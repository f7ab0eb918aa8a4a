import type { FailureCause } from "../queue/failure-causes";
import type { JobMessage } from "../queue/message";
import { nextAttempt } from "../queue/message";
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

/**
 * Decides what happens to a failed attempt. Pure: the entry stays in working (durable) while this runs;
 * the caller then moves it with one atomic requeue. A hook that throws counts as "give up", with the
 * hook's error in the reason, so a buggy policy cannot loop a job forever.
 */
export function decideRetry(
  entry: string,
  message: JobMessage,
  failure: Failure,
  policy: RetryPolicy | undefined,
  defaultMaxfailures: number,
): RequeueItem {
  const failures = message.count + 1;
  const maxfailures = policy?.maxfailures ?? defaultMaxfailures;
  const base = { cause: failure.cause, a: message.attempt, ...(failure.error ? { error: truncate(failure.error) } : {}) };
  const dead = (reason: string): RequeueItem => ({
    entry,
    jobId: message.job_id,
    action: "dead",
    payload: JSON.stringify({
      reason, cause: failure.cause, job_id: message.job_id, func: message.func, message: entry, at: Date.now(),
    }),
    event: { e: "dead", ...base, why: reason },
  });
  if (failure.cause === "unknown-function") return dead(failure.error ?? `unknown job function '${message.func}'`);
  if (failures >= maxfailures) return dead(`failed ${failures} time(s), maxfailures is ${maxfailures}`);
  let changes: RetryChanges;
  try {
    changes = policy?.reparameterize?.(message, failure);
  } catch (err) {
    return dead(`retry policy of '${message.func}' threw: ${(err as Error).message}`);
  }
  if (changes === false) return dead(`retry policy of '${message.func}' gave up after ${failures} failure(s)`);
  const next = nextAttempt(message, changes ?? {});
  const event: Record<string, unknown> = { e: "requeued", ...base, next: message.attempt + 1 };
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
    if (Object.keys(to).length > 0) event.params = { from, to };
  }
  return { entry, jobId: message.job_id, action: "retry", payload: next, event };
}

function truncate(s: string, n = 300): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
