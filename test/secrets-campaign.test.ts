import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { format } from "util";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LocalCluster } from "../src/cluster/local";
import { loadConfig, type ConfigInput } from "../src/config";
import { openPostgres } from "../src/database";
import { freePort } from "../src/database/free-port";
import { ConnectionError } from "../src/errors";
import { NetworkCandidateGraph } from "../src/graph";
import { connectRedis } from "../src/queue/redis";
import { FIXTURE_JOBS, until } from "./helpers";
import { missing, postgresBin, startPostgres, startRedis, which, type PrivatePostgres, type PrivateRedis } from "./private-servers";

/**
 * A campaign run with passwords — a private redis-server with --requirepass and a private PostgreSQL with
 * scram-sha-256, the config given as an object (so the graph writes one for its workers), local workers,
 * a worker whose database connection fails, connections that fail in-process (wrong passwords, refused
 * ports with ?password=, config errors with +driver URLs) — then every output is searched for every
 * password, and for every fragment of them: the test process's console and stdout/stderr, the error
 * messages, the workers' logs (a job there prints its whole environment and command line), the live
 * workers' /proc environ and cmdline, every file and directory that appeared in the temp directory during
 * the run, every Redis key, every database table; with SLURM (when it runs here), the batch scripts, the
 * tasks' logs (with their environment) and the job's environment as slurmctld stores it.
 */
const SECRET_JOBS = path.join(__dirname, "fixtures", "secret-jobs.cjs");
const WORKER = path.join(__dirname, "..", "dist", "bin", "worker.js");
const rand = () => Math.random().toString(36).slice(2, 12).padEnd(10, "q");

/** Passwords built from random cores around the characters that break naive masking (@ : / ?). */
function password(): { value: string; cores: string[] } {
  const cores = [rand(), rand(), rand()];
  return { value: `A${cores[0]}@B${cores[1]}:C${cores[2]}/?`, cores };
}
const REDIS_PW = password();
const PG_PW = password();
const WRONG_REDIS = password();
const WRONG_PG = password();
const CORES = [REDIS_PW, PG_PW, WRONG_REDIS, WRONG_PG].flatMap((p) => p.cores);

/** Where a core of any password appears in `text` (with a little context), for the failure message. */
function leaks(where: string, text: string): string[] {
  const out: string[] = [];
  for (const core of CORES) {
    const i = text.indexOf(core);
    if (i !== -1) out.push(`${where}: …${text.slice(Math.max(0, i - 80), i + 30).replace(/\s+/g, " ")}…`);
  }
  return out;
}

/** Every regular file under `root` (at most 8 MB each), as text; sockets, devices and vanished files skipped. */
function filesUnder(root: string, out: Map<string, string> = new Map()): Map<string, string> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(root);
  } catch {
    return out;
  }
  if (st.isDirectory()) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(root);
    } catch {
      return out;
    }
    for (const n of names) filesUnder(path.join(root, n), out);
  } else if (st.isFile() && st.size <= 8 << 20) {
    try {
      out.set(root, fs.readFileSync(root, "latin1"));
    } catch {
      // vanished or unreadable
    }
  }
  return out;
}

/** Everything in a Redis database, as text. */
async function dumpRedis(r: Redis): Promise<string> {
  const parts: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await r.scan(cursor, "COUNT", 1000);
    cursor = next;
    for (const k of keys) {
      const t = await r.type(k);
      const v = t === "string" ? await r.get(k) : t === "list" ? await r.lrange(k, 0, -1) : t === "hash" ? await r.hgetall(k)
        : t === "set" ? await r.smembers(k) : t === "zset" ? await r.zrange(k, 0, -1, "WITHSCORES") : t === "stream" ? await r.xrange(k, "-", "+") : t;
      parts.push(`${k} ${JSON.stringify(v)}`);
    }
  } while (cursor !== "0");
  return parts.join("\n");
}

/** Every row of every table and view in the database's public schema, as text. */
async function dumpDatabase(pg: PrivatePostgres, name: string): Promise<string> {
  const { Client } = await import("pg");
  const db = new Client({ host: pg.socketDir, port: pg.port, user: "acn_admin", database: name });
  await db.connect();
  try {
    const tables = (await db.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).rows.map((r) => r.table_name as string);
    const parts: string[] = [];
    for (const t of tables) parts.push(`${t}: ${(await db.query(`SELECT t::text AS row FROM "${t}" t`)).rows.map((r) => r.row).join("\n")}`);
    expect(tables.length).toBeGreaterThan(3);
    return parts.join("\n");
  } finally {
    await db.end();
  }
}

