import type { Redis } from "ioredis";
import { ApplyWaiter } from "../campaign/apply-waiter";
import { CompletionFeed } from "../campaign/completion-feed";
import { QueueDepthSampler } from "../campaign/depth";
import { capResult, JobLedger } from "../campaign/job-ledger";
import { reconcile, type ReconcileReport } from "../campaign/reconciler";
import { readCampaignSentinelStatus, Sentinel } from "../campaign/sentinel";
import { WorkerSupervisor, type ClusterJobGroup } from "../campaign/supervisor";
import { CompletedWatcher, type CompletionHandler } from "../campaign/watcher";
import { loadConfig, parseWalltime, type Config, type ConfigInput } from "../config";
import { openDatabase, type Database } from "../database";
import { footprintMap, lineageView, queueDepthView, sentinelStatusView, type MapPoint, type Rendered } from "../display";
import { newApplyId } from "../queue/job-id";
import { readLineage, type Lineage } from "../queue/lineage";
import type { Target } from "../queue/message";
import { openQueues, type QueueConnection } from "../worker/connection";
import type { ApplyProgress, CompletionMessage, QueueLengths } from "../queue/queue-set";
import { readMeasures, readPoints, writeCampaignControlNetwork, type MeasureRecord, type PointRecord, type ReadMeasuresOptions, type ReadPointsOptions, type WriteCampaignNetworkOptions, type WriteCampaignNetworkReport } from "./control-network";
import { addImages, loadGraph } from "./load";
import { attributesOf, edgeKey, matchesFilters, type AddImagesReport, type EdgeAttributes, type Filters, type ImageInput, type NodeAttributes } from "./model";
import type { ApplyHandle, ApplyOptions, GraphOptions } from "./options";

/**
 * AutoCNet's NetworkCandidateGraph: images are nodes, overlapping footprints are edges, both from the
 * database; `apply` sends a job per node or edge through the Redis queues to cluster workers, which write
 * their results straight to the database. This is the front: the parts are in campaign/ (sentinel,
 * watcher, ledger, supervisor, completion feed), queue/ and cluster/. Background loops use unref'd timers:
 * they never keep a script or kernel alive; `close()` stops them.
 */
export class NetworkCandidateGraph {
  nodes = new Map<number, NodeAttributes>();
  edges = new Map<string, EdgeAttributes>();
  readonly sentinel: Sentinel;
  readonly watcher: CompletedWatcher;
  /** Queue-depth samples taken while this graph is open (every 250 ms, the last 20 000), for `queueDepthView()`. */
  readonly depth: QueueDepthSampler;
  readonly supervisor: WorkerSupervisor;
  readonly ledger: JobLedger;
  private readonly feed: CompletionFeed;
  private readonly waiter = new ApplyWaiter();
  private readonly callbacks = new Map<string, CompletionHandler>();
  private readonly log: (line: string) => void;

  private constructor(readonly conn: QueueConnection, readonly db: Database, private readonly options: GraphOptions) {
    this.log = options.log ?? ((line) => console.error(`autocnet: ${line}`));
    this.ledger = new JobLedger(db);
    this.supervisor = new WorkerSupervisor(conn.config, conn.queues, db, { backend: options.cluster, logDir: options.workerLogDir, log: this.log });
    this.sentinel = new Sentinel(conn.queues, conn.registry, {
      onRequeued: async (_count, walltime) => {
        await this.supervisor.ensureWorkers(Math.max(walltime - (options.cluster?.walltimeGrace ?? 0), 60));
      },
    });
    this.feed = new CompletionFeed(conn.queues, this.log);
    // the watcher records each completion durably, then tells every graph of the campaign (this one too)
    this.watcher = new CompletedWatcher(conn.queues, conn.blocking, {
      onCompletion: async (m) => {
        await this.ledger.recordOutcome(m);
        await this.feed.publish(m);
      },
    });
    this.feed.on((m) => void this.seeCompletion(m));
    this.feed.onResync(() => void this.refreshJobStatus().catch((err) => this.log(`re-reading job status failed: ${(err as Error).message}`)));
    this.depth = new QueueDepthSampler(conn.queues, { intervalMs: 250, capacity: 20_000 });
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
    try {
      await ncg.feed.start();
    } catch (err) {
      await conn.close();
      await db.close();
      throw err;
    }
    if (options.sentinel !== false) ncg.sentinel.start();
    if (options.watcher !== false) ncg.watcher.start();
    if (options.sentinel !== false || options.watcher !== false) ncg.depth.start();
    return ncg;
  }

