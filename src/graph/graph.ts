import type { Redis } from "ioredis";
import { LocalCluster } from "../cluster/local";
import { SlurmCluster } from "../cluster/slurm";
import type { ClusterBackend, ClusterJob, ClusterSubmission } from "../cluster/backend";
import { ensureConfigFile, loadConfig, type Config, type ConfigInput, type LoadOptions } from "../config";
import { openQueues, type QueueConnection } from "../queue/connection";
import { openDatabase, type Database, type OpenDatabaseOptions } from "../database";
import { overlaps, parseFootprint, toGeoJSON, type FootprintInput, type MultiPolygonCoords } from "../geometry/polygons";
import { readLineage, type Lineage } from "../queue/lineage";
import { isEdgeTarget, newApplyId, type Target } from "../queue/message";
import type { ApplyProgress, CompletionMessage, QueueLengths } from "../queue/queue-set";
import { QueueDepthSampler } from "../campaign/depth";
import { footprintMap, lineageView, progressReporter, queueDepthView, sentinelStatusView, type Rendered } from "../display";
import { Sentinel } from "../campaign/sentinel";
import { parseWalltime } from "../config/walltime";
import { CompletedWatcher, type CompletionHandler } from "../campaign/watcher";

/** What the graph knows of one function's jobs on one node or edge (persisted in `job_status`). */
export interface JobStatus {
  success: boolean;
  /** Attempts the job took (the winning attempt, or all of them when dead-lettered). */
  attempts: number;
  lastParams?: Record<string, unknown>;
  finishedAt: string;
  jobId?: string;
  /** Why it was dead-lettered. */
  reason?: string;
}

export interface NodeAttributes {
  id: number;
  name: string;
  path?: string | null;
  footprint?: MultiPolygonCoords;
  jobStatus: Record<string, JobStatus>;
  /** Further columns of the query's rows. */
  [column: string]: unknown;
}

export interface EdgeAttributes {
  source: number;
  destination: number;
  overlap?: MultiPolygonCoords;
  overlapArea: number;
  jobStatus: Record<string, JobStatus>;
}

export interface ImageInput {
  name: string;
  path?: string;
  /** GeoJSON Polygon/MultiPolygon (or a Feature of one), or WKT. */
  footprint: FootprintInput;
}

export interface AddImagesReport {
  added: number;
  updated: number;
  /** Footprints that are invalid: stored with `ignore = true` and the reason. */
  ignored: { name: string; reason: string }[];
}

/** Attribute filters: a value to equal, or a predicate; keys may be dotted paths (`jobStatus.overlap.success`). */
export type Filters = Record<string, unknown> | ((attributes: NodeAttributes | EdgeAttributes) => boolean);

