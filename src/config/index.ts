import * as fs from "fs";
import * as path from "path";
import * as os from "os";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../errors";
import { formatWalltime, parseWalltime } from "./walltime";

/** Where a configuration came from, for error messages. */
const ENV_VARS = ["AUTOCNET_CONFIG", "autocnet_config"] as const;

const port = z.union([z.number().int(), z.string().regex(/^\d+$/, "expected a port number")]).transform(Number)
  .refine((p) => p >= 1 && p <= 65535, "expected a port number from 1 to 65535");
const positiveInt = z.union([z.number().int().positive(), z.string().regex(/^\d+$/).transform(Number)])
  .refine((n) => n > 0, "expected a whole number above 0");
const seconds = z.number().positive("expected a positive number of seconds");
const walltime = z.string({ error: "expected a SLURM time string such as \"00:30:00\" (a bare number is ambiguous)" });

const redisSchema = z.object({
  host: z.string().default("127.0.0.1"),
  port: port.default(6379),
  url: z.string().regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL").optional(),
  username: z.string().optional(),
  password: z.union([z.string(), z.number().transform(String)]).optional(),
  db: z.number().int().min(0).default(0),
  basename: z.string().min(1).regex(/^[^\s]+$/, "expected a name without spaces").default("autocnet"),
  processing_queue: z.string().min(1).optional(),
  working_queue: z.string().min(1).optional(),
  completed_queue: z.string().min(1).optional(),
});

const clusterSchema = z.object({
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
const databaseUrl = z.string().regex(/^postgres(ql)?:\/\//, "expected a postgresql:// URL");
// A union would report "Invalid input"; picking the branch by type gives the precise key and message.
const databaseEmbedded = z.object({ embedded: z.string().min(1, "expected a directory for the embedded database") });
const databaseSchema = z.unknown().transform((v, ctx) => {
  const schema = typeof v === "string" ? databaseUrl
    : typeof v === "object" && v !== null && "embedded" in v ? databaseEmbedded : databaseObject;
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ ...issue, code: "custom", path: issue.path, message: issue.message });
  return z.NEVER;
});

const fileSchema = z.object({
  redis: redisSchema.default(redisSchema.parse({})),
  cluster: clusterSchema.default(clusterSchema.parse({})),
  database: databaseSchema.optional().nullable(),
  jobs: z.array(z.string()).default([]),
});

/** Sections AutoCNet's own configuration has and we do not use: accepted silently. */
const AUTOCNET_SECTIONS = new Set(["env", "spatial", "pfh5", "developer", "username", "algorithms", "models"]);

export interface RedisConfig {
  host: string;
  port: number;
  url?: string;
  username?: string;
  password?: string;
  db: number;
  basename: string;
  processing_queue: string;
  working_queue: string;
  completed_queue: string;
}

export interface ClusterConfig {
  backend: "local" | "slurm";
  maxfailures: number;
  /** Default walltime, in seconds. */
  walltime: number;
  /** SLURM partition (`cluster.queue`, or its alias `cluster.partition`). */
  queue?: string;
  arraychunk?: number;
  cluster_log_dir?: string;
  /** Local backend: how many worker processes run at once. */
  concurrency: number;
  /** Seconds between worker heartbeats; a worker is presumed dead 1.5 heartbeats after its last one. */
  heartbeat: number;
  /** Seconds between sentinel sweeps. */
  sentinel_interval: number;
  mem_per_cpu?: string;
  exclude?: string;
  extra_sbatch?: string[];
  /** What each cluster task does: `once` (one message; SLURM's default, as AutoCNet) or `drain` (until the queue is empty; the local default). */
  worker_mode?: "once" | "drain";
}

export type DatabaseConfig =
  | { url: string }
  /** The embedded PGlite database, in this directory. */
  | { embedded: string }
  | { type: string; username?: string; password?: string; host: string; port: number; name: string; url?: string };

export interface Config {
  redis: RedisConfig;
  cluster: ClusterConfig;
  /** Absent: the embedded database. */
  database?: DatabaseConfig;
  /** Absolute paths of modules that register job functions. */
  jobs: string[];
  /** The file this came from, if any (workers are started with it). */
  source?: string;
  /** Unknown keys and other things worth a look; also printed when loading. */
  warnings: string[];
}

/** A configuration as written in YAML (every key optional). */
export type ConfigInput = {
  redis?: Partial<Omit<RedisConfig, "port">> & { port?: number | string };
  cluster?: Partial<Omit<ClusterConfig, "walltime">> & { walltime?: string };
  database?: string | Partial<Extract<DatabaseConfig, { type: string }>> | { embedded: string } | null;
  jobs?: string[];
  [section: string]: unknown;
};

export interface LoadOptions {
  /** Called once per warning; defaults to console.warn. */
  onWarning?: (message: string) => void;
}

/**
 * Loads and validates a configuration: from `source` (a YAML file path, or an object), else from the
 * file named by $AUTOCNET_CONFIG (or $autocnet_config, as in AutoCNet), else the defaults (local Redis,
 * basename `autocnet`, local cluster, embedded database).
 */
export function loadConfig(source?: string | ConfigInput, options: LoadOptions = {}): Config {
  let raw: unknown;
  let file: string | undefined;
  if (typeof source === "string") {
    file = path.resolve(source);
  } else if (source === undefined) {
    const envName = ENV_VARS.find((name) => process.env[name]);
    if (envName) file = path.resolve(process.env[envName]!);
  } else {
    raw = source;
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError(`${file}: cannot read the configuration (${code ?? String(err)}); check the path`, undefined, file);
    }
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(`${file}: not valid YAML: ${(err as Error).message.split("\n")[0]}`, undefined, file);
    }
  }
  return validateConfig(raw ?? {}, file, options);
}

