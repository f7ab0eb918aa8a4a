import { z } from "zod";
import { parseWalltime } from "./walltime";

/**
 * The configuration's schema (zod). The types below are derived from it: what zod outputs is what the
 * rest of the library reads, so a key is added in one place.
 */
const port = z.union([z.number().int(), z.string().regex(/^\d+$/, "expected a port number")]).transform(Number)
  .refine((p) => p >= 1 && p <= 65535, "expected a port number from 1 to 65535");
const positiveInt = z.union([z.number().int().positive(), z.string().regex(/^\d+$/).transform(Number)])
  .refine((n) => n > 0, "expected a whole number above 0");
const seconds = z.number().positive("expected a positive number of seconds");
const walltime = z.string({ error: "expected a SLURM time string such as \"00:30:00\" (a bare number is ambiguous)" });

/**
 * TLS towards Redis (also for rediss:// URLs): files are paths, relative to the config file. `cert` and
 * `key` are the client certificate a server with `tls-auth-clients yes` requires; `ca` the certificate
 * authority that signed the server's; `servername` the name checked against the server's certificate
 * (default: the host); `reject_unauthorized: false` skips verification (never on a shared network).
 */
const tlsShape = z.object({
  ca: z.string().min(1).optional(),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  servername: z.string().min(1).optional(),
  reject_unauthorized: z.boolean().default(true),
});
const tlsSchema = z.union([z.boolean(), tlsShape], { error: "expected true, or a mapping with ca, cert, key, servername, reject_unauthorized" })
  .transform((t, ctx) => {
    if (t === false) return undefined;
    const tls = t === true ? tlsShape.parse({}) : t;
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      ctx.addIssue({ code: "custom", path: [tls.cert === undefined ? "cert" : "key"], message: "a client certificate needs both cert and key (paths to PEM files)" });
      return z.NEVER;
    }
    return tls;
  });

const redisShape = z.object({
  host: z.string().default("127.0.0.1"),
  port: port.default(6379),
  url: z.string().regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL (for TLS: rediss://, or redis.tls)").optional(),
  username: z.string().optional(),
  password: z.union([z.string(), z.number().transform(String)]).optional(),
  db: z.number().int().min(0).default(0),
  basename: z.string().min(1).regex(/^[^\s]+$/, "expected a name without spaces").default("autocnet"),
  processing_queue: z.string().min(1).optional(),
  working_queue: z.string().min(1).optional(),
  completed_queue: z.string().min(1).optional(),
  tls: tlsSchema.optional(),
});
const redisSchema = redisShape.transform((r) => ({
  ...r,
  processing_queue: r.processing_queue ?? `${r.basename}:processing`,
  working_queue: r.working_queue ?? `${r.basename}:working`,
  completed_queue: r.completed_queue ?? `${r.basename}:completed`,
}));

const clusterShape = z.object({
  backend: z.enum(["local", "slurm"]).default("local"),
  maxfailures: positiveInt.default(3),
  walltime: walltime.default("00:10:00"),
  queue: z.string().optional(),
  partition: z.string().optional(),
  arraychunk: positiveInt.optional(),
  cluster_log_dir: z.string().optional(),
  concurrency: positiveInt.default(2),
  heartbeat: seconds.default(5),
  sentinel_interval: seconds.default(0.5),
  mem_per_cpu: z.string().optional(),
  exclude: z.string().optional(),
  extra_sbatch: z.array(z.string()).optional(),
  worker_mode: z.enum(["once", "drain"]).optional(),
  // hardening (docs/protocol.md): message size, retry backoff, infrastructure retries, stuck workers
  max_message_bytes: positiveInt.default(64 * 1024),
  retry_backoff: z.number().min(0, "expected seconds, 0 or more (0: retry at once)").default(1),
  retry_backoff_max: seconds.default(60),
  max_infra_failures: positiveInt.default(30),
  stuck_grace: seconds.default(30),
});
const clusterSchema = clusterShape.transform((c, ctx) => {
  let seconds = 0;
  try {
    seconds = parseWalltime(c.walltime, "cluster.walltime");
  } catch (err) {
    ctx.addIssue({ code: "custom", path: ["walltime"], message: (err as Error).message.replace(/^cluster\.walltime: /, "") });
    return z.NEVER;
  }
  const { partition, ...rest } = c;
  // `partition` is an alias of `queue` (SLURM's word); the default walltime is kept in seconds
  return { ...rest, queue: c.queue ?? partition, walltime: seconds };
});

const databaseObject = z.object({
  type: z.string().default("postgresql"),
  username: z.string().optional(),
  password: z.union([z.string(), z.number().transform(String)]).optional(),
  host: z.string().default("127.0.0.1"),
  port: port.default(5432),
  name: z.string({ error: "expected the database name" }),
  url: z.string().optional(),
});
const databaseUrl = z.string()
  .refine((url) => !/^postgres(ql)?\+/.test(url), "expected a postgresql:// URL: a SQLAlchemy driver such as +psycopg2 has no meaning here, drop it")
  .regex(/^postgres(ql)?:\/\//, "expected a postgresql:// URL").transform((url) => ({ url }));
// A union would report "Invalid input"; picking the branch by type gives the precise key and message.
const databaseEmbedded = z.object({ embedded: z.string().min(1, "expected a directory for the embedded database") });
const databaseSchema = z.unknown().transform((v, ctx): DatabaseConfig => {
  const schema = typeof v === "string" ? databaseUrl
    : typeof v === "object" && v !== null && "embedded" in v ? databaseEmbedded : databaseObject;
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ ...issue, code: "custom", path: issue.path, message: issue.message });
  return z.NEVER;
});

