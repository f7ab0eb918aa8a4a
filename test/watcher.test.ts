import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { QueueConnection } from "../src/worker/connection";
import type { CompletionMessage } from "../src/queue/queue-set";
import { CompletedWatcher } from "../src/campaign/watcher";
import { connectRedis } from "../src/queue/redis";
import { Worker } from "../src/worker/worker";
import { openTest, until } from "./helpers";

let conn: QueueConnection;
let watcher: CompletedWatcher | undefined;
beforeEach(async () => {
  conn = await openTest();
});
afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
  await conn.close();
});

describe("CompletedWatcher", () => {
  it("hands each completion to its function's handler, exactly once, and empties the queue", async () => {
    const flags = new Map<string, boolean>();
    watcher = new CompletedWatcher(conn.queues, conn.blocking, { log: () => {} })
      .on("record", (m) => { flags.set(JSON.stringify(m.id), true); });
    watcher.start();
    await conn.queues.submit("record", [[1, 2], [2, 3], [3, 4]]);
    const blocking = await connectRedis(conn.config.redis);
    await new Worker(conn.queues, conn.registry, blocking, { idleSeconds: 0.1, log: () => {} }).run();
    blocking.disconnect();
    await until("three completions handled", () => watcher!.status().handled === 3);
    expect([...flags.keys()].sort()).toEqual(["[1,2]", "[2,3]", "[3,4]"]);
    expect(await conn.queues.lengths()).toMatchObject({ completed: 0, quarantine: 0 });
    expect(await conn.redis.llen(conn.queues.keys.completedInFlight)).toBe(0);
  });

  it("never dies: malformed messages and failing handlers are quarantined, later messages still handled", async () => {
    const seen: CompletionMessage[] = [];
    watcher = new CompletedWatcher(conn.queues, conn.blocking, { log: () => {}, onCompletion: (m) => { seen.push(m); } })
      .on("graph_flag", (m) => {
        // a target this process does not know: the seed's KeyError: 'count'
        if (m.id === 999) throw new Error("unknown target 999");
        seen.push(m);
      });
    watcher.start();
    const k = conn.queues.keys.completed;
    await conn.redis.lpush(k, "{not json", JSON.stringify({ id: 1 }),
      JSON.stringify({ job_id: "a-1", id: 999, func: "graph_flag" }),
      JSON.stringify({ job_id: "a-2", id: 7, func: "graph_flag" }), // no count, no attempt: fine
      JSON.stringify({ job_id: "a-3", id: 8, func: "other" }));
    await until("all five processed", () => watcher!.status().handled + watcher!.status().quarantined === 5);
    expect(seen.map((m) => m.id)).toEqual([7, 8]);
    const reasons = (await conn.queues.quarantined()).map((q) => q.reason);
    expect(reasons).toHaveLength(3);
    expect(reasons).toContain("completion handler for 'graph_flag' failed on 999: unknown target 999");
    expect(reasons.filter((r) => r.startsWith("malformed completion message"))).toHaveLength(2);
    expect(watcher.status()).toMatchObject({ running: true, handled: 2, quarantined: 3 });
    expect(await conn.redis.llen(conn.queues.keys.completedInFlight)).toBe(0);
  });

  it("a message left in flight by a crashed watcher is handled first by the next one", async () => {
    const msg = JSON.stringify({ job_id: "z-0", id: [1, 2], func: "record", attempt: 1 });
    await conn.redis.lpush(conn.queues.keys.completedInFlight, msg);
    const seen: unknown[] = [];
    watcher = new CompletedWatcher(conn.queues, conn.blocking, { log: () => {}, onCompletion: (m) => { seen.push(m.id); } });
    expect(await watcher.drain()).toBe(1);
    expect(seen).toEqual([[1, 2]]);
    expect(await conn.redis.llen(conn.queues.keys.completedInFlight)).toBe(0);
  });
});
