/** autocnet-ts: the public API. Everything a notebook or script needs is exported from here. */
export { loadConfig } from "./config";
export type { Config, ConfigInput, RedisConfig, ClusterConfig, DatabaseConfig, LoadOptions } from "./config";
export { ConfigError, WalltimeError, ConnectionError } from "./errors";
export { parseWalltime, formatWalltime } from "./config/walltime";
export { decodeMessage, encodeMessage, nextAttempt } from "./queue/message";
export type { JobMessage, Target, DecodeResult } from "./queue/message";
export { queueKeys } from "./queue/keys";
export type { QueueKeys } from "./queue/keys";
export { connectRedis, createRedis, describeRedis } from "./queue/redis";
export { QueueSet } from "./queue/queue-set";
export type {
  SubmitOptions, Submission, QueueLengths, ApplyProgress, Claimed, CompleteItem, CompleteStatus, RequeueItem,
  RequeueStatus, DeadLetter, QuarantineRecord, CompletionMessage,
} from "./queue/queue-set";
export { JobRegistry } from "./worker/registry";
export type { JobContext, JobFunction, JobDefinition, JobModule } from "./worker/registry";
export { decideRetry, ladder, growWalltime } from "./worker/retry";
export type { RetryPolicy, Failure, FailureCause, RetryChanges } from "./worker/retry";
export { Worker, leaseMs, defaultWorkerId } from "./worker/worker";
export type { WorkerOptions, WorkerSummary } from "./worker/worker";
export { Sentinel } from "./campaign/sentinel";
export type { SentinelOptions, SentinelStatus } from "./campaign/sentinel";
export { CompletedWatcher } from "./campaign/watcher";
export type { CompletionHandler, WatcherOptions, WatcherStatus } from "./campaign/watcher";
export { readLineage, formatLineage, describeCause } from "./queue/lineage";
export type { Lineage, LineageEvent } from "./queue/lineage";
export { LocalCluster, workerScriptPath } from "./cluster/local";
export type { LocalClusterOptions } from "./cluster/local";
export type { ClusterBackend, ClusterJob, ClusterJobState, ClusterSubmission, SubmitRequest } from "./cluster/backend";
export { registerBuiltinJobs } from "./jobs/builtin";
export { openQueues } from "./queue/connection";
export type { QueueConnection } from "./queue/connection";
export { NetworkCandidateGraph, edgeKey } from "./graph";
export type {
  JobStatus, NodeAttributes, EdgeAttributes, ImageInput, AddImagesReport, Filters, ApplyOptions, ApplyHandle, WaitOptions,
  GraphOptions,
} from "./graph";
export { openDatabase, openPostgres, openWorkerDatabase, databaseUrl, embeddedPath, migrate } from "./database";
export type { Database, OpenDatabaseOptions } from "./database";
export { parseFootprint, parseWkt, area, centroid, bbox, intersection, overlaps, toGeoJSON } from "./geometry/polygons";
export type { MultiPolygonCoords, FootprintInput, ParsedFootprint, GeoJSONPolygon, GeoJSONMultiPolygon } from "./geometry/polygons";
export { configToInput, ensureConfigFile } from "./config";
export { QueueDepthSampler } from "./campaign/depth";
export type { DepthSample } from "./campaign/depth";
export {
  show, inKernel, rendered, queueDepthView, lineageView, attemptBars, footprintMap, sentinelStatusView, progressView,
  progressReporter, OUTCOME_COLORS, QUEUE_COLORS, STATUS_COLORS,
} from "./display";
export type { Rendered, AttemptBar } from "./display";
export { syntheticImages } from "./synthetic/footprints";
