import { Pool } from "pg";
import { ConnectionError, type ConnectionFailure } from "../errors";
import { maskSecrets, secretsOfUrl } from "../secrets";
import type { Database, OpenDatabaseOptions } from "./database";
import { migrate } from "./migrate";

/** A PostgreSQL URL for messages: its password (user-info, `?password=`, …) replaced by ***; see maskSecrets. */
export function hidePassword(url: string): string {
  return maskSecrets(url, { known: urlSecrets(url) });
}

/** The literal secrets a URL carries (its password, `password`/`sslpassword` parameters), to mask wherever they appear. */
function urlSecrets(url: string): string[] {
  return secretsOfUrl(url);
}

/** The user a URL names, for messages. */
function urlUser(url: string): string | undefined {
  try {
    const u = new URL(url);
    return decodeURIComponent(u.username) || u.searchParams.get("user") || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The one-line error for a failed PostgreSQL connection, keeping its cause: authentication failed, a role
 * or database that does not exist, TLS, refused, timed out, host not found. Never shows the password.
 */
export function postgresConnectionError(url: string, err: Error): ConnectionError {
  const where = hidePassword(url);
  const known = urlSecrets(url);
  const detail = maskSecrets(err.message.replace(/\s+/g, " ").trim(), { known });
  const code = String((err as { code?: unknown }).code ?? "");
  const user = urlUser(url);
  const fail = (reason: ConnectionFailure, message: string) => new ConnectionError(maskSecrets(message, { known }), reason);
  if (code === "28P01" || /password authentication failed/i.test(err.message)) {
    return fail("auth", `authentication failed at the database ${where} (${detail}): a wrong password, or a role the server ` +
      `does not have (it does not say which); check database.username and database.password (or the URL's user-info)`);
  }
  if (/client password must be a string|password must be a string/i.test(err.message)) {
    return fail("auth", `authentication failed at the database ${where}: the server asks for a password${user ? ` for user "${user}"` : ""} ` +
      `and none was given; set database.password (or put it in the URL)`);
  }
  const role = /role "(.*)" does not exist/.exec(err.message);
  if (role) {
    return fail("missing", `the database server at ${where} has no role "${role[1]}" (${detail}); create it ` +
      `(CREATE ROLE "${role[1]}" LOGIN PASSWORD '…') or fix database.username`);
  }
  const dbname = /database "(.*)" does not exist/.exec(err.message);
  if (code === "3D000" || dbname) {
    return fail("missing", `the database server at ${where} has no database${dbname ? ` "${dbname[1]}"` : ""} (${detail}); ` +
      `create it (createdb) or fix database.name`);
  }
  if (code === "28000") {
    return fail("auth", `the database server at ${where} refused the login (${detail}); allow this host and user in its pg_hba.conf, or fix database:`);
  }
  if (/does not support SSL/i.test(err.message)) {
    return fail("tls", `the database server at ${where} does not speak SSL, but the URL asks for it (${detail}); drop sslmode from the URL or enable SSL on the server`);
  }
  if (/certificate|SSL routines|self[- ]signed/i.test(err.message) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) {
    return fail("tls", `TLS with the database server at ${where} failed (${detail}); check the URL's sslmode/sslrootcert against the server's certificate`);
  }
  if (code === "ECONNREFUSED") {
    return fail("refused", `cannot reach the database at ${where} (connection refused: nothing listens there); start PostgreSQL or fix database: in the config`);
  }
  if (code === "ETIMEDOUT" || /timeout|timed out/i.test(err.message)) {
    return fail("timeout", `timed out connecting to the database at ${where} (${detail}); check the address and any firewall, and that PostgreSQL runs there`);
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return fail("not-found", `cannot reach the database at ${where} (host name not found: ${detail}); fix database.host or the URL`);
  }
  return fail("other", `cannot reach the database at ${where} (${detail}); start PostgreSQL or fix database: in the config`);
}

export interface PostgresOptions extends OpenDatabaseOptions {
  migrate?: boolean;
  max?: number;
  /** How long a connection attempt may take before it fails as timed out (default 10 s). */
  connectTimeoutMs?: number;
}

export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<Database> {
  const where = hidePassword(url);
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new ConnectionError(`not a postgresql:// URL: ${where}; write postgresql://user:password@host:port/name` +
      (/^postgres(ql)?\+/.test(url) ? " (a SQLAlchemy driver such as +psycopg2 has no meaning here: drop it)" : ""));
  }
  // allowExitOnIdle: idle connections never keep a script or kernel alive (a query in flight does)
  const pool = new Pool({ connectionString: url, max: options.max ?? 4, connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000, allowExitOnIdle: true });
  pool.on("error", () => {}); // an idle client's error; the next query reports it
  try {
    await pool.query("SELECT 1");
  } catch (err) {
    await pool.end().catch(() => {});
    throw postgresConnectionError(url, err as Error);
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
