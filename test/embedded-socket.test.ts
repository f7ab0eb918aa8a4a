import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { LocalCluster } from "../src/cluster/local";
import { DATABASE_URL_FILE_ENV, databaseUrlFromEnv } from "../src/database";
import { ConnectionError } from "../src/errors";
import { NetworkCandidateGraph } from "../src/graph";
import { FIXTURE_JOBS, testConfig, until } from "./helpers";
import { missing, which } from "./private-servers";

/**
 * The embedded database's socket: only the graph's own user gets in (a Unix socket in a 0700 directory);
 * another local user (uid nobody) is refused; the graph's workers find it through a 0600 file whose path
 * is all their environment carries.
 */
const SECRET_JOBS = path.join(__dirname, "fixtures", "secret-jobs.cjs");
const PG_MODULE = path.dirname(require.resolve("pg/package.json"));

/** A node script that connects to a postgresql:// URL with node-postgres and runs a query; exit 0 if it could. */
const CONNECT = `
const { Client } = require(${JSON.stringify(PG_MODULE)});
const c = new Client({ connectionString: process.argv[1] });
c.connect().then(() => c.query("SELECT count(*)::int AS n FROM autocnet_schema"))
  .then((r) => { console.log("connected: " + r.rows[0].n + " migrations"); process.exit(0); },
        (e) => { console.log("refused: " + (e.code || "") + " " + e.message); process.exit(3); });
`;

/** Runs CONNECT (as `user`, through runuser): asynchronously, since this process serves the socket. */
function connectAs(user: string | undefined, url: string): Promise<{ status: number | null; out: string }> {
  const [cmd, args] = user ? ["runuser", ["-u", user, "--", process.execPath, "-e", CONNECT, url]] : [process.execPath, ["-e", CONNECT, url]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: "/", stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, out: out.trim() });
    });
  });
}

const footprint = (x: number, y: number) => ({ type: "Polygon" as const, coordinates: [[[x, y], [x + 2, y], [x + 2, y + 2], [x, y + 2], [x, y]]] as [number, number][][] });

