import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * Executes every tutorial notebook headlessly in a real tslab kernel (Debian's Jupyter + nbclient) and
 * checks the displays they produced. `.ci/run` installs Jupyter; elsewhere: see the README.
 */
const root = path.join(__dirname, "..");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "acn-notebooks-"));
const NOTEBOOKS = ["01-quickstart", "02-queue-flow", "03-reparameterize", "04-scripts", "05-control-network"];

interface Output { output_type: string; name?: string; text?: string | string[]; data?: Record<string, string | string[]> }
interface Cell { cell_type: string; source: string | string[]; outputs?: Output[] }

/**
 * Executes one notebook (once per run, on first use), so `vitest run test/notebooks.test.ts -t 05` executes only
 * notebook 05. The runner prints the failing cell's source and its stderr (tslab reports errors only there).
 */
const executed = new Map<string, { status: number | null; log: string }>();
function execute(name: string): void {
  if (!NOTEBOOKS.includes(name)) throw new Error(`${name} is not in NOTEBOOKS`);
  if (!executed.has(name)) {
    const run = spawnSync("/usr/bin/python3", ["scripts/run_notebooks.py", out, `notebooks/${name}.ipynb`], {
      cwd: root, encoding: "utf8", env: { ...process.env, JUPYTER_PATH: path.join(root, ".jupyter-prefix", "share", "jupyter") }, timeout: 600_000,
    });
    executed.set(name, { status: run.status, log: `${run.stdout}\n${run.stderr}` });
  }
  const { status, log } = executed.get(name)!;
  expect(status, log).toBe(0);
}

function outputs(name: string): { html: string[]; stdout: string; stderr: string } {
  execute(name);
  const nb = JSON.parse(fs.readFileSync(path.join(out, `${name}.ipynb`), "utf8")) as { cells: Cell[] };
  const join = (x: string | string[] | undefined) => (Array.isArray(x) ? x.join("") : x ?? "");
  const all = nb.cells.flatMap((c) => c.outputs ?? []);
  return {
    html: all.map((o) => join(o.data?.["text/html"])).filter(Boolean),
    stdout: all.filter((o) => o.name === "stdout").map((o) => join(o.text)).join(""),
    stderr: all.filter((o) => o.name === "stderr").map((o) => join(o.text)).join(""),
  };
}

