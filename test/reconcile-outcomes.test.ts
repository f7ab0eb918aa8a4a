import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterEach, describe, expect, it } from "vitest";
import { NetworkCandidateGraph } from "../src/graph";
import { Worker } from "../src/worker/worker";
import { testConfig } from "./helpers";

// Found by the chaos suite (docs/reliability.md): after Redis lost its last second (an AOF cut back),
// a job that had completed — and that the watcher had recorded in the ledger — was back in processing
// with no outcome in Redis. reconcile() restored outcomes only for applies with missing jobs, so it ran
// again instead of being withdrawn at claim.
let ncg: NetworkCandidateGraph | undefined;
let dir: string | undefined;
afterEach(async () => {
  await ncg?.clearQueues().catch(() => {});
  await ncg?.close();
  ncg = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("reconcile() after Redis lost its last second", () => {
  it("puts back the outcomes the ledger has even when no job of the apply is missing: a finished job back in processing is withdrawn, not run again", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-reconcile-"));
    ncg = await NetworkCandidateGraph.connect(testConfig({ database: { embedded: dir } }), { sentinel: false, log: () => {} });
    const g = ncg;
    const k = g.queues.keys;
    const out = `${g.config.redis.basename}:out`;
    const h = await g.apply("record", { on: [1, 2], kwargs: { key: out }, start: false });
    const raw = (await g.redisQueue.lrangeBuffer(k.processing, 0, -1)).find((b) => b.includes(`"${h.jobId(0)}"`))!;
    const run = () => new Worker(g.queues, g.registry, g.conn.blocking, { idleSeconds: 0.2, log: () => {} }).run();
    await run();
    expect(await h.wait({ timeout: 15_000 })).toMatchObject({ total: 2, completed: 2 });
    expect(await g.redisQueue.llen(out)).toBe(2);

    // what an AOF that lost its last second leaves: job 0's claim and completion gone (its message back in
    // processing, no outcome, the counter one lower); the ledger recorded it before the loss
    await g.redisQueue.hdel(k.outcomes, h.jobId(0));
    await g.redisQueue.hincrby(`${k.applyPrefix}${h.applyId}`, "completed", -1);
    await g.redisQueue.rpush(k.processing, raw);

    const report = await g.reconcile({ start: false });
    expect(report).toEqual([expect.objectContaining({ applyId: h.applyId, requeued: 0, finished: 2 })]);
    expect(await h.progress()).toMatchObject({ total: 2, completed: 2 });
    await run();
    expect(await g.redisQueue.llen(k.processing)).toBe(0);
    expect(await g.redisQueue.llen(out)).toBe(2); // not run a third time
    expect((await g.lineage(h.jobId(0))).events.map((e) => e.e)).toContain("withdrawn");
  }, 60_000);
});
