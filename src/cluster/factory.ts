import * as os from "os";
import * as path from "path";
import type { Config } from "../config";
import type { ClusterBackend } from "./backend";
import { LocalCluster } from "./local";
import { SlurmCluster } from "./slurm";

/**
 * Where a campaign's workers write their logs: `cluster.cluster_log_dir` (relative to the config file),
 * else `.autocnet/logs/` beside the config file (or the working directory) for local workers and the
 * system's temporary directory for SLURM. `override` (GraphOptions.workerLogDir) wins for local workers.
 */
export function workerLogDir(config: Config, override?: string): string {
  const c = config.cluster;
  const base = config.source ? path.dirname(config.source) : process.cwd();
  const configured = c.cluster_log_dir ? path.resolve(base, c.cluster_log_dir) : undefined;
  if (c.backend === "slurm") return configured ?? override ?? path.join(os.tmpdir(), "autocnet-slurm-logs");
  return override ?? configured ?? path.join(base, ".autocnet", "logs");
}

/** The backend `cluster.backend` names: local worker processes, or SLURM job arrays. */
export function createBackend(config: Config, options: { env: Record<string, string>; logDir?: string }): ClusterBackend {
  const c = config.cluster;
  return c.backend === "slurm"
    ? new SlurmCluster({
      partition: c.queue, memPerCpu: c.mem_per_cpu, exclude: c.exclude, logDir: workerLogDir(config, options.logDir),
      extraSbatch: c.extra_sbatch, env: options.env,
    })
    : new LocalCluster({ concurrency: c.concurrency, logDir: options.logDir === "inherit" ? "inherit" : workerLogDir(config, options.logDir), env: options.env });
}
