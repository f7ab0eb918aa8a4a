import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { connectRedis } from "../src/queue/redis";
import { QueueSet } from "../src/queue/queue-set";
import { testConfig } from "./helpers";

const demo = path.join(__dirname, "..", "build", "examples", "demo.js");

describe("npm run demo (the main job)", () => {
  const config = testConfig();
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-demo-"));
  const campaignDir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-demo-campaign-"));
  const env = { ...process.env, AUTOCNET_DEMO_DB: dbDir, AUTOCNET_DEMO_BASENAME: config.redis.basename, AUTOCNET_DEMO_CAMPAIGN: campaignDir };

  afterAll(async () => {
    const redis = await connectRedis(config.redis);
    await new QueueSet(redis, config).clear();
    redis.disconnect();
    fs.rmSync(dbDir, { recursive: true, force: true });
    fs.rmSync(campaignDir, { recursive: true, force: true });
  });

  it("runs end to end, twice: every job completes, the stalled edge is re-parameterised by the sentinel", () => {
    for (const run of [1, 2]) {
      const r = spawnSync(process.execPath, [demo], { env, encoding: "utf8", timeout: 120_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toContain(run === 1 ? "60 added, 0 updated, 0 ignored" : "0 added, 60 updated, 0 ignored");
      expect(r.stdout).toMatch(/60 nodes, (\d+) edges/);
      const edges = Number(/60 nodes, (\d+) edges/.exec(r.stdout)![1]);
      expect(r.stdout).toContain(`done: ${edges} of ${edges} jobs completed, none lost`);
      expect(r.stdout).toMatch(/processing 0, working 0, completed 0, dead-letter 0, quarantine 0/);
      // issue 13: the text form of a lineage says what a retry changed as people read it (it printed raw JSON, param_step included)
      expect(r.stdout).toMatch(/requeued #1 +cause: walltime exceeded +retried with delay_seconds 8→0, walltime 3→6/);
      // the retry races its original attempt (which ignores its abort signal and ends at 8 s): normally the retry
      // completes first and the original's finish is a duplicate; if the original wins, the retry is withdrawn.
      // Either way the job completed once (a CI run on a loaded machine once saw the second ending).
      expect(r.stdout).toMatch(/completed #2|withdrawn +\(attempt 1 finished late\)[^\n]*\n[^\n]*completed #1 +\(late/);
      // part two: a synthetic campaign becomes images with ground truth (rendered once, then reused from its cache)
      expect(r.stdout).toContain(run === 1 ? "images from the GeoTIFFs: 3 added, 0 updated, 0 ignored" : "images from the GeoTIFFs: 0 added, 3 updated, 0 ignored");
      expect(r.stdout).toContain(run === 1 ? "rendered in" : "reused (cached)");
      expect(r.stdout).toMatch(/3 nodes, 2 edges/);
      // part three: the matching chain as jobs, checked against the ground truth, exported for ISIS
      for (const func of ["extract_features", "match", "compute_homography", "place_points_in_overlap", "subpixel_register_point"]) {
        expect(r.stdout).toMatch(new RegExp(`${func} +(\\d+) of \\1 (nodes|edges|points) completed`));
      }
      const [, registered, placed] = /(\d+) of (\d+) placed points registered/.exec(r.stdout)!.map(Number);
      expect(placed).toBeGreaterThanOrEqual(10);
      expect(registered! / placed!).toBeGreaterThanOrEqual(0.9);
      const [, rms, max] = /measures: RMS ([\d.]+) px, max ([\d.]+) px/.exec(r.stdout)!.map(Number);
      expect(rms).toBeLessThan(0.1);
      expect(max).toBeLessThan(0.5);
      expect(r.stdout).toMatch(/ISIS control network: .*demo\.net \((\d+) points, (\d+) measures\)/);
    }
  });
});
