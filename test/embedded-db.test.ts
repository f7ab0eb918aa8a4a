import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkCandidateGraph } from "../src/graph";
import { testConfig } from "./helpers";

describe("embedded PGlite served to 8 concurrent worker processes", () => {
  let ncg: NetworkCandidateGraph;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-pglite8-"));

  beforeAll(async () => {
    ncg = await NetworkCandidateGraph.connect(testConfig({ database: { embedded: dir }, cluster: { concurrency: 8 } }), { log: () => {} });
    // a 10 x 8 grid of half-overlapping footprints: 80 nodes
    const images = [];
    for (let i = 0; i < 10; i++) {
      for (let j = 0; j < 8; j++) {
        const [x, y] = [i * 1.5, j * 1.5];
        images.push({ name: `img_${i}_${j}`, footprint: { type: "Polygon" as const, coordinates: [[[x, y], [x + 2, y], [x + 2, y + 2], [x, y + 2], [x, y]]] as [number, number][][] } });
      }
    }
    await ncg.addImages(images);
    await ncg.loadFromDatabase();
  });

  afterAll(async () => {
    await ncg?.clearQueues();
    await ncg?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("every job's result lands in the one embedded database, written by 8 workers at once", async () => {
    expect(ncg.nodes.size).toBe(80);
    const h = await ncg.apply("overlap", { on: "edges", kwargs: { delay_seconds: 0.1 } });
    expect(h.count).toBe(ncg.edges.size);
    expect(h.submission?.count).toBe(8);
    expect(await h.wait({ timeout: 90_000 })).toMatchObject({ completed: h.count, dead: 0 });
    const rows = await ncg.db.query<{ n: number; total: number }>("SELECT count(*)::int AS n, sum(area)::float8 AS total FROM overlap_results");
    expect(rows[0].n).toBe(h.count);
    const expectedTotal = [...ncg.edges.values()].reduce((a, e) => a + e.overlapArea, 0);
    expect(rows[0].total).toBeCloseTo(expectedTotal, 6);
    const workers = new Set<string>();
    for (let i = 0; i < h.count; i++) {
      for (const e of (await ncg.lineage(h.jobId(i))).events) if (e.e === "claimed") workers.add(e.w!);
    }
    expect(workers.size).toBe(8);
  });
});
