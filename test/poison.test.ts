import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { QueueConnection } from "../src/worker/connection";
import { CompletedWatcher } from "../src/campaign/watcher";
import { Sentinel } from "../src/campaign/sentinel";
import { readLineage } from "../src/queue/lineage";
import { Worker } from "../src/worker/worker";
import { openTest, recorded, until } from "./helpers";

// Issue 12, defects 7 and 10 (targets): poison is always accounted for. Whatever the engine cannot parse,
// encode or count goes to quarantine with its reason; nothing stays in working; nothing is withdrawn as
// another job; no target is coerced into another's.

let conn: QueueConnection;
beforeEach(async () => {
  conn = await openTest({ cluster: { heartbeat: 0.5, sentinel_interval: 0.1 } });
});
afterEach(async () => {
  await conn.close();
});

const worker = (options: ConstructorParameters<typeof Worker>[3] = {}) =>
  new Worker(conn.queues, conn.registry, conn.blocking, { idleSeconds: 0.2, log: () => {}, ...options });

/** Nothing held: working, its leases and deadlines are empty. */
async function nothingHeld(): Promise<void> {
  const k = conn.queues.keys;
  expect(await conn.redis.llen(k.working)).toBe(0);
  expect(await conn.redis.hlen(k.leases)).toBe(0);
  expect(await conn.redis.zcard(k.deadlines)).toBe(0);
}

