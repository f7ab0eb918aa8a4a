import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectRedis } from "../src/queue/redis";
import type { QueueConnection } from "../src/worker/connection";
import { decodeMessage, leaseKeyOf } from "../src/queue/message";
import { decideRetry } from "../src/worker/retry";
import { runScript } from "../src/queue/scripts";
import { openTest } from "./helpers";

let conn: QueueConnection;
beforeEach(async () => {
  conn = await openTest();
});
afterEach(async () => {
  await conn.close();
});

async function redisNow(): Promise<number> {
  const [s, us] = await conn.redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

function decode(entry: string) {
  const d = decodeMessage(entry);
  if (!d.ok) throw new Error(d.reason);
  return d.message;
}

describe("push", () => {
  it("pushes one message per target in pipelined batches, first in first out, and records the apply", async () => {
    const targets = Array.from({ length: 2500 }, (_, i) => [i, i + 1] as [number, number]);
    const sub = await conn.queues.submit("record", targets, { batchSize: 1000, kwargs: { key: "k" } });
    expect(sub.count).toBe(2500);
    expect(await conn.redis.llen(conn.config.redis.processing_queue)).toBe(2500);
    const oldest = decode((await conn.redis.lindex(conn.queues.keys.processing, -1))!);
    expect(oldest).toMatchObject({ job_id: sub.jobId(0), id: [0, 1], along: "edge", func: "record", count: 0, attempt: 1 });
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ total: 2500, completed: 0, dead: 0 });
    expect(JSON.parse((await conn.redis.hget(conn.queues.keys.applies, sub.applyId))!)).toMatchObject({ func: "record" });
  });
});

describe("claim", () => {
  it("moves a message to working atomically, stamped with max_time from Redis's clock, with a first lease", async () => {
    await conn.queues.submit("record", [1], { walltime: "00:02:00" });
    const before = await redisNow();
    const [c] = await conn.queues.claim("w-1", { leaseMs: 3000, task: "local-1_1" });
    const after = await redisNow();
    expect(await conn.redis.llen(conn.queues.keys.processing)).toBe(0);
    expect(await conn.redis.lrange(conn.queues.keys.working, 0, -1)).toEqual([c.entry]);
    const m = decode(c.entry);
    expect(m.worker).toBe("w-1");
    expect(m.max_time).toBe(c.maxTime);
    expect(c.maxTime).toBeGreaterThanOrEqual(before + 120_000);
    expect(c.maxTime).toBeLessThanOrEqual(after + 120_000);
    // the deadline is keyed by the entry's short lease key (issue 12: heartbeats O(1) bytes), the entry kept beside it
    expect(await conn.redis.hget(conn.queues.keys.leases, c.key)).toBe(c.entry);
    const lease = Number(await conn.redis.zscore(conn.queues.keys.deadlines, c.key));
    expect(lease).toBeGreaterThanOrEqual(before + 3000);
    expect(lease).toBeLessThanOrEqual(after + 3000);
    const lineage = await conn.redis.lrange(conn.queues.keys.lineagePrefix + m.job_id, 0, -1);
    expect(JSON.parse(lineage[0])).toMatchObject({ e: "claimed", a: 1, w: "w-1", task: "local-1_1", max_time: c.maxTime });
  });

  it("claims several at once, oldest first, and returns [] on an empty queue", async () => {
    await conn.queues.submit("record", [1, 2, 3]);
    const got = await conn.queues.claim("w", { leaseMs: 1000, count: 2 });
    expect(got.map((c) => decode(c.entry).id)).toEqual([1, 2]);
    expect(await conn.queues.claim("w", { leaseMs: 1000, count: 5 })).toHaveLength(1);
    expect(await conn.queues.claim("w", { leaseMs: 1000 })).toEqual([]);
  });

  it("quarantines a non-object entry, stamps a foreign message without job_id, and parses SLURM walltimes", async () => {
    await conn.redis.lpush(conn.queues.keys.processing, "not json", '{"id": 5, "func": "record", "walltime": "1-00:00:00"}');
    const got = await conn.queues.claim("w", { leaseMs: 1000, count: 5 });
    expect(got).toHaveLength(1);
    const m = decode(got[0].entry);
    expect(m.job_id).toMatch(/^f-[0-9a-f]{12}$/);
    expect(m.max_time! - (await redisNow())).toBeGreaterThan(86_000_000);
    const q = await conn.queues.quarantined();
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ reason: "not a JSON object", raw: "not json", from: "processing" });
  });

  it("waitForWork blocks until a push and takes nothing", async () => {
    const blocked = conn.queues.waitForWork(conn.blocking, 5);
    const t0 = Date.now();
    await conn.queues.submit("record", [1, 2]);
    expect(await blocked).toBe(true);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(await conn.redis.llen(conn.queues.keys.processing)).toBe(2);
    expect(decode((await conn.redis.lindex(conn.queues.keys.processing, -1))!).id).toBe(1); // order unchanged
    expect(await conn.queues.waitForWork(conn.blocking, 0.05)).toBe(true);
  });
});

