import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalCluster } from "../src/cluster/local";
import type { QueueConnection } from "../src/worker/connection";
import { readLineage } from "../src/queue/lineage";
import { Sentinel } from "../src/campaign/sentinel";
import { leaseKeyOf } from "../src/queue/message";
import { openTest, recorded, until } from "./helpers";

let conn: QueueConnection;
let cluster: LocalCluster | undefined;
const sentinels: Sentinel[] = [];
const quiet = () => {};

beforeEach(async () => {
  conn = await openTest({ cluster: { heartbeat: 0.5, sentinel_interval: 0.1, maxfailures: 3 } });
});
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
  for (const s of sentinels.splice(0)) await s.stop();
  await conn.close();
});

function sentinel(options: ConstructorParameters<typeof Sentinel>[2] = {}): Sentinel {
  const s = new Sentinel(conn.queues, conn.registry, { log: quiet, ...options });
  sentinels.push(s);
  return s;
}

function workers(concurrency: number, idle = 15): LocalCluster {
  cluster = new LocalCluster({ concurrency, workerArgs: ["--idle", String(idle)] });
  return cluster;
}

describe("Sentinel with real worker processes", () => {
  it("walltime expiry -> requeue with new params -> success; the late first attempt counts once", async () => {
    const key = `${conn.config.redis.basename}:out`;
    sentinel().start();
    const sub = await conn.queues.submit("stubborn", [[1, 2]], { walltime: 1, kwargs: { key, seconds: 4 } });
    await workers(2, 8).submit({ count: 2, configPath: conn.config.source!, walltime: 60 });
    await until("the job to complete", async () => (await conn.queues.progress(sub.applyId)).completed === 1);
    // attempt 1 ignores its abort signal and finishes later: it must be recorded as a duplicate, not counted
    const lineage = await until("attempt 1's late finish", async () => {
      const l = await readLineage(conn.queues, sub.jobId(0));
      return l.events.some((e) => e.e === "duplicate") ? l : undefined;
    }, 15_000);
    const requeued = lineage.events.find((e) => e.e === "requeued")!;
    expect(requeued).toMatchObject({ cause: "walltime", a: 1, params: { from: { seconds: 4 }, to: { seconds: 0 } } });
    expect(lineage.events.find((e) => e.e === "completed")).toMatchObject({ a: 2 });
    expect(lineage.events.find((e) => e.e === "duplicate")).toMatchObject({ a: 1 });
    expect(await conn.redis.llen(conn.queues.keys.completed)).toBe(1);
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ completed: 1, dead: 0 });
    expect((await recorded(conn, key)).map((r) => (r.kwargs as { seconds: number }).seconds).sort()).toEqual([0, 4]);
  });

  it("kill -9 of a worker mid-job: its lease lapses, the sentinel requeues it, another worker completes it", async () => {
    const key = `${conn.config.redis.basename}:out`;
    sentinel().start();
    const sub = await conn.queues.submit("hold", [5], { walltime: 600, kwargs: { key, seconds: 60 } });
    const pool = workers(1, 20);
    await pool.submit({ count: 1, configPath: conn.config.source!, walltime: 600 });
    const started = await until("the job to start", async () => (await recorded(conn, key)).find((r) => r.phase === "started"));
    process.kill(started.pid as number, "SIGKILL");
    const killedAt = Date.now();
    await until("the requeue", async () => (await readLineage(conn.queues, sub.jobId(0))).events.some((e) => e.e === "requeued"));
    const detectMs = Date.now() - killedAt;
    await pool.submit({ count: 1, configPath: conn.config.source!, walltime: 600 });
    await until("completion by a second worker", async () => (await conn.queues.progress(sub.applyId)).completed === 1);
    const lineage = await readLineage(conn.queues, sub.jobId(0));
    const claims = lineage.events.filter((e) => e.e === "claimed");
    expect(claims).toHaveLength(2);
    expect(claims[0].w).not.toBe(claims[1].w);
    expect(lineage.events.find((e) => e.e === "requeued")).toMatchObject({ cause: "heartbeat", a: 1 });
    expect(lineage.events.at(-1)).toMatchObject({ e: "completed", a: 2 });
    // generous bound (the figure itself is in the benchmark): far below the 600 s walltime
    expect(detectMs).toBeLessThan(30_000);
  });
});