function validateConfig(raw: unknown, file: string | undefined, options: LoadOptions): Config {
  const where = file ?? "configuration";
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${where}: expected a mapping of sections (redis, cluster, database, jobs)`, undefined, file);
  }
  const warnings = unknownKeys(raw as Record<string, unknown>).map((k) => `${where}: unknown key ${k} is ignored`);
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const keyPath = issue.path.join(".");
    const got = valueAt(raw, issue.path);
    const shown = got === undefined ? "" : ` (got ${JSON.stringify(got)})`;
    throw new ConfigError(`${where}: ${keyPath || "(top level)"}: ${issue.message}${shown}`, keyPath, file);
  }
  const value = parsed.data;
  const base = value.redis.basename;
  let walltimeSeconds: number;
  try {
    walltimeSeconds = parseWalltime(value.cluster.walltime, "cluster.walltime");
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`, "cluster.walltime", file);
  }
  const dir = file ? path.dirname(file) : process.cwd();
  const config: Config = {
    redis: {
      ...value.redis,
      processing_queue: value.redis.processing_queue ?? `${base}:processing`,
      working_queue: value.redis.working_queue ?? `${base}:working`,
      completed_queue: value.redis.completed_queue ?? `${base}:completed`,
    },
    cluster: {
      ...value.cluster,
      queue: value.cluster.queue ?? value.cluster.partition,
      walltime: walltimeSeconds,
    },
    database: normaliseDatabase(value.database ?? undefined, dir),
    jobs: value.jobs.map((p) => path.resolve(dir, p)),
    source: file,
    warnings,
  };
  const warn = options.onWarning ?? ((m: string) => console.warn(`autocnet: ${m}`));
  for (const w of warnings) warn(w);
  return config;
}

function normaliseDatabase(db: string | z.infer<typeof databaseObject> | { embedded: string } | undefined, dir: string): DatabaseConfig | undefined {
  if (db === undefined) return undefined;
  if (typeof db === "string") return { url: db };
  if ("embedded" in db) return { embedded: path.resolve(dir, db.embedded) };
  return db;
}

function valueAt(raw: unknown, keyPath: PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const k of keyPath) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

const KNOWN: Record<string, Set<string>> = {
  redis: new Set(Object.keys(redisSchema.shape)),
  cluster: new Set(Object.keys(clusterSchema.shape)),
  database: new Set([...Object.keys(databaseObject.shape), "embedded"]),
};

function unknownKeys(raw: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [section, value] of Object.entries(raw)) {
    if (section === "jobs") continue;
    const known = KNOWN[section];
    if (!known) {
      if (!AUTOCNET_SECTIONS.has(section)) out.push(section);
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    for (const key of Object.keys(value)) if (!known.has(key)) out.push(`${section}.${key}`);
  }
  return out;
}

/** The YAML form of a loaded config (walltime back to SLURM's form): what worker processes are started with. */
export function configToInput(config: Config): ConfigInput {
  const { walltime, ...cluster } = config.cluster;
  const out: ConfigInput = {
    redis: { ...config.redis },
    cluster: { ...cluster, walltime: formatWalltime(walltime) },
    jobs: config.jobs,
  };
  if (config.database) out.database = config.database as ConfigInput["database"];
  for (const section of [out.redis, out.cluster] as Record<string, unknown>[]) {
    for (const [k, v] of Object.entries(section)) if (v === undefined) delete section[k];
  }
  return out;
}

/** Writes a config for worker processes to a file, unless it came from one; returns the path. */
export function ensureConfigFile(config: Config): string {
  if (config.source) return config.source;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "autocnet-config-"));
  const file = path.join(dir, "config.yml");
  fs.writeFileSync(file, stringifyYaml(configToInput(config)));
  config.source = file;
  return file;
}
