import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { ConfigError } from "../errors";
import { maskSecrets, secretsOfUrl } from "../secrets";
import { AUTOCNET_SECTIONS, configSchema, KNOWN_KEYS, type Config, type ConfigInput, type DatabaseConfig, type RedisConfig } from "./schema";
import { formatWalltime } from "./walltime";

/** Environment variables naming a configuration file, as AutoCNet's. */
const ENV_VARS = ["AUTOCNET_CONFIG", "autocnet_config"] as const;

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
      throw new ConfigError(`${file}: not valid YAML: ${maskSecrets((err as Error).message.split("\n")[0])}`, undefined, file);
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
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const keyPath = issue.path.join(".");
    const got = valueAt(raw, issue.path);
    // a value shown back is masked: a URL's password, a secret query parameter, a key named like password
    const shown = got === undefined ? "" : ` (got ${typeof got === "string" ? JSON.stringify(maskSecrets(got, { key: keyPath, known: secretsOfUrl(got) })) : maskSecrets(got, { key: keyPath })})`;
    throw new ConfigError(`${where}: ${keyPath || "(top level)"}: ${issue.message}${shown}`, keyPath, file);
  }
  const value = parsed.data;
  const dir = file ? path.dirname(file) : process.cwd();
  const config: Config = {
    ...value,
    redis: normaliseRedis(value.redis, dir),
    database: normaliseDatabase(value.database ?? undefined, dir),
    jobs: value.jobs.map((p) => path.resolve(dir, p)),
    source: file,
    warnings,
  };
  const warn = options.onWarning ?? ((m: string) => console.warn(`autocnet: ${m}`));
  for (const w of warnings) warn(w);
  return config;
}

/** An embedded database's directory is relative to the config file. */
function normaliseDatabase(db: DatabaseConfig | undefined, dir: string): DatabaseConfig | undefined {
  if (db !== undefined && "embedded" in db) return { embedded: path.resolve(dir, db.embedded) };
  return db;
}

/** TLS files are relative to the config file. */
function normaliseRedis(redis: RedisConfig, dir: string): RedisConfig {
  if (!redis.tls) return redis;
  const tls = { ...redis.tls };
  for (const k of ["ca", "cert", "key"] as const) if (tls[k] !== undefined) tls[k] = path.resolve(dir, tls[k]!);
  return { ...redis, tls };
}

function valueAt(raw: unknown, keyPath: PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const k of keyPath) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}


function unknownKeys(raw: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [section, value] of Object.entries(raw)) {
    if (section === "jobs") continue;
    const known = KNOWN_KEYS[section];
    if (!known) {
      if (!AUTOCNET_SECTIONS.has(section)) out.push(section);
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    for (const [key, sub] of Object.entries(value)) {
      if (!known.has(key)) out.push(`${section}.${key}`);
      const nested = KNOWN_KEYS[`${section}.${key}`];
      if (nested && typeof sub === "object" && sub !== null && !Array.isArray(sub)) {
        for (const k of Object.keys(sub)) if (!nested.has(k)) out.push(`${section}.${key}.${k}`);
      }
    }
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

/** Config files this process wrote (they hold the config's passwords): config -> its private directory. */
const written = new WeakMap<Config, string>();
/** The same directories, removed when the process exits without closing its graph (a script that ends, a kernel that stops). */
const writtenDirs = new Set<string>();
let exitHook = false;
function removeAtExit(dir: string): void {
  writtenDirs.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const d of writtenDirs) fs.rmSync(d, { recursive: true, force: true });
  });
}

/**
 * Writes a config for worker processes to a file, unless it came from one; returns the path. The file
 * holds the config's passwords: it is readable by this user only (0600, in a 0700 directory of its own),
 * and `removeConfigFile` deletes it (the graph does at close).
 */
export function ensureConfigFile(config: Config): string {
  if (config.source) return config.source;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "autocnet-config-")); // mode 0700
  const file = path.join(dir, "config.yml");
  const fd = fs.openSync(file, "wx", 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, stringifyYaml(configToInput(config)));
  } finally {
    fs.closeSync(fd);
  }
  config.source = file;
  written.set(config, dir);
  removeAtExit(dir);
  return file;
}

/** Whether `config.source` is a file `ensureConfigFile` wrote (and `removeConfigFile` would delete). */
export function isWrittenConfigFile(config: Config): boolean {
  return written.has(config);
}

/** Deletes the file `ensureConfigFile` wrote for this config (if it wrote one), and forgets it. */
export function removeConfigFile(config: Config): void {
  const dir = written.get(config);
  if (dir === undefined) return;
  written.delete(config);
  writtenDirs.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  config.source = undefined;
}