/**
 * AutoCNet's `spatial` section: we read the target body's radii (metres) for areas in km² when images carry
 * none; its other keys (SRIDs, proj4 strings, DEMs) are accepted and ignored.
 */
const spatialSchema = z.looseObject({
  semimajor_rad: z.number().positive("expected the body's equatorial radius in metres").optional(),
  semiminor_rad: z.number().positive("expected the body's polar radius in metres").optional(),
});

export const configSchema = z.object({
  redis: redisSchema.default(redisSchema.parse({})),
  cluster: clusterSchema.default(clusterSchema.parse({})),
  database: databaseSchema.optional().nullable(),
  jobs: z.array(z.string()).default([]),
  spatial: spatialSchema.optional(),
});


export type RedisConfig = z.output<typeof redisSchema>;
/** `redis.tls` after loading: file paths are absolute (resolved against the config file's directory). */
export type RedisTlsConfig = z.output<typeof tlsShape>;
/**
 * `max_message_bytes` the largest message an apply may queue (and claim accepts); `retry_backoff` the
 * seconds a failed job's first retry waits (doubling per failure, with jitter, up to `retry_backoff_max`);
 * `max_infra_failures` how many attempts an unreachable database or Redis may cost a job (these do not
 * spend `maxfailures`) before it is dead-lettered; `stuck_grace` the seconds past its walltime a job that
 * ignores its abort signal may keep its worker before the worker process exits (and is replaced).
 * `walltime` is the default walltime in seconds; `queue` the SLURM partition (`cluster.queue` or its alias
 * `cluster.partition`); `concurrency` how many local worker processes run at once; `heartbeat` seconds between
 * worker heartbeats (a worker is presumed dead 1.5 heartbeats after its last one); `worker_mode` what each
 * cluster task does: `once` (one message, as AutoCNet) or `drain` (until the queue is empty); the default is
 * the backend's.
 */
export type ClusterConfig = z.output<typeof clusterSchema>;
export type DatabaseConfig =
  | { url: string }
  /** The embedded PGlite database, in this directory. */
  | { embedded: string }
  | z.output<typeof databaseObject>;

export type Config = Omit<z.output<typeof configSchema>, "database"> & {
  /** Absent: the embedded database. */
  database?: DatabaseConfig;
  /** The file this came from, if any (workers are started with it). */
  source?: string;
  /** Unknown keys and other things worth a look; also printed when loading. */
  warnings: string[];
};

/** A configuration as written in YAML (every key optional). */
export type ConfigInput = Partial<z.input<typeof configSchema>> & { [section: string]: unknown };

/** Keys each section knows (others are reported as unknown). */
export const KNOWN_KEYS: Record<string, Set<string>> = {
  redis: new Set(Object.keys(redisShape.shape)),
  "redis.tls": new Set(Object.keys(tlsShape.shape)),
  cluster: new Set(Object.keys(clusterShape.shape)),
  database: new Set([...Object.keys(databaseObject.shape), "embedded"]),
};

/** Sections AutoCNet's own configuration has and we do not use: accepted silently. */
export const AUTOCNET_SECTIONS = new Set(["env", "spatial", "pfh5", "developer", "username", "algorithms", "models"]);