export interface ApplyOptions {
  /** `edges` (default), `nodes`, or an iterable of targets (node ids or [source, destination]). */
  on?: "nodes" | "edges" | Iterable<Target>;
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

export interface WaitOptions {
  /** Milliseconds; default no limit. */
  timeout?: number;
  /** Called with the counts every poll (what progress displays use). */
  onProgress?: (progress: ApplyProgress) => void;
  /** Show a live progress display (a bar in the notebook, or on the terminal). */
  progress?: boolean;
  pollMs?: number;
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
  /** Resolves when every job of this apply completed or was dead-lettered, and the graph has seen them. */
  wait(options?: WaitOptions): Promise<ApplyProgress>;
}

export interface GraphOptions extends LoadOptions {
  /** Run the sentinel in this process (default true). */
  sentinel?: boolean;
  /** Watch the completed queue and update job status (default true). */
  watcher?: boolean;
  /** A cluster backend; default from `cluster.backend` (local: worker processes on this machine). */
  cluster?: ClusterBackend;
  database?: OpenDatabaseOptions;
  /** Where worker process logs go (local backend). */
  workerLogDir?: string;
  log?: (line: string) => void;
}

export const edgeKey = (source: number, destination: number) =>
  source < destination ? `${source}-${destination}` : `${destination}-${source}`;

/**
 * AutoCNet's NetworkCandidateGraph: images are nodes, overlapping footprints are edges, both from the
 * database; `apply` sends a job per node or edge through the Redis queues to cluster workers, which write
 * their results straight to the database. A sentinel and a completed-queue watcher run in the background
 * of this process (unref'd timers: they never keep a script or kernel alive); `close()` stops them.
 */
export class NetworkCandidateGraph {
  readonly nodes = new Map<number, NodeAttributes>();
  readonly edges = new Map<string, EdgeAttributes>();
  readonly sentinel: Sentinel;
  readonly watcher: CompletedWatcher;
  /** Queue-depth samples taken while this graph is open (every 250 ms, the last 20 000), for `queueDepthView()`. */
  readonly depth: QueueDepthSampler;
  private readonly callbacks = new Map<string, CompletionHandler>();
  private clusterBackend?: ClusterBackend;
  private keeper?: NodeJS.Timeout;
  private ensuring = false;
  /** Applies whose workers this graph started and that are not finished: what ensureWorkers serves. */
  private readonly startedApplies = new Set<string>();
  /** Set by a reapply: keep workers for whatever is queued until processing and working are empty. */
  private reapplying = false;
  private readonly log: (line: string) => void;

  private constructor(readonly conn: QueueConnection, readonly db: Database, private readonly options: GraphOptions) {
    this.log = options.log ?? ((line) => console.error(`autocnet: ${line}`));
    this.sentinel = new Sentinel(conn.queues, conn.registry, {
      onRequeued: async (_count, walltime) => {
        await this.ensureWorkers(Math.max(walltime - (this.clusterBackend?.walltimeGrace ?? 0), 60));
      },
    });
    this.watcher = new CompletedWatcher(conn.queues, conn.blocking, { onCompletion: (m) => this.onCompleted(m) });
    this.depth = new QueueDepthSampler(conn.queues, { intervalMs: 250, capacity: 20_000 });
    this.clusterBackend = options.cluster;
  }

  /** Connects to the config's Redis and database (a path, an object, or $AUTOCNET_CONFIG); no nodes yet. */
  static async connect(source?: string | ConfigInput | Config, options: GraphOptions = {}): Promise<NetworkCandidateGraph> {
    const config = typeof source === "object" && source !== null && "warnings" in source ? (source as Config) : loadConfig(source as string | ConfigInput | undefined, options);
    const conn = await openQueues(config);
    let db: Database;
    try {
      db = await openDatabase(config, options.database);
    } catch (err) {
      await conn.close();
      throw err;
    }
    const ncg = new NetworkCandidateGraph(conn, db, options);
    if (options.sentinel !== false) ncg.sentinel.start();
    if (options.watcher !== false) ncg.watcher.start();
    if (options.sentinel !== false || options.watcher !== false) ncg.depth.start();
    return ncg;
  }

  /** Alias of `connect`, as AutoCNet's `config_from_file`. */
  static fromConfig(source?: string | ConfigInput | Config, options: GraphOptions = {}): Promise<NetworkCandidateGraph> {
    return NetworkCandidateGraph.connect(source, options);
  }

  /**
   * Connects and loads the graph: nodes are the rows of `query` (default: every image not ignored), edges
   * the pairs among them whose footprints overlap with a positive area.
   */
  static async fromDatabase(query?: string, source?: string | ConfigInput | Config, options: GraphOptions = {}): Promise<NetworkCandidateGraph> {
    const ncg = await NetworkCandidateGraph.connect(source, options);
    try {
      await ncg.loadFromDatabase(query);
    } catch (err) {
      await ncg.close();
      throw err;
    }
    return ncg;
  }

  get config(): Config {
    return this.conn.config;
  }

