import type { DeadLetter, QueueLengths, QueueSet, QueueStats } from "../queue/queue-set";
import type { DepthSample } from "./depth";

/** One apply's counters, for the campaign summary. */
export interface ApplySummary {
  applyId: string;
  func: string;
  submittedAt?: number;
  total: number;
  completed: number;
  dead: number;
  retried: number;
}

/**
 * What `statusView()` shows about a campaign (the "Flower" view of it): the cumulative counters (every
 * retry, whoever decided it), the lists now, throughput, the job waiting longest, the last dead letters
 * (job ids to pass to `lineageView`), and the latest applies. Every read is O(1) in the number of jobs.
 */
export interface CampaignSummary {
  stats: QueueStats;
  lengths: QueueLengths;
  /** Jobs finished (succeeded) per second over the last minute of depth samples; undefined without two samples. */
  throughput?: { perSecond: number; overSeconds: number };
  /** The job at the claim end of the processing queue, and since when it waits (its last event, or its submission). */
  oldestWaiting?: { jobId: string; since?: number };
  /** The most recent dead letters (newest first). */
  recentDead: Pick<DeadLetter, "job_id" | "func" | "reason" | "cause" | "at">[];
  /** The latest applies (newest first), at most `maxApplies`; `appliesTotal` says how many there are. */
  applies: ApplySummary[];
  appliesTotal: number;
  /** Redis's time of the reads (epoch ms), for "waiting for …". */
  now: number;
}

/** Reads a campaign's summary; `samples` (the graph's depth samples) give the throughput. */
export async function readCampaignSummary(queues: QueueSet, samples: DepthSample[] = [], options: { maxApplies?: number; maxDead?: number } = {}): Promise<CampaignSummary> {
  const k = queues.keys;
  const [stats, snapshot, oldestWaiting, recentDead, appliesTotal, time] = await Promise.all([
    queues.stats(), queues.snapshot(), queues.oldestWaiting(), queues.deadLetters(0, (options.maxDead ?? 3) - 1).catch(() => []),
    queues.redis.hlen(k.applies), queues.redis.time(),
  ]);
  const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const { succeeded: _s, deadLettered: _d, retried: _r, ...lengths } = snapshot;
  const maxApplies = options.maxApplies ?? 8;
  let applies: ApplySummary[] = [];
  // the applies hash holds one small record per apply call: read whole while it is of a notebook's size
  if (appliesTotal > 0 && appliesTotal <= 2000) {
    const records = await queues.redis.hgetall(k.applies);
    const ids = Object.keys(records);
    const pipe = queues.redis.pipeline();
    for (const id of ids) pipe.hmget(k.applyPrefix + id, "total", "completed", "dead", "retried", "submitted_at");
    const res = (await pipe.exec()) ?? [];
    applies = ids.map((id, i) => {
      const [total, completed, dead, retried, at] = (res[i]?.[1] as (string | null)[] | undefined) ?? [];
      let func = "?";
      try {
        func = String((JSON.parse(records[id]) as { func?: unknown }).func ?? "?");
      } catch {
        // an unreadable record: its id still shows
      }
      return { applyId: id, func, submittedAt: at ? Number(at) : undefined, total: Number(total ?? 0), completed: Number(completed ?? 0),
        dead: Number(dead ?? 0), retried: Number(retried ?? 0) };
    }).sort((a, b) => (b.submittedAt ?? 0) - (a.submittedAt ?? 0)).slice(0, maxApplies);
  }
  return {
    stats, lengths, throughput: throughputOf(samples), oldestWaiting,
    recentDead: recentDead.map(({ job_id, func, reason, cause, at }) => ({ job_id, func, reason, cause, at })), applies, appliesTotal, now,
  };
}

/** Succeeded jobs per second over the last `windowMs` of samples that carry the cumulative counter. */
export function throughputOf(samples: DepthSample[], windowMs = 60_000): CampaignSummary["throughput"] {
  const withCounts = samples.filter((s) => s.succeeded !== undefined);
  const last = withCounts[withCounts.length - 1];
  if (!last) return undefined;
  const first = withCounts.find((s) => s.t >= last.t - windowMs);
  if (!first || last.t - first.t < 1000) return undefined;
  return { perSecond: ((last.succeeded ?? 0) - (first.succeeded ?? 0)) / ((last.t - first.t) / 1000), overSeconds: (last.t - first.t) / 1000 };
}
