/**
 * The chaos suite's own servers, each on a free loopback port in a temp directory of its own (the shared
 * 6379 Redis and 5432 PostgreSQL are never touched):
 * - a redis-server with an AOF (appendfsync everysec) that can be killed -9 and started again from it;
 * - a PostgreSQL cluster (initdb + pg_ctl; as the `postgres` user through runuser when run as root) that
 *   can be restarted. Loopback connections are trusted: it lives for one run, in a directory of its own.
 */
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { freePort } from "../../src/database/free-port";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function listening(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(true); });
      s.once("error", () => resolve(false));
    });
    if (ok) return true;
    await sleep(50);
  }
  return false;
}

export class ChaosRedis {
  private child?: ChildProcess;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-chaos-redis-"));
  private constructor(readonly port: number) {}

  static async start(): Promise<ChaosRedis> {
    const r = new ChaosRedis(await freePort());
    await r.start();
    return r;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts redis-server (again): with the AOF in its directory, it loads what the AOF holds. */
  async start(): Promise<void> {
    const child = spawn("redis-server", [
      "--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "",
      "--appendonly", "yes", "--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "0", "--logfile", path.join(this.dir, "redis.log"), "--loglevel", "warning",
    ], { stdio: "ignore" });
    let failed: string | undefined;
    child.once("error", (err) => (failed = `cannot start redis-server (${err.message}); install it: apt-get install redis-server`));
    child.once("exit", (code) => (failed ??= `redis-server exited (${code}); see ${path.join(this.dir, "redis.log")}`));
    this.child = child;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !failed) {
      if (await listening(this.port, 200)) {
        // loading an AOF: it listens before it answers; PING says LOADING until it is done
        if (await this.ping()) return;
      }
    }
    throw new Error(failed ?? `redis-server did not answer on 127.0.0.1:${this.port}`);
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = net.connect(this.port, "127.0.0.1", () => s.write("PING\r\n"));
      s.setTimeout(1000, () => { s.destroy(); resolve(false); });
      s.once("data", (d) => { s.destroy(); resolve(d.toString().startsWith("+PONG")); });
      s.once("error", () => resolve(false));
    });
  }

  /** The AOF file being appended to (Redis 7: the last incr file of appendonlydir; Redis 6: appendonly.aof). */
  aofFile(): string | undefined {
    const d = path.join(this.dir, "appendonlydir");
    if (fs.existsSync(d)) {
      const incr = fs.readdirSync(d).filter((f) => /\.incr\.aof$/.test(f))
        .sort((a, b) => Number(/\.(\d+)\.incr/.exec(a)?.[1]) - Number(/\.(\d+)\.incr/.exec(b)?.[1]));
      if (incr.length) return path.join(d, incr[incr.length - 1]!);
    }
    const single = path.join(this.dir, "appendonly.aof");
    return fs.existsSync(single) ? single : undefined;
  }

  private sizes: { t: number; size: number }[] = [];
  private sampler?: NodeJS.Timeout;

  /** Samples the AOF's size every 100 ms, to know what it held a second ago. */
  sampleAof(): void {
    this.sampler ??= setInterval(() => {
      const f = this.aofFile();
      if (!f) return;
      try {
        this.sizes.push({ t: Date.now(), size: fs.statSync(f).size });
        if (this.sizes.length > 200) this.sizes.shift();
      } catch {
        // between files
      }
    }, 100);
    this.sampler.unref();
  }

  /**
   * kill -9, then cuts the AOF back to its size `ms` ago — what appendfsync everysec can lose when the
   * machine (not just the process) goes down: the last second of writes, the cut falling mid-command
   * (Redis loads a truncated AOF: aof-load-truncated, its default). Returns the bytes dropped.
   */
  async kill9LosingLast(ms: number): Promise<number> {
    await this.kill9();
    const f = this.aofFile();
    if (!f) return 0;
    const before = [...this.sizes].reverse().find((s) => s.t <= Date.now() - ms);
    const size = fs.statSync(f).size;
    const to = before ? Math.min(before.size, size) : size;
    fs.truncateSync(f, to);
    this.sizes = [];
    return size - to;
  }

  /** kill -9: with appendfsync everysec, what Redis wrote to the AOF is in the OS's cache and survives. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise((r) => { c.once("exit", r); c.kill("SIGKILL"); });
  }

  async stop(): Promise<void> {
    if (this.sampler) clearInterval(this.sampler);
    await this.kill9();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** PostgreSQL's server binaries (Debian: /usr/lib/postgresql/<version>/bin), if installed. */
export function postgresBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (fs.existsSync(path.join(root, v, "bin", "initdb"))) return path.join(root, v, "bin");
  return undefined;
}

export class ChaosPostgres {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "acn-chaos-pg-"));
  private readonly data = path.join(this.root, "data");
  private readonly account: string | undefined;
  private constructor(readonly bin: string, readonly port: number) {
    const asRoot = process.getuid?.() === 0;
    this.account = asRoot ? (spawnSync("id", ["-u", "postgres"]).status === 0 ? "postgres" : "nobody") : undefined;
    if (this.account) {
      fs.chmodSync(this.root, 0o755);
      spawnSync("chown", [this.account, this.root]);
    }
  }

  static async start(): Promise<ChaosPostgres> {
    const bin = postgresBin();
    if (!bin) throw new Error("PostgreSQL's initdb is missing (apt-get install postgresql)");
    const pg = new ChaosPostgres(bin, await freePort());
    pg.run("initdb", ["-D", pg.data, "-U", "chaos", "--auth=trust", "--no-sync", "-E", "UTF8"]);
    pg.ctl("start");
    return pg;
  }

  get url(): string {
    return `postgresql://chaos@127.0.0.1:${this.port}/postgres`;
  }

  private run(cmd: string, args: string[]): void {
    const full = path.join(this.bin, cmd);
    const [c, a] = this.account ? ["runuser", ["-u", this.account, "--", full, ...args]] : [full, args];
    const r = spawnSync(c, a, { encoding: "utf8", timeout: 120_000, cwd: this.root });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
  }

  private ctl(action: "start" | "restart" | "stop", mode = "fast"): void {
    this.run("pg_ctl", ["-D", this.data, "-l", path.join(this.root, "server.log"), "-w", "-t", "60", "-m", mode,
      "-o", `-p ${this.port} -k ${this.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, action]);
  }

  /** Stops the server (immediate: like a crash, every connection cut) and starts it again after `downMs`. */
  async restart(downMs: number): Promise<void> {
    this.ctl("stop", "immediate");
    await sleep(downMs);
    this.ctl("start");
  }

  async stop(): Promise<void> {
    try {
      this.ctl("stop", "immediate");
    } finally {
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }
}