  /** The ioredis client, as AutoCNet's `ncg.redis_queue`: `await ncg.redisQueue.llen(config.redis.processing_queue)`. */
  get redisQueue(): Redis {
    return this.conn.redis;
  }

  get queues() {
    return this.conn.queues;
  }

  get registry() {
    return this.conn.registry;
  }

  /** Adds (or updates, by name) images with their footprints. Invalid footprints are stored as ignored, with the reason. */
  async addImages(images: ImageInput[]): Promise<AddImagesReport> {
    const report: AddImagesReport = { added: 0, updated: 0, ignored: [] };
    for (const image of images) {
      const parsed = parseFootprint(image.footprint);
      const footprint = parsed.ok ? JSON.stringify(toGeoJSON(parsed.coords)) : typeof image.footprint === "string" ? image.footprint : JSON.stringify(image.footprint ?? null);
      if (!parsed.ok) {
        report.ignored.push({ name: image.name, reason: parsed.reason });
        this.log(`image ${image.name}: invalid footprint (${parsed.reason}); stored with ignore = true`);
      }
      const rows = await this.db.query<{ inserted: boolean }>(
        `INSERT INTO images (name, path, footprint, ignore, ignore_reason) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO UPDATE SET path = EXCLUDED.path, footprint = EXCLUDED.footprint,
           ignore = EXCLUDED.ignore, ignore_reason = EXCLUDED.ignore_reason
         RETURNING (xmax = 0) AS inserted`,
        [image.name, image.path ?? null, footprint, !parsed.ok, parsed.ok ? null : parsed.reason],
      );
      if (rows[0]?.inserted) report.added++;
      else report.updated++;
    }
    return report;
  }

  /**
   * (Re)loads nodes and edges. `query` is SQL returning image rows with at least `id` (default: every image
   * not ignored) and is honoured exactly. Footprints that do not parse are reported, marked ignored in the
   * database and left out. Overlaps are computed by PostGIS where the server has it, else in TypeScript
   * (the same rule: a positive-area intersection), and stored in `edges`.
   */
  async loadFromDatabase(query = "SELECT * FROM images WHERE NOT ignore ORDER BY id", params: unknown[] = []): Promise<this> {
    let rows: Record<string, unknown>[];
    try {
      rows = await this.db.query(query, params);
    } catch (err) {
      throw new Error(`fromDatabase: the query failed: ${(err as Error).message} (query: ${query.slice(0, 200)})`);
    }
    if (rows.length > 0 && !("id" in rows[0])) throw new Error("fromDatabase: the query must return an 'id' column (the images' ids)");
    const ids = rows.map((r) => Number(r.id));
    const fpRows = await this.db.query<{ id: number; name: string; footprint: string | null }>(
      "SELECT id, name, footprint FROM images WHERE id = ANY($1)", [ids]);
    const footprints = new Map(fpRows.map((r) => [Number(r.id), r]));
    this.nodes.clear();
    this.edges.clear();
    const valid: { id: number; coords: MultiPolygonCoords }[] = [];
    for (const row of rows) {
      const id = Number(row.id);
      const fp = footprints.get(id);
      const parsed = parseFootprint(fp?.footprint ?? null);
      if (!parsed.ok) {
        this.log(`image ${id} (${fp?.name ?? "?"}): invalid footprint (${parsed.reason}); marked ignored, left out of the graph`);
        await this.db.query("UPDATE images SET ignore = true, ignore_reason = $2 WHERE id = $1", [id, parsed.reason]);
        continue;
      }
      const { footprint: _raw, geom: _geom, ...columns } = row;
      this.nodes.set(id, { ...columns, id, name: String(row.name ?? fp?.name ?? id), footprint: parsed.coords, jobStatus: {} });
      valid.push({ id, coords: parsed.coords });
    }
    const found = this.db.postgis ? await this.postgisOverlaps(valid.map((v) => v.id)) : overlaps(valid).map((o) => ({
      source: o.source, destination: o.destination, area: o.area, overlap: o.intersection,
    }));
    for (const o of found) {
      this.edges.set(edgeKey(o.source, o.destination), { source: o.source, destination: o.destination, overlap: o.overlap, overlapArea: o.area, jobStatus: {} });
    }
    await this.storeEdges();
    await this.loadJobStatus();
    return this;
  }

