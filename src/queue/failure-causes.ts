/**
 * Why an attempt ended without completing: the one table of causes, with the label every display and
 * message uses and the colour every chart uses. Add a cause here and everything shows it alike.
 */
export const FAILURE_CAUSES = {
  walltime: { label: "walltime exceeded", outcome: "walltime exceeded", color: "#f28e2b" },
  heartbeat: { label: "heartbeat lost (worker died?)", outcome: "heartbeat lost", color: "#b07aa1" },
  exception: { label: "the job threw", outcome: "failed", color: "#e15759" },
  terminated: { label: "worker terminated", outcome: "terminated", color: "#9c755f" },
  "unknown-function": { label: "unknown job function", outcome: "failed", color: "#e15759" },
  // the job could not reach the database or Redis: retried with backoff, not counted against maxfailures
  infrastructure: { label: "database or Redis unreachable", outcome: "infrastructure", color: "#76b7b2" },
} as const;

export type FailureCause = keyof typeof FAILURE_CAUSES;

/** The outcome names of attempt bars (a cause's `outcome`, or how a successful or open attempt ended). */
export type AttemptOutcome =
  | "completed" | (typeof FAILURE_CAUSES)[FailureCause]["outcome"] | "dead-lettered" | "released" | "running";

/** Colours of attempt outcomes: the causes' colours plus the non-failures. */
export const OUTCOME_COLORS: Record<AttemptOutcome, string> = {
  completed: "#2e8b57",
  "walltime exceeded": FAILURE_CAUSES.walltime.color,
  "heartbeat lost": FAILURE_CAUSES.heartbeat.color,
  failed: FAILURE_CAUSES.exception.color,
  terminated: FAILURE_CAUSES.terminated.color,
  infrastructure: FAILURE_CAUSES.infrastructure.color,
  "dead-lettered": "#3b3b3b",
  released: "#bab0ac",
  running: "#4e79a7",
};

export function isFailureCause(cause: string): cause is FailureCause {
  return Object.prototype.hasOwnProperty.call(FAILURE_CAUSES, cause);
}

/** A cause as people read it; unknown causes (from other clients) as they came. */
export function describeCause(cause: string): string {
  return isFailureCause(cause) ? FAILURE_CAUSES[cause].label : cause;
}

/** The attempt-bar outcome of a cause. */
export function causeOutcome(cause: string): AttemptOutcome {
  return isFailureCause(cause) ? FAILURE_CAUSES[cause].outcome : "failed";
}
