import type { ClusterBackend, ClusterJob, ClusterSubmission } from "../cluster/backend";
import { createBackend } from "../cluster/factory";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ensureConfigFile, isWrittenConfigFile, removeConfigFile, type Config } from "../config";
import { DATABASE_URL_FILE_ENV } from "../database";
import type { Database } from "../database/database";
import { errorMessage } from "../errors";
import type { QueueSet } from "../queue/queue-set";

/** Cluster jobs of one submission group (a SLURM array or a local submission), counted by state. */
export interface ClusterJobGroup {
  submission: string;
  array: string;
  counts: Record<string, number>;
  jobs: ClusterJob[];
}

/**
 * Owns the cluster backend of a graph and keeps queued work supplied with workers: it starts workers for
 * an apply, and — once it has started any — every 2 s (and whenever the sentinel requeues) it starts more
 * for messages that wait with none to take them (retries put back after their apply's workers exited),
 * keeping a draining pool at its configured size (workers killed or stuck are replaced).
 * It stops doing so when the applies it served are finished, or after `cancel()`.
 */
export class WorkerSupervisor {
  private backendInstance?: ClusterBackend;
  private keeper?: NodeJS.Timeout;
  private ensuring = false;
  /** Applies whose workers this supervisor started and that are not finished. */
  private readonly startedApplies = new Set<string>();
  /** Set by a reapply: keep workers for whatever is queued until processing and working are empty. */
  private reapplying = false;
  /** A private directory (0700) for what workers are given by file: the database URL. Removed at close. */
  private runtimeDir?: string;
  /** Whether this supervisor wrote the config file workers load (a config given as an object): removed at close. */
  private wroteConfigFile = false;

  constructor(
    private readonly config: Config,
    private readonly queues: QueueSet,
    private readonly db: Database,
    private readonly options: { backend?: ClusterBackend; logDir?: string; log: (line: string) => void },
  ) {
    this.backendInstance = options.backend;
  }

  /** The backend, created on first use (this starts the keeper, and for the embedded database its socket). */
  async backend(): Promise<ClusterBackend> {
    if (!this.backendInstance) {
      const env = await this.workerEnv();
      this.backendInstance ??= createBackend(this.config, { env, logDir: this.options.logDir });
    }
    if (!this.keeper) {
      this.keeper = setInterval(() => void this.ensureWorkers().catch((err) => this.options.log(`starting workers failed: ${errorMessage(err)}`)), 2000);
      this.keeper.unref();
    }
    return this.backendInstance;
  }

  /** Seconds messages get on top of the walltime the backend enforces itself. */
  async walltimeGrace(): Promise<number> {
    return (await this.backend()).walltimeGrace ?? 0;
  }

  /** Starts `count` workers for an apply (SLURM: one array task per message). */
  async start(count: number, walltime: number, jobName: string, applyId?: string, arraychunk?: number): Promise<ClusterSubmission> {
    const submission = await this.submit(count, walltime, jobName, arraychunk);
    if (applyId) this.startedApplies.add(applyId);
    return submission;
  }

  /** After a reapply: keep starting workers for whatever is queued until the queues are empty. */
  async keepUntilDrained(): Promise<void> {
    this.reapplying = true;
    await this.backend();
  }

