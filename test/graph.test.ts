import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigInput } from "../src/config";
import { decodeMessage } from "../src/queue/message";
import { NetworkCandidateGraph, type ImageInput } from "../src/graph";
import { connectRedis } from "../src/queue/redis";
import { Worker } from "../src/worker/worker";
import { testConfig, throwawayDatabase, until } from "./helpers";

const square = (x0: number, y0: number, x1: number, y1: number) => ({
  type: "Polygon" as const, coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] as [number, number][][],
});

/** A known set: overlapping, nested, touching along an edge, touching at a corner, far away, invalid. */
const IMAGES: ImageInput[] = [
  { name: "A", footprint: square(0, 0, 2, 2) },
  { name: "B", footprint: square(1, 1, 3, 3) },                    // overlaps A by 1
  { name: "C", footprint: square(2, 0, 4, 1) },                    // touches A along x = 2 and B along y = 1: no edge
  { name: "D", footprint: square(1.5, 1.5, 2.5, 2.5) },            // nested in B (area 1), overlaps A by 0.25
  { name: "E", footprint: square(3, 3, 4, 4) },                    // touches B at a corner: no edge
  { name: "F", footprint: square(10, 10, 11, 11) },
  { name: "G", footprint: { type: "Polygon", coordinates: [[[20, 20], [21, 21], [21, 20], [20, 21], [20, 20]]] } }, // bow-tie
  { name: "H", footprint: "POLYGON EMPTY" },
  { name: "I", footprint: "POLYGON((10.5 10.5, 11.5 10.5, 11.5 11.5, 10.5 11.5, 10.5 10.5))" }, // WKT, overlaps F by 0.25
];
const EXPECTED = [["A", "B", 1], ["A", "D", 0.25], ["B", "D", 1], ["F", "I", 0.25]] as const;