  /** Alias of `connect`, as AutoCNet's `config_from_file`. */
  static fromConfig(source?: string | ConfigInput | Config, options: GraphOptions = {}): Promise<NetworkCandidateGraph> {
    return NetworkCandidateGraph.connect(source, options);
  }

  /** Connects and loads the graph: nodes are the rows of `query` (default: every image not ignored), edges their overlaps. */
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

  /** Adds (or updates, by name) images: footprints, or files (ISIS cubes, GeoTIFFs) read for footprint, size and georeference. */
  addImages(images: (ImageInput | string)[]): Promise<AddImagesReport> {
    return addImages(this.db, images, this.log);
  }

  /** (Re)loads nodes and edges: `query` returns image rows with at least `id` (default: every image not ignored). */
  async loadFromDatabase(query = "SELECT * FROM images WHERE NOT ignore ORDER BY id", params: unknown[] = []): Promise<this> {
    const { nodes, edges } = await loadGraph(this.db, query, params, this.log, this.config.spatial?.semimajor_rad);
    this.nodes = nodes;
    this.edges = edges;
    await this.refreshJobStatus();
    return this;
  }

  node(id: number): NodeAttributes | undefined {
    return this.nodes.get(id);
  }

  edge(source: number, destination: number): EdgeAttributes | undefined {
    return this.edges.get(edgeKey(source, destination));
  }

  /** The attributes of a target (a node id or [source, destination]), if the graph has it. */
  attributesOf(target: Target): NodeAttributes | EdgeAttributes | undefined {
    return attributesOf(this.nodes, this.edges, target);
  }

  /** A callback for one function's completions, run in this graph after it has updated `jobStatus`. */
  onCompletion(func: string, handler: CompletionHandler): this {
    this.callbacks.set(func, handler);
    return this;
  }

  /**
   * Sends `func` to every node or edge (or the given targets): one message per target, recorded in the
   * ledger first, pushed pipelined, and workers started on the cluster backend.
   */
  async apply(func: string, options: ApplyOptions = {}): Promise<ApplyHandle> {
    if (options.reapply) return this.reapply(func, options);
    if (!this.registry.has(func)) {
      throw new Error(`apply: unknown job function '${func}'; registered here: ${this.registry.names().join(", ")}. Add its module to 'jobs:' in the config`);
    }
    const on = options.on ?? "edges";
    const targets = on === "points" ? await this.pointTargets(options.filters) : this.selectTargets(on, options.filters);
    const along = on === "nodes" ? "node" : on === "edges" ? "edge" : on === "points" ? "point" : undefined;
    const walltime = options.walltime === undefined ? this.config.cluster.walltime : parseWalltime(options.walltime);
    // On SLURM, its --time limit is the walltime; the messages' deadline comes a little later, so that
    // SLURM's own TIMEOUT (which the worker reports) normally precedes the sentinel's.
    const grace = options.start === false ? 0 : await this.supervisor.walltimeGrace();
    const applyId = newApplyId();
    const ownKwargs = options.kwargsFor ? (i: number) => {
      const own = options.kwargsFor!(targets[i]!, i);
      return own ? { ...options.kwargs, ...own } : undefined;
    } : undefined;
    // every target valid and every message within cluster.max_message_bytes, before anything is recorded
    this.queues.checkSubmission(func, targets, {
      along, args: options.args, kwargs: options.kwargs, kwargsFor: options.kwargsFor, walltime: walltime + grace,
    });
    // recorded in the database first: if Redis later loses the messages, reconcile() knows them
    await this.ledger.recordApply({
      applyId, func, along, args: options.args ?? [], kwargs: options.kwargs ?? {}, walltime: walltime + grace, workerWalltime: walltime, count: targets.length,
    }, targets, ownKwargs);
    const sub = await this.queues.submit(func, targets, {
      applyId, along, args: options.args, kwargs: options.kwargs, kwargsFor: options.kwargsFor, walltime: walltime + grace, batchSize: options.chunksize,
    });
    if (this.depth.running) await this.depth.sample().catch(() => {}); // the peak, for the depth chart
    const submission = options.start === false || sub.count === 0 ? undefined
      : await this.supervisor.start(sub.count, walltime, func, sub.applyId, options.arraychunk);
    const progress = () => this.queues.progress(sub.applyId);
    return {
      applyId: sub.applyId, func, count: sub.count, targets, jobId: sub.jobId, submission, progress,
      wait: (w) => this.waiter.wait(this.waitSource(progress, sub.applyId), w),
    };
  }

