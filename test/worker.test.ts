import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { QueueConnection } from "../src/worker/connection";
import { readLineage } from "../src/queue/lineage";
import { Worker } from "../src/worker/worker";
import { openTest, recorded, until } from "./helpers";

let conn: QueueConnection;
const logs: string[] = [];
beforeEach(async () => {
  conn = await openTest({ cluster: { maxfailures: 3 } });
  logs.length = 0;
});
afterEach(async () => {
  await conn.close();
});

function worker(options: ConstructorParameters<typeof Worker>[3] = {}) {
  return new Worker(conn.queues, conn.registry, conn.blocking, { idleSeconds: 0.2, log: (l) => logs.push(l), ...options });
}

describe("Worker (in process, real Redis)", () => {
  it("drains the queue: runs each registered function once and completes it", async () => {
    const key = `${conn.config.redis.basename}:out`;
    const sub = await conn.queues.submit("record", [1, 2, 3, [4, 5]], { kwargs: { key } });
    const summary = await worker({ concurrency: 3 }).run();
    expect(summary).toMatchObject({ claimed: 4, completed: 4, failed: 0, reason: "idle" });
    expect((await recorded(conn, key)).map((r) => r.id).sort()).toEqual([1, 2, 3, [4, 5]].sort());
    expect(await conn.queues.lengths()).toMatchObject({ processing: 0, working: 0, completed: 4 });
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ total: 4, completed: 4 });
    const done = JSON.parse((await conn.redis.lindex(conn.queues.keys.completed, -1))!);
    expect(done.result).toEqual({ target: 1 });
  });

  it("--once mode runs exactly one message", async () => {
    await conn.queues.submit("record", [1, 2]);
    expect(await worker({ mode: "once" }).run()).toMatchObject({ claimed: 1, completed: 1, reason: "once" });
    expect(await conn.queues.lengths()).toMatchObject({ processing: 1, completed: 1 });
  });

  it("a throwing job is retried (after a backoff, issue 12), then dead-lettered after maxfailures", async () => {
    const key = `${conn.config.redis.basename}:out`;
    const sub = await conn.queues.submit("boom", [9], { kwargs: { key } });
    const summary = await worker().run();
    expect(summary).toMatchObject({ claimed: 3, failed: 3, deadLettered: 1, completed: 0 });
    expect((await recorded(conn, key)).map((r) => r.attempt)).toEqual([1, 2, 3]);
    const [dead] = await conn.queues.deadLetters();
    // issue 13: the reason carries the cause and the last error (it used to stop at "maxfailures is 3")
    expect(dead).toMatchObject({ cause: "exception", reason: "failed 3 time(s), maxfailures is 3 (cause: exception): boom on attempt 3", job_id: sub.jobId(0) });
    const lineage = await readLineage(conn.queues, sub.jobId(0));
    expect(lineage.outcome).toBe("dead");
    expect(lineage.events.map((e) => e.e)).toEqual(["submitted", "claimed", "requeued", "claimed", "requeued", "claimed", "dead"]);
    expect(lineage.events[2]).toMatchObject({ cause: "exception", error: "boom on attempt 1" });
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ dead: 1, completed: 0 });
  });

  it("re-parameterises through a ladder until the job succeeds, recording each change", async () => {
    const key = `${conn.config.redis.basename}:out`;
    const sub = await conn.queues.submit("ring_match", [[1, 2]], { kwargs: { key, target_points: 25, tolerance: 1 } });
    expect(await worker().run()).toMatchObject({ completed: 1, failed: 2 });
    expect((await recorded(conn, key)).map((r) => (r.kwargs as { tolerance: number }).tolerance)).toEqual([1, 2, 3]);
    const lineage = await readLineage(conn.queues, sub.jobId(0));
    const retries = lineage.events.filter((e) => e.e === "requeued");
    expect(retries.map((e) => e.params)).toEqual([
      { from: { target_points: 25, tolerance: 1, param_step: 0 }, to: { target_points: 20, tolerance: 2, param_step: 1 } },
      { from: { target_points: 20, tolerance: 2, param_step: 1 }, to: { target_points: 15, tolerance: 3, param_step: 2 } },
    ]);
    expect(lineage.outcome).toBe("completed");
  });

  it("an unknown func is dead-lettered with a reason and never evaluated", async () => {
    await conn.redis.lpush(conn.queues.keys.processing, JSON.stringify({ job_id: "x-1", id: 1, func: "child_process.execSync", args: ["touch /tmp/pwned"] }));
    expect(await worker().run()).toMatchObject({ deadLettered: 1, completed: 0 });
    const [dead] = await conn.queues.deadLetters();
    expect(dead.cause).toBe("unknown-function");
    expect(dead.reason).toMatch(/^unknown job function 'child_process\.execSync'; this worker registers: .*record.*Add its module to 'jobs:'/);
    expect(await conn.queues.lengths()).toMatchObject({ working: 0, dead: 1 });
  });

  it("malformed messages go to quarantine while the worker keeps going", async () => {
    const key = `${conn.config.redis.basename}:out`;
    await conn.queues.submit("record", [1], { kwargs: { key } });
    await conn.redis.lpush(conn.queues.keys.processing,
      "{broken json", JSON.stringify({ id: 1 }), JSON.stringify({ id: 1, func: "record", count: "two" }));
    await conn.queues.submit("record", [2], { kwargs: { key } });
    const summary = await worker().run();
    // "{broken json" is not even an object: the claim script quarantines it before the worker sees it
    expect(summary).toMatchObject({ completed: 2, quarantined: 2 });
    const reasons = (await conn.queues.quarantined()).map((q) => q.reason).sort();
    expect(reasons).toEqual([
      "'count' is not a non-negative whole number (got \"two\")",
      "missing or non-string 'func'",
      "not a JSON object",
    ]);
    expect(await conn.queues.lengths()).toMatchObject({ working: 0, processing: 0, completed: 2, quarantine: 3 });
  });

  it("a message without count (AutoCNet's KeyError: 'count') runs as attempt 1", async () => {
    const key = `${conn.config.redis.basename}:out`;
    await conn.redis.lpush(conn.queues.keys.processing, JSON.stringify({ id: [7, 8], func: "record", kwargs: { key } }));
    expect(await worker().run()).toMatchObject({ completed: 1 });
    expect((await recorded(conn, key))[0]).toMatchObject({ id: [7, 8], attempt: 1 });
  });

  it("a job that honours its abort signal fails at walltime without waiting for the sentinel", async () => {
    const sub = await conn.queues.submit("sleep", [1], { walltime: 1, kwargs: { seconds: 30 } });
    const w = worker();
    const run = w.run();
    // the first attempt aborts at 1 s; the sentinel (not running here) could not have done it
    const requeued = await until("the walltime requeue", async () => {
      const events = (await readLineage(conn.queues, sub.jobId(0))).events;
      return events.find((e) => e.e === "requeued");
    }, 10_000);
    await w.terminate();
    await run;
    expect(requeued).toMatchObject({ cause: "walltime", a: 1 });
  });

  it("claims ahead only for fast jobs, and on SIGTERM puts a claimed-ahead job back without counting a failure", async () => {
    const key = `${conn.config.redis.basename}:out`;
    await conn.queues.submit("noop", [0]);                                       // teaches the worker that jobs are fast
    const held = await conn.queues.submit("hold", [1], { kwargs: { key, seconds: 30 } });
    const ahead = await conn.queues.submit("record", [2], { kwargs: { key } });
    const w = worker({ concurrency: 1, mode: "forever" });
    const run = w.run();
    await until("the hold job to start and the next to be claimed ahead", async () =>
      (await recorded(conn, key)).some((r) => r.phase === "started") && (await conn.queues.lengths()).working === 2);
    await w.terminate();
    await run;
    const heldLineage = await readLineage(conn.queues, held.jobId(0));
    expect(heldLineage.events.find((e) => e.e === "requeued")).toMatchObject({ cause: "terminated", a: 1 });
    const aheadLineage = await readLineage(conn.queues, ahead.jobId(0));
    expect(aheadLineage.events.map((e) => e.e)).toEqual(["submitted", "claimed", "released"]);
    const waiting = (await conn.redis.lrange(conn.queues.keys.processing, 0, -1)).map((m) => JSON.parse(m));
    expect(waiting.find((m) => m.job_id === ahead.jobId(0))).toMatchObject({ count: 0, attempt: 1 });
    expect(waiting.find((m) => m.job_id === held.jobId(0))).toMatchObject({ count: 1, attempt: 2 });
    expect(await conn.queues.lengths()).toMatchObject({ working: 0, processing: 2 });
  });

  it("a job claimed ahead behind a job that stalls goes back after a second, for another worker", async () => {
    const key = `${conn.config.redis.basename}:out`;
    await conn.queues.submit("noop", [1, 2, 3]);                                   // fast jobs: claiming ahead starts
    const stall = await conn.queues.submit("stubborn", [4], { kwargs: { key, seconds: 4 } });
    const next = await conn.queues.submit("record", [5], { kwargs: { key } });
    const w1 = worker({ concurrency: 1, mode: "forever" });
    const run1 = w1.run();
    const released = await until("the claimed-ahead job to be put back", async () =>
      (await readLineage(conn.queues, next.jobId(0))).events.find((e) => e.e === "released"), 10_000);
    expect(released.why).toBe("it waited over a second for a slot behind a slow job");
    const w2 = worker({ concurrency: 1, mode: "once" });
    expect(await w2.run()).toMatchObject({ completed: 1 });
    // it completed on the second worker while the first was still stuck in the stall
    expect((await readLineage(conn.queues, next.jobId(0))).outcome).toBe("completed");
    expect((await readLineage(conn.queues, stall.jobId(0))).outcome).toBe("pending");
    w1.stop();
    await run1;
    expect((await readLineage(conn.queues, stall.jobId(0))).outcome).toBe("completed");
  });
});
