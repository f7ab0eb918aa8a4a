import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import type { Database } from "./database";
import { lockDirectory } from "./lock";
import { migrate } from "./migrate";

/** The port number in the socket's file name (`.s.PGSQL.<port>`, as PostgreSQL names its Unix sockets). */
const SOCKET_PORT = 5432;

/**
 * A directory only this user can enter (0700, owned by us), for the embedded database's socket. Other
 * local users cannot connect to a Unix socket in it: the kernel refuses them before any byte is sent.
 */
export function privateSocketDirectory(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "autocnet-db-")); // created 0700
  fs.chmodSync(dir, 0o700);
  const st = fs.statSync(dir);
  if ((st.mode & 0o077) !== 0 || (typeof process.getuid === "function" && st.uid !== process.getuid())) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot make a private directory for the embedded database's socket (${dir} is not 0700 and ours)`);
  }
  return dir;
}

const PATCHED = Symbol.for("autocnet-ts.unrefEmscriptenTimers");
/** The callback Emscripten's `_setitimer_js` gives setTimeout: it calls `__emscripten_timeout`. */
const EMSCRIPTEN_TIMEOUT = /__emscripten_timeout/;

/**
 * PGlite (Emscripten) arms PostgreSQL's timers — the idle statistics flush, 10 s after a query that wrote —
 * with a plain setTimeout, which would hold this process open that long after its last query (a script that
 * forgets close(), a kernel asked to shut down). Timers whose callback is Emscripten's timeout handler are
 * unref'd: the flush they run can be skipped at exit. Other timers are untouched (one check per zero-argument
 * callback). Installed once per process, when an embedded database is first opened.
 */
export function unrefEmscriptenTimers(): void {
  const g = globalThis as unknown as { setTimeout: typeof setTimeout; [PATCHED]?: boolean };
  if (g[PATCHED]) return;
  g[PATCHED] = true;
  const original = g.setTimeout;
  const patched = function (this: unknown, callback: unknown, ...rest: unknown[]) {
    const timer = (original as (...a: unknown[]) => NodeJS.Timeout).call(this, callback, ...rest);
    if (typeof callback === "function" && callback.length === 0 && EMSCRIPTEN_TIMEOUT.test(Function.prototype.toString.call(callback))) {
      timer?.unref?.();
    }
    return timer;
  };
  Object.assign(patched, original); // util.promisify.custom
  g.setTimeout = patched as typeof setTimeout;
}

/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in a directory of the project.
 * Worker processes reach it through a Unix socket served from this process (pglite-socket, with its
 * query multiplexer), so they write their results straight to it, as they would to a server. The socket
 * lives in a directory only this user may enter (0700): pglite-socket checks no password, so the
 * directory is the door — other local users are refused by the kernel; the graph's workers, started by
 * this user, get in. Removed at close. Neither the socket nor PostgreSQL's timers keep the process alive.
 */
export async function openPglite(dir: string): Promise<Database> {
  const unlock = lockDirectory(dir);
  unrefEmscriptenTimers();
  let pg: PGlite;
  try {
    pg = await PGlite.create(dir);
  } catch (err) {
    unlock();
    throw new Error(`cannot open the embedded database at ${dir}: ${(err as Error).message}`);
  }
  let server: PGLiteSocketServer | undefined;
  let socketDir: string | undefined;
  let url: Promise<string> | undefined;
  const serve = async (): Promise<string> => {
    socketDir = privateSocketDirectory();
    const socketPath = path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
    server = new PGLiteSocketServer({ db: pg, path: socketPath, maxConnections: 64 });
    await server.start();
    fs.chmodSync(socketPath, 0o600);
    // the listening socket and the workers' connections never keep this process alive (running workers do)
    const listener = (server as unknown as { server?: import("net").Server }).server;
    listener?.unref();
    listener?.on("connection", (socket) => socket.unref());
    // node-postgres: host is the socket's directory, port the number in its file name
    return `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(socketDir)}&port=${SOCKET_PORT}`;
  };
  const db: Database = {
    kind: "pglite",
    where: dir,
    postgis: false,
    async query<T>(sql: string, params?: unknown[]) {
      return (await pg.query<T>(sql, params)).rows;
    },
    workerUrl() {
      url ??= serve();
      return url;
    },
    async close() {
      await server?.stop().catch(() => {});
      if (socketDir) fs.rmSync(socketDir, { recursive: true, force: true });
      await pg.close().catch(() => {});
      unlock();
    },
  };
  await migrate(db);
  return db;
}