describe("the embedded database's socket", () => {
  let ncg: NetworkCandidateGraph;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-socket-db-"));
  let runtimeFile = "";

  beforeAll(async () => {
    ncg = await NetworkCandidateGraph.connect(testConfig({ database: { embedded: dir }, cluster: { concurrency: 2 }, jobs: [FIXTURE_JOBS, SECRET_JOBS] }), { log: () => {} });
    await ncg.addImages([0, 1, 2, 3].map((i) => ({ name: `sock_${i}`, footprint: footprint(i * 1.5, 0) })));
    await ncg.loadFromDatabase();
  });
  afterAll(async () => {
    await ncg?.clearQueues();
    await ncg?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("is a Unix socket in a directory only this user may enter (0700), not a TCP port", async () => {
    const url = await ncg.db.workerUrl();
    expect(url).toMatch(/^postgresql:\/\/postgres@localhost\/postgres\?host=%2F.+&port=5432$/);
    const socketDir = decodeURIComponent(/host=([^&]+)/.exec(url)![1]);
    const st = fs.statSync(socketDir);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(process.getuid!());
    expect(fs.statSync(path.join(socketDir, ".s.PGSQL.5432")).isSocket()).toBe(true);
    // this user connects (what the graph's workers do)
    const me = await connectAs(undefined, url);
    expect(me.out).toMatch(/^connected: \d+ migrations$/);
    expect(me.status).toBe(0);
  });

  const asOther = missing({ "root (to run as another user)": process.getuid?.() === 0, runuser: which("runuser") });
  it.skipIf(asOther !== "")(`another local user (nobody) is refused ${asOther}`, async () => {
    const url = await ncg.db.workerUrl();
    // nobody can run node and load node-postgres (so a refusal below is the socket's doing) ...
    const control = spawnSync("runuser", ["-u", "nobody", "--", process.execPath, "-e", `require(${JSON.stringify(PG_MODULE)}); console.log("pg loads")`], { encoding: "utf8", cwd: "/" });
    expect(`${control.stdout}${control.stderr}`.trim()).toBe("pg loads");
    // ... and is refused by the kernel before a byte reaches the database
    const other = await connectAs("nobody", url);
    expect(other.out).toMatch(/^refused: EACCES /);
    expect(other.status).toBe(3);
    // the graph's own workers still connect: every overlap lands in the embedded database
    const h = await ncg.apply("overlap", { on: "edges" });
    expect(await h.wait({ timeout: 60_000 })).toMatchObject({ completed: h.count, dead: 0 });
    const rows = await ncg.db.query<{ n: number }>("SELECT count(*)::int AS n FROM overlap_results");
    expect(rows[0].n).toBe(h.count);
  });

  it("workers get the socket's URL from a 0600 file; their environment holds its path, no URL", async () => {
    const url = await ncg.db.workerUrl();
    const hold = `${ncg.config.redis.basename}:hold`;
    const h = await ncg.apply("secret_probe", { on: [[...ncg.nodes.keys()][0]], kwargs: { hold } });
    const [pid] = await until("a worker running secret_probe", () => ncg.redisQueue.lrange(`${hold}:started`, 0, -1).then((l) => (l.length ? l.map(Number) : undefined)));
    const backend = (await ncg.supervisor.backend()) as LocalCluster;
    expect(backend.pids()).toContain(pid);
    const env = Object.fromEntries(fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    expect(env.AUTOCNET_DATABASE_URL).toBeUndefined();
    const file = env[DATABASE_URL_FILE_ENV];
    expect(file).toMatch(/autocnet-run-/);
    expect(fs.readFileSync(file, "utf8").trim()).toBe(url);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    await ncg.redisQueue.set(hold, "1");
    expect(await h.wait({ timeout: 60_000 })).toMatchObject({ completed: 1, dead: 0 });
    runtimeFile = file;
  });

  it("close() removes the socket's directory and the workers' URL file", async () => {
    const url = await ncg.db.workerUrl();
    const socketDir = decodeURIComponent(/host=([^&]+)/.exec(url)![1]);
    await ncg.close();
    expect(fs.existsSync(socketDir)).toBe(false);
    if (runtimeFile) expect(fs.existsSync(path.dirname(runtimeFile))).toBe(false);
    ncg = undefined as unknown as NetworkCandidateGraph;
  });
});

describe("databaseUrlFromEnv: what a worker reads", () => {
  const saved = { file: process.env[DATABASE_URL_FILE_ENV], url: process.env.AUTOCNET_DATABASE_URL };
  afterEach(() => {
    for (const [k, v] of [[DATABASE_URL_FILE_ENV, saved.file], ["AUTOCNET_DATABASE_URL", saved.url]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("the file $AUTOCNET_DATABASE_URL_FILE names first, else $AUTOCNET_DATABASE_URL (still accepted), else nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-urlfile-"));
    const file = path.join(dir, "database-url");
    fs.writeFileSync(file, "postgresql://a@h/from-file\n", { mode: 0o600 });
    expect(databaseUrlFromEnv({})).toBeUndefined();
    expect(databaseUrlFromEnv({ AUTOCNET_DATABASE_URL: "postgresql://a@h/legacy" })).toBe("postgresql://a@h/legacy");
    expect(databaseUrlFromEnv({ [DATABASE_URL_FILE_ENV]: file, AUTOCNET_DATABASE_URL: "postgresql://a@h/legacy" })).toBe("postgresql://a@h/from-file");
    fs.rmSync(dir, { recursive: true, force: true });
    expect(() => databaseUrlFromEnv({ [DATABASE_URL_FILE_ENV]: file })).toThrow(ConnectionError);
    expect(() => databaseUrlFromEnv({ [DATABASE_URL_FILE_ENV]: file })).toThrow(
      `cannot read the database URL from $${DATABASE_URL_FILE_ENV} (${file}: ENOENT); the graph that started this worker removes it when it closes: start workers with ncg.apply, or unset it`);
  });
});