  private async postgisOverlaps(ids: number[]): Promise<{ source: number; destination: number; area: number; overlap: MultiPolygonCoords }[]> {
    const rows = await this.db.query<{ source: number; destination: number; area: number; overlap: string }>(
      `SELECT source, destination, ST_Area(inter) AS area, ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(inter, 3))) AS overlap
         FROM (SELECT a.id AS source, b.id AS destination, ST_Intersection(a.geom, b.geom) AS inter
                 FROM images a JOIN images b ON a.id < b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)
                WHERE a.id = ANY($1) AND b.id = ANY($1)) AS pairs
        WHERE ST_Area(inter) > 1e-12
        ORDER BY source, destination`, [ids]);
    return rows.map((r) => ({
      source: Number(r.source), destination: Number(r.destination), area: Number(r.area),
      overlap: (JSON.parse(r.overlap) as { coordinates: MultiPolygonCoords }).coordinates,
    }));
  }

  private async storeEdges(): Promise<void> {
    const all = [...this.edges.values()];
    for (let i = 0; i < all.length; i += 500) {
      const chunk = all.slice(i, i + 500);
      await this.db.query(
        `INSERT INTO edges (source, destination, overlap, overlap_area)
         SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::float8[])
         ON CONFLICT (source, destination) DO UPDATE SET overlap = EXCLUDED.overlap, overlap_area = EXCLUDED.overlap_area`,
        [chunk.map((e) => e.source), chunk.map((e) => e.destination),
          chunk.map((e) => JSON.stringify(toGeoJSON(e.overlap ?? []))), chunk.map((e) => e.overlapArea)],
      );
    }
  }

  private async loadJobStatus(): Promise<void> {
    const rows = await this.db.query<{ func: string; along: string; target: string; success: boolean; attempts: number; last_params: string | null; job_id: string | null; finished_at: Date | string }>(
      "SELECT func, along, target, success, attempts, last_params, job_id, finished_at FROM job_status");
    for (const r of rows) {
      const attrs = this.attributesOf(JSON.parse(r.target) as Target);
      if (!attrs) continue;
      attrs.jobStatus[r.func] = {
        success: r.success, attempts: Number(r.attempts), finishedAt: new Date(r.finished_at).toISOString(),
        lastParams: r.last_params ? (JSON.parse(r.last_params) as Record<string, unknown>) : undefined, jobId: r.job_id ?? undefined,
      };
    }
  }

  node(id: number): NodeAttributes | undefined {
    return this.nodes.get(id);
  }

  edge(source: number, destination: number): EdgeAttributes | undefined {
    return this.edges.get(edgeKey(source, destination));
  }

  /** The attributes of a target (a node id or [source, destination]), if the graph has it. */
  attributesOf(target: Target): NodeAttributes | EdgeAttributes | undefined {
    if (isEdgeTarget(target)) return this.edge(Number(target[0]), Number(target[1]));
    return this.nodes.get(Number(target));
  }

  /** A callback for one function's completions (after the graph has updated `jobStatus`). */
  onCompletion(func: string, handler: CompletionHandler): this {
    this.callbacks.set(func, handler);
    return this;
  }