  private async reapply(func: string, options: ApplyOptions): Promise<ApplyHandle> {
    const queued = await this.redisQueue.llen(this.queues.keys.processing);
    const walltime = options.walltime === undefined ? this.config.cluster.walltime : parseWalltime(options.walltime);
    const submission = queued > 0 && options.start !== false ? await this.supervisor.start(queued, walltime, func, undefined, options.arraychunk) : undefined;
    // messages still held in working (orphans the sentinel will requeue) get workers later, via the supervisor
    if (options.start !== false && (submission || (await this.redisQueue.llen(this.queues.keys.working)) > 0)) await this.supervisor.keepUntilDrained();
    const progress = async (): Promise<ApplyProgress> => {
      const l = await this.queues.lengths();
      return { total: queued, completed: Math.max(0, queued - l.processing - l.working), dead: 0 };
    };
    return { func, count: queued, targets: [], jobId: () => "", submission, progress, wait: (w) => this.waiter.wait(this.waitSource(progress), w) };
  }

  private waitSource(progress: () => Promise<ApplyProgress>, applyId?: string) {
    const k = this.queues.keys;
    return {
      progress, applyId, recording: this.watcher.status().running,
      drained: async () => (await this.redisQueue.llen(k.completed)) + (await this.redisQueue.llen(k.completedInFlight)) === 0,
      recorded: async () => {
        if (applyId === undefined) return 0;
        const c = await this.ledger.counts(applyId);
        return c.completed + c.dead;
      },
      refresh: () => this.refreshJobStatus(),
    };
  }

  private selectTargets(on: NonNullable<ApplyOptions["on"]>, filters?: Filters): Target[] {
    const pick = (attrs: NodeAttributes | EdgeAttributes | undefined) => !filters || (attrs !== undefined && matchesFilters(attrs, filters));
    if (on === "nodes") return [...this.nodes.values()].filter(pick).map((n) => n.id);
    if (on === "edges") return [...this.edges.values()].filter(pick).map((e) => [e.source, e.destination] as [number, number]);
    if (typeof on === "string") throw new Error(`apply: on must be 'nodes', 'edges', 'points' or a list of targets, got '${on}'`);
    return [...on].filter((t) => !filters || pick(this.attributesOf(t)));
  }

  /** The non-ignored points' ids (targets of `on: 'points'`), those passing `filters` if given. */
  private async pointTargets(filters?: Filters): Promise<Target[]> {
    const points = await readPoints(this.db, { excludeIgnored: true });
    return points.filter((p) => !filters || matchesFilters(p as unknown as NodeAttributes, filters)).map((p) => p.id);
  }

  /** A completion seen on the campaign's feed: update the cache, run this graph's callback, wake waits. */
  private async seeCompletion(m: CompletionMessage): Promise<void> {
    // a point's id is not a node's: point jobs have no node or edge attributes here
    const attrs = m.along === "point" || m.id === undefined || m.id === null ? undefined : this.attributesOf(m.id);
    if (attrs) {
      attrs.jobStatus[m.func] = {
        success: m.status !== "dead", attempts: m.attempt, lastParams: m.kwargs, finishedAt: new Date(m.finished_at).toISOString(),
        jobId: m.job_id, ...(m.reason ? { reason: m.reason } : {}), ...(m.result !== undefined ? { result: capResult(m.result) } : {}),
      };
    }
    try {
      await this.callbacks.get(m.func)?.(m);
    } catch (err) {
      this.log(`completion callback for '${m.func}' failed on ${JSON.stringify(m.id)}: ${(err as Error).message}`);
    } finally {
      this.waiter.note(m);
    }
  }

