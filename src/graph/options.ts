import type { ClusterBackend, ClusterSubmission } from "../cluster/backend";
import type { LoadOptions } from "../config";
import type { OpenDatabaseOptions } from "../database/database";
import type { Target } from "../queue/message";
import type { ApplyProgress } from "../queue/queue-set";
import type { WaitOptions } from "../campaign/apply-waiter";
import type { Filters } from "./model";

export type { WaitOptions };

export interface ApplyOptions {
  /**
   * `edges` (default), `nodes`, `points` (the ids of the points table's non-ignored points, sent with along
   * 'point'; `filters` then test each point as `ncg.points()` returns it), or an iterable of targets (node ids or
   * [source, destination]; a list of numbers is sent as nodes).
   */
  on?: "nodes" | "edges" | "points" | Iterable<Target>;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** Per-target kwargs on top of `kwargs` (e.g. to give one target a different first attempt). */
  kwargsFor?: (target: Target, index: number) => Record<string, unknown> | undefined;
  /** SLURM time string or seconds; default `cluster.walltime`. */
  walltime?: string | number;
  filters?: Filters;
  /** Push nothing: start workers for the messages still queued (AutoCNet's `reapply=True`). */
  reapply?: boolean;
  /** Workers running at once (SLURM `%arraychunk`; local: capped by `cluster.concurrency`). */
  arraychunk?: number;
  /** Messages per pipelined push. */
  chunksize?: number;
  /** Start workers (default true); false only queues the messages. */
  start?: boolean;
}

/** What `apply` returns: counts, job ids, the cluster submission, and `wait()`. */
export interface ApplyHandle {
  applyId?: string;
  func: string;
  /** Messages pushed (for `reapply`: messages found queued). */
  count: number;
  /** Targets in push order: `jobId(i)` is the job of `targets[i]`. */
  targets: Target[];
  jobId(index: number): string;
  submission?: ClusterSubmission;
  progress(): Promise<ApplyProgress>;
  /** Resolves when every job of this apply completed or was dead-lettered, and this graph has seen them. */
  wait(options?: WaitOptions): Promise<ApplyProgress>;
}

export interface GraphOptions extends LoadOptions {
  /** Run the sentinel in this process (default true). */
  sentinel?: boolean;
  /** Watch the completed queue and record completions (default true). */
  watcher?: boolean;
  /** A cluster backend; default from `cluster.backend` (local: worker processes on this machine). */
  cluster?: ClusterBackend;
  database?: OpenDatabaseOptions;
  /** Where worker process logs go (local backend). */
  workerLogDir?: string;
  log?: (line: string) => void;
  /**
   * What `connect` does with graphs this process already has open on the same campaign (same Redis,
   * basename and database): `true` (default) closes them first, with a log line, so re-running a notebook's
   * setup cell just works; `false` keeps them open beside the new one (PostgreSQL only: the embedded
   * database admits one graph at a time).
   */
  replace?: boolean;
}
