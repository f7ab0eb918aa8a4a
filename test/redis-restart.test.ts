import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { openQueues, type QueueConnection } from "../src/worker/connection";
import { freePort } from "../src/database/free-port";
import { connectRedis } from "../src/queue/redis";
import { Sentinel } from "../src/campaign/sentinel";
import { CompletedWatcher } from "../src/campaign/watcher";
import { Worker } from "../src/worker/worker";
import { testConfig, until } from "./helpers";

/** A private redis-server (its own port and dir) that the test can kill and start again. */
class RestartableRedis {
  private child?: ChildProcess;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-restart-redis-"));
  constructor(readonly port: number) {}
  async start(): Promise<void> {
    this.child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir], { stdio: "ignore" });
    await until("redis-server to listen", () => new Promise<boolean>((resolve) => {
      const s = net.connect(this.port, "127.0.0.1", () => { s.end(); resolve(true); });
      s.once("error", () => resolve(false));
    }), 10_000, 50);
  }
  async kill(): Promise<void> {
    const c = this.child!;
    await new Promise((r) => { c.once("exit", r); c.kill("SIGKILL"); });
  }
}

describe("the long-running loops survive a Redis restart", () => {
  let redis: RestartableRedis;
  let conn: QueueConnection | undefined;
  afterAll(async () => {
    await conn?.close().catch(() => {});
    await redis?.kill().catch(() => {});
  });

  it("worker, sentinel and watcher keep running, count the errors, and work resumes", async () => {
    redis = new RestartableRedis(await freePort());
    await redis.start();
    conn = await openQueues(testConfig({ redis: { port: redis.port } }));
    const c = conn;
    const handled: unknown[] = [];
    const watcherClient = await connectRedis(c.config.redis);
    const watcher = new CompletedWatcher(c.queues, watcherClient, { log: () => {}, onCompletion: (m) => { handled.push(m.id); } }).start();
    const sentinel = new Sentinel(c.queues, c.registry, { log: () => {} }).start();
    const worker = new Worker(c.queues, c.registry, c.blocking, { mode: "forever", log: () => {} });
    const running = worker.run();

    await c.queues.submit("noop", [1, 2]);
    await until("the first jobs to be handled", () => handled.length === 2);

    await redis.kill();
    await until("the sentinel to notice", () => sentinel.status().errors > 0, 20_000);
    await redis.start(); // empty again: no persistence
    await until("the clients to reconnect", async () => (await c.redis.ping().catch(() => "")) === "PONG", 20_000);

    const sub = await c.queues.submit("noop", [3, 4, 5]);
    await until("jobs after the restart to complete and be handled", async () =>
      (await c.queues.progress(sub.applyId)).completed === 3 && handled.length === 5, 40_000);
    expect(sentinel.status()).toMatchObject({ running: true });
    expect(sentinel.status().errors).toBeGreaterThan(0);
    expect(watcher.status().running).toBe(true);
    worker.stop();
    const summary = await running;
    expect(summary.completed).toBe(5);
    await sentinel.stop();
    await watcher.stop();
    watcherClient.disconnect();
  }, 90_000);
});
