/**
 * Private servers for the security tests: a redis-server (with a password, or TLS with a private CA and
 * required client certificates) and a PostgreSQL cluster (scram-sha-256), each on a free loopback port in
 * a temp directory of its own, stopped and removed by `stop()`. Nothing shared is touched.
 */
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { freePort } from "../src/database/free-port";
import { until } from "./helpers";

/** A command's path on $PATH (or in `extra` directories), if it is there. */
export function which(cmd: string, extra: string[] = []): string | undefined {
  for (const dir of [...(process.env.PATH ?? "").split(":"), ...extra]) {
    if (!dir) continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** PostgreSQL's server binaries (initdb, pg_ctl): Debian keeps them in /usr/lib/postgresql/<version>/bin. */
export function postgresBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (fs.existsSync(path.join(root, v, "bin", "initdb"))) return path.join(root, v, "bin");
  const initdb = which("initdb");
  return initdb ? path.dirname(fs.realpathSync(initdb)) : undefined;
}

/** What is missing for a test (commands), as one line for its skip message; empty when nothing is. */
export function missing(needs: Record<string, string | undefined | boolean>): string {
  const absent = Object.entries(needs).filter(([, v]) => !v).map(([k]) => k);
  return absent.length ? `SKIPPED: ${absent.join(", ")} not available (.ci/run installs them)` : "";
}

/** Whether the redis-server here was built with TLS (Debian's links libssl; a build without it refuses --tls-port). */
export function redisHasTls(): boolean {
  const bin = which("redis-server");
  if (!bin) return false;
  const ldd = spawnSync("ldd", [bin], { encoding: "utf8", timeout: 5000 });
  return ldd.status === 0 && /libssl/.test(ldd.stdout);
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function listening(port: number, what: string, timeoutMs = 20_000): Promise<void> {
  await until(what, () => new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  }), timeoutMs, 50);
}

export interface PrivateRedis {
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/** A private redis-server on a free loopback port; `args` adds options (--requirepass, --tls-*). */
export async function startRedis(args: string[] = [], tlsPort = false): Promise<PrivateRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-private-redis-"));
  const port = await freePort();
  const portArgs = tlsPort ? ["--port", "0", "--tls-port", String(port)] : ["--port", String(port)];
  const child: ChildProcess = spawn(which("redis-server")!, [
    ...portArgs, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--logfile", path.join(dir, "redis.log"), ...args,
  ], { stdio: "ignore" });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    await listening(port, `redis-server on port ${port} (log: ${path.join(dir, "redis.log")})`);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return {
    port, dir,
    async stop() {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PrivateCA {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here (verification against it must fail). */
  otherCa: string;
}

/** A private certificate authority (openssl): a server certificate for localhost/127.0.0.1, a client certificate. */
export function makeCA(dir: string): PrivateCA {
  const openssl = which("openssl")!;
  const run = (...args: string[]) => {
    const r = spawnSync(openssl, args, { cwd: dir, encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${r.stderr}`);
  };
  const subj = (cn: string) => ["-subj", `/CN=${cn}`];
  run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", ...subj("autocnet test CA"));
  run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.crt", "-days", "2", ...subj("another CA"));
  fs.writeFileSync(path.join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", ...subj("localhost"));
  run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.crt");
  run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", ...subj("autocnet client"));
  run("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-out", "client.crt");
  const p = (f: string) => path.join(dir, f);
  return { dir, ca: p("ca.crt"), serverCert: p("server.crt"), serverKey: p("server.key"), clientCert: p("client.crt"), clientKey: p("client.key"), otherCa: p("other-ca.crt") };
}

/** A redis-server that speaks only TLS and requires client certificates signed by `ca`. */
export function startTlsRedis(ca: PrivateCA): Promise<PrivateRedis> {
  return startRedis([
    "--tls-cert-file", ca.serverCert, "--tls-key-file", ca.serverKey, "--tls-ca-cert-file", ca.ca, "--tls-auth-clients", "yes",
  ], true);
}

export interface PrivatePostgres {
  port: number;
  /** The Unix socket directory (-k): connections there need no password (trust), to see what the server says of a role. */
  socketDir: string;
  /** Connects as the cluster's superuser over the socket. */
  admin(): Promise<Client>;
  /** Creates a login role with a password and a database it owns. */
  createRole(name: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A private PostgreSQL cluster: initdb with scram-sha-256 for TCP (trust only on its own Unix socket, in a
 * directory of this test), pg_ctl start on a free loopback port. initdb refuses root: as root it runs as
 * the `postgres` user (or `nobody`) through runuser.
 */
export async function startPostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin()!;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "acn-private-pg-"));
  const data = path.join(root, "data");
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const account = asRoot ? (spawnSync("id", ["-u", "postgres"]).status === 0 ? "postgres" : "nobody") : undefined;
  if (account) {
    fs.chmodSync(root, 0o755);
    spawnSync("chown", [account, root]);
  }
  const run = (cmd: string, args: string[]) => {
    const [c, a] = account ? ["runuser", ["-u", account, "--", cmd, ...args]] : [cmd, args];
    const r = spawnSync(c, a, { encoding: "utf8", timeout: 120_000, cwd: root });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  const adminPassword = `admin-${Math.random().toString(36).slice(2)}`;
  const pwfile = path.join(root, "pw");
  fs.writeFileSync(pwfile, `${adminPassword}\n`, { mode: 0o600 });
  if (account) spawnSync("chown", [account, pwfile]);
  run(path.join(bin, "initdb"), ["-D", data, "-U", "acn_admin", `--pwfile=${pwfile}`, "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "-E", "UTF8"]);
  fs.rmSync(pwfile, { force: true });
  run(path.join(bin, "pg_ctl"), ["-D", data, "-l", path.join(root, "server.log"), "-w", "-t", "60",
    "-o", `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`, "start"]);
  const admin = async () => {
    const c = new Client({ host: root, port, user: "acn_admin", database: "postgres" });
    await c.connect();
    return c;
  };
  return {
    port, socketDir: root, admin,
    async createRole(name, password) {
      const c = await admin();
      try {
        await c.query(`CREATE ROLE "${name}" LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
        await c.query(`CREATE DATABASE "${name}" OWNER "${name}"`);
      } finally {
        await c.end();
      }
    },
    async stop() {
      try {
        run(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  };
}
