import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { freePort } from "./free-port";
import type { Database } from "./database";
import { lockDirectory } from "./lock";
import { migrate } from "./migrate";

/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in a directory of the project.
 * Worker processes reach it over a loopback socket served from this process (pglite-socket, with its
 * query multiplexer), so they write their results straight to it, as they would to a server.
 */
export async function openPglite(dir: string): Promise<Database> {
  const unlock = lockDirectory(dir);
  let pg: PGlite;
  try {
    pg = await PGlite.create(dir);
  } catch (err) {
    unlock();
    throw new Error(`cannot open the embedded database at ${dir}: ${(err as Error).message}`);
  }
  let server: PGLiteSocketServer | undefined;
  let url: string | undefined;
  const db: Database = {
    kind: "pglite",
    where: dir,
    postgis: false,
    async query<T>(sql: string, params?: unknown[]) {
      return (await pg.query<T>(sql, params)).rows;
    },
    async workerUrl() {
      if (url) return url;
      const port = await freePort();
      server = new PGLiteSocketServer({ db: pg, host: "127.0.0.1", port, maxConnections: 64 });
      await server.start();
      url = `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
      return url;
    },
    async close() {
      await server?.stop().catch(() => {});
      await pg.close().catch(() => {});
      unlock();
    },
  };
  await migrate(db);
  return db;
}
