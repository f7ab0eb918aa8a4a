import { afterEach, describe, expect, it } from "vitest";
import { ApplyWaiter } from "../src/campaign/apply-waiter";
import { WorkerSupervisor } from "../src/campaign/supervisor";
import { CompletedWatcher } from "../src/campaign/watcher";
import { LocalCluster } from "../src/cluster/local";
import type { Database } from "../src/database";
import { lazyDatabase } from "../src/database";
import { readLineage } from "../src/queue/lineage";
import type { QueueConnection } from "../src/worker/connection";
import { Worker } from "../src/worker/worker";
import { openTest, recorded, until } from "./helpers";

// Issue 12, defects 9 and 11–16: the loops and the pool keep going through outages, stale entries,
// killed workers and jobs that ignore their abort signal; retries back off; the infrastructure's
// failures do not spend a job's maxfailures.

let conn: QueueConnection | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  await conn?.close();
  conn = undefined;
});

const connRefused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });

describe("retries back off; the infrastructure's failures do not spend maxfailures (defects 12, 14)", () => {
  it("jobs meeting a 1.5 s database outage all complete after it, spacing their attempts", async () => {
    conn = await openTest({ cluster: { maxfailures: 3, retry_backoff: 0.2, retry_backoff_max: 1 } });
    const c = conn;
    const key = `${c.config.redis.basename}:out`;
    const down = `${c.config.redis.basename}:db-down`;
    c.registry.register("db_write", async (ctx) => {
      await ctx.redis.rpush(key, JSON.stringify({ job: ctx.jobId, t: Date.now() }));
      if (await ctx.redis.exists(down)) throw connRefused();
      return "written";
    });
    await c.redis.set(down, "1");
    const sub = await c.queues.submit("db_write", [1, 2, 3, 4, 5]);
    const run = new Worker(c.queues, c.registry, c.blocking, { concurrency: 5, idleSeconds: 0.3, log: () => {} }).run();
    setTimeout(() => void c.redis.del(down), 1500);
    const summary = await run;
    expect(summary).toMatchObject({ completed: 5, deadLettered: 0 });
    expect(await c.queues.progress(sub.applyId)).toMatchObject({ completed: 5, dead: 0 });
    const attempts = await recorded(c, key);
    for (let i = 0; i < 5; i++) {
      const times = attempts.filter((a) => a.job === sub.jobId(i)).map((a) => a.t as number);
      expect(times.length).toBeGreaterThan(3); // more attempts than maxfailures allows: the outage was not the job's fault
      for (let j = 1; j < times.length; j++) expect(times[j]! - times[j - 1]!).toBeGreaterThanOrEqual(90); // backed off (≥ half of 0.2 s)
      const requeued = (await readLineage(c.queues, sub.jobId(i))).events.filter((e) => e.e === "requeued");
      expect(requeued[0]).toMatchObject({ cause: "infrastructure", error: "connect ECONNREFUSED 127.0.0.1:5432" });
    }
  });

  it("a job that throws backs off before each retry, and is dead-lettered after maxfailures", async () => {
    conn = await openTest({ cluster: { maxfailures: 3, retry_backoff: 0.3, retry_backoff_max: 5 } });
    const key = `${conn.config.redis.basename}:out`;
    const sub = await conn.queues.submit("boom", [1], { kwargs: { key } });
    const t0 = Date.now();
    expect(await new Worker(conn.queues, conn.registry, conn.blocking, { idleSeconds: 0.2, log: () => {} }).run())
      .toMatchObject({ claimed: 3, failed: 3, deadLettered: 1 });
    // 0.15–0.3 s, then 0.3–0.6 s: at least 0.45 s in all (it used to be a few milliseconds)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    const backoffs = (await readLineage(conn.queues, sub.jobId(0))).events.filter((e) => e.e === "requeued").map((e) => (e as { backoff_ms?: number }).backoff_ms);
    expect(backoffs[0]).toBeGreaterThanOrEqual(150);
    expect(backoffs[1]).toBeGreaterThanOrEqual(300);
  });

  it("a worker's database that failed to open is opened again on the next query, not cached", async () => {
    let opens = 0;
    const db = lazyDatabase(async () => {
      opens++;
      if (opens === 1) throw connRefused();
      return { kind: "postgresql", where: "x", postgis: false, query: async () => [{ ok: 1 }] as never, workerUrl: async () => "", close: async () => {} };
    });
    await expect(db.query("SELECT 1")).rejects.toThrow(/ECONNREFUSED/);
    expect(await db.query("SELECT 1")).toEqual([{ ok: 1 }]);
    expect(opens).toBe(2);
  });
});

