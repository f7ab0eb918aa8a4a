/**
 * Queue-engine figures: push throughput, no-op lifecycle throughput on real worker processes, sentinel
 * requeue delay after deadlines, and dead-worker detection. Runs against a private redis-server.
 *
 *   node build/bench/engine.js [--quick] [--json FILE]
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Redis } from "ioredis";
import { stringify } from "yaml";
import { LocalCluster } from "../src/cluster/local";
import { loadConfig, type Config } from "../src/config";
import { openQueues, type QueueConnection } from "../src/worker/connection";
import { QueueSet } from "../src/queue/queue-set";
import { leaseKeyOf } from "../src/queue/message";
import { connectRedis } from "../src/queue/redis";
import { Sentinel } from "../src/campaign/sentinel";
import { figure, fmt, percentile, type Figure } from "./stats";
import { startPrivateRedis } from "./redis-server";

export interface EngineBenchOptions {
  port: number;
  quick: boolean;
  runs: number;
  log: (line: string) => void;
}

export function benchConfig(port: number, cluster: Record<string, unknown> = {}): Config {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-bench-"));
  const file = path.join(dir, "config.yml");
  const basename = `bench:${Math.random().toString(36).slice(2, 8)}`;
  fs.writeFileSync(file, stringify({
    redis: { host: "127.0.0.1", port, basename },
    cluster: { walltime: "00:10:00", heartbeat: 1, sentinel_interval: 0.5, ...cluster },
  }));
  return loadConfig(file, { onWarning: () => {} });
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`benchmark: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function redisNowMs(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

const edges = (n: number) => {
  let i = 0;
  return { [Symbol.iterator]: () => ({ next: () => (i < n ? { value: [i, ++i] as [number, number], done: false } : { value: undefined, done: true as const }) }) };
};

/** Enqueue: submit() of n edge messages (pipelined push script batches). Messages per second. */
export async function benchPush(o: EngineBenchOptions, n: number): Promise<Figure> {
  const runs: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const conn = await openQueues(benchConfig(o.port));
    const t0 = performance.now();
    await conn.queues.submit("overlap", edges(n));
    const s = (performance.now() - t0) / 1000;
    if ((await conn.queues.lengths()).processing !== n) throw new Error("push lost messages");
    runs.push(n / s);
    await conn.queues.clear();
    await conn.close();
  }
  return figure(runs);
}

async function waitForWorkers(conn: QueueConnection, count: number): Promise<void> {
  await until(async () => {
    const list = (await conn.redis.call("CLIENT", "LIST")) as string;
    return (list.match(/name=autocnet-blocking/g) ?? []).length >= count;
  }, 30_000, `${count} workers to connect`);
}

/** Lifecycle: n no-op jobs through claim -> run -> complete on real worker processes. Jobs per second. */
export async function benchLifecycle(o: EngineBenchOptions, n: number, processes: number, concurrency: number): Promise<Figure> {
  const runs: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const conn = await openQueues(benchConfig(o.port));
    const cluster = new LocalCluster({ concurrency: processes, workerArgs: ["--concurrency", String(concurrency), "--idle", "5"] });
    await cluster.submit({ count: processes, configPath: conn.config.source!, walltime: 600 });
    await waitForWorkers(conn, processes);
    const t0 = performance.now();
    const sub = await conn.queues.submit("noop", edges(n));
    await until(async () => (await conn.queues.progress(sub.applyId)).completed >= n, 600_000, "lifecycle completion");
    runs.push(n / ((performance.now() - t0) / 1000));
    await cluster.close();
    await conn.queues.clear();
    await conn.close();
  }
  return figure(runs);
}

export interface SentinelFigures {
  entries: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  sweeps: number;
  commands_per_sweep: number;
  commands_per_requeue: number;
  idle_commands_per_sweep: number;
}

