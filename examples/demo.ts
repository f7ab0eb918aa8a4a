/**
 * The main job, `npm run demo`: a synthetic campaign of 60 overlapping image footprints, end to end on the
 * embedded database and the local Redis. One edge's first attempt stalls past its walltime; the sentinel
 * requeues it with new parameters and it completes. Prints queue depths, results from the database and
 * the lineage of the retried job. Safe to run again (it clears its own queues and updates its images).
 *
 * Environment: REDIS_URL (default redis://127.0.0.1:6379), AUTOCNET_DEMO_DB (default ./.autocnet/demo-db),
 * AUTOCNET_DEMO_BASENAME (default autocnet-demo: the prefix of its Redis keys).
 */
import * as path from "path";
import { loadConfig } from "../src/config";
import { NetworkCandidateGraph } from "../src/graph";
import { recordGroundTruth, registrationAccuracy, syntheticCampaign } from "../src/synthetic";
import { syntheticImages } from "../src/synthetic/footprints";
import { formatLineage } from "../src/queue/lineage";

async function main(): Promise<void> {
  const t0 = Date.now();
  const step = (s: string) => console.log(`\n[${((Date.now() - t0) / 1000).toFixed(1)} s] ${s}`);
  const config = loadConfig({
    redis: { url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", basename: process.env.AUTOCNET_DEMO_BASENAME ?? "autocnet-demo" },
    cluster: { backend: "local", concurrency: 4, walltime: "00:01:00", heartbeat: 1, sentinel_interval: 0.5, maxfailures: 3 },
    database: { embedded: path.resolve(process.env.AUTOCNET_DEMO_DB ?? ".autocnet/demo-db") },
  });

  step("connecting: Redis and the embedded database (PGlite)");
  const ncg = await NetworkCandidateGraph.connect(config, { log: (l) => console.log(`  ! ${l}`) });
  try {
    console.log(`  redis ${config.redis.url}, queues ${config.redis.processing_queue} / ${config.redis.working_queue} / ${config.redis.completed_queue}`);
    console.log(`  database ${ncg.db.kind} at ${ncg.db.where}`);
    await ncg.clearQueues();

    step("writing 60 synthetic footprints to the images table");
    const report = await ncg.addImages(syntheticImages());
    console.log(`  ${report.added} added, ${report.updated} updated, ${report.ignored.length} ignored`);

    step("NetworkCandidateGraph.fromDatabase()");
    await ncg.loadFromDatabase("SELECT * FROM images WHERE name LIKE 'CTX_demo_%' AND NOT ignore ORDER BY id");
    console.log(`  ${ncg.nodes.size} nodes, ${ncg.edges.size} edges (pairs of footprints that overlap)`);

    const edges = [...ncg.edges.values()];
    const slow = edges[Math.floor(edges.length / 2)];
    step(`apply('overlap', {on: 'edges'}) with 4 local workers; edge [${slow.source}, ${slow.destination}] stalls 8 s on its first attempt, walltime 3 s`);
    const handle = await ncg.apply("overlap", {
      on: "edges",
      walltime: 3,
      kwargsFor: (t) => (JSON.stringify(t) === JSON.stringify([slow.source, slow.destination]) ? { delay_seconds: 8 } : undefined),
    });
    console.log(`  pushed ${handle.count} messages (apply ${handle.applyId}); workers: ${handle.submission?.count} processes`);
    console.log(`  ncg.redisQueue.llen(processing_queue) = ${await ncg.redisQueue.llen(config.redis.processing_queue)}`);

    step("waiting for every job to complete");
    let last = "";
    const done = await handle.wait({
      timeout: 120_000,
      pollMs: 250,
      onProgress: (p) => {
        const line = `  ${p.completed}/${p.total} completed, ${p.dead} dead-lettered`;
        if (line !== last) console.log(line);
        last = line;
      },
    });

    step("queue depths");
    const q = await ncg.queueLengths();
    console.log(`  processing ${q.processing}, working ${q.working}, completed ${q.completed}, dead-letter ${q.dead}, quarantine ${q.quarantine}`);
    const s = ncg.sentinel.status();
    console.log(`  sentinel: ${s.sweeps} sweeps, ${s.requeued} requeued, ${s.deadLettered} dead-lettered, ${s.errors} errors`);

    step("results in the database");
    const [r] = await ncg.db.query<{ n: number; total: number; smallest: number; largest: number }>(
      `SELECT count(*)::int AS n, sum(area)::float8 AS total, min(area)::float8 AS smallest, max(area)::float8 AS largest
         FROM overlap_results WHERE job_id LIKE $1`, [`${handle.applyId}-%`]);
    console.log(`  overlap_results: ${r.n} rows from this run; overlap area total ${r.total.toFixed(3)} deg², smallest ${r.smallest.toFixed(4)}, largest ${r.largest.toFixed(4)}`);
    const ok = [...ncg.edges.values()].filter((e) => e.jobStatus.overlap?.success).length;
    console.log(`  jobStatus.overlap.success on ${ok} of ${ncg.edges.size} edges`);

    step("lineage of the retried job");
    const slowIndex = handle.targets.findIndex((t) => JSON.stringify(t) === JSON.stringify([slow.source, slow.destination]));
    console.log(formatLineage(await ncg.lineage(handle.jobId(slowIndex))).replace(/^/gm, "  "));

    if (done.completed !== handle.count || r.n !== handle.count) throw new Error(`demo: expected ${handle.count} results, got ${r.n}`);
    step(`done: ${done.completed} of ${handle.count} jobs completed, none lost`);

    await controlNetworkDemo(ncg, step);
  } finally {
    await ncg.close();
  }
}

/**
 * Part two: real pixels. A small synthetic campaign (frames rendered from a cratered ground with exact maps,
 * stored with deliberately wrong a-priori georeferences) becomes images in the database, with its ground truth.
 */
async function controlNetworkDemo(ncg: NetworkCandidateGraph, step: (s: string) => void): Promise<void> {
  const dir = path.resolve(process.env.AUTOCNET_DEMO_CAMPAIGN ?? path.join(".autocnet", "demo-campaign"));
  step(`a synthetic campaign: 3 frames of 256 × 256 pixels with exact ground truth, in ${dir}`);
  const campaign = await syntheticCampaign({ frames: 3, size: 256, seed: 2026, outDir: dir, prefix: "demo_frame", center: { lon: 10, lat: 10 } });
  console.log(`  ${campaign.reused ? "reused (cached)" : `rendered in ${(campaign.timings.reduce((t, f) => t + f.renderMs + f.writeMs, 0) / 1000).toFixed(1)} s`}: ` +
    campaign.frames.map((f) => path.basename(f.path)).join(", "));
  const report = await ncg.addImages(campaign.frames.map((f) => f.path));
  await recordGroundTruth(ncg.db, campaign);
  console.log(`  images from the GeoTIFFs: ${report.added} added, ${report.updated} updated, ${report.ignored.length} ignored; ground truth recorded`);
  await ncg.loadFromDatabase("SELECT * FROM images WHERE name LIKE 'demo_frame_%' AND NOT ignore ORDER BY id");
  console.log(`  ${ncg.nodes.size} nodes, ${ncg.edges.size} edges`);

  const run = async (func: string, on: "nodes" | "edges" | "points", kwargs: Record<string, unknown> = {}) => {
    const h = await ncg.apply(func, { on, kwargs, walltime: "00:02:00" });
    const p = await h.wait({ timeout: 120_000 });
    console.log(`  ${func.padEnd(24)} ${String(p.completed).padStart(3)} of ${p.total} ${on} completed${p.dead ? `, ${p.dead} dead-lettered` : ""}`);
    if (p.dead > 0) throw new Error(`demo: ${func} dead-lettered ${p.dead} job(s); see ncg.lineage()`);
  };
  step("the matching chain, as jobs on the local workers");
  await run("extract_features", "nodes", { method: "orb", nfeatures: 1500 });
  await run("match", "edges");
  await run("compute_homography", "edges");
  // a 41 px search window needs 20 px inside every image: the margin keeps points where it fits
  await run("place_points_in_overlap", "edges", { spacing: 20, size: 21, margin: 22 });
  await run("subpixel_register_point", "points", { template_size: 21, search_size: 41 });
  const fits = [...ncg.edges.values()].map((e) => e.jobStatus.compute_homography?.result as { homography_inliers?: number; homography_rms?: number } | undefined);
  console.log(`  homography inliers per edge: ${fits.map((f) => `${f?.homography_inliers ?? "?"} (RMS ${f?.homography_rms?.toFixed(2) ?? "?"} px)`).join(", ")}`);

  step("registration accuracy against the exact ground truth");
  const acc = await registrationAccuracy(ncg.db);
  console.log(`  ${acc.registeredPoints} of ${acc.points} placed points registered (${((100 * acc.registeredPoints) / Math.max(1, acc.points)).toFixed(1)} %)`);
  console.log(`  ${acc.measures} measures: RMS ${acc.rms.toFixed(3)} px, max ${acc.max.toFixed(3)} px (a priori: RMS ${acc.aprioriRms.toFixed(2)} px)`);

  const net = path.join(dir, "demo.net");
  const written = await ncg.toIsis(net);
  console.log(`  ISIS control network: ${net} (${written.points} points, ${written.measures} measures) and ${written.listPath}`);
}

if (require.main === module) {
  main().then(() => process.exit(0), (err) => {
    console.error(`demo failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
