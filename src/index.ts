/** autocnet-ts: the public API. Everything a notebook or script needs is exported from here. */
export { loadConfig, configSchema } from "./config";
export type { Config, ConfigInput, RedisConfig, RedisTlsConfig, ClusterConfig, DatabaseConfig, LoadOptions } from "./config";
export { ConfigError, WalltimeError, ConnectionError } from "./errors";
export type { ConnectionFailure } from "./errors";
export { maskSecrets, secretsOfUrl } from "./secrets";
export { parseWalltime, formatWalltime } from "./config/walltime";
export { decodeMessage, encodeMessage, nextAttempt } from "./queue/message";
export type { JobMessage, Target, DecodeResult } from "./queue/message";
export { queueKeys } from "./queue/keys";
export type { QueueKeys } from "./queue/keys";
export { connectRedis, createRedis, describeRedis, redisTlsOptions } from "./queue/redis";
export { QueueSet } from "./queue/queue-set";
export type {
  SubmitOptions, Submission, QueueLengths, ApplyProgress, Claimed, CompleteItem, CompleteStatus, RequeueItem,
  RequeueStatus, DeadLetter, QuarantineRecord, CompletionMessage, QueueStats,
} from "./queue/queue-set";
export { JobRegistry } from "./worker/registry";
export type { JobContext, JobFunction, JobDefinition, JobModule } from "./worker/registry";
export { decideRetry, ladder, growWalltime, backoffMs, retryDefaults } from "./worker/retry";
export { InfrastructureError, isInfrastructureError } from "./worker/infra";
export type { RetryPolicy, Failure, FailureCause, RetryChanges, RetryDefaults } from "./worker/retry";
export { Worker, leaseMs, defaultWorkerId } from "./worker/worker";
export type { WorkerOptions, WorkerSummary } from "./worker/worker";
export { Sentinel } from "./campaign/sentinel";
export type { SentinelOptions, SentinelStatus } from "./campaign/sentinel";
export { readCampaignSentinelStatus } from "./campaign/sentinel";
export { JobLedger } from "./campaign/job-ledger";
export type { LedgerApply, UnfinishedJob } from "./campaign/job-ledger";
export { WorkerSupervisor } from "./campaign/supervisor";
export type { ClusterJobGroup } from "./campaign/supervisor";
export { readCampaignSummary, throughputOf } from "./campaign/summary";
export type { ApplySummary, CampaignSummary } from "./campaign/summary";
export { readJobLogs } from "./campaign/worker-logs";
export type { AttemptLog, JobLogs } from "./campaign/worker-logs";
export { captureJobOutput, inJobScope } from "./worker/job-output";
export { reconcile } from "./campaign/reconciler";
export type { ReconcileReport } from "./campaign/reconciler";
export { CompletionFeed } from "./campaign/completion-feed";
export type { CompletionListener } from "./campaign/completion-feed";
export { CompletedWatcher } from "./campaign/watcher";
export type { CompletionHandler, WatcherOptions, WatcherStatus } from "./campaign/watcher";
export { readLineage, formatLineage } from "./queue/lineage";
export { FAILURE_CAUSES, describeCause, causeOutcome } from "./queue/failure-causes";
export type { AttemptOutcome } from "./queue/failure-causes";
export { jobIdOf, parseJobId, applyIdOf, newApplyId } from "./queue/job-id";
export { Transitions } from "./queue/transitions";
export { redisNowMs } from "./queue/clock";
export type { Lineage, LineageEvent } from "./queue/lineage";
export { LocalCluster, workerScriptPath } from "./cluster/local";
export type { LocalClusterOptions } from "./cluster/local";
export type { ClusterBackend, ClusterJob, ClusterJobState, ClusterSubmission, SubmitRequest } from "./cluster/backend";
export { SlurmCluster } from "./cluster/slurm";
export { createBackend } from "./cluster/factory";
export { registerBuiltinJobs } from "./jobs/builtin";
export { openQueues } from "./worker/connection";
export type { QueueConnection } from "./worker/connection";
export { NetworkCandidateGraph, edgeKey } from "./graph";
export type {
  JobStatus, NodeAttributes, EdgeAttributes, ImageInput, AddImagesReport, Filters, ApplyOptions, ApplyHandle, WaitOptions,
  GraphOptions,
} from "./graph";
export { openDatabase, openPostgres, openWorkerDatabase, databaseUrl, databaseUrlFromEnv, embeddedPath, migrate } from "./database";
export type { Database, OpenDatabaseOptions } from "./database";
export { parseFootprint, parseWkt, area, centroid, bbox, intersection, overlaps, toGeoJSON } from "./geometry/polygons";
export type { MultiPolygonCoords, FootprintInput, ParsedFootprint, GeoJSONPolygon, GeoJSONMultiPolygon } from "./geometry/polygons";
export { configToInput, ensureConfigFile, removeConfigFile } from "./config";
export { QueueDepthSampler } from "./campaign/depth";
export type { DepthSample } from "./campaign/depth";
export {
  show, inKernel, rendered, queueDepthView, lineageView, attemptBars, footprintMap, sentinelStatusView, progressView,
  progressReporter, OUTCOME_COLORS, QUEUE_COLORS, STATUS_COLORS,
} from "./display";
export type { Rendered, AttemptBar } from "./display";
// Displays of the matching chain: an image with keypoints, an edge's matches, a point's measure chips, residuals.
export { imageView, matchesView, measureChipsView, chipAround, residualView, residualStats, encodePng, pngDataUri } from "./display";
export type { ImageMarker, MatchPair, MeasureChip, MeasureChipsOptions, Residual, MapPoint } from "./display";
export { readPoints, readMeasures } from "./graph/control-network";
export type { PointRecord, MeasureRecord } from "./graph/control-network";
export { readKeypoints, readMatches } from "./graph/matching-records";
export type { MatchRecord } from "./graph/matching-records";

// Planetary images and their labels, georeferences, ISIS control networks, synthetic campaigns with ground truth,
// and the computer-vision functions: pure functions, usable without any queue.
export * from "./image";
export { affineOf, storeGeoreference, loadStoredGeoreference } from "./image/georeference";
export type { StoredGeoreference } from "./image/georeference";
export { writeGeoTiff } from "./image/geotiff-write";
export * from "./controlnet";
export * from "./synthetic";
export * from "./vision";
export { imageNameOf } from "./graph/load";