/** Sentinel: n working entries whose deadlines are spread over spreadMs; delay from deadline to requeue. */
export async function benchSentinel(o: EngineBenchOptions, n: number, spreadMs: number): Promise<SentinelFigures> {
  const conn = await openQueues(benchConfig(o.port));
  const k = conn.queues.keys;
  // a working list of n entries that will expire, plus n whose deadlines are far in the future and must cost
  // nothing. Each entry is held as claim holds it: its deadline keyed by its lease key, the entry in the
  // leases hash. The expiring deadlines are set only after the setup (writing 2n entries, idle sweeps), so
  // that a slow, loaded machine's setup can never overrun them.
  const far = (await redisNowMs(conn.redis)) + 2 * 86_400_000;
  const keys: string[] = [];
  for (let start = 0; start < n; start += 5000) {
    const pipe = conn.redis.pipeline();
    for (let i = start; i < Math.min(n, start + 5000); i++) {
      const entry = JSON.stringify({ job_id: `s-${i}`, walltime: 1, count: 0, attempt: 1, id: i, along: "node", func: "noop", args: [], kwargs: {}, max_time: far, worker: "ghost" });
      const key = leaseKeyOf(entry);
      keys.push(key);
      pipe.lpush(k.working, entry).hset(k.leases, key, entry).zadd(k.deadlines, far, key);
    }
    await pipe.exec();
  }
  // claimed after the others (at the head, as claims push there): LREM works from the tail, the oldest
  // claims, so where an entry sits matters; see docs/performance.md
  for (let start = 0; start < n; start += 5000) {
    const farPipe = conn.redis.pipeline();
    for (let i = start; i < Math.min(n, start + 5000); i++) {
      const entry = JSON.stringify({ job_id: `far-${i}`, walltime: 86400, count: 0, attempt: 1, id: i, along: "node", func: "noop", args: [], kwargs: {}, max_time: far, worker: "ghost" });
      farPipe.lpush(k.working, entry).hset(k.leases, leaseKeyOf(entry), entry).zadd(k.deadlines, far, leaseKeyOf(entry));
    }
    await farPipe.exec();
  }
  // the sentinel gets a client of its own, whose commands (a script call counts once) are counted
  const client = await connectRedis(conn.config.redis);
  let sent = 0;
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...a: Parameters<Redis["sendCommand"]>) => { sent++; return send(...a); }) as Redis["sendCommand"];
  const stats = async () => sent;
  const sentinel = new Sentinel(new QueueSet(client, conn.config), conn.registry, { log: () => {} });
  // idle sweeps first: a working list of 2n entries, none expired yet
  const idleBefore = await stats();
  for (let i = 0; i < 5; i++) await sentinel.sweep();
  const idleCommands = ((await stats()) - idleBefore) / 5;
  // now the expiring deadlines, spread over spreadMs from a moment after they are all written
  const t0 = (await redisNowMs(conn.redis)) + 500 + Math.ceil(n / 50);
  const deadlines = new Map<string, number>();
  for (let start = 0; start < n; start += 5000) {
    const pipe = conn.redis.pipeline();
    for (let i = start; i < Math.min(n, start + 5000); i++) {
      const d = t0 + Math.floor((i / n) * spreadMs);
      deadlines.set(`s-${i}`, d);
      pipe.zadd(k.deadlines, "XX", d, keys[i]!);
    }
    await pipe.exec();
  }
  const before = await stats();
  const sweepsBefore = sentinel.status().sweeps;
  // on a machine so loaded that even this overran the first deadlines, a delay counts from the start
  const startedAt = await redisNowMs(conn.redis);
  if (startedAt > t0) o.log(`   (sentinel bench: writing the deadlines ran ${startedAt - t0} ms past the first; delays count from the sentinel's start)`);
  sentinel.start();
  await until(async () => (await conn.redis.llen(k.processing)) >= n, spreadMs + 60_000, "all requeues");
  await sentinel.stop();
  const commands = (await stats()) - before;
  client.disconnect();
  const sweeps = sentinel.status().sweeps - sweepsBefore;
  const delays: number[] = [];
  const ids = [...deadlines.keys()];
  for (let start = 0; start < ids.length; start += 5000) {
    const pipe = conn.redis.pipeline();
    for (const id of ids.slice(start, start + 5000)) pipe.lrange(k.lineagePrefix + id, 0, -1);
    const res = (await pipe.exec()) ?? [];
    res.forEach(([, events], j) => {
      const requeued = (events as string[]).map((e) => JSON.parse(e)).find((e) => e.e === "requeued");
      if (requeued) delays.push(requeued.t - Math.max(startedAt, deadlines.get(ids[start + j])!));
    });
  }
  if (delays.length !== n) throw new Error(`sentinel bench: ${n - delays.length} entries were not requeued`);
  await conn.queues.clear();
  await conn.close();
  return {
    entries: n,
    p50_ms: percentile(delays, 50),
    p99_ms: percentile(delays, 99),
    max_ms: Math.max(...delays),
    sweeps,
    commands_per_sweep: commands / Math.max(1, sweeps),
    commands_per_requeue: commands / n,
    idle_commands_per_sweep: idleCommands,
  };
}

/** Dead workers: kill -9 of worker processes holding jobs; seconds until their jobs are back in processing. */
export async function benchDeadWorker(o: EngineBenchOptions, heartbeatSeconds: number): Promise<Figure> {
  const runs: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    const conn = await openQueues(benchConfig(o.port, { heartbeat: heartbeatSeconds }));
    const sentinel = new Sentinel(conn.queues, conn.registry, { log: () => {} }).start();
    const cluster = new LocalCluster({ concurrency: 2, workerArgs: ["--idle", "60"] });
    await conn.queues.submit("sleep", [1, 2, 3, 4], { kwargs: { seconds: 600 } });
    await cluster.submit({ count: 2, configPath: conn.config.source!, walltime: 600 });
    await until(async () => (await conn.redis.llen(conn.queues.keys.working)) === 2, 30_000, "two claimed jobs");
    // let at least one heartbeat pass, so the figure is not just the claim's first lease
    await new Promise((res) => setTimeout(res, heartbeatSeconds * 1000 * (1 + Math.random())));
    const t0 = performance.now();
    for (const pid of cluster.pids()) process.kill(pid, "SIGKILL");
    await until(async () => (await conn.redis.llen(conn.queues.keys.processing)) === 4, 60_000, "requeue of killed jobs");
    runs.push((performance.now() - t0) / 1000);
    await sentinel.stop();
    await cluster.close();
    await conn.queues.clear();
    await conn.close();
  }
  return figure(runs);
}
