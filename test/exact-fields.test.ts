import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import type { QueueConnection } from "../src/worker/connection";
import { decodeMessage } from "../src/queue/message";
import { readLineage } from "../src/queue/lineage";
import { Worker } from "../src/worker/worker";
import { openTest, recorded } from "./helpers";

// Issue 12, defect 1: message fields were found by pattern over the whole JSON text, so a kwarg named
// walltime (or job_id, attempt, count), or such text inside a string value, changed the job. Item 7: the
// size limit, and heartbeats whose cost does not grow with the message.

let conn: QueueConnection;
beforeEach(async () => {
  conn = await openTest({ cluster: { max_message_bytes: 100_000 } });
});
afterEach(async () => {
  await conn.close();
});

async function redisNow(): Promise<number> {
  const [s, us] = await conn.redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

const worker = (options: ConstructorParameters<typeof Worker>[3] = {}) =>
  new Worker(conn.queues, conn.registry, conn.blocking, { idleSeconds: 0.2, log: () => {}, ...options });

describe("top-level fields are read exactly", () => {
  it("a kwarg named walltime, job_id, attempt or count, or such text in a string, changes nothing", async () => {
    const kwargs = { walltime: 1, job_id: "zzzzzzzz-9", attempt: 9, count: 7, note: '"walltime":2,"job_id":"x-0","attempt":5' };
    const sub = await conn.queues.submit("record", [[1, 2]], { kwargs, walltime: "00:05:00" });
    const before = await redisNow();
    const [c] = await conn.queues.claim("w", { leaseMs: 1000 });
    expect(c.maxTime - before).toBeGreaterThanOrEqual(299_000); // the job's 5 minutes, not the kwarg's 1 s
    const m = decodeMessage(c.entry);
    expect(m).toMatchObject({ ok: true, message: { job_id: sub.jobId(0), walltime: 300, count: 0, attempt: 1, kwargs } });
    const lineage = await readLineage(conn.queues, sub.jobId(0));
    expect(lineage.events.find((e) => e.e === "claimed")).toMatchObject({ a: 1, max_time: c.maxTime });
    expect(await conn.redis.exists(`${conn.queues.keys.lineagePrefix}zzzzzzzz-9`)).toBe(0);
  });

  it("a foreign message (decoded whole) keeps its own fields, whatever its kwargs say", async () => {
    await conn.redis.lpush(conn.queues.keys.processing, JSON.stringify({
      kwargs: { walltime: 1, job_id: "abcdefgh-1", attempt: 4 }, note: '"walltime": 2', id: 5, func: "record", walltime: "00:05:00", count: 1,
    }));
    const before = await redisNow();
    const [c] = await conn.queues.claim("w", { leaseMs: 1000 });
    expect(c.maxTime - before).toBeGreaterThanOrEqual(299_000);
    const m = decodeMessage(c.entry);
    if (!m.ok) throw new Error(m.reason);
    expect(m.message.job_id).toMatch(/^f-[0-9a-f]{12}$/);
    expect(m.message).toMatchObject({ count: 1, attempt: 2 });
    expect((await readLineage(conn.queues, m.message.job_id)).events[0]).toMatchObject({ e: "claimed", a: 2 });
  });

  it("the reconciler's view of the queues reads the top-level job_id only", async () => {
    await conn.redis.lpush(conn.queues.keys.processing, JSON.stringify({ id: 1, func: "record", kwargs: { job_id: "abcdefgh-3" } }));
    expect([...(await conn.queues.queuedJobIds())]).toEqual([]);
  });

  it("a repeated top-level key that contradicts the envelope makes the message poison, not a job run on other values", async () => {
    const key = `${conn.config.redis.basename}:out`;
    const text = `{"job_id":"abcdefgh-0","walltime":1,"count":0,"attempt":1,"id":1,"along":"node","func":"record","args":[],"kwargs":{"key":"${key}"},"walltime":600}`;
    await conn.redis.lpush(conn.queues.keys.processing, text);
    expect(await worker().run()).toMatchObject({ quarantined: 1, completed: 0 });
    expect((await conn.queues.quarantined())[0]!.reason).toMatch(/repeated top-level key/);
    expect(await recorded(conn, key)).toEqual([]);
    expect(await conn.queues.lengths()).toMatchObject({ working: 0, processing: 0 });
  });
});

describe("size limit (cluster.max_message_bytes)", () => {
  it("submit refuses a message over the limit, naming the target, before anything is pushed", async () => {
    const blob = "x".repeat(120_000);
    await expect(conn.queues.submit("record", [[3, 4], [4, 5]], { kwargs: { blob } }))
      .rejects.toThrow(/^apply: the message for target \[3,4\] is \d+ bytes, over cluster\.max_message_bytes \(100000\); pass large inputs by reference/);
    await expect(conn.queues.submit("record", [1, 2], { kwargsFor: (t) => (t === 2 ? { blob } : undefined) }))
      .rejects.toThrow(/target 2 is \d+ bytes, over cluster\.max_message_bytes/);
    expect(() => conn.queues.checkSubmission("record", [1, 2, 3], { kwargsFor: (t) => (t === 3 ? { blob } : undefined) }))
      .toThrow(/target 3 is \d+ bytes/);
    expect(await conn.queues.lengths()).toMatchObject({ processing: 0 });
  });

  it("claim quarantines a foreign message over the limit", async () => {
    await conn.redis.lpush(conn.queues.keys.processing, JSON.stringify({ id: 1, func: "record", kwargs: { blob: "y".repeat(150_000) } }));
    expect(await conn.queues.claim("w", { leaseMs: 1000 })).toEqual([]);
    expect((await conn.queues.quarantined())[0]).toMatchObject({ from: "processing", reason: expect.stringMatching(/over cluster\.max_message_bytes \(100000\)/) });
  });

  it("a heartbeat costs the same few bytes for a 90 KB message as for a small one", async () => {
    await conn.queues.submit("record", [1], { kwargs: { blob: "z".repeat(90_000) } });
    await conn.queues.submit("record", [2]);
    const held = await conn.queues.claim("w", { leaseMs: 1000, count: 2 });
    expect(held.map((c) => Buffer.byteLength(c.entry)).sort((a, b) => a - b)[1]).toBeGreaterThan(90_000);
    const sent = await bytesSent(conn.redis, () => conn.queues.heartbeat(held, 5000));
    expect(sent).toBeLessThan(400);
  });
});

/** Bytes of the arguments of the commands a client sends while `fn` runs. */
async function bytesSent(redis: Redis, fn: () => Promise<unknown>): Promise<number> {
  let bytes = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((...a: Parameters<Redis["sendCommand"]>) => {
    for (const arg of (a[0] as unknown as { args: unknown[] }).args) bytes += Buffer.isBuffer(arg) ? arg.length : Buffer.byteLength(String(arg));
    return send(...a);
  }) as Redis["sendCommand"];
  try {
    await fn();
  } finally {
    redis.sendCommand = send;
  }
  return bytes;
}
