import { spawn } from "child_process";
import * as path from "path";
import { describe, expect, it } from "vitest";
import type { ClusterBackend, ClusterSubmission, SubmitRequest } from "../src/cluster/backend";
import { capResult } from "../src/campaign/job-ledger";
import { NetworkCandidateGraph } from "../src/graph";
import { decodeMessage } from "../src/queue/message";
import { connectRedis } from "../src/queue/redis";
import { Worker } from "../src/worker/worker";
import { testConfig, throwawayDatabaseForSuite, until } from "./helpers";

// The campaign's parts on a shared PostgreSQL database: the ledger behind reconcile, the completion feed
// that lets several graphs watch one campaign, and the sentinel status any process can read.

const square = (x: number) => `POLYGON((${x} 0, ${x + 2} 0, ${x + 2} 2, ${x} 2, ${x} 0))`;
const database = throwawayDatabaseForSuite("acn_campaign");

/** A backend that starts nothing and records what it was asked for: lets a test read the requested walltime. */
class RecordingBackend implements ClusterBackend {
  readonly name = "recording";
  readonly defaultWorkerMode = "once" as const;
  readonly requests: SubmitRequest[] = [];
  async submit(request: SubmitRequest): Promise<ClusterSubmission> {
    this.requests.push(request);
    return { id: `rec-${this.requests.length}`, backend: this.name, count: request.count };
  }
  async jobs() { return []; }
  async cancel() {}
  async activeWorkers() { return 0; }
  async wait() {}
  async close() {}
}

async function runOnce(ncg: NetworkCandidateGraph, times: number): Promise<void> {
  const blocking = await connectRedis(ncg.config.redis);
  try {
    for (let i = 0; i < times; i++) await new Worker(ncg.queues, ncg.registry, blocking, { mode: "once", db: ncg.db, log: () => {} }).run();
  } finally {
    blocking.disconnect();
  }
}