describe("heartbeat", () => {
  it("extends the lease, never past max_time, and reports entries no longer held", async () => {
    await conn.queues.submit("record", [1], { walltime: 2 });
    const [c] = await conn.queues.claim("w", { leaseMs: 100 });
    expect(await conn.queues.heartbeat([c], 60_000)).toEqual([true]);
    expect(Number(await conn.redis.zscore(conn.queues.keys.deadlines, c.key))).toBe(c.maxTime);
    await conn.redis.zrem(conn.queues.keys.deadlines, c.key);
    expect(await conn.queues.heartbeat([c], 1000)).toEqual([false]);
    expect(await conn.redis.zscore(conn.queues.keys.deadlines, c.key)).toBeNull(); // not resurrected
  });
});

describe("complete", () => {
  it("removes from working, pushes to completed, counts the apply once", async () => {
    const sub = await conn.queues.submit("record", [[3, 4]]);
    const [c] = await conn.queues.claim("w", { leaseMs: 1000 });
    const m = decode(c.entry);
    expect(await conn.queues.complete([{ entry: c.entry, message: m, result: { area: 2 } }])).toEqual(["completed"]);
    expect(await conn.queues.lengths()).toMatchObject({ processing: 0, working: 0, completed: 1 });
    expect(await conn.redis.zcard(conn.queues.keys.deadlines)).toBe(0);
    const done = JSON.parse((await conn.redis.lindex(conn.queues.keys.completed, 0))!);
    expect(done).toMatchObject({ job_id: sub.jobId(0), id: [3, 4], func: "record", attempt: 1, result: { area: 2 }, worker: "w" });
    expect(await conn.queues.complete([{ entry: c.entry, message: m }])).toEqual(["duplicate"]);
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ total: 1, completed: 1 });
    expect(await conn.redis.llen(conn.queues.keys.completed)).toBe(1);
  });

  it("late completion: the requeued attempt is withdrawn from processing and the job counts once", async () => {
    const sub = await conn.queues.submit("record", [1], { walltime: 1 });
    const [c] = await conn.queues.claim("w", { leaseMs: 1000 });
    const m = decode(c.entry);
    const retry = decideRetry(c.entry, m, { cause: "walltime" }, undefined, 3);
    expect(await conn.queues.requeue([retry], { onlyIfExpired: false })).toEqual(["requeued"]);
    expect(await conn.redis.llen(conn.queues.keys.processing)).toBe(1);
    expect(await conn.queues.complete([{ entry: c.entry, message: m }])).toEqual(["late"]);
    expect(await conn.queues.lengths()).toMatchObject({ processing: 0, working: 0, completed: 1 });
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ completed: 1, dead: 0 });
    const events = (await conn.redis.lrange(conn.queues.keys.lineagePrefix + m.job_id, 0, -1)).map((e) => JSON.parse(e).e);
    expect(events).toEqual(["claimed", "requeued", "withdrawn", "completed"]);
  });

  it("late completion while the retry runs: first finisher wins, the other is recorded as a duplicate", async () => {
    await conn.queues.submit("record", [1]);
    const [c1] = await conn.queues.claim("w1", { leaseMs: 1000 });
    const m1 = decode(c1.entry);
    await conn.queues.requeue([decideRetry(c1.entry, m1, { cause: "heartbeat" }, undefined, 3)], { onlyIfExpired: false });
    const [c2] = await conn.queues.claim("w2", { leaseMs: 1000 });
    expect(await conn.queues.complete([{ entry: c2.entry, message: decode(c2.entry) }])).toEqual(["completed"]);
    expect(await conn.queues.complete([{ entry: c1.entry, message: m1 }])).toEqual(["duplicate"]);
    expect(await conn.redis.llen(conn.queues.keys.completed)).toBe(1);
  });

  it("a retry still waiting is withdrawn at claim time if the job finished meanwhile", async () => {
    await conn.queues.submit("record", [1, 2]);
    const [c1] = await conn.queues.claim("w1", { leaseMs: 1000 });
    const m1 = decode(c1.entry);
    await conn.queues.requeue([decideRetry(c1.entry, m1, { cause: "heartbeat" }, undefined, 3)], { onlyIfExpired: false });
    // the outcome is recorded by someone else without the retry being withdrawn (e.g. an older client)
    await conn.redis.hset(conn.queues.keys.outcomes, m1.job_id, "c1");
    const got = await conn.queues.claim("w2", { leaseMs: 1000, count: 5 });
    expect(got.map((c) => decode(c.entry).id)).toEqual([2]);
  });
});

