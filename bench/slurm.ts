/**
 * npm run bench:slurm — time from `apply` to all-done for 200 trivial jobs, local backend vs SLURM, on
 * this machine (SLURM: the single-node dev cluster, `scripts/slurm-dev-cluster.sh start`, SLURM_CONF set).
 * Uses the local Redis (its own basename) and an embedded database in a temp dir.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { loadConfig } from "../src/config";
import { NetworkCandidateGraph } from "../src/graph";
import { figure, fmt } from "./stats";

async function timeApply(backend: "local" | "slurm", n: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `acn-bench-${backend}-`));
  const file = path.join(dir, "config.yml");
  fs.writeFileSync(file, stringify({
    redis: { host: "127.0.0.1", port: 6379, basename: `bench-${backend}-${process.pid}` },
    cluster: { backend, concurrency: 4, queue: backend === "slurm" ? "debug" : undefined, cluster_log_dir: path.join(dir, "logs"), heartbeat: 1 },
    database: { embedded: path.join(dir, "db") },
  }));
  const ncg = await NetworkCandidateGraph.connect(loadConfig(file, { onWarning: () => {} }), { log: () => {} });
  try {
    await ncg.clearQueues();
    const t0 = performance.now();
    const h = await ncg.apply("noop", { on: Array.from({ length: n }, (_, i) => i + 1), walltime: "00:05:00" });
    await h.wait({ timeout: 600_000, pollMs: 50 });
    return (performance.now() - t0) / 1000;
  } finally {
    await ncg.cancel().catch(() => {});
    await ncg.clearQueues();
    await ncg.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200);
  const runs = Number(process.argv[3] ?? 3);
  if (!process.env.SLURM_CONF && !fs.existsSync("/etc/slurm/slurm.conf")) {
    throw new Error("no SLURM: run scripts/slurm-dev-cluster.sh start and export SLURM_CONF=/tmp/autocnet-slurm/slurm.conf");
  }
  const local: number[] = [], slurm: number[] = [];
  for (let r = 0; r < runs; r++) {
    local.push(await timeApply("local", n));
    slurm.push(await timeApply("slurm", n));
  }
  const [l, s] = [figure(local), figure(slurm)];
  console.log(`${n} trivial jobs, apply -> all done (median of ${runs}, min–max; 2 shared cores):`);
  console.log(`  local backend (4 drain workers):              ${fmt(l.median, 2)} s (${fmt(l.min, 2)}–${fmt(l.max, 2)})`);
  console.log(`  slurm backend (array, one task per job, --once): ${fmt(s.median, 2)} s (${fmt(s.min, 2)}–${fmt(s.max, 2)})`);
}

main().catch((err) => {
  console.error(`bench:slurm failed: ${(err as Error).message}`);
  process.exit(1);
});