/** Captures everything this process prints: console.* and writes to stdout/stderr. */
function captureOutput(): { text: () => string; restore: () => void } {
  const chunks: string[] = [];
  const spies = (["log", "error", "warn", "info", "debug"] as const).map((m) =>
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void chunks.push(format(...args))));
  const writes = [process.stdout, process.stderr].map((s) => {
    const original = s.write.bind(s);
    return vi.spyOn(s, "write").mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      chunks.push(String(chunk));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof s.write);
  });
  return { text: () => chunks.join("\n"), restore: () => [...spies, ...writes].forEach((s) => s.mockRestore()) };
}

/** Reads a live process's environment and command line (/proc), as text. */
function procOf(pid: number): string {
  const read = (f: string) => {
    try {
      return fs.readFileSync(`/proc/${pid}/${f}`, "latin1").split("\0").join("\n");
    } catch {
      return "";
    }
  };
  return `${read("environ")}\n${read("cmdline")}`;
}

const footprint = (x: number) => `POLYGON((${x} 0, ${x + 2} 0, ${x + 2} 2, ${x} 2, ${x} 0))`;

const needs = missing({ "redis-server": which("redis-server"), "PostgreSQL server binaries (initdb, pg_ctl)": postgresBin(),
  ...(process.getuid?.() === 0 ? { runuser: which("runuser") } : {}) });

