/**
 * Campaign-level matching benchmark: the whole chain as jobs on the local cluster, against the exact ground truth
 * of a synthetic campaign, then the real Apollo 15 pair, then the worker's memory over many sub-pixel jobs.
 *
 *   npm run bench:matching [-- --quick]        (after the chip benchmark, main.ts)
 *   node build/bench/matching/campaign.js [--quick] [--json FILE] [--memory-jobs N] [--no-memory]
 *
 * 1. Synthetic campaign (syntheticCampaign's defaults: 100 m pixels, 40 % overlap, frames turned by up to 3° and
 *    scaled by up to 2 %, σ = 2 DN noise, a-priori georeferences off by 3 px and 0.5°; cached under
 *    .autocnet/synthetic/): a 4 × 3 grid of 384 px frames (--quick: 3 × 2 of 256 px). On the local cluster
 *    (cluster.concurrency 2): extract_features (ORB, 2000) → match → compute_homography → place_points_in_overlap
 *    (spacing 16 px) → subpixel_register_point with its defaults (31 px template, 61 px search, method template),
 *    then again with method phase (not with --quick). Reported: % of placed points registered, RMS and max of the registered measures
 *    against the truth (registrationAccuracy), the homography's RANSAC inlier residuals (pooled over the edges) and
 *    the homography's error against the truth at the inliers, points registered per second.
 * 2. Apollo 15 AS15-M-0297 → 0298 (test/fixtures/apollo15; no georeference, so the vision functions directly):
 *    ORB (nfeatures 5000) → ratio test 0.8 → RANSAC homography (2 px): inliers and their residuals; then each inlier
 *    registered to sub-pixel (subpixelRegister, 21/31 px, pre-warped by the homography) and the homography refitted.
 * 3. Memory: `subpixel_register_point` (wrapped by memory-job.ts, which reports the process's memory) applied over
 *    the campaign's points again and again until --memory-jobs jobs (default 10 000; --quick 500), all run by ONE
 *    worker process (the same campaign reopened with cluster.concurrency 1, every message queued before it starts):
 *    RSS, V8 heap and OpenCV's WASM heap (size and allocator probe), after a full GC, at 250, 1 000 and 10 000 jobs
 *    and every 1 000 between. The WASM heap and probe must not move (exit code 1 if they do).
 *
 * Uses the Redis on $REDIS_URL (default redis://127.0.0.1:6379) under its own key prefix, deleted at the end, and an
 * embedded database in a temporary directory, removed at the end.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import Redis from "ioredis";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config";
import { NetworkCandidateGraph } from "../../src/graph";
import { readMatches } from "../../src/graph/matching-records";
import { openImage } from "../../src/image";
import { formatLineage } from "../../src/queue/lineage";
import type { Raster } from "../../src/image/raster";
import { loadGroundTruth, recordGroundTruth, registrationAccuracy, syntheticCampaign, trueMeasure } from "../../src/synthetic";
import { applyHomography, estimateHomography, extractFeatures, loadOpenCv, matchFeatures, subpixelRegister } from "../../src/vision";
import { GC_EVERY, MEMORY_JOB, type MemorySample } from "./memory-job";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const rms = (v: number[]) => (v.length ? Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length) : NaN);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const memoryJobs = process.argv.includes("--no-memory") ? 0 : Number(arg("--memory-jobs") ?? (quick ? 500 : 10_000));
  const t0 = performance.now();
  const figures: Record<string, unknown> = { quick };

  // ---------------------------------------------------------------- 1. the synthetic campaign
  const grid = quick ? { columns: 3, rows: 2 } : { columns: 4, rows: 3 };
  const size = quick ? 256 : 384;
  const campaign = await syntheticCampaign({ frames: grid, size, seed: 2026, prefix: "bench_campaign" });
  console.log(`campaign: ${grid.columns} × ${grid.rows} frames of ${size} px (a priori off by 3 px and 0.5°), ` +
    `${campaign.reused ? "reused from" : "rendered into"} ${path.relative(process.cwd(), campaign.dir)} (${seconds(performance.now() - t0)})`);

  const memoryModule = [path.join(__dirname, "memory-job.js")].find((f) => existsSync(f));
  if (!memoryModule) throw new Error("build/bench/matching/memory-job.js not found: compile with tsc -p bench/matching/tsconfig.json");
  const work = mkdtempSync(path.join(tmpdir(), "autocnet-bench-campaign-"));
  const configInput = {
    redis: { url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", basename: `autocnet-bench-campaign-${process.pid}` },
    cluster: { backend: "local" as const, concurrency: 2, walltime: "00:10:00", heartbeat: 1, sentinel_interval: 0.5, maxfailures: 3 },
    database: { embedded: path.join(work, "db") },
    jobs: [memoryModule],
  };
  const config = loadConfig(configInput);
  const ncg = await NetworkCandidateGraph.connect(config, { log: (l) => console.log(`  ! ${l}`), workerLogDir: path.join(work, "logs") });
  let failed = false;
  let chainDone = false;
  try {
    await ncg.clearQueues();
    await ncg.addImages(campaign.frames.map((f) => f.path));
    await recordGroundTruth(ncg.db, campaign);
    await ncg.loadFromDatabase();
    console.log(`graph: ${ncg.nodes.size} nodes, ${ncg.edges.size} edges; local cluster, ${config.cluster.concurrency} workers`);

    const run = async (func: string, on: "nodes" | "edges" | "points", kwargs: Record<string, unknown> = {}) => {
      const t = performance.now();
      const h = await ncg.apply(func, { on, kwargs });
      const p = await h.wait({ timeout: 600_000 });
      const ms = performance.now() - t;
      console.log(`  ${func.padEnd(24)} ${String(p.completed).padStart(5)} of ${p.total} ${on} in ${seconds(ms)}${p.dead ? `, ${p.dead} DEAD` : ""}`);
      if (p.dead > 0) {
        const dead = await ncg.db.query<{ job_id: string; reason: string }>(
          "SELECT job_id, reason FROM job_outcomes WHERE apply_id = $1 AND outcome = 'dead' ORDER BY idx", [h.applyId]);
        for (const d of dead) {
          console.log(`    dead: ${d.job_id} (target ${JSON.stringify(h.targets[Number(d.job_id.split("-").pop())])}): ${d.reason}`);
          console.log(formatLineage(await ncg.lineage(d.job_id)).replace(/^/gm, "      "));
        }
        throw new Error(`${func}: ${p.dead} job(s) dead-lettered`);
      }
      return { handle: h, ms, total: p.total };
    };
    const timings: Record<string, number> = {};
    timings.extract_features = (await run("extract_features", "nodes", { method: "orb", nfeatures: 2000 })).ms;
    timings.match = (await run("match", "edges")).ms;
    timings.compute_homography = (await run("compute_homography", "edges")).ms;
    timings.place_points_in_overlap = (await run("place_points_in_overlap", "edges", { spacing: 16 })).ms;

    // homography: RANSAC inlier residuals (what the job reports), and the fitted matrix against the truth
    const truth = await loadGroundTruth(ncg.db);
    const name = (id: number) => ncg.node(id)!.name;
    const inlierResiduals: number[] = [];
    const truthErrors: number[] = [];
    let inliers = 0, matches = 0;
    for (const e of ncg.edges.values()) {
      const m = await readMatches(ncg.db, e.source, e.destination);
      if (!m.homography) continue;
      matches += m.matches.length;
      for (const x of m.matches.filter((x) => x.homographyInlier)) {
        inliers++;
        const p = { x: x.sourceX, y: x.sourceY };
        const q = applyHomography(m.homography, p);
        inlierResiduals.push(Math.hypot(q.x - x.destinationX, q.y - x.destinationY));
        const t = trueMeasure(truth, name(e.source), p, name(e.destination));
        truthErrors.push(Math.hypot(q.x - t.x, q.y - t.y));
      }
    }
    const homography = {
      edges: ncg.edges.size, matches, inliers,
      inlierResidualRms: rms(inlierResiduals), inlierResidualMax: Math.max(...inlierResiduals),
      vsTruthRms: rms(truthErrors), vsTruthMax: Math.max(...truthErrors),
    };
    console.log(`  homography: ${inliers} RANSAC inliers of ${matches} matches over ${homography.edges} edges; inlier residuals ` +
      `RMS ${homography.inlierResidualRms.toFixed(3)} px, max ${homography.inlierResidualMax.toFixed(3)} px (threshold 2 px); ` +
      `H against the truth at the inliers: RMS ${homography.vsTruthRms.toFixed(3)} px, max ${homography.vsTruthMax.toFixed(3)} px`);
    figures.campaign = { grid, size, nodes: ncg.nodes.size, edges: ncg.edges.size, homography, timings };

    // sub-pixel registration, with the defaults, then with phase correlation
    const registration: Record<string, unknown> = {};
    const variants = [["template (defaults: 31/61)", {}], ["phase (31/61)", { method: "phase" }]] as const;
    for (const [label, kwargs] of quick ? variants.slice(0, 1) : variants) {
      const r = await run("subpixel_register_point", "points", kwargs);
      const acc = await registrationAccuracy(ncg.db);
      const [span] = await ncg.db.query<{ first: Date; last: Date; n: number }>(
        "SELECT min(finished_at) AS first, max(finished_at) AS last, count(*)::int AS n FROM job_outcomes WHERE apply_id = $1", [r.handle.applyId]);
      const steadyS = (new Date(span!.last).getTime() - new Date(span!.first).getTime()) / 1000;
      const row = {
        points: acc.points, registeredPoints: acc.registeredPoints, registeredPercent: (100 * acc.registeredPoints) / acc.points,
        measures: acc.measures, rms: acc.rms, max: acc.max, aprioriRms: acc.aprioriRms,
        seconds: r.ms / 1000, pointsPerSecond: acc.registeredPoints / (r.ms / 1000),
        jobsPerSecondSteady: span!.n > 1 && steadyS > 0 ? (span!.n - 1) / steadyS : NaN,
      };
      registration[label] = row;
      console.log(`  ${label}: ${row.registeredPoints} of ${row.points} placed points registered (${row.registeredPercent.toFixed(1)} %), ` +
        `${row.measures} measures: RMS ${row.rms.toFixed(4)} px, max ${row.max.toFixed(3)} px (a priori RMS ${row.aprioriRms.toFixed(2)} px); ` +
        `${row.pointsPerSecond.toFixed(0)} points/s from apply to done (${row.jobsPerSecondSteady.toFixed(0)} jobs/s between the first and last completion)`);
    }
    figures.registration = registration;

    // ---------------------------------------------------------------- 2. the Apollo 15 pair
    figures.apollo = await apolloPair();
    chainDone = true;
  } finally {
    await ncg.close();
    if (!chainDone) {
      // a failed run leaves nothing behind either: its database, its Redis keys
      rmSync(work, { recursive: true, force: true });
      await deleteKeys(configInput.redis.url, configInput.redis.basename);
    }
  }

  // ---------------------------------------------------------------- 3. one worker's memory over many jobs
  // the same campaign (database, queues) on a cluster of ONE worker process, which runs every job
  const single = loadConfig({ ...configInput, cluster: { ...configInput.cluster, concurrency: 1 } });
  const one = await NetworkCandidateGraph.connect(single, { log: (l) => console.log(`  ! ${l}`), workerLogDir: path.join(work, "logs") });
  try {
    if (memoryJobs > 0) {
      const points = (await one.points()).map((p) => p.id);
      const t = performance.now();
      const handles = [];
      for (let queued = 0; queued < memoryJobs; queued += points.length) {
        handles.push(await one.apply(MEMORY_JOB, { on: "points", start: false, walltime: "00:30:00" }));
      }
      const total = handles.reduce((n, h) => n + h.count, 0);
      await one.apply(MEMORY_JOB, { reapply: true });
      let dead = 0;
      for (const h of handles) dead += (await h.wait({ timeout: 3_600_000 })).dead;
      const rows = await one.db.query<{ result: string }>(
        "SELECT result FROM job_outcomes WHERE func = $1 AND outcome = 'completed' AND result IS NOT NULL", [MEMORY_JOB]);
      const samples = rows.map((r) => (typeof r.result === "string" ? JSON.parse(r.result) : r.result) as MemorySample).sort((a, b) => a.n - b.n);
      const pids = new Set(samples.map((s) => s.pid));
      // samples taken after a full GC (every GC_EVERY jobs): the first, at 1 000 and at 10 000 jobs (or the last)
      const collected = samples.filter((s) => s.gc);
      const at = (n: number) => collected.find((s) => s.n >= n) ?? collected[collected.length - 1]!;
      const marks = collected.length === 0 ? [] : [...new Set([collected[0]!, at(1000), at(10_000)])];
      const steps = collected.filter((s) => s.n % (GC_EVERY * 4) === 0 || s === collected[collected.length - 1]);
      console.log(`memory: ${total} subpixel_register_point jobs (whole passes over the ${points.length} points) ` +
        `in ${pids.size} worker process(es), ${seconds(performance.now() - t)}${dead ? `, ${dead} DEAD` : ""}; after a full GC:`);
      for (const s of marks) {
        console.log(`  after ${String(s.n).padStart(6)} jobs: RSS ${mib(s.rss)}, V8 heap ${mib(s.heapUsed)}, external ${mib(s.external)}, ` +
          `WASM heap ${s.wasmHeap} bytes, allocator probe ${s.wasmProbe}`);
      }
      console.log(`  RSS / V8 heap every ${GC_EVERY * 4} jobs: ${steps.map((s) => `${(s.rss / 2 ** 20).toFixed(0)}/${(s.heapUsed / 2 ** 20).toFixed(1)}`).join(", ")} MiB`);
      if (marks.length === 0) throw new Error(`memory: fewer than ${GC_EVERY} jobs, no sample after a full GC`);
      const first = marks[0]!, last = marks[marks.length - 1]!;
      const grew = last.wasmHeap !== first.wasmHeap || last.wasmProbe !== first.wasmProbe;
      console.log(`  WASM heap ${grew ? "GREW" : "unchanged"} from job ${first.n} to job ${last.n}; ` +
        `RSS ${last.rss >= first.rss ? "+" : ""}${mib(last.rss - first.rss)}, V8 heap ${last.heapUsed >= first.heapUsed ? "+" : ""}${mib(last.heapUsed - first.heapUsed)}`);
      figures.memory = { jobs: total, processes: pids.size, seconds: (performance.now() - t) / 1000, samples: marks, steps, wasmGrew: grew };
      if (grew || pids.size !== 1 || dead > 0 || samples.length !== total) {
        console.log(`  FAILED: ${[grew && "WASM heap grew", pids.size !== 1 && `${pids.size} processes`, dead && `${dead} dead`,
          samples.length !== total && `${samples.length} of ${total} results`].filter(Boolean).join(", ")}`);
        failed = true;
      }
    }
  } finally {
    await one.clearQueues();
    await one.close();
    rmSync(work, { recursive: true, force: true });
    await deleteKeys(configInput.redis.url, configInput.redis.basename);
  }
  console.log(`campaign benchmark: ${seconds(performance.now() - t0)} in all`);
  const json = arg("--json");
  if (json) writeFileSync(json, JSON.stringify(figures, null, 2));
  if (failed) process.exitCode = 1;
}

/** Deletes what is left under this run's own key prefix (the sentinel's last status, written as it stops). */
async function deleteKeys(url: string, basename: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${basename}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/** The Apollo 15 pair through features → match → homography, then sub-pixel registration of the inliers and a refit. */
async function apolloPair() {
  await loadOpenCv();
  const dir = [path.resolve(__dirname, "../../../test/fixtures/apollo15"), path.resolve("test/fixtures/apollo15")].find((d) => existsSync(d));
  if (!dir) throw new Error("test/fixtures/apollo15 not found (run from the project root)");
  const rasters: Raster[] = [];
  for (const f of ["AS15-M-0297_crop.cub", "AS15-M-0298_crop.cub"]) {
    const img = await openImage(path.join(dir, f));
    rasters.push(await img.read());
    await img.close();
  }
  const t = performance.now();
  const features = rasters.map((r) => extractFeatures(r, { method: "orb", nfeatures: 5000 }));
  const matched = matchFeatures(features[0]!, features[1]!, { ratio: 0.8 });
  const from = matched.map((m) => features[0]!.keypoints[m.queryIdx]!);
  const to = matched.map((m) => features[1]!.keypoints[m.trainIdx]!);
  const fit = estimateHomography(from, to, { reprojThreshold: 2 });
  if (!fit) throw new Error("Apollo 15: no homography");
  const ms = performance.now() - t;
  const inl = fit.residuals.filter((_, i) => fit.mask[i]);
  const band = (lo: number, hi: number) => fit.residuals.filter((r) => r >= lo && r < hi).length;
  // sub-pixel registration of each inlier, the template pre-warped by the homography's local linear map
  const t2 = performance.now();
  const src: { x: number; y: number }[] = [];
  const dst: { x: number; y: number }[] = [];
  for (let i = 0; i < from.length; i++) {
    if (!fit.mask[i]) continue;
    const p = { x: Math.round(from[i]!.x), y: Math.round(from[i]!.y) };
    const q = applyHomography(fit.matrix, p);
    const qx = applyHomography(fit.matrix, { x: p.x + 1, y: p.y });
    const qy = applyHomography(fit.matrix, { x: p.x, y: p.y + 1 });
    const r = subpixelRegister(rasters[0]!, p, rasters[1]!, to[i]!, {
      templateSize: 21, searchSize: 31, affine: [[qx.x - q.x, qy.x - q.x], [qx.y - q.y, qy.y - q.y]],
    });
    if (r.status === "ok") {
      src.push(p);
      dst.push({ x: r.x, y: r.y });
    }
  }
  const refit = estimateHomography(src, dst, { reprojThreshold: 2 });
  const inl2 = refit ? refit.residuals.filter((_, i) => refit.mask[i]) : [];
  const out = {
    keypoints: features.map((f) => f.keypoints.length), matches: matched.length, inliers: fit.inliers,
    inlierRms: rms(inl), inlierMax: Math.max(...inl), ms,
    residualBands: { "0-2": band(0, 2), "2-5": band(2, 5), "5-10": band(5, 10), over10: band(10, Infinity) },
    registered: src.length, refitInliers: refit?.inliers ?? 0, refitRms: rms(inl2), refitMax: inl2.length ? Math.max(...inl2) : NaN,
    registerMs: performance.now() - t2,
  };
  console.log(`Apollo 15 AS15-M-0297 → 0298 (500 × 500 crops): ORB nfeatures 5000 → ${out.keypoints.join(" and ")} keypoints, ` +
    `${out.matches} matches (ratio 0.8), RANSAC 2 px: ${out.inliers} inliers, residuals RMS ${out.inlierRms.toFixed(3)} px, ` +
    `max ${out.inlierMax.toFixed(3)} px (${(ms / 1000).toFixed(1)} s)`);
  console.log(`  all matches by distance from H: <2 px ${out.residualBands["0-2"]}, 2–5 ${out.residualBands["2-5"]}, ` +
    `5–10 ${out.residualBands["5-10"]}, >10 ${out.residualBands.over10} (2–10 px: right matches off the plane — stereo parallax)`);
  console.log(`  inliers registered to sub-pixel (21/31 px, pre-warped by H): ${out.registered}; refitted H: ${out.refitInliers} inliers, ` +
    `residuals RMS ${out.refitRms.toFixed(3)} px, max ${out.refitMax.toFixed(3)} px (${(out.registerMs / 1000).toFixed(1)} s)`);
  return out;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
