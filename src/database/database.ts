/**
 * The database interface every part uses (graph, workers' jobs, the campaign's ledger). PostgreSQL
 * (postgres.ts) and the embedded PGlite (pglite.ts) implement it; nothing here imports them.
 */
/** The one interface jobs and the graph use; PostgreSQL and the embedded PGlite both implement it. */
export interface Database {
  readonly kind: "postgresql" | "pglite";
  /** Where it is, for messages (no password). */
  readonly where: string;
  /** Whether PostGIS is installed (overlaps are then computed in SQL). */
  readonly postgis: boolean;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A postgresql:// URL worker processes can write to (for PGlite: a Unix socket in a 0700 directory, served by this process). */
  workerUrl(): Promise<string>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Try `CREATE EXTENSION postgis` on a server (default true); without it, overlaps are computed in TypeScript. */
  postgis?: boolean;
}