  /**
   * Sends `func` to every node or edge (or the given targets): one message per target, pushed pipelined,
   * recorded in the database, and workers started on the cluster backend.
   */
  async apply(func: string, options: ApplyOptions = {}): Promise<ApplyHandle> {
    if (options.reapply) return this.reapply(func, options);
    if (!this.registry.has(func)) {
      throw new Error(`apply: unknown job function '${func}'; registered here: ${this.registry.names().join(", ")}. Add its module to 'jobs:' in the config`);
    }
    const on = options.on ?? "edges";
    const targets = this.selectTargets(on, options.filters);
    const along = on === "nodes" ? "node" : on === "edges" ? "edge" : undefined;
    const walltime = options.walltime === undefined ? this.config.cluster.walltime : parseWalltime(options.walltime);
    // On SLURM, its --time limit is the walltime; the messages' deadline comes a little later, so that
    // SLURM's own TIMEOUT (which the worker reports) normally precedes the sentinel's.
    const grace = options.start === false ? 0 : (await this.cluster()).walltimeGrace ?? 0;
    // recorded in the database first: if Redis later loses the messages, reconcile() knows them
    const applyId = newApplyId();
    await this.db.query(
      "INSERT INTO applies (apply_id, func, along, count, args, kwargs, walltime, targets) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      [applyId, func, along ?? null, targets.length, JSON.stringify(options.args ?? []), JSON.stringify(options.kwargs ?? {}), walltime + grace,
        JSON.stringify(targets)],
    );
    const sub = await this.queues.submit(func, targets, {
      applyId, along, args: options.args, kwargs: options.kwargs, kwargsFor: options.kwargsFor, walltime: walltime + grace, batchSize: options.chunksize,
    });
    if (this.depth.running) await this.depth.sample().catch(() => {}); // the peak, for the depth chart
    const submission = options.start === false || sub.count === 0 ? undefined : await this.startWorkers(sub.count, walltime, options.arraychunk, func);
    if (submission) this.startedApplies.add(sub.applyId);
    const handle: ApplyHandle = {
      applyId: sub.applyId, func, count: sub.count, targets, jobId: sub.jobId, submission,
      progress: () => this.queues.progress(sub.applyId),
      wait: (w) => this.waitFor(() => this.queues.progress(sub.applyId), w),
    };
    return handle;
  }

  private async reapply(func: string, options: ApplyOptions): Promise<ApplyHandle> {
    const queued = await this.redisQueue.llen(this.queues.keys.processing);
    const walltime = options.walltime === undefined ? this.config.cluster.walltime : parseWalltime(options.walltime);
    const submission = queued > 0 && options.start !== false ? await this.startWorkers(queued, walltime, options.arraychunk, func) : undefined;
    // messages still held in working (orphans the sentinel will requeue) get workers later, via the keeper
    if (options.start !== false && (submission || (await this.redisQueue.llen(this.queues.keys.working)) > 0)) {
      this.reapplying = true;
      await this.cluster();
    }
    const progress = async (): Promise<ApplyProgress> => {
      const l = await this.queues.lengths();
      return { total: queued, completed: Math.max(0, queued - l.processing - l.working), dead: 0 };
    };
    return { func, count: queued, targets: [], jobId: () => "", submission, progress, wait: (w) => this.waitFor(progress, w) };
  }

  private selectTargets(on: NonNullable<ApplyOptions["on"]>, filters?: Filters): Target[] {
    const pick = (attrs: NodeAttributes | EdgeAttributes | undefined) => !filters || (attrs !== undefined && matches(attrs, filters));
    if (on === "nodes") return [...this.nodes.values()].filter(pick).map((n) => n.id);
    if (on === "edges") return [...this.edges.values()].filter(pick).map((e) => [e.source, e.destination] as [number, number]);
    if (typeof on === "string") throw new Error(`apply: on must be 'nodes', 'edges' or a list of targets, got '${on}'`);
    return [...on].filter((t) => !filters || pick(this.attributesOf(t)));
  }

