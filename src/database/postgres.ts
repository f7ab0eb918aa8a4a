import { Pool } from "pg";
import { ConnectionError } from "../errors";
import type { Database, OpenDatabaseOptions } from "./database";
import { migrate } from "./migrate";

/** A PostgreSQL URL for messages: the password replaced by ***. */
export function hidePassword(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

export interface PostgresOptions extends OpenDatabaseOptions { migrate?: boolean; max?: number }

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
