import * as fs from "fs";
import * as nodePath from "path";
import type { Redis } from "ioredis";
import { ApplyWaiter } from "../campaign/apply-waiter";
import { CompletionFeed } from "../campaign/completion-feed";
import { QueueDepthSampler } from "../campaign/depth";
import { JobLedger, jobStatusOf } from "../campaign/job-ledger";
import { reconcile, type ReconcileReport } from "../campaign/reconciler";
import { readCampaignSentinelStatus, Sentinel } from "../campaign/sentinel";
import { readCampaignSummary } from "../campaign/summary";
import { readJobLogs, type JobLogs } from "../campaign/worker-logs";
import { workerLogDir } from "../cluster/factory";
import { WorkerSupervisor, type ClusterJobGroup } from "../campaign/supervisor";
import { CompletedWatcher, type CompletionHandler } from "../campaign/watcher";
import { loadConfig, parseWalltime, type Config, type ConfigInput } from "../config";
import { databaseUrl, databaseUrlFromEnv, embeddedPath, hidePassword, openDatabase, type Database } from "../database";
import { ConnectionError } from "../errors";
import { footprintMap, lineageView, queueDepthView, sentinelStatusView, type MapPoint, type Rendered } from "../display";
import { newApplyId } from "../queue/job-id";
import { refWhileBusy, unrefAlways } from "../queue/keepalive";
import { describeRedis } from "../queue/redis";
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
 * watcher, ledger, supervisor, completion feed), queue/ and cluster/. Background loops use unref'd timers
 * and its sockets are unref'd while idle: an open graph never keeps a script or kernel alive (running
 * workers, a `wait()` and a command in flight do); `close()` stops them. One graph per campaign per process:
 * `connect` closes an earlier one of the same campaign (see `GraphOptions.replace`); a closed graph's
 * methods throw "…: the graph was closed; connect again".
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
  /** Its campaign as this process sees it (for `connect`'s replacement of an earlier graph). */
  private campaign?: Campaign;
  private closing?: Promise<void>;

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
    const campaign = campaignOf(config);
    await replaceEarlier(campaign, options);
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
    // idle, the graph holds nothing open: commands hold the socket only while they await a reply
    refWhileBusy(conn.redis);
    unrefAlways(conn.blocking);
    ncg.campaign = campaign;
    openGraphs().add(ncg);
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
    return filters ? [...on].filter((t) => pick(this.attributesOf(t))) : [...on];
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
    if (attrs) attrs.jobStatus[m.func] = jobStatusOf(m);
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

  /**
   * The log lines of a job's attempts — its `ctx.log` lines, what it printed (console.log/error), its
   * failures — from the log files of the workers its lineage names (`cluster.cluster_log_dir`, default
   * `.autocnet/logs/` beside the config; SLURM's `%x-%A_%a.out/.err`).
   */
  async logs(jobId: string): Promise<JobLogs> {
    return readJobLogs(await this.lineage(jobId), workerLogDir(this.config, this.options.workerLogDir));
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

  /**
   * The campaign's status: succeeded, every retry (whoever decided it), dead letters with their reasons,
   * throughput, the job waiting longest, the latest applies, job ids for `lineageView` (campaign-wide
   * counters, O(1) to read); then the sentinel (this process's, or the one sweeping elsewhere) and this
   * graph's watcher.
   */
  async statusView(): Promise<Rendered> {
    const local = this.sentinel.status();
    const [status, campaign] = await Promise.all([
      local.running && local.leader ? local : readCampaignSentinelStatus(this.queues).then((s) => s ?? local),
      readCampaignSummary(this.queues, this.depth.samples()),
    ]);
    return sentinelStatusView(status, this.watcher.status(), { campaign, title: `Campaign status — ${this.config.redis.basename}` });
  }

  /**
   * Stops the sentinel, the watcher, the feed and any local workers; closes Redis and the database. Calling
   * it again does nothing; any other method of a closed graph throws "…: the graph was closed; connect again".
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown("the graph was closed; connect again");
    return this.closing;
  }

  private async shutDown(why: string): Promise<void> {
    markClosed(this, why);
    openGraphs().delete(this);
    this.depth.stop();
    await this.sentinel.stop();
    await this.watcher.stop();
    await this.feed.stop();
    await this.supervisor.close();
    await this.conn.close();
    await this.db.close();
  }
}

/** One campaign as this process sees it: its Redis, basename and database. */
interface Campaign {
  key: string;
  /** For messages: where it is (no password). */
  label: string;
  /** The embedded database's directory (resolved), if it uses one. */
  embedded?: string;
}

function campaignOf(config: Config): Campaign {
  const redis = `${describeRedis(config.redis)} basename '${config.redis.basename}'`;
  let database: string;
  let embedded: string | undefined;
  let envUrl: string | undefined;
  try {
    envUrl = databaseUrlFromEnv();
  } catch {
    envUrl = undefined; // openDatabase reports it
  }
  if (envUrl) database = hidePassword(envUrl);
  else if (config.database && !("embedded" in config.database)) database = hidePassword(databaseUrl(config.database));
  else {
    const dir = nodePath.resolve(embeddedPath(config));
    try {
      embedded = fs.realpathSync(dir);
    } catch {
      embedded = dir; // not created yet
    }
    database = `the embedded database at ${embedded}`;
  }
  return { key: `${redis}\n${database}`, label: `Redis ${redis}, ${database}`, embedded };
}

/** Graphs open in this process (on globalThis: one set even if two copies of the package are loaded). */
function openGraphs(): Set<NetworkCandidateGraph> {
  const g = globalThis as { [OPEN_GRAPHS]?: Set<NetworkCandidateGraph> };
  return (g[OPEN_GRAPHS] ??= new Set());
}
const OPEN_GRAPHS = Symbol.for("autocnet-ts.openGraphs");

/**
 * Before `connect` opens a campaign: graphs of this process on the same campaign are closed (unless
 * `replace: false`), with a log line; a graph of another campaign holding the same embedded database is
 * reported clearly (it cannot be shared, and is not ours to close).
 */
async function replaceEarlier(campaign: Campaign, options: GraphOptions): Promise<void> {
  const log = options.log ?? ((line: string) => console.error(`autocnet: ${line}`));
  const open = [...openGraphs()];
  if (options.replace !== false) {
    for (const g of open.filter((x) => x["campaign"]?.key === campaign.key)) {
      log(`connect: closing the graph this process opened earlier on the same campaign (${campaign.label}); the new one replaces it`);
      g["closing"] ??= g["shutDown"](`the graph was closed; connect again (a later connect on campaign '${g.config.redis.basename}' ` +
        "in this process replaced it: use the graph that connect returned)");
      await g["closing"].catch((err) => log(`connect: closing the earlier graph failed (${(err as Error).message}); opening anyway`));
    }
  }
  if (campaign.embedded) {
    const holder = [...openGraphs()].find((x) => x["campaign"]?.embedded === campaign.embedded);
    if (holder && options.replace === false && holder["campaign"]?.key === campaign.key) return; // the lock says it
    if (holder) {
      throw new ConnectionError(`the embedded database at ${campaign.embedded} is open in this process by the graph of campaign ` +
        `'${holder.config.redis.basename}'; close that graph first (connect replaces only a graph of the same Redis, basename and database), ` +
        "or give each campaign its own database (database: {embedded: DIR})");
    }
  }
}

/**
 * A closed graph's methods (and its Redis clients' getters) throw, naming the method: "lineage: the graph
 * was closed; connect again". `close()` stays callable (it does nothing more); `config` stays readable.
 */
function markClosed(g: NetworkCandidateGraph, why: string): void {
  const closedError = (name: string) => Object.assign(new Error(`${name}: ${why}`), { name: "GraphClosedError", code: "AUTOCNET_GRAPH_CLOSED" });
  for (let proto = Object.getPrototypeOf(g); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor" || name === "close" || Object.prototype.hasOwnProperty.call(g, name)) continue;
      const d = Object.getOwnPropertyDescriptor(proto, name)!;
      if (typeof d.value === "function") {
        Object.defineProperty(g, name, { configurable: true, value: function closed() { throw closedError(name); } });
      } else if (d.get && ["redisQueue", "queues", "registry"].includes(name)) {
        Object.defineProperty(g, name, { configurable: true, get() { throw closedError(name); } });
      }
    }
  }
}