describe("Sentinel (in process)", () => {
  it("adopts a foreign working entry (no deadline) and requeues it after its walltime", async () => {
    const foreign = JSON.stringify({ id: [3, 4], func: "record", walltime: 1 });
    await conn.redis.lpush(conn.queues.keys.working, foreign);
    const s = sentinel();
    await s.sweep();
    expect(s.status().adopted).toBe(1);
    expect(await conn.redis.zscore(conn.queues.keys.deadlines, `a${leaseKeyOf(foreign)}`)).not.toBeNull(); // keyed by lease key (issue 12)
    s.start();
    const next = await until("the requeue", async () => conn.redis.lindex(conn.queues.keys.processing, -1), 5000);
    expect(JSON.parse(next)).toMatchObject({ id: [3, 4], func: "record", count: 1, attempt: 2, job_id: expect.stringMatching(/^f-/) });
    expect(await conn.queues.lengths()).toMatchObject({ working: 0, processing: 1 });
  });

  it("two sentinels on one queue set: one sweeps, the other stands by and takes over when it stops", async () => {
    const a = sentinel().start();
    const b = sentinel().start();
    await until("sweeps", () => a.status().sweeps + b.status().sweeps >= 5);
    const [leader, standby] = a.status().sweeps > 0 ? [a, b] : [b, a];
    expect(standby.status()).toMatchObject({ sweeps: 0, leader: false });
    expect(leader.status().leader).toBe(true);
    await leader.stop();
    await until("the standby to take over", () => standby.status().sweeps > 0, 5000);
    expect(standby.status().leader).toBe(true);
  });

  it("dead-letters an expired job after maxfailures", async () => {
    await conn.queues.submit("record", [1], { walltime: 1 });
    const [c] = await conn.queues.claim("ghost", { leaseMs: 10 });
    // pretend two failures already happened to this attempt's message
    const entry = c.entry.replace('"count":0,"attempt":1', '"count":2,"attempt":3');
    // (issue 12: a deadline's member is the entry's lease key, the entry kept in the leases hash)
    const k = conn.queues.keys;
    await conn.redis.multi().lrem(k.working, 1, c.entry).lpush(k.working, entry).zrem(k.deadlines, c.key).hdel(k.leases, c.key)
      .zadd(k.deadlines, 0, leaseKeyOf(entry)).hset(k.leases, leaseKeyOf(entry), entry).exec();
    const s = sentinel();
    await s.sweep();
    expect(s.status()).toMatchObject({ deadLettered: 1, requeued: 0 });
    const [dead] = await conn.queues.deadLetters();
    // issue 13: the reason names the cause (a lapsed lease has no error text)
    expect(dead).toMatchObject({ cause: "heartbeat", reason: "failed 3 time(s), maxfailures is 3 (cause: heartbeat)" });
  });

  it("keeps running through malformed entries and Redis errors, counting them", async () => {
    const s = sentinel().start();
    await conn.redis.multi().lpush(conn.queues.keys.working, "{oops").zadd(conn.queues.keys.deadlines, 0, leaseKeyOf("{oops"))
      .hset(conn.queues.keys.leases, leaseKeyOf("{oops"), "{oops").exec();
    await until("the quarantine", () => s.status().quarantined === 1, 5000);
    // break the deadlines key's type: every sweep now fails in Redis
    await conn.redis.del(conn.queues.keys.deadlines);
    await conn.redis.set(conn.queues.keys.deadlines, "not a zset");
    await until("errors to be counted", () => s.status().errors >= 2, 5000);
    expect(s.status().lastError).toMatch(/WRONGTYPE/);
    expect(s.status().running).toBe(true);
    await conn.redis.del(conn.queues.keys.deadlines);
    const sweeps = s.status().sweeps;
    await until("sweeps to resume", () => s.status().sweeps > sweeps + 2, 5000);
    expect((await conn.queues.quarantined())[0]).toMatchObject({ raw: "{oops", reason: expect.stringMatching(/not JSON/) });
  });

  it("reads only expired entries: a large working list with few expired is cheap", async () => {
    const k = conn.queues.keys;
    const pipe = conn.redis.pipeline();
    const far = Date.now() + 3_600_000;
    for (let i = 0; i < 20_000; i++) {
      const e = JSON.stringify({ job_id: `big-${i}`, id: i, func: "record", walltime: 3600, max_time: far, worker: "w" });
      pipe.lpush(k.working, e).zadd(k.deadlines, far, leaseKeyOf(e)).hset(k.leases, leaseKeyOf(e), e);
    }
    for (let i = 0; i < 7; i++) {
      const e = JSON.stringify({ job_id: `old-${i}`, id: i, func: "record", walltime: 1, max_time: 1, worker: "w" });
      pipe.rpush(k.working, e).zadd(k.deadlines, 1, leaseKeyOf(e)).hset(k.leases, leaseKeyOf(e), e);
    }
    await pipe.exec();
    const s = sentinel();
    expect(await s.sweep()).toBe(7);
    expect(await conn.queues.lengths()).toMatchObject({ working: 20_000, processing: 7 });
  });
});