  /** The cluster backend (`cluster.backend`: local processes or SLURM), created on first use. */
  async cluster(): Promise<ClusterBackend> {
    if (!this.clusterBackend) {
      const c = this.config.cluster;
      const env = { AUTOCNET_DATABASE_URL: await this.db.workerUrl() };
      this.clusterBackend = c.backend === "slurm"
        ? new SlurmCluster({
          partition: c.queue, memPerCpu: c.mem_per_cpu, exclude: c.exclude, logDir: c.cluster_log_dir ?? this.options.workerLogDir,
          extraSbatch: c.extra_sbatch, env,
        })
        : new LocalCluster({ concurrency: c.concurrency, logDir: this.options.workerLogDir, env });
    }
    // also for a backend passed in GraphOptions.cluster: retries need workers whichever backend it is
    if (!this.keeper) {
      this.keeper = setInterval(() => void this.ensureWorkers().catch((err) => this.log(`starting workers failed: ${(err as Error).message}`)), 2000);
      this.keeper.unref();
    }
    return this.clusterBackend;
  }

  /**
   * Cluster jobs of this graph's submissions, by SLURM array (or local submission), counted by state:
   * pending, running, completing, completed, timeout, failed, cancelled.
   */
  async clusterJobs(): Promise<{ submission: string; array: string; counts: Record<string, number>; jobs: ClusterJob[] }[]> {
    if (!this.clusterBackend) return [];
    const groups = new Map<string, { submission: string; array: string; counts: Record<string, number>; jobs: ClusterJob[] }>();
    for (const j of await this.clusterBackend.jobs()) {
      const array = j.id.includes("_") ? j.id.slice(0, j.id.indexOf("_")) : j.id;
      const g = groups.get(array) ?? { submission: j.submission, array, counts: {}, jobs: [] };
      const state = (j.slurmState ?? j.state).toLowerCase();
      g.counts[state] = (g.counts[state] ?? 0) + 1;
      g.jobs.push(j);
      groups.set(array, g);
    }
    return [...groups.values()];
  }

  /**
   * Cancels this graph's cluster jobs (all, or one submission): scancel on SLURM, SIGTERM locally. Their
   * messages are requeued, not lost. Cancelling all also stops starting workers for queued retries, until
   * the next apply.
   */
  async cancel(submission?: string): Promise<void> {
    if (!submission) {
      this.startedApplies.clear();
      this.reapplying = false;
    }
    await this.clusterBackend?.cancel(submission);
    if (!submission) await this.clusterBackend?.wait(undefined, 30_000).catch(() => {});
  }

  private async startWorkers(count: number, walltime: number, arraychunk: number | undefined, func: string): Promise<ClusterSubmission> {
    const backend = await this.cluster();
    return backend.submit({
      count, walltime, jobName: func, arraychunk: arraychunk ?? this.config.cluster.arraychunk, configPath: ensureConfigFile(this.config),
      mode: this.config.cluster.worker_mode,
    });
  }

  /**
   * Messages waiting with no worker to take them (retries put back by the sentinel or by a failing worker,
   * after the workers of their apply have exited) get workers: one per message on SLURM (minus tasks still
   * pending or running), a drain worker locally if none runs. Only once this graph has started workers.
   */
  async ensureWorkers(walltime = this.config.cluster.walltime): Promise<ClusterSubmission | undefined> {
    const backend = this.clusterBackend;
    if (!backend || this.ensuring || (this.startedApplies.size === 0 && !this.reapplying)) return undefined;
    this.ensuring = true;
    try {
      // only while an apply this graph started workers for is unfinished (start: false means no workers),
      // or after a reapply, until the queues are drained
      for (const applyId of [...this.startedApplies]) {
        const p = await this.queues.progress(applyId);
        if (p.completed + p.dead >= p.total) this.startedApplies.delete(applyId);
      }
      const lengths = await this.queues.lengths();
      if (this.reapplying && lengths.processing + lengths.working === 0) this.reapplying = false;
      if (this.startedApplies.size === 0 && !this.reapplying) return undefined;
      const queued = lengths.processing;
      if (queued === 0) return undefined;
      const active = await backend.activeWorkers();
      const once = (this.config.cluster.worker_mode ?? (backend instanceof SlurmCluster ? "once" : "drain")) === "once";
      const need = once ? queued - active : active === 0 ? queued : 0;
      if (need <= 0) return undefined;
      return await backend.submit({
        count: need, walltime, jobName: "retry", configPath: ensureConfigFile(this.config), arraychunk: this.config.cluster.arraychunk,
        mode: this.config.cluster.worker_mode,
      });
    } finally {
      this.ensuring = false;
    }
  }