  /**
   * Messages waiting with no worker to take them get workers: one per message in `once` mode (minus tasks
   * pending or running); draining workers up to the pool's size (`cluster.concurrency` locally,
   * `arraychunk` on SLURM), minus those active. Only while an apply it started workers for is
   * unfinished, or after a reapply until the queues are drained.
   */
  async ensureWorkers(walltime = this.config.cluster.walltime): Promise<ClusterSubmission | undefined> {
    const backend = this.backendInstance;
    if (!backend || this.ensuring || (this.startedApplies.size === 0 && !this.reapplying)) return undefined;
    this.ensuring = true;
    try {
      for (const applyId of [...this.startedApplies]) {
        const p = await this.queues.progress(applyId);
        if (p.completed + p.dead >= p.total) this.startedApplies.delete(applyId);
      }
      const lengths = await this.queues.lengths();
      if (this.reapplying && lengths.processing + lengths.working === 0) this.reapplying = false;
      if (this.startedApplies.size === 0 && !this.reapplying) return undefined;
      // retries still backing off (in `lengths.processing`, from the delayed set) get workers when they are due
      const queued = await this.queues.redis.llen(this.queues.keys.processing);
      if (queued === 0) return undefined;
      const active = await backend.activeWorkers();
      const once = (this.config.cluster.worker_mode ?? backend.defaultWorkerMode) === "once";
      // draining workers: the pool is kept at its configured size while work is queued (workers killed,
      // or exited because a job ignored its abort signal, are replaced even while others still run)
      const pool = backend.name === "local" ? this.config.cluster.concurrency : (this.config.cluster.arraychunk ?? this.config.cluster.concurrency);
      const need = once ? queued - active : Math.min(queued, pool) - active;
      if (need <= 0) return undefined;
      return await this.submit(need, walltime, "retry");
    } finally {
      this.ensuring = false;
    }
  }

  /** Cluster jobs of this supervisor's submissions, grouped by array, counted by state. */
  async jobGroups(): Promise<ClusterJobGroup[]> {
    if (!this.backendInstance) return [];
    const groups = new Map<string, ClusterJobGroup>();
    for (const j of await this.backendInstance.jobs()) {
      const g = groups.get(j.array) ?? { submission: j.submission, array: j.array, counts: {}, jobs: [] };
      const state = (j.slurmState ?? j.state).toLowerCase();
      g.counts[state] = (g.counts[state] ?? 0) + 1;
      g.jobs.push(j);
      groups.set(j.array, g);
    }
    return [...groups.values()];
  }

  /** Cancels workers (all, or one submission); cancelling all also stops supplying workers until the next apply. */
  async cancel(submission?: string): Promise<void> {
    if (!submission) {
      this.startedApplies.clear();
      this.reapplying = false;
    }
    await this.backendInstance?.cancel(submission);
    if (!submission) await this.backendInstance?.wait(undefined, 30_000).catch(() => {});
  }

  async close(): Promise<void> {
    if (this.keeper) clearInterval(this.keeper);
    this.keeper = undefined;
    await this.backendInstance?.close();
    if (this.wroteConfigFile && isWrittenConfigFile(this.config)) {
      if (this.backendInstance?.name === "slurm" && (await this.backendInstance.activeWorkers().catch(() => 0)) > 0) {
        this.options.log(`the config file written for the workers (${this.config.source}) is removed now that the graph closes; ` +
          "SLURM tasks that start later cannot load it (their messages stay queued): give SLURM campaigns a config file");
      }
      removeConfigFile(this.config);
    }
    this.wroteConfigFile = false;
    if (this.runtimeDir) fs.rmSync(this.runtimeDir, { recursive: true, force: true });
    this.runtimeDir = undefined;
  }

  /**
   * What workers get in their environment: never a credential. Workers of a PostgreSQL campaign read the
   * server from the config (its file is the user's, or one written 0600 for a config object). Workers of
   * the embedded database get the path of a file (0600, in a 0700 directory) holding the URL of its socket.
   */
  private async workerEnv(): Promise<Record<string, string>> {
    if (this.db.kind !== "pglite") return {};
    const url = await this.db.workerUrl();
    this.runtimeDir ??= fs.mkdtempSync(path.join(os.tmpdir(), "autocnet-run-")); // mode 0700
    const file = path.join(this.runtimeDir, "database-url");
    fs.rmSync(file, { force: true });
    const fd = fs.openSync(file, "wx", 0o600);
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeSync(fd, `${url}\n`);
    } finally {
      fs.closeSync(fd);
    }
    return { [DATABASE_URL_FILE_ENV]: file };
  }

  private async submit(count: number, walltime: number, jobName: string, arraychunk?: number): Promise<ClusterSubmission> {
    const backend = await this.backend();
    if (!this.config.source) this.wroteConfigFile = true;
    return backend.submit({
      count, walltime, jobName, arraychunk: arraychunk ?? this.config.cluster.arraychunk, configPath: ensureConfigFile(this.config),
      mode: this.config.cluster.worker_mode,
    });
  }
}