describe("requeue (fail path and sentinel)", () => {
  it("sentinel mode leaves entries whose lease is still running, worker mode moves them", async () => {
    await conn.queues.submit("record", [1]);
    const [c] = await conn.queues.claim("w", { leaseMs: 60_000 });
    const item = decideRetry(c.entry, decode(c.entry), { cause: "heartbeat" }, undefined, 3);
    expect(await conn.queues.requeue([item], { onlyIfExpired: true })).toEqual(["alive"]);
    expect(await conn.queues.requeue([item], { onlyIfExpired: false })).toEqual(["requeued"]);
    expect(await conn.queues.requeue([item], { onlyIfExpired: false })).toEqual(["gone"]);
    const next = decode((await conn.redis.lindex(conn.queues.keys.processing, -1))!);
    expect(next).toMatchObject({ count: 1, attempt: 2 });
    expect(next.max_time).toBeUndefined();
  });

  it("dead-letters after maxfailures with the reason, and counts it for the apply", async () => {
    const sub = await conn.queues.submit("record", [1]);
    const [c] = await conn.queues.claim("w", { leaseMs: 1000 });
    const m = { ...decode(c.entry), count: 2, attempt: 3 };
    const item = decideRetry(c.entry, m, { cause: "exception", error: "boom" }, undefined, 3);
    expect(item.action).toBe("dead");
    expect(await conn.queues.requeue([item], { onlyIfExpired: false })).toEqual(["dead"]);
    const [dead] = await conn.queues.deadLetters();
    // issue 13: the reason carries the cause and the last error (it used to stop at "maxfailures is 3")
    expect(dead).toMatchObject({ reason: "failed 3 time(s), maxfailures is 3 (cause: exception): boom", cause: "exception", job_id: m.job_id });
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ dead: 1 });
    expect(await conn.queues.lengths()).toMatchObject({ working: 0, processing: 0, dead: 1 });
  });
});

describe("quarantine, adopt, lock", () => {
  it("quarantine moves an entry out of working with the reason", async () => {
    await conn.redis.lpush(conn.queues.keys.processing, '{"weird": true}');
    const [c] = await conn.queues.claim("w", { leaseMs: 1000 });
    expect(await conn.queues.quarantine(c.entry, "missing 'func'")).toBe(true);
    expect(await conn.queues.lengths()).toMatchObject({ working: 0, quarantine: 1 });
    expect(await conn.redis.zcard(conn.queues.keys.deadlines)).toBe(0);
    expect(await conn.queues.quarantine(c.entry, "again")).toBe(false);
  });

  it("adopt gives deadline-less working entries first-seen + walltime, once", async () => {
    const foreign = '{"id": [1, 2], "func": "record", "walltime": "00:05:00"}';
    await conn.redis.lpush(conn.queues.keys.working, foreign);
    const k = conn.queues.keys;
    const t0 = await redisNow();
    expect(await conn.queues.transitions.adopt([Buffer.from(foreign)])).toBe(1);
    expect(await conn.queues.transitions.adopt([Buffer.from(foreign)])).toBe(0);
    // issue 12: deadlines are keyed by a short lease key ("a" + the entry's for an adopted one), not the entry
    const deadline = Number(await conn.redis.zscore(k.deadlines, `a${leaseKeyOf(foreign)}`));
    expect(deadline - t0).toBeGreaterThanOrEqual(300_000);
    expect(deadline - t0).toBeLessThan(302_000);
  });

  it("lock: one holder at a time, renewable, releasable, expiring", async () => {
    const key = conn.queues.keys.sentinelLock;
    expect(await runScript(conn.redis, "lock", [key], ["a", 200, "0"])).toBe(1);
    expect(await runScript(conn.redis, "lock", [key], ["b", 200, "0"])).toBe(0);
    expect(await runScript(conn.redis, "lock", [key], ["a", 200, "0"])).toBe(1);
    await runScript(conn.redis, "lock", [key], ["a", 0, "1"]);
    expect(await runScript(conn.redis, "lock", [key], ["b", 50, "0"])).toBe(1);
    expect(await conn.redis.pttl(key)).toBeLessThanOrEqual(50);
  });
});

describe("clear", () => {
  it("deletes this queue set's keys and leaves another namespace's alone (no FLUSHALL)", async () => {
    const other = await openTest();
    try {
      await other.queues.submit("record", [1, 2]);
      await other.redis.set("acn-unrelated-key-" + process.pid, "x");
      await conn.queues.submit("record", [1, 2, 3]);
      await conn.queues.claim("w", { leaseMs: 1000 });
      expect(await conn.queues.clear()).toBeGreaterThan(3);
      expect(await conn.queues.lengths()).toEqual({ processing: 0, working: 0, completed: 0, dead: 0, quarantine: 0 });
      expect(await conn.redis.keys(`${conn.config.redis.basename}:*`)).toEqual([]);
      expect(await other.redis.llen(other.queues.keys.processing)).toBe(2);
      expect(await other.redis.get("acn-unrelated-key-" + process.pid)).toBe("x");
    } finally {
      await other.redis.del("acn-unrelated-key-" + process.pid);
      await other.close();
    }
  });
});

describe("unreachable Redis", () => {
  it("fails with one line naming the address and what to do", async () => {
    await expect(connectRedis({ ...conn.config.redis, port: 1 }, { retryStrategy: () => null }))
      .rejects.toThrow(/^cannot reach Redis at 127\.0\.0\.1:1 \(.*\); start Redis or set redis\.host\/redis\.port\/redis\.url in the config$/);
  });
});
