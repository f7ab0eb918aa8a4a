import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { formatWalltime } from "../config/walltime";
import type { ClusterBackend, ClusterJob, ClusterJobState, ClusterSubmission, SubmitRequest } from "./backend";
import { workerScriptPath } from "./local";

export interface SlurmClusterOptions {
  /** Partition (config `cluster.queue`). */
  partition?: string;
  /** `--mem-per-cpu`. */
  memPerCpu?: string;
  /** `--exclude` (nodes not to use). */
  exclude?: string;
  /** Where `--output`/`--error` logs and the batch scripts go (config `cluster_log_dir`). */
  logDir?: string;
  /** Extra `#SBATCH` lines, e.g. `--account=mars`. */
  extraSbatch?: string[];
  /**
   * Environment for sbatch and the tasks (SLURM exports it to them): e.g. AUTOCNET_DATABASE_URL_FILE, SLURM_CONF.
   * Never a credential: sbatch's environment is stored with the job and shown by `scontrol show job`.
   */
  env?: NodeJS.ProcessEnv;
  /** The Node.js binary tasks run (default: this one, which a single-node or shared-filesystem cluster can use). */
  node?: string;
}

/** SLURM states as squeue prints them, mapped to ours. */
const STATES: Record<string, ClusterJobState> = {
  PENDING: "pending", CONFIGURING: "pending", REQUEUED: "pending", RESV_DEL_HOLD: "pending", SUSPENDED: "pending",
  RUNNING: "running", COMPLETING: "running", STAGE_OUT: "running", SIGNALING: "running",
  COMPLETED: "completed", TIMEOUT: "timeout", FAILED: "failed", NODE_FAIL: "failed", OUT_OF_MEMORY: "failed",
  BOOT_FAIL: "failed", DEADLINE: "timeout", PREEMPTED: "cancelled", CANCELLED: "cancelled", REVOKED: "cancelled",
};

/** How n tasks split into arrays when one array may hold at most `maxArraySize - 1` tasks (indices 1..n). */
export function splitArrays(count: number, maxArraySize: number): number[] {
  const per = Math.max(1, maxArraySize - 1);
  const out: number[] = [];
  for (let left = count; left > 0; left -= per) out.push(Math.min(per, left));
  return out;
}

/** Seconds SLURM may run a task past its `--time` before the sentinel steps in: limit checks come every ~30 s, then KillWait. */
export const SLURM_WALLTIME_GRACE = 90;

/**
 * Cluster backend for SLURM: `sbatch` job arrays, one `autocnet-worker --once` per array task, `%arraychunk`
 * throttling, split into several arrays beyond the cluster's MaxArraySize. Status from `squeue`, cancel with
 * `scancel`. Only a non-zero exit of sbatch is an error (warnings on stderr are passed on, not fatal).
 */
export class SlurmCluster implements ClusterBackend {
  readonly name = "slurm";
  readonly defaultWorkerMode = "once" as const;
  /** Messages carry walltime + this, so SLURM's own limit (and its TIMEOUT) comes before the sentinel's. */
  readonly walltimeGrace = SLURM_WALLTIME_GRACE;
  private readonly arrays = new Map<string, string[]>(); // submission -> SLURM array job ids
  private submissions = 0;
  private maxArraySize?: number;
  warnings: string[] = [];

  constructor(private readonly options: SlurmClusterOptions = {}) {}