  private async waitFor(progress: () => Promise<ApplyProgress>, options: WaitOptions = {}): Promise<ApplyProgress> {
    const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
    const pollMs = options.pollMs ?? 100;
    const bar = options.progress ? progressReporter() : undefined;
    for (;;) {
      const p = await progress();
      options.onProgress?.(p);
      bar?.(p);
      if (p.completed + p.dead >= p.total) break;
      if (Date.now() > deadline) {
        throw new Error(`wait: timed out after ${options.timeout} ms with ${p.completed} completed, ${p.dead} dead-lettered of ${p.total}; ` +
          `the jobs are still queued (see ncg.queueLengths() and the sentinel's status)`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
    // let the watcher bring the graph up to date with what just finished
    if (this.watcher.status().running) {
      const k = this.queues.keys;
      for (;;) {
        const [[, a], [, b]] = (await this.redisQueue.pipeline().llen(k.completed).llen(k.completedInFlight).exec()) as [unknown, number][];
        if (Number(a) + Number(b) === 0 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    return progress();
  }

  private async onCompleted(m: CompletionMessage): Promise<void> {
    const attrs = this.attributesOf(m.id);
    const status: JobStatus = {
      success: m.status !== "dead", attempts: m.attempt, lastParams: m.kwargs, finishedAt: new Date(m.finished_at).toISOString(),
      jobId: m.job_id, ...(m.reason ? { reason: m.reason } : {}),
    };
    if (attrs) attrs.jobStatus[m.func] = status;
    await this.db.query(
      `INSERT INTO job_status (func, along, target, success, attempts, last_params, job_id, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (func, along, target) DO UPDATE SET success = EXCLUDED.success, attempts = EXCLUDED.attempts,
         last_params = EXCLUDED.last_params, job_id = EXCLUDED.job_id, finished_at = EXCLUDED.finished_at`,
      [m.func, m.along, JSON.stringify(normaliseTarget(m.id)), status.success, status.attempts, JSON.stringify(m.kwargs ?? {}), m.job_id, status.finishedAt],
    );
    await this.callbacks.get(m.func)?.(m);
  }

  /**
   * After Redis lost its data (a restart without persistence, a flush), puts back every job of this
   * campaign's recorded applies that did not finish and is in no queue, under its original job id. The
   * database knows what was submitted (`applies`) and what finished (`job_status`, written by the watcher).
   * Per-target kwargs (`kwargsFor`) are not recorded: such jobs come back with the apply's kwargs.
   * Returns, per apply, how many were put back.
   */
  async reconcile(options: { start?: boolean; applyIds?: string[] } = {}): Promise<{ applyId: string; func: string; requeued: number; finished: number; queued: number }[]> {
    const applies = await this.db.query<{ apply_id: string; func: string; along: string | null; count: number; args: string; kwargs: string; walltime: number; targets: string | null }>(
      `SELECT apply_id, func, along, count, args, kwargs, walltime, targets FROM applies WHERE targets IS NOT NULL
       ${options.applyIds ? "AND apply_id = ANY($1)" : ""} ORDER BY submitted_at`, options.applyIds ? [options.applyIds] : []);
    const inQueues = await this.queues.queuedJobIds();
    const report = [];
    for (const a of applies) {
      const done = await this.db.query<{ job_id: string; success: boolean }>(
        "SELECT job_id, success FROM job_status WHERE func = $1 AND job_id LIKE $2", [a.func, `${a.apply_id}-%`]);
      const finished = new Map(done.map((d) => [d.job_id, d.success]));
      const targets = JSON.parse(a.targets!) as Target[];
      const missing: { index: number; target: Target }[] = [];
      let queued = 0;
      targets.forEach((target, index) => {
        const jobId = `${a.apply_id}-${index}`;
        if (finished.has(jobId)) return;
        if (inQueues.has(jobId)) queued++;
        else missing.push({ index, target });
      });
      if (missing.length > 0) {
        const completed = [...finished.values()].filter(Boolean).length;
        await this.queues.resubmit(a.apply_id, a.func, missing, {
          along: a.along ?? undefined, args: JSON.parse(a.args) as unknown[], kwargs: JSON.parse(a.kwargs) as Record<string, unknown>,
          walltime: Number(a.walltime), total: targets.length, completed, dead: finished.size - completed,
        });
        if (options.start !== false) {
          const submission = await this.startWorkers(missing.length, this.config.cluster.walltime, undefined, a.func);
          if (submission) this.startedApplies.add(a.apply_id);
        }
      }
      report.push({ applyId: a.apply_id, func: a.func, requeued: missing.length, finished: finished.size, queued });
    }
    return report;
  }

  /** Messages waiting in the processing queue (AutoCNet's `queue_length`). */
  async queueLength(): Promise<number> {
    return this.redisQueue.llen(this.queues.keys.processing);
  }

  async queueLengths(): Promise<QueueLengths> {
    return this.queues.lengths();
  }

  /** Deletes this config's queues and records in Redis — only its own keys, never FLUSHALL. */
  async clearQueues(): Promise<number> {
    return this.queues.clear();
  }

  lineage(jobId: string): Promise<Lineage> {
    return readLineage(this.queues, jobId);
  }

  /** Queue depth now and over time (samples kept while this graph is open). */
  async queueDepthView(options: { title?: string } = {}): Promise<Rendered> {
    await this.depth.sample();
    return queueDepthView(this.depth.samples(), { title: options.title ?? `Queue depth — ${this.config.redis.basename}` });
  }

  /** Every attempt of these jobs on a time axis, coloured by outcome, with each retry's parameter change. */
  async lineageView(jobIds: string | string[], options: { title?: string } = {}): Promise<Rendered> {
    const ids = typeof jobIds === "string" ? [jobIds] : jobIds;
    const lineages = [];
    for (let i = 0; i < ids.length; i += 1000) lineages.push(...(await Promise.all(ids.slice(i, i + 1000).map((id) => this.lineage(id)))));
    return lineageView(lineages, options);
  }

  /** Footprints and overlaps on a lon/lat map, coloured by `jobStatus[func]`. */
  footprintMap(options: { func?: string; title?: string } = {}): Rendered {
    return footprintMap(this.nodes, this.edges, options);
  }

  /** The sentinel's and the watcher's status. */
  statusView(): Rendered {
    return sentinelStatusView(this.sentinel.status(), this.watcher.status());
  }

  /** Stops the sentinel, the watcher and any local workers; closes Redis and the database. */
  async close(): Promise<void> {
    this.depth.stop();
    if (this.keeper) clearInterval(this.keeper);
    await this.sentinel.stop();
    await this.watcher.stop();
    await this.clusterBackend?.close();
    await this.conn.close();
    await this.db.close();
  }
}

function normaliseTarget(t: Target): Target {
  return isEdgeTarget(t) ? [Number(t[0]), Number(t[1])].sort((a, b) => a - b) as [number, number] : t;
}

function matches(attrs: NodeAttributes | EdgeAttributes, filters: Filters): boolean {
  if (typeof filters === "function") return filters(attrs);
  return Object.entries(filters).every(([key, want]) => {
    let v: unknown = attrs;
    for (const part of key.split(".")) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[part];
    return typeof want === "function" ? Boolean((want as (x: unknown, a: unknown) => unknown)(v, attrs)) : v === want;
  });
}
