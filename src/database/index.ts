import * as fs from "fs";
import * as path from "path";
import type { Config, DatabaseConfig } from "../config";
import { ConnectionError } from "../errors";
import type { Database, OpenDatabaseOptions } from "./database";
import { hidePassword, openPostgres } from "./postgres";
import { openPglite } from "./pglite";

export { migrate } from "./migrate";
export { hidePassword, openPostgres, postgresConnectionError } from "./postgres";
export type { Database, OpenDatabaseOptions } from "./database";

/** The URL a database config names (AutoCNet's keys or a URL). */
export function databaseUrl(db: Exclude<DatabaseConfig, { embedded: string }>): string {
  if ("url" in db && db.url) return db.url;
  const d = db as Extract<DatabaseConfig, { name: string }>;
  const auth = d.username ? `${encodeURIComponent(d.username)}${d.password ? `:${encodeURIComponent(d.password)}` : ""}@` : "";
  return `postgresql://${auth}${d.host}:${d.port}/${encodeURIComponent(d.name)}`;
}


/** Where the embedded database of a config lives: `database.embedded`, else `.autocnet/db` beside the config file. */
export function embeddedPath(config: Config): string {
  if (config.database && "embedded" in config.database) return config.database.embedded;
  return path.join(config.source ? path.dirname(config.source) : process.cwd(), ".autocnet", "db");
}

/** The environment variable naming a file (mode 0600) that holds the database URL a worker writes to. */
export const DATABASE_URL_FILE_ENV = "AUTOCNET_DATABASE_URL_FILE";

/**
 * The database URL the environment gives: the file $AUTOCNET_DATABASE_URL_FILE names (what the graph
 * gives the workers it starts: a path, never the URL itself), else $AUTOCNET_DATABASE_URL (still
 * accepted, for compatibility), else nothing.
 */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env[DATABASE_URL_FILE_ENV];
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new ConnectionError(`cannot read the database URL from $${DATABASE_URL_FILE_ENV} (${file}: ${code}); ` +
        "the graph that started this worker removes it when it closes: start workers with ncg.apply, or unset it");
    }
    const url = text.trim();
    if (!url) throw new ConnectionError(`$${DATABASE_URL_FILE_ENV} (${file}) is empty; it should hold a postgresql:// URL`);
    return url;
  }
  return env.AUTOCNET_DATABASE_URL || undefined;
}

/**
 * Opens the config's database and brings its schema up to date: a PostgreSQL server when `database:`
 * names one, else the embedded PGlite database (one process at a time; workers reach it through
 * `workerUrl()`). For worker processes, $AUTOCNET_DATABASE_URL_FILE (or $AUTOCNET_DATABASE_URL) overrides both.
 */
export async function openDatabase(config: Config, options: OpenDatabaseOptions = {}): Promise<Database> {
  const envUrl = databaseUrlFromEnv();
  let db: Database;
  if (envUrl) {
    db = await openPostgres(envUrl, { ...options, postgis: false, migrate: false });
    return db;
  }
  const cfg = config.database;
  if (cfg && !("embedded" in cfg)) return openPostgres(databaseUrl(cfg), options);
  return openPglite(embeddedPath(config));
}

/**
 * The database a worker process writes to: the URL in the file $AUTOCNET_DATABASE_URL_FILE names (set by
 * the graph when it starts workers for the embedded database: its socket), or $AUTOCNET_DATABASE_URL,
 * else the configured server. The embedded database itself is never opened by a worker: it belongs to
 * the graph's process.
 */
export async function openWorkerDatabase(config: Config): Promise<Database> {
  const envUrl = databaseUrlFromEnv();
  if (envUrl) return openPostgres(envUrl, { postgis: false, migrate: false, max: 2 });
  const cfg = config.database;
  if (cfg && !("embedded" in cfg)) return openPostgres(databaseUrl(cfg), { postgis: false, migrate: false, max: 2 });
  throw new ConnectionError(
    "this worker has no database: the embedded database is served by the graph's process " +
      "(start workers with ncg.apply, which sets AUTOCNET_DATABASE_URL_FILE), or configure database: with a PostgreSQL server",
  );
}

/**
 * A database opened on first use (workers whose jobs never touch it never connect). A failed opening is
 * not kept: the next query tries again (a worker started while the database was down recovers once it is
 * back; the job that met the failure is retried as an infrastructure failure).
 */
export function lazyDatabase(open: () => Promise<Database>): Database {
  let opening: Promise<Database> | undefined;
  const get = () => {
    if (!opening) {
      const attempt = open();
      opening = attempt;
      attempt.catch(() => {
        if (opening === attempt) opening = undefined;
      });
    }
    return opening;
  };
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
