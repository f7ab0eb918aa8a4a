import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { NetworkCandidateGraph } from "../src/graph/graph";
import { testConfig, throwawayDatabaseForSuite } from "./helpers";

/**
 * One graph per campaign per process: what `connect` does with a graph this process already has open (the
 * notebook case, a setup cell run again, is in test/kernel.test.ts), and what a closed graph says.
 */
const database = throwawayDatabaseForSuite("acn_lifecycle");

describe("connect and close", () => {
  it("connect closes an earlier graph of the same campaign (PostgreSQL too), saying so; replace: false keeps it; other campaigns are left alone", async () => {
    const config = testConfig({ database: database.url });
    const other = testConfig({ database: database.url });
    const lines: string[] = [];
    const log = (l: string) => void lines.push(l);
    const first = await NetworkCandidateGraph.connect(config, { log, sentinel: false });
    const elsewhere = await NetworkCandidateGraph.connect(other, { log, sentinel: false });
    const second = await NetworkCandidateGraph.connect(config, { log, sentinel: false });
    const kept = await NetworkCandidateGraph.connect(config, { log, sentinel: false, replace: false });
    try {
      expect(lines).toEqual([
        `connect: closing the graph this process opened earlier on the same campaign (Redis 127.0.0.1:6379 basename '${config.redis.basename}', ` +
          `${database.url}); the new one replaces it`,
      ]);
      expect(() => first.lineage("x-1")).toThrow(`lineage: the graph was closed; connect again (a later connect on campaign '${config.redis.basename}' in this process replaced it: use the graph that connect returned)`);
      expect(() => first.redisQueue).toThrow("redisQueue: the graph was closed; connect again");
      await first.close(); // again: nothing more
      for (const g of [second, kept, elsewhere]) expect((await g.queueLengths()).processing).toBe(0);
      expect(first.config.redis.basename).toBe(config.redis.basename); // still readable
    } finally {
      await second.clearQueues(); // only these tests' keys
      await elsewhere.clearQueues();
      await kept.close();
      await second.close();
      await elsewhere.close();
    }
    expect(() => second.queueLengths()).toThrow(/^queueLengths: the graph was closed; connect again$/);
  });

  it("an embedded database held by another campaign's graph in this process is named, not taken", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-lifecycle-"));
    const a = testConfig({ database: { embedded: dir } });
    const b = testConfig({ database: { embedded: dir } });
    const holder = await NetworkCandidateGraph.connect(a, { log: () => {}, sentinel: false });
    try {
      const err = await NetworkCandidateGraph.connect(b, { log: () => {} }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toBe(`the embedded database at ${fs.realpathSync(dir)} is open in this process by the graph of campaign ` +
        `'${a.redis.basename}'; close that graph first (connect replaces only a graph of the same Redis, basename and database), ` +
        "or give each campaign its own database (database: {embedded: DIR})");
      expect((await holder.queueLengths()).processing).toBe(0);
    } finally {
      await holder.clearQueues();
      await holder.close();
    }
  });
});