interface Backend {
  name: string;
  database: () => Promise<{ database: ConfigInput["database"]; drop: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "embedded PGlite",
    async database() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-pglite-"));
      return { database: { embedded: dir }, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: "PostgreSQL server",
    async database() {
      const db = await throwawayDatabase("acn_test");
      return { database: db.url, drop: db.drop };
    },
  },
];

describe.each(backends)("NetworkCandidateGraph on $name", (backend) => {
  let ncg: NetworkCandidateGraph;
  let drop: () => Promise<void>;
  const logs: string[] = [];
  const ids = new Map<string, number>();
  const name = (id: number) => [...ids].find(([, v]) => v === id)![0];

  beforeAll(async () => {
    const db = await backend.database();
    drop = db.drop;
    const config = testConfig({ database: db.database, cluster: { concurrency: 4 } });
    ncg = await NetworkCandidateGraph.connect(config, { log: (l) => logs.push(l) });
    const report = await ncg.addImages(IMAGES);
    expect(report.added).toBe(IMAGES.length);
    expect(report.ignored.map((i) => i.name)).toEqual(["G", "H"]);
    for (const row of await ncg.db.query<{ id: number; name: string }>("SELECT id, name FROM images")) ids.set(row.name, Number(row.id));
    await ncg.loadFromDatabase();
  });

  afterAll(async () => {
    await ncg?.clearQueues();
    await ncg?.close();
    await drop?.();
  });

  it("fromDatabase: nodes are the valid images, edges exactly the positive-area overlaps", async () => {
    expect([...ncg.nodes.values()].map((n) => n.name).sort()).toEqual(["A", "B", "C", "D", "E", "F", "I"]);
    const edges = [...ncg.edges.values()].map((e) => [name(e.source), name(e.destination), Number(e.overlapArea.toFixed(9))]).sort();
    expect(edges).toEqual(EXPECTED.map((e) => [...e]));
    const stored = await ncg.db.query<{ n: number }>("SELECT count(*)::int AS n FROM edges");
    expect(stored[0].n).toBe(EXPECTED.length);
  });

  it("uses PostGIS for overlaps where the server has it (same edges as the TypeScript path)", async () => {
    if (backend.name === "embedded PGlite") {
      expect(ncg.db.postgis).toBe(false);
      return;
    }
    const available = await ncg.db.query("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'");
    expect(ncg.db.postgis).toBe(available.length > 0);
  });

  it("invalid footprints are reported with a warning and stored as ignored, not a crash", async () => {
    const rows = await ncg.db.query<{ name: string; ignore: boolean; ignore_reason: string }>(
      "SELECT name, ignore, ignore_reason FROM images WHERE ignore ORDER BY name");
    expect(rows).toEqual([
      { name: "G", ignore: true, ignore_reason: "self-intersecting ring" },
      { name: "H", ignore: true, ignore_reason: "empty footprint" },
    ]);
    expect(logs.some((l) => l.includes("image G: invalid footprint (self-intersecting ring)"))).toBe(true);
  });

  it("honours the query (AutoCNet 1.2 ignored it)", async () => {
    // replace: false keeps ncg open beside a second graph (by default connect would close it: see the kernel tests)
    const other = await NetworkCandidateGraph.connect(ncg.config, { sentinel: false, watcher: false, log: () => {}, replace: false }).catch((e) => e as Error);
    // the embedded database is single-process: a second graph on it must say so clearly
    if (backend.name === "embedded PGlite") {
      expect(other).toBeInstanceOf(Error);
      expect((other as Error).message).toMatch(/the embedded database at .* is open in process \d+ \(this one\); close that graph first/);
    } else {
      expect(other).toBeInstanceOf(NetworkCandidateGraph);
      const second = other as NetworkCandidateGraph;
      await second.loadFromDatabase("SELECT * FROM images WHERE name = ANY($1)", [["A", "B", "C"]]);
      expect(second.nodes.size).toBe(3);
      await second.close();
    }
    await ncg.loadFromDatabase("SELECT * FROM images WHERE name = ANY($1)", [["A", "B", "C"]]);
    expect([...ncg.nodes.values()].map((n) => n.name).sort()).toEqual(["A", "B", "C"]);
    expect([...ncg.edges.values()].map((e) => [name(e.source), name(e.destination)])).toEqual([["A", "B"]]);
    await ncg.loadFromDatabase();
    expect(ncg.nodes.size).toBe(7);
  });

  it("apply pushes exactly one message per target (nodes, edges, an iterable), and filters select", async () => {
    const before = await ncg.queueLength();
    const onNodes = await ncg.apply("footprint_stats", { on: "nodes", start: false });
    const onEdges = await ncg.apply("overlap", { on: "edges", start: false });
    const onList = await ncg.apply("overlap", { on: [[ids.get("A")!, ids.get("B")!]], start: false });
    const filtered = await ncg.apply("overlap", { on: "edges", start: false, filters: { overlapArea: (a: number) => a > 0.5 } });
    expect([onNodes.count, onEdges.count, onList.count, filtered.count]).toEqual([7, 4, 1, 2]);
    expect(await ncg.redisQueue.llen(ncg.config.redis.processing_queue)).toBe(before + 14);
    const queued = (await ncg.redisQueue.lrange(ncg.queues.keys.processing, 0, -1)).map((raw) => {
      const d = decodeMessage(raw);
      if (!d.ok) throw new Error(d.reason);
      return d.message;
    });
    const edgeTargets = queued.filter((m) => m.job_id.startsWith(onEdges.applyId!)).map((m) => JSON.stringify(m.id)).sort();
    expect(edgeTargets).toEqual(onEdges.targets.map((t) => JSON.stringify(t)).sort());
    expect(new Set(edgeTargets).size).toBe(4);
    expect(filtered.targets.map((t) => (t as number[]).map(name).join("-")).sort()).toEqual(["A-B", "B-D"]);
    expect((await ncg.db.query("SELECT apply_id FROM applies")).length).toBeGreaterThanOrEqual(4);
    await ncg.clearQueues();
  });

  it("apply runs on real workers that write straight to the database; jobStatus is updated and persisted", async () => {
    const edges = await ncg.apply("overlap", { on: "edges" });
    const nodes = await ncg.apply("footprint_stats", { on: "nodes" });
    expect(await edges.wait({ timeout: 60_000 })).toMatchObject({ total: 4, completed: 4, dead: 0 });
    expect(await nodes.wait({ timeout: 60_000 })).toMatchObject({ total: 7, completed: 7, dead: 0 });
    const results = await ncg.db.query<{ source: number; destination: number; area: number }>("SELECT source, destination, area FROM overlap_results");
    expect(results.map((r) => [name(Number(r.source)), name(Number(r.destination)), Number(Number(r.area).toFixed(9))]).sort())
      .toEqual(EXPECTED.map((e) => [...e]));
    const stats = await ncg.db.query<{ image_id: number; area: number; centroid_lon: number; centroid_lat: number }>(
      "SELECT image_id, area, centroid_lon, centroid_lat FROM footprint_stats WHERE image_id = $1", [ids.get("B")]);
    expect(stats[0]).toMatchObject({ area: 4, centroid_lon: 2, centroid_lat: 2 });
    const ab = ncg.edge(ids.get("A")!, ids.get("B")!)!;
    expect(ab.jobStatus.overlap).toMatchObject({ success: true, attempts: 1, jobId: expect.stringContaining(edges.applyId!) });
    expect(ncg.node(ids.get("C")!)!.jobStatus.footprint_stats).toMatchObject({ success: true });
    const persisted = await ncg.db.query<{ n: number }>("SELECT count(*)::int AS n FROM job_status WHERE success");
    expect(persisted[0].n).toBe(11);
    // a new load sees the persisted status
    await ncg.loadFromDatabase();
    expect(ncg.edge(ids.get("B")!, ids.get("D")!)!.jobStatus.overlap.success).toBe(true);
  });

  it("reapply starts workers for what is still queued", async () => {
    // the workers of the previous test idle a moment before exiting: stop them so nothing claims early
    await ncg.cancel();
    const queued = await ncg.apply("footprint_stats", { on: [ids.get("A")!, ids.get("F")!], start: false });
    expect(await ncg.queueLength()).toBe(2);
    const again = await ncg.apply("footprint_stats", { reapply: true });
    expect(again.count).toBe(2);
    expect(again.submission).toBeDefined();
    await queued.wait({ timeout: 60_000 });
    expect(await ncg.queueLengths()).toMatchObject({ processing: 0, working: 0 });
  });

  it("after a reapply, a job the sentinel puts back later still gets a worker (none running by then)", async () => {
    await ncg.cancel();
    const queued = await ncg.apply("footprint_stats", { on: [ids.get("B")!], start: false });
    const [held] = await ncg.queues.claim("vanished-worker", { leaseMs: 1500 });   // claimed, then its worker "died"
    expect(held).toBeDefined();
    const again = await ncg.apply("footprint_stats", { reapply: true });
    expect(again.count).toBe(0);                                                  // nothing waiting yet
    expect(await queued.wait({ timeout: 30_000 })).toMatchObject({ completed: 1 });
    const events = (await ncg.lineage(queued.jobId(0))).events.map((e) => e.e);
    expect(events).toEqual(["submitted", "claimed", "requeued", "claimed", "completed"]);
  });

  it("reconcile: after Redis lost everything, the unfinished jobs come back under their job ids, and only those", async () => {
    await ncg.cancel();
    const targets = ["A", "C", "E", "F"].map((n) => ids.get(n)!);
    const h = await ncg.apply("footprint_stats", { on: targets, start: false });
    // two of the four run and are recorded by the watcher in job_status
    const blocking = await connectRedis(ncg.config.redis);
    await new Worker(ncg.queues, ncg.registry, blocking, { mode: "once", db: ncg.db, log: () => {} }).run();
    await new Worker(ncg.queues, ncg.registry, blocking, { mode: "once", db: ncg.db, log: () => {} }).run();
    blocking.disconnect();
    await until("the watcher to record two", async () =>
      (await ncg.db.query("SELECT 1 FROM job_status WHERE job_id LIKE $1", [`${h.applyId}-%`])).length === 2);
    await ncg.clearQueues(); // what a Redis restart without persistence does
    const report = await ncg.reconcile({ start: false, applyIds: [h.applyId!] });
    expect(report).toEqual([{ applyId: h.applyId, func: "footprint_stats", requeued: 2, finished: 2, queued: 0 }]);
    const queuedIds = (await ncg.redisQueue.lrange(ncg.queues.keys.processing, 0, -1)).map((m) => JSON.parse(m).job_id).sort();
    expect(queuedIds).toEqual([h.jobId(2), h.jobId(3)]);
    expect(await h.progress()).toMatchObject({ total: 4, completed: 2, dead: 0 });
    // a second reconcile finds them queued and adds nothing
    expect((await ncg.reconcile({ start: false, applyIds: [h.applyId!] }))[0]).toMatchObject({ requeued: 0, queued: 2 });
    await ncg.apply("footprint_stats", { reapply: true });
    expect(await h.wait({ timeout: 60_000 })).toMatchObject({ total: 4, completed: 4 });
  });

  it("a custom callback runs for its function's completions", async () => {
    const seen: unknown[] = [];
    ncg.onCompletion("footprint_stats", (m) => { seen.push([m.job_id, m.id, m.status]); });
    const h = await ncg.apply("footprint_stats", { on: [ids.get("E")!] });
    await h.wait({ timeout: 60_000 });
    expect(seen.filter((s) => (s as string[])[0].startsWith(h.applyId!))).toEqual([[h.jobId(0), ids.get("E"), "completed"]]);
  });

  it("clearQueues deletes this config's keys and leaves another namespace's intact", async () => {
    await ncg.cancel(); // workers of earlier tests could still write lineage after the clear
    const otherKey = `acn-other:${process.pid}:processing`;
    await ncg.redisQueue.lpush(otherKey, "keep me");
    try {
      await ncg.apply("overlap", { on: "edges", start: false });
      expect(await ncg.clearQueues()).toBeGreaterThan(0);
      expect(await ncg.queueLength()).toBe(0);
      // only the running sentinel's own lock and status come back at its next sweep
      const left = (await ncg.redisQueue.keys(`${ncg.config.redis.basename}:*`)).map((k) => k.slice(ncg.config.redis.basename.length + 1));
      expect(left.filter((k) => !k.startsWith("sentinel:"))).toEqual([]);
      expect(await ncg.redisQueue.lrange(otherKey, 0, -1)).toEqual(["keep me"]);
    } finally {
      await ncg.redisQueue.del(otherKey);
    }
  });

  it("an unknown function is refused at apply time with the registered names", async () => {
    await expect(ncg.apply("os.system", { on: "nodes" })).rejects.toThrow(/unknown job function 'os\.system'; registered here: .*overlap/);
  });
});