describe("campaign", () => {
  it("reconcile after two applies on the same targets re-runs only the first apply's unfinished jobs, with their own walltime and kwargs", async () => {
    const backend = new RecordingBackend();
    const config = testConfig({ database: database.url, cluster: { walltime: "00:10:00" } });
    const ncg = await NetworkCandidateGraph.connect(config, { cluster: backend, sentinel: false, log: () => {} });
    try {
      await ncg.addImages([0, 10, 20].map((x) => ({ name: `rc-${x}`, footprint: square(x) })));
      await ncg.loadFromDatabase("SELECT * FROM images WHERE name LIKE 'rc-%' ORDER BY id");
      const targets = [...ncg.nodes.keys()];
      const first = await ncg.apply("footprint_stats", {
        on: targets, start: false, walltime: "00:07:00", kwargs: { tag: "first" }, kwargsFor: (_t, i) => (i === 2 ? { tag: "own" } : undefined),
      });
      await runOnce(ncg, 1); // first-0 finishes
      await until("first-0 recorded", async () => (await ncg.ledger.counts(first.applyId!)).completed === 1);
      await ncg.clearQueues(); // Redis loses first-1 and first-2
      const second = await ncg.apply("footprint_stats", { on: targets, start: false, walltime: "00:03:00", kwargs: { tag: "second" } });
      await runOnce(ncg, 3);
      await until("the second apply recorded", async () => (await ncg.ledger.counts(second.applyId!)).completed === 3);
      // job_status now names the second apply's jobs on every target; the ledger still knows the first's
      // (the graph's cache follows the completion feed, which may come a moment after the ledger's row)
      await until("the cache to show the second apply", () => [...ncg.nodes.values()].every((n) => n.jobStatus.footprint_stats?.jobId?.startsWith(second.applyId!)));
      expect(Object.values(Object.fromEntries([...ncg.nodes].map(([id, n]) => [id, n.jobStatus.footprint_stats?.jobId]))).sort())
        .toEqual([second.jobId(0), second.jobId(1), second.jobId(2)].sort());

      // the targets are kept as written, uncompressed (migration 8: recording a large apply costs half)
      const [stored] = await ncg.db.query<{ targets: string; storage: string }>(
        `SELECT a.targets, (SELECT attstorage FROM pg_attribute WHERE attrelid = 'applies'::regclass AND attname = 'targets') AS storage
           FROM applies a WHERE apply_id = $1`, [first.applyId]);
      expect({ targets: JSON.parse(stored.targets), storage: stored.storage }).toEqual({ targets, storage: "e" });

      // the jobs view: one row per job of the first apply, with its own kwargs and outcome
      const rows = await ncg.db.query<{ job_id: string; kwargs: string; walltime: number; outcome: string | null }>(
        "SELECT job_id, kwargs, walltime, outcome FROM jobs WHERE apply_id = $1 ORDER BY idx", [first.applyId]);
      expect(rows.map((r) => ({ ...r, kwargs: JSON.parse(r.kwargs) }))).toEqual([
        { job_id: first.jobId(0), kwargs: { tag: "first" }, walltime: 420, outcome: "completed" },
        { job_id: first.jobId(1), kwargs: { tag: "first" }, walltime: 420, outcome: null },
        { job_id: first.jobId(2), kwargs: { tag: "own" }, walltime: 420, outcome: null },
      ]);
      const report = await ncg.reconcile({ start: true });
      const mine = report.filter((r) => r.applyId === first.applyId || r.applyId === second.applyId);
      expect(mine).toEqual([
        { applyId: first.applyId, func: "footprint_stats", requeued: 2, finished: 1, queued: 0 },
        { applyId: second.applyId, func: "footprint_stats", requeued: 0, finished: 3, queued: 0 },
      ]);
      const queued = (await ncg.redisQueue.lrange(ncg.queues.keys.processing, 0, -1)).map((raw) => {
        const d = decodeMessage(raw);
        if (!d.ok) throw new Error(d.reason);
        return { jobId: d.message.job_id, walltime: d.message.walltime, kwargs: d.message.kwargs, id: d.message.id };
      }).sort((a, b) => a.jobId.localeCompare(b.jobId));
      expect(queued).toEqual([
        { jobId: first.jobId(1), walltime: 420, kwargs: { tag: "first" }, id: targets[1] },
        { jobId: first.jobId(2), walltime: 420, kwargs: { tag: "own" }, id: targets[2] },
      ]);
      // the workers started for them get the apply's walltime, not cluster.walltime
      expect(backend.requests.map((r) => ({ count: r.count, walltime: r.walltime }))).toEqual([{ count: 2, walltime: 420 }]);
      expect(await first.progress()).toMatchObject({ total: 3, completed: 1, dead: 0 });
    } finally {
      await ncg.clearQueues();
      await ncg.close();
    }
  });

  it("two graphs on one basename both see every completion (cache and callbacks), whichever watcher took it", async () => {
    const config = testConfig({ database: database.url, cluster: { concurrency: 2 } });
    const a = await NetworkCandidateGraph.connect(config, { log: () => {} });
    // replace: false keeps a open (by default connect closes an earlier graph of the same campaign)
    const b = await NetworkCandidateGraph.connect(config, { log: () => {}, replace: false });
    try {
      await a.addImages([100, 110, 120, 130, 140, 150].map((x) => ({ name: `two-${x}`, footprint: square(x) })));
      const query = "SELECT * FROM images WHERE name LIKE 'two-%' ORDER BY id";
      await a.loadFromDatabase(query);
      await b.loadFromDatabase(query);
      const seenA: string[] = [], seenB: string[] = [];
      a.onCompletion("footprint_stats", (m) => { seenA.push(m.job_id); });
      b.onCompletion("footprint_stats", (m) => { seenB.push(m.job_id); });
      const h = await a.apply("footprint_stats", { on: "nodes" });
      expect(await h.wait({ timeout: 60_000 })).toMatchObject({ total: 6, completed: 6, dead: 0 });
      const jobIds = h.targets.map((_, i) => h.jobId(i)).sort();
      // the applying graph is up to date when wait() resolves
      expect([...a.nodes.values()].map((n) => n.jobStatus.footprint_stats?.jobId).sort()).toEqual(jobIds);
      expect([...seenA].sort()).toEqual(jobIds);
      // the other graph sees every one too (no graph starves the other, though both watchers consume)
      await until("graph b's cache", () => [...b.nodes.values()].every((n) => n.jobStatus.footprint_stats?.success === true));
      expect([...b.nodes.values()].map((n) => n.jobStatus.footprint_stats?.jobId).sort()).toEqual(jobIds);
      await until("graph b's callbacks", () => seenB.length === 6);
      expect([...seenB].sort()).toEqual(jobIds);
      // the job's return value travels with its completion into jobStatus, in both graphs and in the database
      for (const g of [a, b]) {
        for (const n of g.nodes.values()) expect(n.jobStatus.footprint_stats?.result).toMatchObject({ area: 4, centroid: [expect.any(Number), 1] });
      }
      const fresh = await NetworkCandidateGraph.connect(config, { sentinel: false, watcher: false, log: () => {}, replace: false });
      try {
        await fresh.loadFromDatabase(query);
        expect([...fresh.nodes.values()].map((n) => (n.jobStatus.footprint_stats?.result as { area: number }).area)).toEqual([4, 4, 4, 4, 4, 4]);
      } finally {
        await fresh.close();
      }
      // whichever watchers took them, each completion was handled once
      await until("both watchers to finish handling", () => a.watcher.status().handled + b.watcher.status().handled >= 6);
      expect(a.watcher.status().handled + b.watcher.status().handled).toBe(6);
    } finally {
      await a.clearQueues();
      await b.close();
      await a.close();
    }
  });

  it("statusView() shows the campaign's sentinel running in another process, and that it stopped", async () => {
    const config = testConfig({ database: database.url });
    const ncg = await NetworkCandidateGraph.connect(config, { sentinel: false, watcher: false, log: () => {} });
    const bin = path.join(__dirname, "..", "dist", "bin", "sentinel.js");
    const child = spawn(process.execPath, [bin, "--config", config.source!], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    try {
      expect((await ncg.statusView()).text).toMatch(/^sentinel\s+stopped$/m);
      const text = await until(`the other process's sentinel (stderr: ${stderr})`, async () => {
        const t = (await ncg.statusView()).text;
        return /running \(sweeping/.test(t) && !/^sweeps\s+0$/m.test(t) ? t : undefined;
      });
      expect(text).toContain(`pid ${child.pid})`);
      expect(Number(/^sweeps\s+([\d,]+)$/m.exec(text)![1]!.replace(/,/g, ""))).toBeGreaterThan(0);
      child.kill("SIGTERM");
      await until("the sentinel process to exit", () => child.exitCode !== null);
      expect((await ncg.statusView()).text).toMatch(/^sentinel\s+stopped$/m);
    } finally {
      child.kill("SIGKILL");
      await ncg.clearQueues();
      await ncg.close();
    }
  });
});

describe("job results", () => {
  it("are kept whole up to 16 KiB; larger ones are replaced by their size", () => {
    expect(capResult({ area: 4 })).toEqual({ area: 4 });
    const big = { data: "x".repeat(20_000) };
    expect(capResult(big)).toEqual({ truncated: true, bytes: JSON.stringify(big).length });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(capResult(cyclic)).toEqual({ unserialisable: true });
  });
});

describe("lineage of a job that never existed", () => {
  it("says unknown, not pending, and what to check", async () => {
    const config = testConfig();
    const { openQueues } = await import("../src/worker/connection");
    const { readLineage, formatLineage } = await import("../src/queue/lineage");
    const conn = await openQueues(config);
    try {
      const sub = await conn.queues.submit("noop", [1]);
      expect((await readLineage(conn.queues, sub.jobId(0))).outcome).toBe("pending");
      const ghost = await readLineage(conn.queues, "nosuchapply-3");
      expect(ghost).toMatchObject({ outcome: "unknown", events: [] });
      expect(formatLineage(ghost)).toMatch(/^job nosuchapply-3: unknown — this campaign has no record of it/);
    } finally {
      await conn.queues.clear();
      await conn.close();
    }
  });
});
