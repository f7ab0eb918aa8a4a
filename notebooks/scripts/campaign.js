// The same helpers as the notebooks, from a plain Node script (run by 04-scripts, or by hand:
//   node notebooks/scripts/campaign.js notebooks/configs/04-scripts.yml).
// Displays print their text form outside a notebook; the progress bar goes to stderr.
const { NetworkCandidateGraph, syntheticImages, show, formatLineage } = require("autocnet-ts");

async function main() {
  const ncg = await NetworkCandidateGraph.connect(process.argv[2] ?? process.env.AUTOCNET_CONFIG);
  try {
    await ncg.clearQueues();
    await ncg.addImages(syntheticImages(4, 3));
    await ncg.loadFromDatabase();
    console.log(`graph: ${ncg.nodes.size} nodes, ${ncg.edges.size} edges`);
    const job = await ncg.apply("footprint_stats", { on: "nodes" });
    const done = await job.wait({ progress: true, timeout: 120000 });
    console.log(`finished: ${done.completed} completed, ${done.dead} dead-lettered of ${done.total}`);
    show(await ncg.queueDepthView());
    show(ncg.footprintMap({ func: "footprint_stats" }));
    show(await ncg.statusView());
    console.log(formatLineage(await ncg.lineage(job.jobId(0))));
  } finally {
    await ncg.close();
  }
}

main().catch((err) => {
  console.error(`campaign failed: ${err.message}`);
  process.exit(1);
});
