/** What the graph asks of a cluster: start workers for queued messages, report on them, cancel them. */
export interface SubmitRequest {
  /** How many messages were queued (a SLURM array of this size; local: an upper bound on processes). */
  count: number;
  /** Config file the workers load (the same Redis queues, database and job modules). */
  configPath: string;
  /** Seconds each worker may run (SLURM `--time`). */
  walltime: number;
  jobName?: string;
  /** How many run at once (SLURM `%arraychunk`; local: capped by `cluster.concurrency`). */
  arraychunk?: number;
  /** `once`: each worker runs one message (SLURM array tasks); `drain`: each runs until the queue is empty. */
  mode?: "once" | "drain";
}

export type ClusterJobState = "pending" | "running" | "completed" | "failed" | "cancelled" | "timeout" | "unknown";

export interface ClusterJob {
  /** Backend-specific id (SLURM `1234_7`, local `local-3_1`). */
  id: string;
  /** SLURM's own state name (RUNNING, TIMEOUT, …) and reason, for the slurm backend. */
  slurmState?: string;
  reason?: string;
  submission: string;
  /** The group the backend started it in: the SLURM array job id (`1234` of `1234_7`), or the local submission. */
  array: string;
  state: ClusterJobState;
  pid?: number;
  exitCode?: number | null;
  signal?: string | null;
}

export interface ClusterSubmission {
  id: string;
  backend: string;
  count: number;
  /** SLURM array job ids. */
  arrays?: string[];
}

export interface ClusterBackend {
  readonly name: string;
  /**
   * What each cluster task does when `cluster.worker_mode` is unset: `once` (one message per task, as
   * SLURM array tasks in AutoCNet) or `drain` (each runs until the queue is empty).
   */
  readonly defaultWorkerMode: "once" | "drain";
  /**
   * Seconds messages get on top of the walltime the backend enforces itself (SLURM's --time), so that its
   * own limit acts before the sentinel's deadline. None for backends that enforce nothing.
   */
  readonly walltimeGrace?: number;
  submit(request: SubmitRequest): Promise<ClusterSubmission>;
  jobs(submission?: string): Promise<ClusterJob[]>;
  /** Cancels a submission's workers (all, if none named): SIGTERM, as SLURM's scancel does. */
  cancel(submission?: string): Promise<void>;
  /** Workers pending or running, across submissions. */
  activeWorkers(): Promise<number>;
  /** Resolves when a submission's (or every) worker has exited. */
  wait(submission?: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}
