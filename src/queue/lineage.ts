import { describeCause } from "./failure-causes";
import { applyIdOf } from "./job-id";
import type { QueueSet } from "./queue-set";

export { describeCause };

/** One recorded step of one job. `e` is what happened; `a` the attempt it happened to. */
export interface LineageEvent {
  /** Epoch ms, Redis clock. */
  t: number;
  e: "submitted" | "claimed" | "completed" | "requeued" | "dead" | "withdrawn" | "duplicate" | "dropped" | "ignored" | "adopted" | string;
  a?: number;
  /** Worker id (claimed). */
  w?: string;
  /** Cluster task label (claimed), e.g. `slurm 1234_7`. */
  task?: string;
  max_time?: number;
  cause?: string;
  error?: string;
  why?: string;
  /** Parameter change of a retry. */
  params?: { from: Record<string, unknown>; to: Record<string, unknown> };
  late?: boolean;
  next?: number;
  /** What the job returned (completed events; capped, see docs/protocol.md "Lineage"). */
  result?: unknown;
}

export interface Lineage {
  jobId: string;
  applyId?: string;
  func?: string;
  /**
   * Final outcome so far: `completed` (with the winning attempt), `dead`, `pending` (submitted or seen, not
   * finished), or `unknown`: this campaign's Redis has no record of the job at all (a mistyped id, another
   * campaign's job, or Redis lost its data: see `reconcile()`).
   */
  outcome: "completed" | "dead" | "pending" | "unknown";
  events: LineageEvent[];
}

/**
 * The lineage of one job: its submission (from its apply's record) and every recorded event, in order.
 * Reads two hash fields and one list: as fast with a million jobs recorded as with ten.
 */
export async function readLineage(queues: QueueSet, jobId: string): Promise<Lineage> {
  const k = queues.keys;
  const applyId = applyIdOf(jobId);
  const pipe = queues.redis.pipeline().lrange(k.lineagePrefix + jobId, 0, -1).hget(k.outcomes, jobId);
  if (applyId) pipe.hget(k.applies, applyId).hget(k.applyPrefix + applyId, "submitted_at");
  const res = (await pipe.exec()) ?? [];
  const raw = (res[0]?.[1] as string[] | null) ?? [];
  const outcome = res[1]?.[1] as string | null;
  const record = applyId ? (res[2]?.[1] as string | null) : null;
  const submittedAt = applyId ? Number(res[3]?.[1] ?? 0) : 0;
  const events: LineageEvent[] = [];
  let func: string | undefined;
  if (record) {
    const r = JSON.parse(record) as { func: string; walltime: number; kwargs: Record<string, unknown> };
    func = r.func;
    events.push({ t: submittedAt, e: "submitted", a: 1, why: `${r.func}, walltime ${r.walltime} s` });
  }
  for (const line of raw) {
    try {
      events.push(JSON.parse(line) as LineageEvent);
    } catch {
      events.push({ t: 0, e: "unreadable", why: line.slice(0, 200) });
    }
  }
  return {
    jobId,
    applyId: record ? applyId : undefined,
    func,
    outcome: outcome === "d" ? "dead" : outcome ? "completed" : events.length === 0 ? "unknown" : "pending",
    events,
  };
}

/**
 * A retry's parameter change as people read it: "tolerance 1→2, target_points 25→20". Internal fields
 * (`param_step`, the position in a ladder) are left out; undefined if nothing else changed.
 */
export function describeParamChange(params: LineageEvent["params"]): string | undefined {
  if (!params) return undefined;
  if ((params.to as { truncated?: boolean }).truncated) return "parameters changed (too large to show)";
  const keys = Object.keys(params.to).filter((k) => k !== "param_step");
  if (keys.length === 0) return undefined;
  return keys.map((k) => `${k} ${JSON.stringify(params.from[k] ?? null)}→${JSON.stringify(params.to[k])}`).join(", ");
}

/** A lineage as lines of text, one per event, times relative to the first. */
export function formatLineage(lineage: Lineage): string {
  const t0 = lineage.events[0]?.t ?? 0;
  if (lineage.outcome === "unknown") {
    return `job ${lineage.jobId}: unknown — this campaign has no record of it (check the id: ApplyHandle.jobId(i); or Redis lost its data: see ncg.reconcile())`;
  }
  const lines = [`job ${lineage.jobId}${lineage.func ? ` (${lineage.func})` : ""}: ${lineage.outcome}`];
  for (const ev of lineage.events) {
    const at = `+${((ev.t - t0) / 1000).toFixed(3)}s`.padStart(10);
    const parts = [`${at}  ${ev.e}${ev.a !== undefined ? ` #${ev.a}` : ""}`];
    if (ev.w) parts.push(`by ${ev.w}`);
    if (ev.task) parts.push(`[${ev.task}]`);
    if (ev.cause) parts.push(`cause: ${describeCause(ev.cause)}${ev.error ? ` (${ev.error})` : ""}`);
    else if (ev.error) parts.push(`error: ${ev.error}`);
    const change = describeParamChange(ev.params);
    if (change) parts.push(`retried with ${change}`);
    if (ev.late) parts.push("(late: after it had been requeued)");
    if (ev.why && ev.e !== "submitted") parts.push(`(${ev.why})`);
    if (ev.result !== undefined) parts.push(`result: ${JSON.stringify(ev.result)}`);
    else if (ev.why) parts.push(ev.why);
    lines.push(parts.join("  "));
  }
  return lines.join("\n");
}
