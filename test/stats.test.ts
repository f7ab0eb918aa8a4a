import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QueueDepthSampler } from "../src/campaign/depth";
import { Sentinel } from "../src/campaign/sentinel";
import { readCampaignSummary, type CampaignSummary } from "../src/campaign/summary";
import { sentinelStatusView } from "../src/display/status";
import { readLineage } from "../src/queue/lineage";
import { queueDepthView, type QueueDepthData } from "../src/display/queue-depth";
import { decodeMessage } from "../src/queue/message";
import { Worker } from "../src/worker/worker";
import { decideRetry } from "../src/worker/retry";
import type { QueueConnection } from "../src/worker/connection";
import { openTest, until } from "./helpers";

// Issue 13 item 1/2: the campaign's cumulative counters (<b>:stats), moved inside the transitions, so that
// displays show finished work and every retry — whoever decided it — in O(1).

let conn: QueueConnection;
beforeEach(async () => {
  conn = await openTest({ cluster: { maxfailures: 3, retry_backoff: 0 } });
});
afterEach(async () => {
  await conn.close();
});

function decode(entry: string | Buffer) {
  const d = decodeMessage(entry);
  if (!d.ok) throw new Error(d.reason);
  return d.message;
}

describe("campaign counters (<b>:stats)", () => {
  it("count completions, retries by the worker and by the sentinel, dead letters, a late completion and poison", async () => {
    const q = conn.queues;
    const sub = await q.submit("record", [1, 2, 3, 4]);
    const claimed = await q.claim("w-1", { count: 4, leaseMs: 60_000 });
    const byId = new Map(claimed.map((c) => [decode(c.raw).job_id, c]));
    const item = (i: number) => ({ c: byId.get(sub.jobId(i))!, m: decode(byId.get(sub.jobId(i))!.raw) });

    // job 0 completes
    expect(await q.complete([{ entry: item(0).c.raw, key: item(0).c.key, message: item(0).m }])).toEqual(["completed"]);
    // job 1: the worker's retry after an exception
    const r1 = decideRetry(item(1).c.raw, item(1).m, { cause: "exception", error: "ValueError: x" }, undefined, 3);
    expect(await q.requeue([{ ...r1, key: item(1).c.key }], { onlyIfExpired: false })).toEqual(["requeued"]);
    // job 3: dead-lettered at once (its policy allows one attempt)
    const r3 = decideRetry(item(3).c.raw, item(3).m, { cause: "exception", error: "boom" }, { maxfailures: 1 }, 3);
    expect(await q.requeue([{ ...r3, key: item(3).c.key }], { onlyIfExpired: false })).toEqual(["dead"]);
    expect(await q.stats()).toMatchObject({ completed: 1, dead: 1, retried: 1, retriedBySentinel: 0,
      retriedByCause: { exception: 1 }, deadByCause: { exception: 1 } });

    // job 2: the sentinel's retry after its deadline passed (a short lease, let lapse)
    await q.heartbeat([{ key: item(2).c.key, maxTime: Date.now() + 60_000 }], 1);
    await until("the lease of job 2 to lapse", async () => {
      const [s, us] = await conn.redis.time();
      const score = Number(await conn.redis.zscore(q.keys.deadlines, item(2).c.key));
      return Number(s) * 1000 + Number(us) / 1000 > score;
    });
    const r2 = decideRetry(item(2).c.raw, item(2).m, { cause: "heartbeat" }, undefined, 3);
    expect(await q.requeue([{ ...r2, key: item(2).c.key }], { onlyIfExpired: true })).toEqual(["requeued"]);

    // job 3, dead-lettered, completes after all (its original attempt was still running): it moves to completed
    expect(await q.complete([{ entry: item(3).c.raw, key: item(3).c.key, message: item(3).m }])).toEqual(["late"]);

    // a message of this apply that cannot be read is quarantined at claim, and its job counted dead (poison)
    await conn.redis.rpush(q.keys.processing, `{"job_id":"${sub.applyId}-9","walltime":60,"count":0,"attempt":1,"id":[1,2`);
    // the two retries are claimed too (they sit at the claim end), then put back unrun: a release is no retry
    const again = await q.claim("w-2", { count: 10, leaseMs: 60_000 });
    expect(again.map((c) => decode(c.raw).job_id).sort()).toEqual([sub.jobId(1), sub.jobId(2)]);
    const back = again.map((c) => ({ entry: c.raw, key: c.key, jobId: decode(c.raw).job_id, attempt: 2, action: "retry" as const,
      payload: c.entry, event: { e: "released", a: 2, why: "test" } }));
    expect(await q.requeue(back, { onlyIfExpired: false })).toEqual(["requeued", "requeued"]);

    const stats = await q.stats();
    expect(stats).toEqual({
      completed: 2, dead: 1, retried: 2, retriedBySentinel: 1, released: 2,
      retriedByCause: { exception: 1, heartbeat: 1 }, deadByCause: { exception: 1, poison: 1 },
    });
    // the apply's own counter of retries, and the snapshot the depth sampler takes
    expect(await q.progress(sub.applyId)).toMatchObject({ total: 4, completed: 2, dead: 1, retried: 2 });
    expect(await q.snapshot()).toMatchObject({ succeeded: 2, deadLettered: 1, retried: 2, processing: 2, working: 0 });
  });

  it("a real worker's retries (after exceptions) and dead letters are counted; the depth chart's cumulative lines end at them, now", async () => {
    const q = conn.queues;
    const sampler = new QueueDepthSampler(q, { intervalMs: 50 }).start();
    try {
      const ok = await q.submit("record", [1, 2, 3, 4, 5]);
      const bad = await q.submit("boom", [6, 7]); // three attempts each, then dead
      const worker = new Worker(q, conn.registry, conn.blocking, { idleSeconds: 0.3, concurrency: 2, log: () => {} });
      await worker.run();
      await until("every job to finish", async () => {
        const [a, b] = await Promise.all([q.progress(ok.applyId), q.progress(bad.applyId)]);
        return a.completed === 5 && b.dead === 2;
      });
      const stats = await q.stats();
      expect(stats).toMatchObject({ completed: 5, dead: 2, retried: 4, retriedBySentinel: 0, retriedByCause: { exception: 4 } });
      await sampler.sample();
      const view = queueDepthView(sampler.samples());
      const data = view.data as QueueDepthData;
      const lastOf = (series: string) => data.cumulative.filter((d) => d.series === series).at(-1)!;
      // the completed line ends at the number of completed jobs (not the completed list's transient depth), at "now"
      expect(lastOf("succeeded")).toEqual({ t: data.now, series: "succeeded", count: 5 });
      expect(lastOf("dead-lettered")).toEqual({ t: data.now, series: "dead-lettered", count: 2 });
      expect(lastOf("retried")).toEqual({ t: data.now, series: "retried", count: 4 });
      // the header's numbers are the chart's last values
      expect(view.text).toContain("since the start: 5 succeeded · 2 dead-lettered · 4 retried");
      // the stacked depths never overflow the panel: its y domain reaches the highest stacked total
      const totals = new Map<number, number>();
      for (const d of data.depths) totals.set(d.t, (totals.get(d.t) ?? 0) + d.count);
      expect(data.top).toBe(Math.max(...totals.values()));
      // and each line is labelled with its value at its end
      expect(view.html).toContain(">5 succeeded<");
      expect(view.html).toContain(">2 dead-lettered<");
    } finally {
      sampler.stop();
    }
  });

  it("the status view counts every retry whoever decided it (worker after an exception, sentinel after a deadline), from the counters", async () => {
    const q = conn.queues;
    const ladder = await q.submit("ring_match", [1, 2], { kwargs: { target_points: 25, tolerance: 1 } }); // two worker retries each
    const bad = await q.submit("boom", [3]); // two worker retries, then dead
    await new Worker(q, conn.registry, conn.blocking, { idleSeconds: 0.2, log: () => {} }).run();
    // a job whose worker "died": claimed by hand with a short lease, requeued by the sentinel when it lapses
    const lost = await q.submit("record", [4]);
    const [c] = await q.claim("gone-worker", { leaseMs: 1 });
    expect(decode(c.raw).job_id).toBe(lost.jobId(0));
    // one more job waits, unclaimed, submitted before the requeue: the retry goes ahead of it (claim end),
    // but it has waited longer
    const waiting = await q.submit("record", [5]);
    const sentinel = new Sentinel(q, conn.registry, { log: () => {} });
    await until("the sentinel to requeue the lost job", async () => {
      await sentinel.sweep();
      return (await q.stats()).retriedBySentinel === 1;
    });

    const summary = await readCampaignSummary(q);
    const view = sentinelStatusView(sentinel.status(), undefined, { campaign: summary });
    const data = view.data as CampaignSummary;
    // every retry the lineages record, counted from the lineages themselves
    const ids = [ladder.jobId(0), ladder.jobId(1), bad.jobId(0), lost.jobId(0)];
    const events = (await Promise.all(ids.map((id) => readLineage(q, id)))).flatMap((l) => l.events);
    const requeued = events.filter((e) => e.e === "requeued");
    expect(requeued.length).toBe(7);
    expect(data.stats.retried).toBe(requeued.length);
    expect(data.stats.retriedBySentinel).toBe(requeued.filter((e) => e.cause === "heartbeat" || e.cause === "walltime").length);
    expect(data.stats.completed).toBe(events.filter((e) => e.e === "completed").length);
    expect(data.stats.dead).toBe(events.filter((e) => e.e === "dead").length);
    expect(view.text).toMatch(/^retried\s+7 \(6 by workers, 1 by the sentinel; the job threw 6 · heartbeat lost \(worker died\?\) 1\)$/m);
    expect(view.text).toMatch(/^succeeded\s+2$/m);
    // the oldest waiting job, and the last dead letter with its reason, as job ids to follow into lineage
    expect(data.oldestWaiting?.jobId).toBe(waiting.jobId(0));
    expect(await conn.redis.lindex(q.keys.processing, -1)).toContain(lost.jobId(0)); // (the retry is next in line)
    expect(data.recentDead.map((d) => d.job_id)).toEqual([bad.jobId(0)]);
    expect(view.html).toContain(`<code>${bad.jobId(0)}</code> (boom): failed 3 time(s), maxfailures is 3 (cause: exception): boom on attempt 3`);
    expect(view.text).toContain(`await ncg.lineageView(["${bad.jobId(0)}","${waiting.jobId(0)}"])`);
    // per apply: the ladder's retries are its own
    const row = data.applies.find((a) => a.applyId === ladder.applyId)!;
    expect(row).toMatchObject({ func: "ring_match", total: 2, completed: 2, dead: 0, retried: 4 });
  });
});