describe("tutorial notebooks, executed in a tslab kernel", () => {
  beforeAll(() => {
    // installs Debian's Jupyter first if it is missing (as root), else says what to install
    const setup = spawnSync("bash", ["scripts/setup-notebooks.sh"], { cwd: root, encoding: "utf8", timeout: 600_000 });
    expect(setup.status, setup.stderr).toBe(0);
  }, 660_000);

  it("01-quickstart shows the footprint map, progress, queue depth and lineage", () => {
    const o = outputs("01-quickstart");
    expect(o.stdout).toMatch(/24 added|0 added, 24 updated/);
    expect(o.stdout).toMatch(/graph: 24 nodes, 68 edges/);
    expect(o.stdout).toMatch(/llen\(processing_queue\) = \d+/);
    expect(o.stdout).toMatch(/\{\s*total: 68,\s*completed: 68,\s*dead: 0,/);
    expect(o.html.some((h) => h.includes("<svg") && h.includes("Footprints and overlaps, coloured by jobStatus.overlap"))).toBe(true);
    expect(o.html.some((h) => h.includes("<svg") && h.includes("Queue depth"))).toBe(true);
    expect(o.html.some((h) => h.includes("68 completed, 0 dead-lettered of 68 (100.0 %)"))).toBe(true);
    expect(o.html.some((h) => h.includes("<svg") && h.includes("Lineage of job"))).toBe(true);
  }, 600_000);

  it("02-queue-flow shows the sentinel rescuing a hand-claimed job, a walltime overrun and a killed worker", () => {
    const o = outputs("02-queue-flow");
    expect(o.stdout).toMatch(/processing: 5 {2}working: 1/);
    expect(o.stdout).toMatch(/killed worker process \d+ \(\S+-\d+-\w+\) while it held the job/);
    const rescued = o.html.find((h) => h.includes("Three rescued jobs"))!;
    expect(rescued).toContain("<svg");
    for (const outcome of ["heartbeat lost", "walltime exceeded", "completed"]) expect(rescued).toContain(outcome);
    expect(rescued).toContain("#1→#2: delay_seconds 6→0, walltime 2→4");
    expect(rescued).toContain("#1→#2: delay_seconds 30→0, walltime 600→1200");
    expect(o.html.some((h) => h.includes("Sentinel and watcher") && h.includes("running (sweeping)"))).toBe(true);
  }, 600_000);

  it("03-reparameterize shows the ladder of parameters and the dead-letter list", () => {
    const o = outputs("03-reparameterize");
    // the built-in matching jobs, and the tutorial's stand-in ring_match (which replaces the built-in one there)
    expect(o.stdout).toContain("registered jobs: always_fails, compute_fundamental_matrix, compute_homography, extract_features, " +
      "footprint_stats, match, noop, overlap, place_points_in_overlap, ring_match, sleep, subpixel_register_point");
    expect(o.stdout).toMatch(/failed 3 time\(s\), maxfailures is 3 \(cause: exception\)/);
    const ladder = o.html.find((h) => h.includes("ring_match: each retry loosens the tolerance"))!;
    expect(ladder).toContain("#1→#2: target_points 25→20, tolerance 1→2");
    expect(o.html.some((h) => h.includes("always_fails: three attempts") && h.includes("dead-lettered"))).toBe(true);
  }, 600_000);

  it("04-scripts runs the same helpers from a plain script, displays as text", () => {
    const o = outputs("04-scripts");
    expect(o.stdout).toMatch(/graph: 12 nodes, \d+ edges/);
    expect(o.stdout).toContain("finished: 12 completed, 0 dead-lettered of 12");
    expect(o.stdout).toMatch(/Queue depth — nb-04-scripts: processing 0 · working 0/);
    expect(o.stdout).toContain("usage: autocnet-worker");
  }, 600_000);

  it("executed copies carry execution counts (In [1], In [2], … in order), so they never look unrun", () => {
    for (const name of ["01-quickstart", "02-queue-flow", "03-reparameterize", "04-scripts"]) {
      execute(name);
      const nb = JSON.parse(fs.readFileSync(path.join(out, `${name}.ipynb`), "utf8")) as { cells: (Cell & { execution_count?: number | null })[] };
      const code = nb.cells.filter((c) => c.cell_type === "code");
      expect(code.map((c) => c.execution_count), name).toEqual(code.map((_, i) => i + 1));
    }
  }, 1_200_000);

  it("05-control-network runs the matching chain with a display after each step, exports the network, and matches the Apollo 15 pair", () => {
    const o = outputs("05-control-network");
    const find = (needle: string) => {
      const h = o.html.find((x) => x.includes(needle));
      expect(h, `a display containing ${JSON.stringify(needle)}`).toBeDefined();
      return h!;
    };
    const count = (text: string, re: RegExp) => Number(re.exec(text)?.[1]?.replace(/,/g, "") ?? NaN);
    expect(o.stdout).toMatch(/graph: 6 nodes, 11 edges/);
    // keypoints over an image, an edge's matches with RANSAC's verdict
    expect(count(find("ORB keypoints"), /— ([\d,]+) markers/)).toBeGreaterThan(500);
    const edge = find("after RANSAC");
    expect(count(edge, /([\d,]+) inliers \(green\)/)).toBeGreaterThan(20);
    // points over the footprints, coloured by status, before and after registration
    expect(find("Control points placed in the overlaps")).toMatch(/candidate points \([1-9]\d*\)/);
    const after = find("Control points after sub-pixel registration");
    const registered = count(after, /registered points \((\d+)\)/);
    const all = registered + count(after, /candidate points \((\d+)\)/) + count(after, /ignored points \((\d+)\)/);
    expect(registered / all).toBeGreaterThanOrEqual(0.9);
    // one point's chips and its correlation surface
    const chips = find("correlation surface in");
    expect(chips).toMatch(/Point \d+: its [2-9] measures/);
    expect(chips).toMatch(/peak 0\.\d+ at pixel \(\d+, \d+\)/);
    // residuals against the truth: sub-pixel, far below the a-priori error
    const residuals = find("Registered measures minus the ground truth");
    expect(count(residuals, /(\d+) measures, RMS/)).toBeGreaterThan(50);
    expect(count(residuals, /RMS (\d+\.\d+) px/)).toBeLessThan(0.15);
    expect(count(residuals, /max (\d+\.\d+) px/)).toBeLessThan(0.5);
    expect(count(o.stdout, /a priori: RMS (\d+\.\d+) px/)).toBeGreaterThan(2);
    // the export: every point with two or more accepted measures, no other
    const withTwo = count(o.stdout, /points with 2 or more accepted measures in the database: (\d+)/);
    expect(withTwo).toBeGreaterThan(50);
    expect(count(o.stdout, /exported: (\d+) points/)).toBe(withTwo);
    expect(o.stdout).toMatch(/measure types: \{ registeredPixel: \d+, registeredSubPixel: \d+ \}/);
    // the Apollo 15 pair: several hundred homography inliers, residuals of a pixel or two, less after registration
    const apollo = find("AS15-M-0297 → AS15-M-0298: matches after RANSAC");
    expect(count(apollo, /([\d,]+) inliers \(green\)/)).toBeGreaterThan(300);
    const orb = find("homography residuals of the inliers (ORB positions)");
    const refined = find("homography residuals after sub-pixel registration");
    expect(count(orb, /RMS (\d+\.\d+) px/)).toBeLessThan(2);
    expect(count(refined, /RMS (\d+\.\d+) px/)).toBeLessThan(count(orb, /RMS (\d+\.\d+) px/));
  }, 600_000);
});