  /** Re-reads `jobStatus` of every node and edge from the database (the latest outcome per function). */
  private async refreshJobStatus(): Promise<void> {
    for (const { func, along, target, status } of await this.ledger.latestStatuses()) {
      // nodes and edges carry job status; a point job's target is a point id, not a node's
      if (along !== "node" && along !== "edge") continue;
      const attrs = this.attributesOf(target);
      if (attrs) attrs.jobStatus[func] = status;
    }
  }

  /** The cluster backend (`cluster.backend`: local processes or SLURM), created on first use. */
  cluster() {
    return this.supervisor.backend();
  }

  /** Cluster jobs of this graph's submissions, by SLURM array (or local submission), counted by state. */
  clusterJobs(): Promise<ClusterJobGroup[]> {
    return this.supervisor.jobGroups();
  }

  /** Cancels this graph's cluster jobs (all, or one submission). Their messages are requeued, not lost. */
  cancel(submission?: string): Promise<void> {
    return this.supervisor.cancel(submission);
  }

  /** Starts workers for messages waiting with none to take them (what the supervisor does every 2 s). */
  ensureWorkers(walltime?: number) {
    return this.supervisor.ensureWorkers(walltime);
  }

  /**
   * After Redis lost its data, puts back every unfinished job of the recorded applies that is in no queue,
   * under its job id, with its own walltime and kwargs (see campaign/reconciler.ts).
   */
  reconcile(options: { start?: boolean; applyIds?: string[] } = {}): Promise<ReconcileReport[]> {
    return reconcile(this.ledger, this.queues, this.supervisor, options);
  }

  /** The points table as plain objects (all points, or those asked for). */
  points(options: ReadPointsOptions = {}): Promise<PointRecord[]> {
    return readPoints(this.db, options);
  }

  /** The measures table as plain objects; sample/line in our pixel convention (0-based: ISIS sample − 1). */
  measures(options: ReadMeasuresOptions = {}): Promise<MeasureRecord[]> {
    return readMeasures(this.db, options);
  }

  /**
   * Writes the campaign's ISIS control network to `path` and its image list beside it (`.lis`), as AutoCNet's
   * `to_isis`: non-ignored points with 2 or more accepted measures (see graph/control-network.ts).
   */
  toIsis(path: string, options: WriteCampaignNetworkOptions = {}): Promise<WriteCampaignNetworkReport> {
    return writeCampaignControlNetwork(this.db, path, options);
  }

  /** Messages waiting in the processing queue (AutoCNet's `queue_length`). */
  queueLength(): Promise<number> {
    return this.redisQueue.llen(this.queues.keys.processing);
  }

  queueLengths(): Promise<QueueLengths> {
    return this.queues.lengths();
  }

  /** Deletes this config's queues and records in Redis — only its own keys, never FLUSHALL. */
  clearQueues(): Promise<number> {
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
  footprintMap(options: { func?: string; title?: string; points?: MapPoint[] } = {}): Rendered {
    return footprintMap(this.nodes, this.edges, options);
  }

  /** The campaign's sentinel (this process's, or the one sweeping elsewhere) and this graph's watcher. */
  async statusView(): Promise<Rendered> {
    const local = this.sentinel.status();
    const status = local.running && local.leader ? local : (await readCampaignSentinelStatus(this.queues)) ?? local;
    return sentinelStatusView(status, this.watcher.status());
  }

  /** Stops the sentinel, the watcher, the feed and any local workers; closes Redis and the database. */
  async close(): Promise<void> {
    this.depth.stop();
    await this.sentinel.stop();
    await this.watcher.stop();
    await this.feed.stop();
    await this.supervisor.close();
    await this.conn.close();
    await this.db.close();
  }
}
