/**
 * autocnet-ts against BullMQ and Redis's own ceiling, in one run, on a private redis-server.
 * See docs/performance.md. Uses bullmq (a devDependency) and redis-benchmark (Debian's redis-tools).
 */
import { execFileSync, spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import IORedis, { type Redis } from "ioredis";
import { LocalCluster } from "../src/cluster/local";
import { openQueues } from "../src/worker/connection";
import { NetworkCandidateGraph } from "../src/graph";
import type { Target } from "../src/queue/message";
import { benchConfig, type EngineBenchOptions } from "./engine";
import { figure, type Figure } from "./stats";

const edgeTargets = (n: number): Iterable<Target> => ({
  *[Symbol.iterator]() {
    for (let i = 0; i < n; i++) yield [i, i + 1] as [number, number];
  },
});

/** The bench's own Redis only: flushing it touches nobody else's keys. */
async function flushPrivate(port: number): Promise<void> {
  const r = new IORedis(port, "127.0.0.1");
  await r.flushall();
  r.disconnect();
}

export interface EnqueueFigures { ours: Figure; bullmq: Figure; ceiling: Figure; ratio_vs_bullmq: number; fraction_of_ceiling: number; n: number }

/** Enqueue: ncg.apply over n edge targets vs BullMQ addBulk (batches of 1000) vs redis-benchmark LPUSH -P 64. */
export async function benchEnqueue(o: EngineBenchOptions, n: number, bullmqN: number): Promise<EnqueueFigures> {
  const ours: number[] = [], bull: number[] = [], ceiling: number[] = [];
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-bench-db-"));
  const config = benchConfig(o.port);
  config.database = { embedded: dbDir };
  const ncg = await NetworkCandidateGraph.connect(config, { sentinel: false, watcher: false, log: () => {} });
  const sample = (await ncg.apply("overlap", { on: [[1, 2]], start: false }));
  const size = Buffer.byteLength((await ncg.redisQueue.lindex(ncg.queues.keys.processing, 0))!);
  await ncg.clearQueues();
  void sample;
  const { Queue } = require("bullmq") as typeof import("bullmq");
  for (let r = 0; r < o.runs; r++) {
    let t0 = performance.now();
    const h = await ncg.apply("overlap", { on: edgeTargets(n), start: false });
    ours.push(h.count / ((performance.now() - t0) / 1000));
    await ncg.clearQueues();

    const queue = new Queue(`bench-enqueue-${r}`, { connection: { host: "127.0.0.1", port: o.port } });
    t0 = performance.now();
    for (let i = 0; i < bullmqN; i += 1000) {
      const jobs = [];
      for (let j = i; j < Math.min(bullmqN, i + 1000); j++) jobs.push({ name: "overlap", data: { id: [j, j + 1], along: "edge", walltime: 600 } });
      await queue.addBulk(jobs);
    }
    bull.push(bullmqN / ((performance.now() - t0) / 1000));
    await queue.close();
    await flushPrivate(o.port);

    const out = execFileSync("redis-benchmark", ["-h", "127.0.0.1", "-p", String(o.port), "-t", "lpush", "-n", String(n), "-P", "64", "-d", String(size), "-q"], { encoding: "utf8" });
    const m = /LPUSH: ([\d.]+) requests per second/.exec(out.split("\r").pop() ?? out);
    if (!m) throw new Error(`redis-benchmark gave no figure: ${out.slice(-200)}`);
    ceiling.push(Number(m[1]));
    await flushPrivate(o.port);
  }
  await ncg.close();
  fs.rmSync(dbDir, { recursive: true, force: true });
  const res = { ours: figure(ours), bullmq: figure(bull), ceiling: figure(ceiling), n };
  return { ...res, ratio_vs_bullmq: res.ours.median / res.bullmq.median, fraction_of_ceiling: res.ours.median / res.ceiling.median };
}

/** Jobs per second between 10 % and 90 % completion (steady state: no start-up, no tail). */
async function steadyRate(n: number, completed: () => Promise<number>, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let t10 = 0, t90 = 0, c10 = 0, c90 = 0;
  for (;;) {
    const c = await completed();
    const now = performance.now();
    if (!t10 && c >= n * 0.1) { t10 = now; c10 = c; }
    if (!t90 && c >= n * 0.9) { t90 = now; c90 = c; break; }
    if (Date.now() > deadline) throw new Error(`benchmark: ${c} of ${n} completed before the timeout`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return (c90 - c10) / ((t90 - t10) / 1000);
}

export interface LifecycleFigures { ours: Figure; bullmq: Figure; ratio_vs_bullmq: number; n: number; processes: number; concurrency: number }

/** Lifecycle: n no-op jobs, queued first, then `processes` worker processes x `concurrency` each, for both systems. */
export async function benchLifecycleCompare(o: EngineBenchOptions, n: number, processes: number, concurrency: number): Promise<LifecycleFigures> {
  const ours: number[] = [], bull: number[] = [];
  const { Queue } = require("bullmq") as typeof import("bullmq");
  for (let r = 0; r < o.runs; r++) {
    // ours: lineage on (it always is)
    const conn = await openQueues(benchConfig(o.port));
    const sub = await conn.queues.submit("noop", edgeTargets(n));
    const cluster = new LocalCluster({ concurrency: processes, workerArgs: ["--concurrency", String(concurrency), "--idle", "2"] });
    await cluster.submit({ count: processes, configPath: conn.config.source!, walltime: 600 });
    ours.push(await steadyRate(n, async () => (await conn.queues.progress(sub.applyId)).completed, 600_000));
    await cluster.close();
    await conn.close();
    await flushPrivate(o.port);

    // BullMQ: completed jobs kept (its default), like our lineage
    const name = `bench-life-${r}`;
    const queue = new Queue(name, { connection: { host: "127.0.0.1", port: o.port } });
    for (let i = 0; i < n; i += 1000) {
      const jobs = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) jobs.push({ name: "noop", data: { id: [j, j + 1], along: "edge" } });
      await queue.addBulk(jobs);
    }
    const children: ChildProcess[] = [];
    for (let p = 0; p < processes; p++) {
      children.push(spawn(process.execPath, [path.join(__dirname, "bullmq-worker.js"), String(o.port), name, String(concurrency)], { stdio: ["ignore", "ignore", "inherit"] }));
    }
    bull.push(await steadyRate(n, async () => (await queue.getJobCounts("completed")).completed ?? 0, 600_000));
    await Promise.all(children.map((c) => new Promise((res) => { c.once("exit", res); c.kill("SIGTERM"); })));
    await queue.close();
    await flushPrivate(o.port);
  }
  const res = { ours: figure(ours), bullmq: figure(bull) };
  return { ...res, ratio_vs_bullmq: res.ours.median / res.bullmq.median, n, processes, concurrency };
}

export interface MemoryFigures { ours: number; bullmq: number; payload_bytes: number; n: number }

/** Redis memory per queued plain edge job (INFO used_memory delta / n), ours vs BullMQ. */
export async function benchMemory(o: EngineBenchOptions, n: number): Promise<MemoryFigures> {
  const r: Redis = new IORedis(o.port, "127.0.0.1");
  const used = async () => Number(/used_memory:(\d+)/.exec((await r.info("memory")) as string)![1]);
  await flushPrivate(o.port);
  const conn = await openQueues(benchConfig(o.port));
  let before = await used();
  await conn.queues.submit("overlap", edgeTargets(n));
  const ours = ((await used()) - before) / n;
  const payload = Buffer.byteLength((await conn.redis.lindex(conn.queues.keys.processing, 0))!);
  await conn.close();
  await flushPrivate(o.port);
  const { Queue } = require("bullmq") as typeof import("bullmq");
  const queue = new Queue("bench-memory", { connection: { host: "127.0.0.1", port: o.port } });
  await queue.waitUntilReady();
  before = await used();
  for (let i = 0; i < n; i += 1000) {
    const jobs = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) jobs.push({ name: "overlap", data: { id: [j, j + 1], along: "edge", walltime: 600 } });
    await queue.addBulk(jobs);
  }
  const bull = ((await used()) - before) / n;
  await queue.close();
  await flushPrivate(o.port);
  r.disconnect();
  return { ours, bullmq: bull, payload_bytes: payload, n };
}
