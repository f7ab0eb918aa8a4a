import { afterEach, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import type { ClusterBackend, ClusterSubmission, SubmitRequest } from "../src/cluster/backend";
import { NetworkCandidateGraph } from "../src/graph";
import { Sentinel } from "../src/campaign/sentinel";
import { readLineage } from "../src/queue/lineage";
import type { QueueConnection } from "../src/worker/connection";
import { Worker } from "../src/worker/worker";
import { openTest, recorded, testConfig, throwawayDatabaseForSuite, until } from "./helpers";

// Issue 12, defect 2: foreign messages and foreign workers. Every push is its own job; no bogus apply
// counters; a job an AutoCNet 1.2 worker finishes (RPOPLPUSH processing -> working, run, LREM working,
// no completion message) is recorded as finished by a foreign worker: counted, in the lineage, wait()
// resolves, and reconcile() never runs it again.

/** What AutoCNet 1.2's acn_submit does with a message, in redis-py's terms, minus the work. */
async function autocnetTake(redis: Redis, processing: string, working: string): Promise<string | null> {
  return redis.rpoplpush(processing, working);
}
async function autocnetFinish(redis: Redis, working: string, msg: string): Promise<void> {
  await redis.lrem(working, 0, msg);
}

describe("foreign messages and workers (queues)", () => {
  let conn: QueueConnection;
  const sentinels: Sentinel[] = [];
  afterEach(async () => {
    for (const s of sentinels.splice(0)) await s.stop();
    await conn.close();
  });
  const sentinel = () => {
    const s = new Sentinel(conn.queues, conn.registry, { log: () => {} });
    sentinels.push(s);
    return s.start();
  };

  it("the same foreign message pushed twice is two jobs, both run; no apply counter appears", async () => {
    conn = await openTest();
    const key = `${conn.config.redis.basename}:out`;
    const msg = JSON.stringify({ id: [1, 2], along: "edge", func: "record", args: [], kwargs: { key } });
    await conn.redis.lpush(conn.queues.keys.processing, msg, msg);
    expect(await new Worker(conn.queues, conn.registry, conn.blocking, { idleSeconds: 0.2, log: () => {} }).run())
      .toMatchObject({ completed: 2, duplicates: 0 });
    const jobs = (await recorded(conn, key)).map((r) => r.job as string);
    expect(jobs).toHaveLength(2);
    expect(new Set(jobs).size).toBe(2);
    for (const j of jobs) expect(j).toMatch(/^f-[0-9a-f]{12}$/);
    expect(await conn.redis.keys(`${conn.queues.keys.applyPrefix}*`)).toEqual([]);
  });

  it("an adopted entry that leaves working without a completion (AutoCNet's finish) is recorded as finished once", async () => {
    conn = await openTest({ cluster: { sentinel_interval: 0.1 } });
    const k = conn.queues.keys;
    const sub = await conn.queues.submit("record", [[3, 4]], { walltime: 2 });
    const msg = (await autocnetTake(conn.redis, k.processing, k.working))!;
    await conn.queues.submit("record", [99]); // other work waiting: the queues never drain here
    sentinel();
    await until("the sentinel to adopt it", async () => (await readLineage(conn.queues, sub.jobId(0))).events.some((e) => e.e === "adopted"));
    await autocnetFinish(conn.redis, k.working, msg);
    await until("the job to count as completed", async () => (await conn.queues.progress(sub.applyId)).completed === 1, 10_000);
    const lineage = await readLineage(conn.queues, sub.jobId(0));
    expect(lineage.outcome).toBe("completed");
    expect(lineage.events.filter((e) => e.e === "completed")).toEqual([expect.objectContaining({ a: 1, foreign: true })]);
    const [notice] = (await conn.redis.lrange(k.completed, 0, -1)).map((s) => JSON.parse(s));
    expect(notice).toMatchObject({ job_id: sub.jobId(0), id: [3, 4], func: "record", foreign: true });
    expect(await conn.queues.lengths()).toMatchObject({ processing: 1, working: 0, completed: 1 });
    expect(await conn.redis.zcard(k.deadlines)).toBe(0);
  });

  it("a job a foreign worker takes and finishes between two sweeps is found once everything drained", async () => {
    conn = await openTest({ cluster: { sentinel_interval: 0.1 } });
    const k = conn.queues.keys;
    const sub = await conn.queues.submit("record", [7, 8, 9]);
    // our worker runs one; an AutoCNet worker runs the other two, unseen by any sweep
    await new Worker(conn.queues, conn.registry, conn.blocking, { mode: "once", log: () => {} }).run();
    for (let i = 0; i < 2; i++) await autocnetFinish(conn.redis, k.working, (await autocnetTake(conn.redis, k.processing, k.working))!);
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ total: 3, completed: 1 });
    await conn.redis.del(k.completed); // (a watcher took our worker's completion)
    sentinel();
    await until("both to count", async () => (await conn.queues.progress(sub.applyId)).completed === 3, 10_000);
    const notices = (await conn.redis.lrange(k.completed, 0, -1)).map((s) => JSON.parse(s));
    expect(notices.map((n) => n.job_id).sort()).toEqual([sub.jobId(1), sub.jobId(2)]);
    for (const n of notices) expect(n).toMatchObject({ func: "record", foreign: true, attempt: 1 });
    expect((await readLineage(conn.queues, sub.jobId(1))).outcome).toBe("completed");
    expect(await conn.redis.sismember(k.openApplies, sub.applyId)).toBe(0);
  });
});

