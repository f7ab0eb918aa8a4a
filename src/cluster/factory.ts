import type { Config } from "../config";
import type { ClusterBackend } from "./backend";
import { LocalCluster } from "./local";
import { SlurmCluster } from "./slurm";

/** The backend `cluster.backend` names: local worker processes, or SLURM job arrays. */
export function createBackend(config: Config, options: { env: Record<string, string>; logDir?: string }): ClusterBackend {
  const c = config.cluster;
  return c.backend === "slurm"
    ? new SlurmCluster({
      partition: c.queue, memPerCpu: c.mem_per_cpu, exclude: c.exclude, logDir: c.cluster_log_dir ?? options.logDir,
      extraSbatch: c.extra_sbatch, env: options.env,
    })
    : new LocalCluster({ concurrency: c.concurrency, logDir: options.logDir, env: options.env });
}
