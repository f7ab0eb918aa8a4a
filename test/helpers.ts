import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { afterAll, beforeAll } from "vitest";
import { stringify } from "yaml";
import { loadConfig, type Config, type ConfigInput } from "../src/config";
import { openQueues, type QueueConnection } from "../src/worker/connection";

export const FIXTURE_JOBS = path.join(__dirname, "fixtures", "jobs.cjs");

/** A config of its own for one test: a fresh basename, written to a temp file so worker processes can load it. */
export function testConfig(input: ConfigInput = {}): Config {
  const basename = `acn-test:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-test-"));
  const file = path.join(dir, "config.yml");
  const doc: ConfigInput = {
    ...input,
    redis: { host: "127.0.0.1", port: 6379, basename, ...input.redis },
    cluster: { walltime: "00:01:00", heartbeat: 0.5, sentinel_interval: 0.1, ...input.cluster },
    jobs: input.jobs ?? [FIXTURE_JOBS],
  };
  fs.writeFileSync(file, stringify(doc));
  return loadConfig(file, { onWarning: () => {} });
}

/** Opens a test's own queue set; `close()` deletes its keys (only its own) and disconnects. */
export async function openTest(input: ConfigInput = {}): Promise<QueueConnection> {
  const conn = await openQueues(testConfig(input));
  const close = conn.close.bind(conn);
  conn.close = async () => {
    await conn.queues.clear();
    await close();
  };
  return conn;
}

/** Polls `check` until it returns a truthy value or the deadline passes (then throws with `what`). */
export async function until<T>(what: string, check: () => Promise<T> | T, timeoutMs = 20_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export async function recorded(conn: QueueConnection, key: string): Promise<Record<string, unknown>[]> {
  return (await conn.redis.lrange(key, 0, -1)).map((s) => JSON.parse(s));
}

/** The local PostgreSQL server's maintenance database: where throwaway databases are made and dropped. */
const ADMIN_URL = "postgresql://root@127.0.0.1:5432/postgres";

/**
 * A PostgreSQL database of its own for one test file or test (`<prefix>_<pid>_<random>`): its URL, and
 * `drop()`, which removes it even while connections to it are open.
 */
export async function throwawayDatabase(prefix: string): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: `postgresql://root@127.0.0.1:5432/${name}`,
    async drop() {
      const c = new Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * A throwaway database for the suite (file or describe block) this is called in: made before its tests,
 * dropped after them. `url` is there once the suite's tests run.
 */
export function throwawayDatabaseForSuite(prefix: string): { readonly url: string } {
  let db: Awaited<ReturnType<typeof throwawayDatabase>> | undefined;
  beforeAll(async () => {
    db = await throwawayDatabase(prefix);
  });
  afterAll(async () => {
    await db?.drop();
  });
  return {
    get url() {
      if (!db) throw new Error(`the ${prefix} database is made in beforeAll: read its url inside a test`);
      return db.url;
    },
  };
}