/** A backend that starts nothing: the test plays the workers. */
class NoWorkers implements ClusterBackend {
  readonly name = "none";
  readonly defaultWorkerMode = "drain" as const;
  async submit(r: SubmitRequest): Promise<ClusterSubmission> { return { id: "none", backend: this.name, count: r.count }; }
  async jobs() { return []; }
  async cancel() {}
  async activeWorkers() { return 1; }
  async wait() {}
  async close() {}
}

describe("graph and ledger: foreign workers, reconcile, last_params", () => {
  const database = throwawayDatabaseForSuite("acn_foreign");

  it("wait() resolves for jobs an AutoCNet worker finished, jobStatus shows them, and reconcile() does not run them again", async () => {
    const config = testConfig({ database: database.url, cluster: { sentinel_interval: 0.1 } });
    const ncg = await NetworkCandidateGraph.connect(config, { cluster: new NoWorkers(), log: () => {} });
    try {
      const square = (x: number) => `POLYGON((${x} 0, ${x + 2} 0, ${x + 2} 2, ${x} 2, ${x} 0))`;
      await ncg.addImages([0, 1].map((x) => ({ name: `fw-${x}`, footprint: square(x) })));
      await ncg.loadFromDatabase("SELECT * FROM images WHERE name LIKE 'fw-%' ORDER BY id");
      const h = await ncg.apply("record", { on: "nodes", kwargs: { tag: "t" } });
      const k = ncg.queues.keys;
      for (let i = 0; i < 2; i++) await autocnetFinish(ncg.redisQueue, k.working, (await autocnetTake(ncg.redisQueue, k.processing, k.working))!);
      expect(await h.wait({ timeout: 20_000 })).toMatchObject({ total: 2, completed: 2, dead: 0 });
      for (const n of ncg.nodes.values()) {
        expect(n.jobStatus.record).toMatchObject({ success: true, attempts: 1, lastParams: { tag: "t" } });
      }
      expect(await ncg.ledger.counts(h.applyId!)).toEqual({ total: 2, completed: 2, dead: 0 });
      const report = await ncg.reconcile({ start: false });
      expect(report.find((r) => r.applyId === h.applyId)).toMatchObject({ requeued: 0, finished: 2 });
      expect(await ncg.queueLengths()).toMatchObject({ processing: 0, working: 0 });
    } finally {
      await ncg.clearQueues();
      await ncg.close();
    }
  });

  it("reconcile() never lowers a counter below what Redis counted (completions the watcher has not recorded yet)", async () => {
    const config = testConfig({ database: database.url });
    const ncg = await NetworkCandidateGraph.connect(config, { cluster: new NoWorkers(), sentinel: false, watcher: false, log: () => {} });
    try {
      const h = await ncg.apply("record", { on: [101, 102, 103], start: false });
      const blocking = await (await import("../src/queue/redis")).connectRedis(ncg.config.redis);
      const once = () => new Worker(ncg.queues, ncg.registry, blocking, { mode: "once", log: () => {} }).run();
      try {
        await once();
        await once(); // two completions wait in the completed list; the ledger has none yet
        await ncg.redisQueue.del(ncg.queues.keys.processing); // Redis lost the third
        expect(await h.progress()).toMatchObject({ total: 3, completed: 2 });
        const report = await ncg.reconcile({ start: false });
        expect(report.find((r) => r.applyId === h.applyId)).toMatchObject({ requeued: 1, finished: 0, queued: 2 });
        expect(await h.progress()).toMatchObject({ total: 3, completed: 2, dead: 0 }); // not the ledger's 0
        await once();
        expect(await h.progress()).toMatchObject({ total: 3, completed: 3, dead: 0 });
      } finally {
        blocking.disconnect();
      }
    } finally {
      await ncg.clearQueues();
      await ncg.close();
    }
  });

  it("last_params kept in job_status are capped (large kwargs are the job's to keep)", async () => {
    const config = testConfig({ database: database.url });
    const ncg = await NetworkCandidateGraph.connect(config, { sentinel: false, watcher: false, log: () => {} });
    try {
      await ncg.ledger.recordOutcome({ job_id: "abcdefgh-0", id: [1, 2], along: "edge", func: "record", attempt: 1, count: 0,
        kwargs: { blob: "p".repeat(40_000) }, finished_at: Date.now() });
      const [row] = await ncg.db.query<{ last_params: string }>("SELECT last_params FROM job_status WHERE job_id = 'abcdefgh-0'");
      expect(JSON.parse(row!.last_params)).toEqual({ truncated: true, bytes: 40_011 });
    } finally {
      await ncg.close();
    }
  });
});
