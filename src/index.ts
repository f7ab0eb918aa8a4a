/** autocnet-ts: the public API. Everything a notebook or script needs is exported from here. */
export { loadConfig } from "./config";
export type { Config, ConfigInput, RedisConfig, ClusterConfig, DatabaseConfig, LoadOptions } from "./config";
export { ConfigError, WalltimeError, ConnectionError } from "./errors";
export { parseWalltime, formatWalltime } from "./walltime";
export { decodeMessage, encodeMessage, nextAttempt } from "./message";
export type { JobMessage, Target, DecodeResult } from "./message";
export { queueKeys } from "./keys";
export type { QueueKeys } from "./keys";
export { connectRedis, createRedis, describeRedis } from "./redis";
export { QueueSet } from "./queues";
export type {
  SubmitOptions, Submission, QueueLengths, ApplyProgress, Claimed, CompleteItem, CompleteStatus, RequeueItem,
  RequeueStatus, DeadLetter, QuarantineRecord, CompletionMessage,
} from "./queues";
export { JobRegistry } from "./registry";
export type { JobContext, JobFunction, JobDefinition, JobModule } from "./registry";
export { decideRetry, ladder, growWalltime } from "./retry";
export type { RetryPolicy, Failure, FailureCause, RetryChanges } from "./retry";
export { Worker, leaseMs, defaultWorkerId } from "./worker";
export type { WorkerOptions, WorkerSummary } from "./worker";
export { Sentinel } from "./sentinel";
export type { SentinelOptions, SentinelStatus } from "./sentinel";
export { CompletedWatcher } from "./watcher";
export type { CompletionHandler, WatcherOptions, WatcherStatus } from "./watcher";
export { readLineage, formatLineage, describeCause } from "./lineage";
export type { Lineage, LineageEvent } from "./lineage";
export { LocalCluster, workerScriptPath } from "./cluster/local";
export type { LocalClusterOptions } from "./cluster/local";
export type { ClusterBackend, ClusterJob, ClusterJobState, ClusterSubmission, SubmitRequest } from "./cluster/backend";
export { registerBuiltinJobs } from "./jobs/builtin";
export { openQueues } from "./connection";
export type { QueueConnection } from "./connection";
export { NetworkCandidateGraph, edgeKey } from "./graph";
export type {
  JobStatus, NodeAttributes, EdgeAttributes, ImageInput, AddImagesReport, Filters, ApplyOptions, ApplyHandle, WaitOptions,
  GraphOptions,
} from "./graph";
export { openDatabase, openPostgres, openWorkerDatabase, databaseUrl, embeddedPath, migrate } from "./database";
export type { Database, OpenDatabaseOptions } from "./database";
export { parseFootprint, parseWkt, area, centroid, bbox, intersection, overlaps, toGeoJSON } from "./geometry";
export type { MultiPolygonCoords, FootprintInput, ParsedFootprint, GeoJSONPolygon, GeoJSONMultiPolygon } from "./geometry";
export { configToInput, ensureConfigFile } from "./config";
export { QueueDepthSampler } from "./depth";
export type { DepthSample } from "./depth";
export {
  show, inKernel, rendered, queueDepthView, lineageView, attemptBars, footprintMap, sentinelStatusView, progressView,
  progressReporter, OUTCOME_COLORS, QUEUE_COLORS, STATUS_COLORS,
} from "./display";
export type { Rendered, AttemptBar } from "./display";
export { syntheticImages } from "./demo";