describe("the watcher (defects 9, 13)", () => {
  it("retries a completion handler that fails while the database is not accepting connections, instead of quarantining the notice", async () => {
    conn = await openTest();
    let calls = 0;
    const seen: string[] = [];
    const watcher = new CompletedWatcher(conn.queues, conn.blocking, {
      log: () => {},
      onCompletion: (m) => {
        calls++;
        if (calls <= 2) throw Object.assign(new Error("the database system is not yet accepting connections"), { code: "57P03" });
        seen.push(m.job_id);
      },
    }).start();
    cleanups.push(() => watcher.stop());
    await conn.redis.lpush(conn.queues.keys.completed, JSON.stringify({ job_id: "abcdefgh-0", id: 1, along: "node", func: "record", attempt: 1, count: 0, kwargs: {}, finished_at: 1 }));
    await until("the notice to be recorded", () => seen.length === 1, 15_000);
    // the handler returned; the watcher counts the notice once it has left the in-flight list
    await until("the notice to be counted as handled", () => watcher.status().handled === 1, 5_000);
    expect(seen).toEqual(["abcdefgh-0"]);
    expect(watcher.status()).toMatchObject({ handled: 1, quarantined: 0, retries: 2 });
    expect(await conn.queues.lengths()).toMatchObject({ quarantine: 0 });
    expect(await conn.redis.llen(conn.queues.keys.completedInFlight)).toBe(0);
  });

  it("a running watcher handles an entry left in the in-flight list (Redis back from an older state), so wait() can finish", async () => {
    conn = await openTest();
    const seen: string[] = [];
    const watcher = new CompletedWatcher(conn.queues, conn.blocking, { log: () => {}, staleSeconds: 1, onCompletion: (m) => { seen.push(m.job_id); } }).start();
    cleanups.push(() => watcher.stop());
    await until("the watcher to be blocked on the completed list", async () => watcher.status().running);
    await new Promise((r) => setTimeout(r, 200));
    // appears in flight with no watcher handling it: what an AOF that lost its last second leaves behind
    await conn.redis.lpush(conn.queues.keys.completedInFlight, JSON.stringify({ job_id: "abcdefgh-1", id: [1, 2], along: "edge", func: "record", attempt: 1, count: 0, kwargs: {}, finished_at: 1 }));
    await until("the stale in-flight entry to be handled", () => seen.length === 1, 10_000);
    expect(await conn.redis.llen(conn.queues.keys.completedInFlight)).toBe(0);
  });

  it("wait() counts outcomes, not list lengths: a list that never drains does not hold it", async () => {
    const waiter = new ApplyWaiter();
    const p = { total: 2, completed: 2, dead: 0 };
    const done = await waiter.wait({
      progress: async () => p, applyId: "abcdefgh", recording: true,
      drained: async () => false, // a stale entry sits in some in-flight list for ever
      recorded: async () => 2, // but the ledger has both outcomes
      refresh: async () => {},
    }, { timeout: 8000, pollMs: 100 });
    expect(done).toEqual(p);
  });
});

/** A database for a supervisor that only needs to know it is not the embedded one. */
const serverDb = { kind: "postgresql", where: "test", postgis: false, query: async () => [], workerUrl: async () => "", close: async () => {} } as unknown as Database;

describe("the worker pool (defects 11, 15)", () => {
  it("killed workers are replaced while others still run: the pool stays at cluster.concurrency while work is queued", async () => {
    conn = await openTest({ cluster: { concurrency: 3, heartbeat: 0.5 } });
    const key = `${conn.config.redis.basename}:out`;
    const sub = await conn.queues.submit("hold", Array.from({ length: 12 }, (_, i) => i), { walltime: 600, kwargs: { key, seconds: 60 } });
    const supervisor = new WorkerSupervisor(conn.config, conn.queues, serverDb, { log: () => {} });
    cleanups.push(() => supervisor.close());
    await supervisor.start(12, 600, "hold", sub.applyId);
    const backend = (await supervisor.backend()) as LocalCluster;
    await until("three workers running jobs", async () => (await recorded(conn!, key)).filter((r) => r.phase === "started").length >= 3, 30_000);
    const [a, b] = backend.pids();
    process.kill(a!, "SIGKILL");
    process.kill(b!, "SIGKILL");
    await until("the two to be seen dead", async () => (await backend.jobs()).filter((j) => j.state === "failed").length === 2, 10_000);
    await until("the pool back at three", async () => backend.pids().length === 3, 15_000);
  });

  it("a worker whose job ignores its abort signal past walltime + stuck_grace moves it on and exits, to be replaced", async () => {
    conn = await openTest({ cluster: { heartbeat: 0.5, stuck_grace: 1, maxfailures: 3 } });
    const key = `${conn.config.redis.basename}:out`;
    const sub = await conn.queues.submit("stubborn", [1], { walltime: 1, kwargs: { key, seconds: 30 } });
    const cluster = new LocalCluster({ concurrency: 1, workerArgs: ["--idle", "30"] });
    cleanups.push(() => cluster.close());
    const s = await cluster.submit({ count: 1, configPath: conn.config.source!, walltime: 600 });
    await cluster.wait(s.id, 15_000); // no sentinel runs: the worker itself must act, then exit
    expect((await cluster.jobs(s.id))[0]).toMatchObject({ state: "failed", exitCode: 3 });
    expect((await readLineage(conn.queues, sub.jobId(0))).events.find((e) => e.e === "requeued")).toMatchObject({ cause: "walltime", a: 1 });
    // the retry (re-parameterised to finish at once) completes on the next worker
    const again = await cluster.submit({ count: 1, configPath: conn.config.source!, walltime: 600 });
    await until("the retry to complete", async () => (await conn!.queues.progress(sub.applyId)).completed === 1, 20_000);
    await cluster.cancel(again.id);
  });
});

describe("worker logs (defect 16)", () => {
  it("a heartbeat racing a job's own completion is not reported as a lost lease", async () => {
    conn = await openTest();
    const logs: string[] = [];
    await conn.queues.submit("noop", Array.from({ length: 3000 }, (_, i) => i));
    const summary = await new Worker(conn.queues, conn.registry, conn.blocking, {
      concurrency: 20, heartbeatSeconds: 0.01, idleSeconds: 0.2, log: (l) => logs.push(l),
    }).run();
    expect(summary.completed).toBe(3000);
    expect(logs.filter((l) => /lost the lease/.test(l))).toEqual([]);
  });
});
