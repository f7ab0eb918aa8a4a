import * as path from "path";
import type { Config, DatabaseConfig } from "../config";
import { ConnectionError } from "../errors";
import { Pool } from "pg";
import { migrate } from "./migrate";
import { openPglite } from "./pglite";

export { migrate } from "./migrate";

/** The one interface jobs and the graph use; PostgreSQL and the embedded PGlite both implement it. */
export interface Database {
  readonly kind: "postgresql" | "pglite";
  /** Where it is, for messages (no password). */
  readonly where: string;
  /** Whether PostGIS is installed (overlaps are then computed in SQL). */
  readonly postgis: boolean;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A postgresql:// URL worker processes can write to (for PGlite: served over a loopback socket). */
  workerUrl(): Promise<string>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Try `CREATE EXTENSION postgis` on a server (default true); without it, overlaps are computed in TypeScript. */
  postgis?: boolean;
}

/** The URL a database config names (AutoCNet's keys or a URL). */
export function databaseUrl(db: Exclude<DatabaseConfig, { embedded: string }>): string {
  if ("url" in db && db.url) return db.url;
  const d = db as Extract<DatabaseConfig, { name: string }>;
  const auth = d.username ? `${encodeURIComponent(d.username)}${d.password ? `:${encodeURIComponent(d.password)}` : ""}@` : "";
  return `postgresql://${auth}${d.host}:${d.port}/${encodeURIComponent(d.name)}`;
}

export function hidePassword(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

/** Where the embedded database of a config lives: `database.embedded`, else `.autocnet/db` beside the config file. */
export function embeddedPath(config: Config): string {
  if (config.database && "embedded" in config.database) return config.database.embedded;
  return path.join(config.source ? path.dirname(config.source) : process.cwd(), ".autocnet", "db");
}

/**
 * Opens the config's database and brings its schema up to date: a PostgreSQL server when `database:`
 * names one, else the embedded PGlite database (one process at a time; workers reach it through
 * `workerUrl()`). For worker processes, $AUTOCNET_DATABASE_URL overrides both.
 */
export async function openDatabase(config: Config, options: OpenDatabaseOptions = {}): Promise<Database> {
  const envUrl = process.env.AUTOCNET_DATABASE_URL;
  let db: Database;
  if (envUrl) {
    db = await openPostgres(envUrl, { ...options, postgis: false, migrate: false });
    return db;
  }
  const cfg = config.database;
  if (cfg && !("embedded" in cfg)) return openPostgres(databaseUrl(cfg), options);
  return openPglite(embeddedPath(config));
}

interface PostgresOptions extends OpenDatabaseOptions { migrate?: boolean; max?: number }

export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<Database> {
  const where = hidePassword(url);
  const pool = new Pool({ connectionString: url, max: options.max ?? 4, connectionTimeoutMillis: 10_000 });
  pool.on("error", () => {}); // an idle client's error; the next query reports it
  try {
    await pool.query("SELECT 1");
  } catch (err) {
    await pool.end().catch(() => {});
    throw new ConnectionError(`cannot reach the database at ${where} (${(err as Error).message}); start PostgreSQL or fix database: in the config`);
  }
  let postgis = false;
  if (options.postgis !== false) {
    try {
      await pool.query("CREATE EXTENSION IF NOT EXISTS postgis");
      postgis = true;
    } catch {
      postgis = false;
    }
  } else {
    const r = await pool.query("SELECT 1 FROM pg_extension WHERE extname = 'postgis'");
    postgis = (r.rowCount ?? 0) > 0;
  }
  const db: Database = {
    kind: "postgresql",
    where,
    postgis,
    async query<T>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params as unknown[])).rows as T[];
    },
    async workerUrl() {
      return url;
    },
    async close() {
      await pool.end();
    },
  };
  if (options.migrate !== false) await migrate(db);
  return db;
}


/**
 * The database a worker process writes to: $AUTOCNET_DATABASE_URL (set by the graph when it starts
 * workers; for the embedded database, its socket), else the configured server. The embedded database
 * itself is never opened by a worker: it belongs to the graph's process.
 */
export async function openWorkerDatabase(config: Config): Promise<Database> {
  const envUrl = process.env.AUTOCNET_DATABASE_URL;
  if (envUrl) return openPostgres(envUrl, { postgis: false, migrate: false, max: 2 });
  const cfg = config.database;
  if (cfg && !("embedded" in cfg)) return openPostgres(databaseUrl(cfg), { postgis: false, migrate: false, max: 2 });
  throw new ConnectionError(
    "this worker has no database: the embedded database is served by the graph's process " +
      "(start workers with ncg.apply, which sets AUTOCNET_DATABASE_URL), or configure database: with a PostgreSQL server",
  );
}

/** A database opened on first use (workers whose jobs never touch it never connect). */
export function lazyDatabase(open: () => Promise<Database>): Database {
  let opening: Promise<Database> | undefined;
  const get = () => (opening ??= open());
  return {
    kind: "postgresql",
    get where() { return "(not yet opened)"; },
    postgis: false,
    async query<T>(sql: string, params?: unknown[]) {
      return (await get()).query<T>(sql, params);
    },
    async workerUrl() {
      return (await get()).workerUrl();
    },
    async close() {
      if (opening) await (await opening.catch(() => undefined))?.close();
    },
  };
}