describe("poison messages", () => {
  it("bytes that are not UTF-8: quarantined by the worker with their exact bytes, never left in working", async () => {
    const key = `${conn.config.redis.basename}:out`;
    const bytes = Buffer.concat([Buffer.from(`{"id":1,"func":"record","kwargs":{"key":"${key}","s":"`), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('"}}')]);
    await conn.redis.lpush(conn.queues.keys.processing, bytes);
    expect(await worker().run()).toMatchObject({ quarantined: 1, completed: 0 });
    const [q] = await conn.queues.quarantined();
    expect(q).toMatchObject({ from: "working", reason: expect.stringMatching(/not valid UTF-8/) });
    // the working entry exactly: the message's bytes, then the claim's stamps
    const kept = Buffer.from(q!.raw_base64!, "base64");
    expect(kept.subarray(0, bytes.length - 1).equals(bytes.subarray(0, bytes.length - 1))).toBe(true);
    expect(await recorded(conn, key)).toEqual([]);
    await nothingHeld();
  });

  it("bytes that are not UTF-8 held by a dead worker: the sentinel quarantines them and does not spin on them", async () => {
    const bytes = Buffer.concat([Buffer.from('{"id":1,"func":"record","kwargs":{"s":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]);
    await conn.redis.lpush(conn.queues.keys.processing, bytes);
    await conn.queues.claim("ghost", { leaseMs: 50 }); // its worker never comes back
    const sentinel = new Sentinel(conn.queues, conn.registry, { log: () => {}, intervalSeconds: 0.5 }).start();
    try {
      await until("the quarantine", async () => (await conn.queues.lengths()).quarantine === 1, 10_000);
      const sweeps = sentinel.status().sweeps;
      await new Promise((r) => setTimeout(r, 2000));
      // nothing expires any more: at most ~2 sweeps a second (a stuck deadline once made it ~200)
      expect(sentinel.status().sweeps - sweeps).toBeLessThanOrEqual(6);
      expect(sentinel.status().quarantined).toBe(1);
    } finally {
      await sentinel.stop();
    }
    await nothingHeld();
  });

  it("nesting too deep for the engine: quarantined at claim (cjson) or by the worker, never run uncounted", async () => {
    const key = `${conn.config.redis.basename}:out`;
    const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
    // a foreign message, decoded whole by claim: cjson's nesting limit
    await conn.redis.lpush(conn.queues.keys.processing, `{"id":1,"func":"record","kwargs":{"key":"${key}","a":${deep(20_000)}}}`);
    // our envelope (read without decoding by claim): the worker's decoder refuses it
    await conn.redis.lpush(conn.queues.keys.processing,
      `{"job_id":"abcdefgh-0","walltime":60,"count":0,"attempt":1,"id":2,"along":"node","func":"record","args":[],"kwargs":{"key":"${key}","a":${deep(5000)}}}`);
    // and the ~200 000-deep message of the chaos run: over the size limit before anything parses it
    await conn.redis.lpush(conn.queues.keys.processing, `{"id":3,"func":"record","kwargs":{"a":${deep(200_000)}}}`);
    const summary = await worker().run();
    expect(summary).toMatchObject({ completed: 0, quarantined: 1, redisErrors: 0 });
    const reasons = (await conn.queues.quarantined()).map((q) => q.reason).sort();
    expect(reasons).toEqual([
      expect.stringMatching(/^nested deeper than 128 levels$/),
      expect.stringMatching(/^not JSON: .*nested/i),
      expect.stringMatching(/^the message is \d+ bytes, over cluster\.max_message_bytes \(65536\)$/),
    ]);
    expect(await recorded(conn, key)).toEqual([]);
    await nothingHeld();
  });

  it("a kwarg holding a finished job's id does not make a message that job: it runs as its own", async () => {
    const key = `${conn.config.redis.basename}:out`;
    const first = await conn.queues.submit("record", [1], { kwargs: { key } });
    await worker().run();
    expect((await readLineage(conn.queues, first.jobId(0))).outcome).toBe("completed");
    await conn.redis.lpush(conn.queues.keys.processing, JSON.stringify({ id: 2, func: "record", kwargs: { key, job_id: first.jobId(0) } }));
    expect(await worker().run()).toMatchObject({ completed: 1 });
    const runs = await recorded(conn, key);
    expect(runs.map((r) => r.id)).toEqual([1, 2]);
    expect(runs[1]!.job).toMatch(/^f-[0-9a-f]{12}$/);
    expect((await readLineage(conn.queues, first.jobId(0))).events.filter((e) => e.e === "withdrawn")).toEqual([]);
  });

  it("empty, null, a list, wrong types, hostile names: each quarantined or dead-lettered with its reason; the worker keeps going", async () => {
    const key = `${conn.config.redis.basename}:out`;
    await conn.redis.lpush(conn.queues.keys.processing, "", "null", "[1,2]", "{}", '{"id":1,"func":7}', '{"id":true,"func":"record"}',
      '{"id":1,"func":"record","job_id":"a b\\"c"}', '{"id":1,"func":"record","walltime":"1e400"}', '{"id":1,"func":"__proto__"}');
    await conn.queues.submit("record", [5], { kwargs: { key } });
    const summary = await worker().run();
    expect(summary).toMatchObject({ completed: 1, deadLettered: 1 });
    const q = await conn.queues.quarantined();
    expect(q).toHaveLength(8);
    for (const r of q) expect(r.reason.length).toBeGreaterThan(5);
    expect((await conn.queues.deadLetters())[0]).toMatchObject({ cause: "unknown-function" });
    expect((await recorded(conn, key)).map((r) => r.id)).toEqual([5]);
    await nothingHeld();
  });
});

describe("poison of an apply is accounted for", () => {
  it("a job whose message turned to poison is counted dead, with the reason, and the ledger gets a notice", async () => {
    const sub = await conn.queues.submit("record", [[1, 2]]);
    const k = conn.queues.keys;
    // its message damaged in Redis: same job, bytes that are not UTF-8 in its kwargs
    await conn.redis.del(k.processing);
    const head = `{"job_id":"${sub.jobId(0)}","walltime":600,"count":0,"attempt":1,"id":[1,2],"along":"edge","func":"record","args":[],"kwargs":{"s":"`;
    await conn.redis.lpush(k.processing, Buffer.concat([Buffer.from(head), Buffer.from([0xff]), Buffer.from('"}}')]));
    expect(await worker().run()).toMatchObject({ quarantined: 1, completed: 0 });
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ total: 1, completed: 0, dead: 1 });
    const lineage = await readLineage(conn.queues, sub.jobId(0));
    expect(lineage.outcome).toBe("dead");
    expect(lineage.events.at(-1)).toMatchObject({ e: "dead", cause: "poison", why: expect.stringMatching(/^quarantined: not valid UTF-8/) });
    const seen: unknown[] = [];
    await new CompletedWatcher(conn.queues, conn.blocking, { log: () => {}, onCompletion: (m) => { seen.push(m); } }).drain();
    expect(seen).toEqual([expect.objectContaining({ status: "dead", job_id: sub.jobId(0), func: "record", reason: expect.stringMatching(/^quarantined: /) })]);
    await nothingHeld();
  });

  it("a retry policy that makes the next message too large dead-letters the job instead of queueing poison", async () => {
    conn.registry.register("grow", () => { throw new Error("again"); }, {
      reparameterize: (m) => ({ kwargs: { ...m.kwargs, blob: "g".repeat(70_000) } }),
    });
    const sub = await conn.queues.submit("grow", [3]);
    expect(await worker().run()).toMatchObject({ deadLettered: 1 });
    expect((await conn.queues.deadLetters())[0]!.reason).toMatch(
      // the reason, then (issue 13) the failure's cause and its last error
      /^the retry policy of 'grow' made the next message \d+ bytes, over cluster\.max_message_bytes \(65536\) \(cause: exception\): again$/);
    expect(await conn.queues.progress(sub.applyId)).toMatchObject({ dead: 1 });
  });
});

describe("targets are validated", () => {
  it("a message whose id is not a node id or a [source, destination] pair is poison, never coerced into an edge", async () => {
    const key = `${conn.config.redis.basename}:out`;
    await conn.redis.lpush(conn.queues.keys.processing, JSON.stringify({ id: [[1], [2]], func: "record", kwargs: { key } }),
      JSON.stringify({ id: [1, 2, 3], func: "record", kwargs: { key } }), JSON.stringify({ id: { a: 1 }, func: "record", kwargs: { key } }));
    expect(await worker().run()).toMatchObject({ completed: 0, quarantined: 3 });
    expect((await conn.queues.quarantined()).map((q) => q.reason)).toContain("'id' [[1],[2]] is not a node id (a number or a string) or a [source, destination] pair of node ids");
    expect(await recorded(conn, key)).toEqual([]);
    expect(await conn.redis.llen(conn.queues.keys.completed)).toBe(0);
  });

  it("apply refuses such a target, naming it; a completion notice carrying one is quarantined, not recorded", async () => {
    await expect(conn.queues.submit("record", [[1, 2], [[1], [2]]])).rejects.toThrow(/^apply: target \[\[1\],\[2\]\] \(#1\) is not a node id/);
    expect(() => conn.queues.checkSubmission("record", [1, true as never])).toThrow(/target true \(#1\)/);
    const seen: unknown[] = [];
    const watcher = new CompletedWatcher(conn.queues, conn.blocking, { log: () => {}, onCompletion: (m) => { seen.push(m.id); } });
    await conn.redis.lpush(conn.queues.keys.completed, JSON.stringify({ job_id: "abcdefgh-0", id: [[1], [2]], func: "record", attempt: 1 }));
    await watcher.drain();
    expect(seen).toEqual([]);
    expect((await conn.queues.quarantined())[0]!.reason).toMatch(/^malformed completion message: 'id' \[\[1\],\[2\]\] is not a node id/);
  });
});
