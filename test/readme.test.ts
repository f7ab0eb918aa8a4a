import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import { QueueSet } from "../src/queue/queue-set";
import { connectRedis } from "../src/queue/redis";

// The README's "Using it" example, executed exactly as printed: its config.yml and campaign.mjs are taken
// from README.md (the blocks after `<!-- readme-example: NAME -->`), in a fresh folder where `autocnet-ts`
// resolves to this checkout as `npm install /path/to/autocnet-ts` makes it.
const root = path.join(__dirname, "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-readme-"));

function example(name: string): string {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  const m = new RegExp(`<!-- readme-example: ${name.replace(".", "\\.")} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!m) throw new Error(`README.md has no example block '${name}'`);
  return m[1]!;
}

afterAll(async () => {
  const config = loadConfig(path.join(dir, "config.yml"), { onWarning: () => {} });
  const redis = await connectRedis(config.redis);
  await new QueueSet(redis, config).clear();
  redis.disconnect();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("README: Using it", () => {
  it("config.yml and campaign.mjs run as printed: two images through the matching chain to an ISIS control network", () => {
    fs.writeFileSync(path.join(dir, "config.yml"), example("config.yml"));
    fs.writeFileSync(path.join(dir, "campaign.mjs"), example("campaign.mjs"));
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.symlinkSync(root, path.join(dir, "node_modules", "autocnet-ts"), "dir");
    const r = spawnSync(process.execPath, ["campaign.mjs"], { cwd: dir, encoding: "utf8", timeout: 240_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain("2 images, 1 overlapping pair(s)");
    for (const func of ["extract_features", "match", "compute_homography", "place_points_in_overlap", "subpixel_register_point"]) {
      expect(r.stdout).toMatch(new RegExp(`^${func}: (\\d+) of \\1 completed, 0 dead-lettered$`, "m"));
    }
    expect(r.stdout).toMatch(/what compute_homography returned: \{[^}]*homography_inliers/);
    const [, registered, placed, rms] = /(\d+) of (\d+) points registered, RMS ([\d.]+) px against the ground truth/.exec(r.stdout)!.map(Number);
    expect(placed).toBeGreaterThan(5);
    expect(registered! / placed!).toBeGreaterThanOrEqual(0.9);
    expect(rms).toBeLessThan(0.1);
    const [, points] = /(\d+) points, (\d+) measures in .*campaign\.net/.exec(r.stdout)!.map(Number);
    expect(points).toBe(registered);
    expect(fs.existsSync(path.join(dir, "campaign.net")) && fs.existsSync(path.join(dir, "campaign.lis"))).toBe(true);
  }, 300_000);
});
