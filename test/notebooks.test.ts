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
const NOTEBOOKS = ["01-quickstart", "02-queue-flow", "03-reparameterize", "04-scripts"];

interface Output { output_type: string; name?: string; text?: string | string[]; data?: Record<string, string | string[]> }
interface Cell { cell_type: string; source: string | string[]; outputs?: Output[] }

function outputs(name: string): { html: string[]; stdout: string; stderr: string } {
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
    const run = spawnSync("/usr/bin/python3", ["scripts/run_notebooks.py", out, ...NOTEBOOKS.map((n) => `notebooks/${n}.ipynb`)], {
      cwd: root, encoding: "utf8", env: { ...process.env, JUPYTER_PATH: path.join(root, ".jupyter-prefix", "share", "jupyter") }, timeout: 600_000,
    });
    // the runner prints the failing cell's source and its stderr (tslab reports errors only there)
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  }, 660_000);

  it("01-quickstart shows the footprint map, progress, queue depth and lineage", () => {
    const o = outputs("01-quickstart");
    expect(o.stdout).toMatch(/24 added|0 added, 24 updated/);
    expect(o.stdout).toMatch(/graph: 24 nodes, 68 edges/);
    expect(o.stdout).toMatch(/llen\(processing_queue\) = \d+/);
    expect(o.stdout).toContain("{ total: 68, completed: 68, dead: 0");
    expect(o.html.some((h) => h.includes("<svg") && h.includes("Footprints and overlaps, coloured by jobStatus.overlap"))).toBe(true);
    expect(o.html.some((h) => h.includes("<svg") && h.includes("Queue depth"))).toBe(true);
    expect(o.html.some((h) => h.includes("68 completed, 0 dead-lettered of 68 (100.0 %)"))).toBe(true);
    expect(o.html.some((h) => h.includes("<svg") && h.includes("Lineage of job"))).toBe(true);
  });

  it("02-queue-flow shows the sentinel rescuing a hand-claimed job, a walltime overrun and a killed worker", () => {
    const o = outputs("02-queue-flow");
    expect(o.stdout).toMatch(/processing: 5 {2}working: 1/);
    expect(o.stdout).toMatch(/killed worker process\(es\) [\d, ]+ while it held the job/);
    const rescued = o.html.find((h) => h.includes("Three rescued jobs"))!;
    expect(rescued).toContain("<svg");
    for (const outcome of ["heartbeat lost", "walltime exceeded", "completed"]) expect(rescued).toContain(outcome);
    expect(rescued).toContain("#1→#2: delay_seconds 6→0, walltime 2→4");
    expect(rescued).toContain("#1→#2: delay_seconds 30→0, walltime 600→1200");
    expect(o.html.some((h) => h.includes("Sentinel status") && h.includes("running (sweeping)"))).toBe(true);
  });

  it("03-reparameterize shows the ladder of parameters and the dead-letter list", () => {
    const o = outputs("03-reparameterize");
    // the built-in matching jobs, and the tutorial's stand-in ring_match (which replaces the built-in one there)
    expect(o.stdout).toContain("registered jobs: always_fails, compute_fundamental_matrix, compute_homography, extract_features, " +
      "footprint_stats, match, noop, overlap, place_points_in_overlap, ring_match, sleep, subpixel_register_point");
    expect(o.stdout).toMatch(/failed 3 time\(s\), maxfailures is 3 \(cause: exception\)/);
    const ladder = o.html.find((h) => h.includes("ring_match: each retry loosens the tolerance"))!;
    expect(ladder).toContain("#1→#2: target_points 25→20, tolerance 1→2");
    expect(o.html.some((h) => h.includes("always_fails: three attempts") && h.includes("dead-lettered"))).toBe(true);
  });

  it("04-scripts runs the same helpers from a plain script, displays as text", () => {
    const o = outputs("04-scripts");
    expect(o.stdout).toMatch(/graph: 12 nodes, \d+ edges/);
    expect(o.stdout).toContain("finished: 12 completed, 0 dead-lettered of 12");
    expect(o.stdout).toMatch(/Queue depth — nb-04-scripts: processing 0 · working 0/);
    expect(o.stdout).toContain("usage: autocnet-worker");
  });
});