  private run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string; code: number }> {
    return new Promise((resolve, reject) => {
      execFile(cmd, args, { env: { ...process.env, ...this.options.env }, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new Error(`${cmd} is not installed: install SLURM's client tools (Debian: apt-get install slurm-client), or use cluster.backend: local`));
          return;
        }
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
        resolve({ stdout: String(stdout), stderr: String(stderr), code });
      });
    });
  }

  /** MaxArraySize from `scontrol show config` (cached). */
  async getMaxArraySize(): Promise<number> {
    if (this.maxArraySize) return this.maxArraySize;
    const r = await this.run("scontrol", ["show", "config"]);
    if (r.code !== 0) throw new Error(`scontrol show config failed: ${r.stderr.trim() || r.stdout.trim()} (is slurmctld running? SLURM_CONF?)`);
    const m = /^MaxArraySize\s*=\s*(\d+)/m.exec(r.stdout);
    this.maxArraySize = m ? Number(m[1]) : 1001;
    return this.maxArraySize;
  }

  /** The batch script of one array (also what `submit` writes to the log directory). */
  batchScript(request: SubmitRequest & { tasks: number; logDir: string }): string {
    const o = this.options;
    const name = (request.jobName ?? "autocnet").replace(/[^\w.-]/g, "_");
    const chunk = request.arraychunk ? `%${request.arraychunk}` : "";
    const lines = [
      "#!/bin/bash",
      `#SBATCH --job-name=${name}`,
      `#SBATCH --array=1-${request.tasks}${chunk}`,
      `#SBATCH --time=${formatWalltime(request.walltime)}`,
      `#SBATCH --output=${path.join(request.logDir, "%x-%A_%a.out")}`,
      `#SBATCH --error=${path.join(request.logDir, "%x-%A_%a.err")}`,
    ];
    if (o.partition) lines.push(`#SBATCH --partition=${o.partition}`);
    if (o.memPerCpu) lines.push(`#SBATCH --mem-per-cpu=${o.memPerCpu}`);
    if (o.exclude) lines.push(`#SBATCH --exclude=${o.exclude}`);
    for (const extra of o.extraSbatch ?? []) lines.push(`#SBATCH ${extra.replace(/^#SBATCH\s+/, "")}`);
    const mode = (request.mode ?? this.defaultWorkerMode) === "drain" ? "--drain" : "--once";
    lines.push(
      "",
      "# one autocnet-worker per array task; SLURM's SIGTERM at --time reaches it directly (exec)",
      `exec ${q(this.options.node ?? process.execPath)} ${q(workerScriptPath())} --config ${q(request.configPath)} ${mode} ` +
        `--task "slurm \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"`,
      "",
    );
    return lines.join("\n");
  }

  async submit(request: SubmitRequest): Promise<ClusterSubmission> {
    const id = `slurm-${process.pid}-${++this.submissions}`;
    const logDir = this.options.logDir ?? path.join(os.tmpdir(), "autocnet-slurm-logs");
    fs.mkdirSync(logDir, { recursive: true });
    // draining tasks each work until the queue is empty: a few are enough (at most arraychunk, or 16)
    const tasks = (request.mode ?? this.defaultWorkerMode) === "drain" ? Math.min(request.count, request.arraychunk ?? 16) : request.count;
    const parts = splitArrays(tasks, await this.getMaxArraySize());
    const arrayIds: string[] = [];
    for (const [i, tasks] of parts.entries()) {
      const script = path.join(logDir, `${id}-${i + 1}.sbatch`);
      fs.writeFileSync(script, this.batchScript({ ...request, tasks, logDir }), { mode: 0o755 });
      const r = await this.run("sbatch", ["--parsable", script]);
      if (r.code !== 0) {
        const why = r.stderr.split("\n").filter((l) => l.trim()).map((l) => l.replace(/^sbatch: error: /, "")).join("; ") || `exit ${r.code}`;
        throw new Error(`SLURM rejected the submission (${script}): ${why}` +
          (/partition/i.test(why) ? `; check cluster.queue ('${this.options.partition ?? "(default)"}') against sinfo` : ""));
      }
      if (r.stderr.trim()) this.warnings.push(r.stderr.trim());
      const jobId = r.stdout.trim().split(";")[0];
      if (!/^\d+$/.test(jobId)) throw new Error(`sbatch gave no job id (got "${r.stdout.trim()}")`);
      arrayIds.push(jobId);
    }
    this.arrays.set(id, arrayIds);
    return { id, backend: this.name, count: tasks, arrays: arrayIds };
  }

  /** The SLURM array job ids of a submission (or of all). */
  arrayIds(submission?: string): string[] {
    return submission ? this.arrays.get(submission) ?? [] : [...this.arrays.values()].flat();
  }

  async jobs(submission?: string): Promise<ClusterJob[]> {
    const ids = this.arrayIds(submission);
    if (ids.length === 0) return [];
    const r = await this.run("squeue", ["-h", "-r", "-t", "all", "-j", ids.join(","), "-o", "%i|%A|%T|%r"]);
    if (r.code !== 0) throw new Error(`squeue failed: ${r.stderr.trim()}`);
    const owner = (jobId: string) => [...this.arrays].find(([, a]) => a.some((x) => jobId.startsWith(`${x}_`) || jobId === x))?.[0] ?? "";
    return r.stdout.split("\n").filter(Boolean).map((line) => {
      const [jobId, , state, reason] = line.split("|");
      const array = jobId.includes("_") ? jobId.slice(0, jobId.indexOf("_")) : jobId;
      return { id: jobId, submission: owner(jobId), array, state: STATES[state] ?? "unknown", slurmState: state, reason } as ClusterJob;
    });
  }

  /** Tasks pending or running (what the graph checks before starting more workers for queued messages). */
  async activeWorkers(): Promise<number> {
    return (await this.jobs()).filter((j) => j.state === "pending" || j.state === "running").length;
  }

  async cancel(submission?: string): Promise<void> {
    const ids = this.arrayIds(submission);
    if (ids.length === 0) return;
    const r = await this.run("scancel", ids);
    if (r.code !== 0) throw new Error(`scancel ${ids.join(" ")} failed: ${r.stderr.trim()}`);
  }

  async wait(submission?: string, timeoutMs = 600_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const active = (await this.jobs(submission)).filter((j) => j.state === "pending" || j.state === "running");
      if (active.length === 0) return;
      if (Date.now() > deadline) throw new Error(`SLURM tasks still active after ${timeoutMs} ms: ${active.slice(0, 5).map((j) => j.id).join(", ")}…`);
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  /** Nothing to stop: SLURM jobs belong to the cluster and keep running when a notebook closes. */
  async close(): Promise<void> {}
}

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