describe.skipIf(needs !== "")(`a campaign with passwords leaves none of them in any output, log or file ${needs}`, () => {
  let redis: PrivateRedis;
  let pg: PrivatePostgres;
  let admin: Redis;
  const input = (over: Partial<ConfigInput> = {}): ConfigInput => ({
    redis: { host: "127.0.0.1", port: redis.port, password: REDIS_PW.value, basename: `acn-secret:${rand()}` },
    cluster: { walltime: "00:01:00", heartbeat: 0.5, sentinel_interval: 0.1, concurrency: 2 },
    database: { type: "postgresql", username: "acn_secret", password: PG_PW.value, host: "127.0.0.1", port: pg.port, name: "acn_secret" },
    jobs: [FIXTURE_JOBS, SECRET_JOBS],
    ...over,
  });

  beforeAll(async () => {
    redis = await startRedis(["--requirepass", REDIS_PW.value]);
    pg = await startPostgres();
    await pg.createRole("acn_secret", PG_PW.value);
    admin = await connectRedis(loadConfig({ redis: { port: redis.port, password: REDIS_PW.value } }, { onWarning: () => {} }).redis);
  }, 180_000);
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
    await pg?.stop();
  });

  it("local workers: console, errors, worker logs, /proc, temp files, Redis and the database hold no password", async () => {
    const tmpBefore = new Set(fs.readdirSync(os.tmpdir()));
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-secret-logs-"));
    const texts = new Map<string, string>();
    const errors: string[] = [];
    const out = captureOutput();
    let ncg: NetworkCandidateGraph | undefined;
    let configFile = "";
    try {
      ncg = await NetworkCandidateGraph.connect(input(), { workerLogDir: logDir });
      await ncg.addImages([0, 1, 2, 3].map((i) => ({ name: `sec_${i}`, footprint: footprint(i * 1.5) })));
      await ncg.loadFromDatabase();
      expect(ncg.edges.size).toBe(3);

      // 1. workers run jobs that read the database and print their environment; look at them while alive
      const hold = `${ncg.config.redis.basename}:hold`;
      const h1 = await ncg.apply("secret_probe", { on: "edges", kwargs: { hold } });
      const pids = await until("two workers holding", async () => {
        const l = await ncg!.redisQueue.lrange(`${hold}:started`, 0, -1);
        return l.length >= 2 ? l.map(Number) : undefined;
      }, 30_000);
      const backend = (await ncg.supervisor.backend()) as LocalCluster;
      for (const pid of new Set([...pids, ...backend.pids()])) texts.set(`/proc/${pid} (a live worker: environ, cmdline)`, procOf(pid));
      // the config written for them: 0600 in a 0700 directory, and it does hold the passwords (so the
      // search below finds a password where there is one: this file is removed at close)
      configFile = ncg.config.source!;
      expect(configFile).toMatch(/autocnet-config-/);
      expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
      expect(fs.statSync(path.dirname(configFile)).mode & 0o777).toBe(0o700);
      expect(leaks("config", fs.readFileSync(configFile, "utf8")).length).toBeGreaterThanOrEqual(6);
      await ncg.redisQueue.set(hold, "1");
      expect(await h1.wait({ timeout: 60_000 })).toMatchObject({ completed: 3, dead: 0 });
      await backend.wait(undefined, 30_000); // the drain workers exit: the next message is for the worker below

      // 2. a worker whose database connection fails (a wrong password, given the old way, in the environment)
      const e0 = [...ncg.edges.values()][0];
      const h2 = await ncg.apply("secret_probe", { on: [[e0.source, e0.destination]], start: false });
      const bad = spawn(process.execPath, [WORKER, "--config", configFile, "--once"], {
        env: { ...process.env, AUTOCNET_DATABASE_URL: `postgresql://acn_secret:${encodeURIComponent(WRONG_PG.value)}@127.0.0.1:${pg.port}/acn_secret` },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let badOut = "";
      bad.stdout!.on("data", (d) => (badOut += d));
      bad.stderr!.on("data", (d) => (badOut += d));
      const code = await new Promise<number | null>((r) => bad.once("exit", r));
      texts.set("the worker with a wrong database password (stdout+stderr)", badOut);
      expect(code, badOut).toBe(1);
      expect(badOut).toMatch(/authentication failed at the database postgresql:\/\/acn_secret:\*\*\*@127\.0\.0\.1:\d+\/acn_secret/);
      const lineage = await ncg.lineage(h2.jobId(0));
      expect(JSON.stringify(lineage.events)).toMatch(/authentication failed at the database/);

      // 3. connections that fail in this process, and config errors
      const closed = await freePort();
      // each a thunk: started one at a time, inside the loop (a promise made early would reject unhandled)
      const attempts: [string, () => unknown, string | RegExp][] = [
        ["Redis, wrong password in a URL (unencoded @)", () => connectRedis(loadConfig({ redis: { url: `redis://default:${WRONG_REDIS.value.replace("/", "%2F").replace("?", "%3F")}@127.0.0.1:${redis.port}/0` } }).redis), "auth"],
        ["the graph, wrong Redis password", () => NetworkCandidateGraph.connect(input({ redis: { port: redis.port, password: WRONG_REDIS.value } })), "auth"],
        ["the graph, no Redis password", () => NetworkCandidateGraph.connect(input({ redis: { port: redis.port } })), "auth"],
        ["Redis refused, ?password=", () => connectRedis(loadConfig({ redis: { url: `redis://127.0.0.1:${closed}/0?password=${REDIS_PW.value}` } }).redis), "refused"],
        ["PostgreSQL, wrong password (unencoded @)", () => openPostgres(`postgresql://acn_secret:${WRONG_PG.value.replace("/", "%2F").replace("?", "%3F")}@127.0.0.1:${pg.port}/acn_secret`, { migrate: false }), "auth"],
        ["the graph, wrong database password", () => NetworkCandidateGraph.connect(input({ database: { type: "postgresql", username: "acn_secret", password: WRONG_PG.value, host: "127.0.0.1", port: pg.port, name: "acn_secret" } })), "auth"],
        ["PostgreSQL refused, ?password=", () => openPostgres(`postgresql://acn_secret@127.0.0.1:${closed}/acn_secret?password=${PG_PW.value}`, { migrate: false }), "refused"],
        ["config, postgresql+psycopg2://", () => loadConfig({ database: `postgresql+psycopg2://acn_secret:${PG_PW.value}@db.example/ctx` }), /expected a postgresql:\/\/ URL/],
        ["config, redis+tls://", () => loadConfig({ redis: { url: `redis+tls://default:${REDIS_PW.value}@redis.example:6380` } }), /expected a redis:\/\/ or rediss:\/\/ URL/],
        ["config, a password of the wrong type", () => loadConfig({ redis: { password: { value: PG_PW.value } } } as unknown as ConfigInput), /redis\.password/],
      ];
      for (const [what, attempt, expected] of attempts) {
        const err = await Promise.resolve().then(attempt).then(() => undefined, (e: unknown) => e as Error);
        expect(err, what).toBeInstanceOf(Error);
        if (typeof expected === "string") expect((err as ConnectionError).reason, `${what}: ${err!.message}`).toBe(expected);
        else expect(err!.message, what).toMatch(expected);
        errors.push(`${what}: ${err!.message}`);
        console.error(err); // as a script would print it: the whole error object
      }
    } finally {
      await ncg?.clearQueues().catch(() => {});
      await ncg?.close();
      out.restore();
    }
    // the config written for the workers is gone with the graph
    expect(ncg!.config.source).toBeUndefined();

    texts.set("this process's console and stdout/stderr", out.text());
    texts.set("error messages", errors.join("\n"));
    const workerLogs = filesUnder(logDir);
    expect([...workerLogs.values()].join("\n")).toMatch(/secret_probe \{"job":/); // the workers' environments are in there
    for (const [f, t] of workerLogs) texts.set(f, t);
    const appeared = fs.readdirSync(os.tmpdir()).filter((n) => !tmpBefore.has(n));
    expect(fs.existsSync(path.dirname(configFile))).toBe(false); // removed at close
    let files = 0;
    for (const n of appeared) {
      texts.set(`${n} (its name)`, n);
      for (const [f, t] of filesUnder(path.join(os.tmpdir(), n))) {
        texts.set(f, t);
        files++;
      }
    }
    texts.set("Redis (every key)", await dumpRedis(admin));
    texts.set("the database (every table)", await dumpDatabase(pg, "acn_secret"));
    const found = [...texts].flatMap(([where, t]) => leaks(where, t));
    expect(found, `passwords found (searched ${texts.size} sources, ${files} new temp files)`).toEqual([]);
    fs.rmSync(logDir, { recursive: true, force: true });
  }, 180_000);

  const slurmConf = process.env.SLURM_CONF ?? "/tmp/autocnet-slurm/slurm.conf";
  const slurmUp = which("scontrol") !== undefined && spawnSync("scontrol", ["ping"], { env: { ...process.env, SLURM_CONF: slurmConf }, encoding: "utf8", timeout: 10_000 }).stdout?.includes("UP");
  const noSlurm = slurmUp ? "" : "SKIPPED: no SLURM running here (scripts/slurm-dev-cluster.sh start; .ci/run starts it)";
  it.skipIf(!slurmUp)(`SLURM: batch scripts, task logs (with their environment) and the job's stored environment hold no password ${noSlurm}`, async () => {
    process.env.SLURM_CONF = slurmConf;
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-secret-slurm-"));
    const texts = new Map<string, string>();
    const out = captureOutput();
    let ncg: NetworkCandidateGraph | undefined;
    try {
      ncg = await NetworkCandidateGraph.connect(input({
        cluster: { backend: "slurm", queue: "debug", cluster_log_dir: logDir, walltime: "00:02:00", heartbeat: 1, sentinel_interval: 0.25 },
      }));
      await ncg.addImages([0, 1, 2].map((i) => ({ name: `slurm_sec_${i}`, footprint: footprint(i * 1.5) })));
      await ncg.loadFromDatabase();
      const hold = `${ncg.config.redis.basename}:hold`;
      const h = await ncg.apply("secret_probe", { on: "nodes", kwargs: { hold } });
      const arrays = h.submission!.arrays!;
      await until("two SLURM tasks holding", async () => (await ncg!.redisQueue.llen(`${hold}:started`)) >= 2, 120_000, 200);
      // what slurmctld keeps of the job while it runs: its script and environment
      const state = "/tmp/autocnet-slurm/state";
      let stored = 0;
      for (const [f, t] of filesUnder(state)) {
        if (arrays.some((a) => f.includes(`job.${a}/`))) {
          texts.set(f, t);
          stored++;
        }
      }
      if (fs.existsSync(state)) expect(stored, "slurmctld's stored environment of the job").toBeGreaterThan(0);
      const show = spawnSync("scontrol", ["show", "job", "-d", arrays[0]], { encoding: "utf8" });
      texts.set("scontrol show job -d", `${show.stdout}${show.stderr}`);
      await ncg.redisQueue.set(hold, "1");
      expect(await h.wait({ timeout: 120_000 })).toMatchObject({ completed: h.count, dead: 0 });
    } finally {
      await ncg?.clearQueues().catch(() => {});
      await ncg?.close();
      out.restore();
    }
    texts.set("this process's console and stdout/stderr", out.text());
    const files = filesUnder(logDir);
    expect([...files.keys()].some((f) => f.endsWith(".sbatch"))).toBe(true);
    await until("the tasks' logs", () => [...filesUnder(logDir).values()].join("\n").includes("secret_probe {"), 30_000, 200);
    const logs = filesUnder(logDir);
    expect([...logs.values()].join("\n")).toMatch(/"SLURM_ARRAY_JOB_ID"/); // a task's environment, as it ran
    for (const [f, t] of logs) texts.set(f, t);
    const found = [...texts].flatMap(([where, t]) => leaks(where, t));
    expect(found, `passwords found (searched ${texts.size} sources)`).toEqual([]);
    fs.rmSync(logDir, { recursive: true, force: true });
  }, 300_000);
});
