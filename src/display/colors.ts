import { OUTCOME_COLORS } from "../queue/failure-causes";

/** One palette for outcomes and queues across every display, so a colour means one thing everywhere. */
export { OUTCOME_COLORS };

export const QUEUE_COLORS: Record<string, string> = {
  processing: "#4e79a7",
  working: "#f28e2b",
  completed: "#2e8b57",
  dead: "#3b3b3b",
  quarantine: "#e15759",
};

/** The cumulative counters of the queue-depth chart: finished work, and every retry. */
export const CUMULATIVE_COLORS: Record<string, string> = {
  succeeded: "#2e8b57",
  "dead-lettered": "#3b3b3b",
  retried: "#b07aa1",
};

export const STATUS_COLORS: Record<string, string> = {
  succeeded: "#2e8b57",
  failed: "#e15759",
  "not run": "#c9c9c9",
};

export function colorScale(colors: Record<string, string>, present?: Iterable<string>) {
  const keep = present ? new Set(present) : undefined;
  const domain = Object.keys(colors).filter((k) => !keep || keep.has(k));
  return { domain, range: domain.map((k) => colors[k]) };
}
