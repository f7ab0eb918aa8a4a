import { spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type ConfigInput } from "../src/config";
import { openDatabase, openPostgres } from "../src/database";
import { freePort } from "../src/database/free-port";
import { ConfigError, ConnectionError } from "../src/errors";
import { connectRedis } from "../src/queue/redis";
import { openQueues } from "../src/worker/connection";
import { FIXTURE_JOBS } from "./helpers";
import { makeCA, missing, postgresBin, redisHasTls, startPostgres, startRedis, startTlsRedis, which, type PrivateCA, type PrivatePostgres, type PrivateRedis } from "./private-servers";

/**
 * Connection errors keep their cause — authentication failed, TLS verification failed, refused, timed out —
 * each its own message naming the address (masked) and what to do; against private servers started here
 * (redis-server --requirepass, redis-server --tls-port with a private CA and --tls-auth-clients yes, a
 * PostgreSQL cluster with scram-sha-256).
 */
const quiet = { onWarning: () => {} };
const basename = () => `acn-test:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
const redisConfig = (redis: ConfigInput["redis"]) => loadConfig({ redis: { basename: basename(), ...redis } }, quiet).redis;

async function failure(p: Promise<unknown>): Promise<ConnectionError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err, "expected the connection to fail").toBeInstanceOf(ConnectionError);
  expect((err as Error).message).not.toContain("\n");
  return err as ConnectionError;
}

/** A TCP server that accepts and never says a word (a firewall that swallows, a hung server). */
async function silentServer(): Promise<{ port: number; close: () => void }> {
  const sockets: net.Socket[] = [];
  const srv = net.createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => { sockets.forEach((s) => s.destroy()); srv.close(); } };
}

const redisMissing = missing({ "redis-server": which("redis-server") });
describe.skipIf(redisMissing !== "")(`Redis with a password (private redis-server --requirepass) ${redisMissing}`, () => {
  const password = "Rq:p@ss/w0rd-" + Math.random().toString(36).slice(2, 8);
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await startRedis(["--requirepass", password]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("connects with the right password (in redis.password or in the URL, with an unencoded @)", async () => {
    const a = await connectRedis(redisConfig({ port: server.port, password }));
    expect(await a.ping()).toBe("PONG");
    a.disconnect();
    // a / must be encoded in a URL (it would end the host); an @ need not be: the user-info ends at the last @
    const b = await connectRedis(redisConfig({ url: `redis://default:${password.replace("/", "%2F")}@127.0.0.1:${server.port}/0` }));
    expect(await b.ping()).toBe("PONG");
    b.disconnect();
  });

  it("no password: authentication failed, the server requires one (not 'cannot reach')", async () => {
    const err = await failure(connectRedis(redisConfig({ port: server.port })));
    expect(err.reason).toBe("auth");
    expect(err.message).toMatch(new RegExp(`^authentication failed at Redis 127\\.0\\.0\\.1:${server.port}: the server requires a password and none was given \\(NOAUTH .*\\); set redis\\.password`));
  });

  it("a wrong password (unencoded @ in the URL): authentication failed, the password never shown", async () => {
    const wrong = "wr0ng@pa:ss";
    const err = await failure(connectRedis(redisConfig({ url: `redis://default:${wrong}@127.0.0.1:${server.port}/0` })));
    expect(err.reason).toBe("auth");
    expect(err.message).toMatch(new RegExp(`^authentication failed at Redis redis://default:\\*\\*\\*@127\\.0\\.0\\.1:${server.port}/0: wrong user name or password \\(WRONGPASS`));
    for (const part of [wrong, "wr0ng", "pa:ss", encodeURIComponent(wrong)]) expect(err.message).not.toContain(part);
    const viaKeys = await failure(connectRedis(redisConfig({ port: server.port, username: "default", password: wrong })));
    expect(viaKeys.reason).toBe("auth");
    expect(viaKeys.message).not.toContain("wr0ng");
  });

  it("refused (a closed port, password in a query parameter): says refused, masks the parameter", async () => {
    const port = await freePort();
    const err = await failure(connectRedis(redisConfig({ url: `redis://127.0.0.1:${port}/0?password=${password}` })));
    expect(err.reason).toBe("refused");
    expect(err.message).toBe(`cannot reach Redis at redis://127.0.0.1:${port}/0?password=*** (connection refused: nothing listens there); ` +
      "start Redis or set redis.host/redis.port/redis.url in the config");
  });

  it("timed out (a server that accepts and never answers): says timed out, within the connect timeout", async () => {
    const silent = await silentServer();
    try {
      const t0 = Date.now();
      const err = await failure(connectRedis(redisConfig({ port: silent.port, password }), { connectTimeout: 1000 }));
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(err.reason).toBe("timeout");
      expect(err.message).toMatch(new RegExp(`^timed out connecting to Redis at 127\\.0\\.0\\.1:${silent.port} \\(no answer in 1 s\\); check the address`));
      expect(err.message).not.toContain(password);
    } finally {
      silent.close();
    }
  });
});

const tlsMissing = missing({ "redis-server": which("redis-server"), "redis-server with TLS": redisHasTls(), openssl: which("openssl") });
describe.skipIf(tlsMissing !== "")(`Redis over TLS with required client certificates (redis-server --tls-port, private CA) ${tlsMissing}`, () => {
  let server: PrivateRedis;
  let ca: PrivateCA;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-tls-"));
    ca = makeCA(dir);
    server = await startTlsRedis(ca);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A config file beside the certificates, naming them relative to itself. */
  function configFile(redis: Record<string, unknown>): string {
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2, 8)}.yml`);
    fs.writeFileSync(file, JSON.stringify({ redis: { basename: basename(), ...redis }, jobs: [FIXTURE_JOBS] }));
    return file;
  }
  const files = { ca: "./ca.crt", cert: "./client.crt", key: "./client.key" };

  it("connects with the CA and a client certificate named in redis.tls, relative to the config file", async () => {
    const config = loadConfig(configFile({ port: server.port, tls: files }), quiet);
    expect(config.redis.tls).toEqual({ ca: ca.ca, cert: ca.clientCert, key: ca.clientKey, reject_unauthorized: true });
    const c = await connectRedis(config.redis);
    expect(await c.ping()).toBe("PONG");
    c.disconnect();
    // a rediss:// URL takes the same keys
    const viaUrl = await connectRedis(loadConfig(configFile({ url: `rediss://localhost:${server.port}/0`, tls: files }), quiet).redis);
    expect(await viaUrl.ping()).toBe("PONG");
    viaUrl.disconnect();
  });

  it("a worker process loads the same config file and runs a job over TLS", async () => {
    const file = configFile({ port: server.port, tls: files });
    const conn = await openQueues(file, quiet);
    try {
      const key = `${conn.config.redis.basename}:out`;
      await conn.queues.submit("record", [7], { kwargs: { key } });
      const worker = spawn(process.execPath, [path.join(__dirname, "..", "dist", "bin", "worker.js"), "--config", file, "--once"], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      worker.stderr!.on("data", (d) => (stderr += d));
      const code = await new Promise<number | null>((r) => worker.once("exit", r));
      expect(code, stderr).toBe(0);
      expect((await conn.redis.lrange(key, 0, -1)).map((s) => JSON.parse(s).id)).toEqual([7]);
      await conn.queues.clear();
    } finally {
      await conn.close();
    }
  });

  it("without the CA: TLS verification failed, and what to set", async () => {
    const err = await failure(connectRedis(loadConfig(configFile({ port: server.port, tls: { cert: files.cert, key: files.key } }), quiet).redis));
    expect(err.reason).toBe("tls");
    expect(err.message).toMatch(new RegExp(`^TLS verification failed for Redis 127\\.0\\.0\\.1:${server.port} with TLS: self[- ]signed certificate in certificate chain; set redis\\.tls\\.ca to the certificate authority`));
  });

  it("with a CA that did not sign the server's certificate: TLS verification failed", async () => {
    const err = await failure(connectRedis(loadConfig(configFile({ port: server.port, tls: { ...files, ca: "./other-ca.crt" } }), quiet).redis));
    expect(err.reason).toBe("tls");
    expect(err.message).toMatch(/^TLS verification failed for Redis .*; set redis\.tls\.ca/);
  });

  it("a server name not in the certificate: TLS verification failed, set redis.tls.servername", async () => {
    const err = await failure(connectRedis(loadConfig(configFile({ port: server.port, tls: { ...files, servername: "redis.example" } }), quiet).redis));
    expect(err.reason).toBe("tls");
    expect(err.message).toMatch(/^TLS verification failed for Redis .*redis\.example.*; set redis\.tls\.servername/);
  });

  it("without a client certificate: refused by the server, and what to set", async () => {
    // TLS 1.3: the server's "certificate required" alert comes after our side of the handshake, so the
    // client sees the alert or, when its first write wins the race, a reset: both say what to set
    for (let i = 0; i < 5; i++) {
      const err = await failure(connectRedis(loadConfig(configFile({ port: server.port, tls: { ca: files.ca } }), quiet).redis));
      expect(err.reason).toBe("tls");
      expect(err.message).toMatch(new RegExp(`^(the TLS handshake with Redis 127\\.0\\.0\\.1:${server.port} with TLS failed: the server requires a client certificate \\(tlsv13 alert certificate required\\); ` +
        `|Redis at 127\\.0\\.0\\.1:${server.port} with TLS closed the connection during the handshake \\(.*ECONNRESET\\); the server may require a client certificate: )set redis\\.tls\\.cert and redis\\.tls\\.key$`));
    }
  });

  it("without TLS at all: the server closes the connection, and the message says to use rediss:// or redis.tls", async () => {
    const err = await failure(connectRedis(loadConfig(configFile({ port: server.port }), quiet).redis));
    expect(err.message).toMatch(/rediss:\/\/ URL or set redis\.tls|expects TLS \(rediss:\/\/ or redis\.tls\)/);
  });

  it("a certificate file that cannot be read names the key and the path", async () => {
    const config = loadConfig(configFile({ port: server.port, tls: { ...files, ca: "./no-such-ca.crt" } }), quiet);
    const err = await connectRedis(config.redis).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(`redis.tls.ca: cannot read ${path.join(dir, "no-such-ca.crt")} (ENOENT); check the path (relative to the config file)`);
    expect((err as ConfigError).keyPath).toBe("redis.tls.ca");
  });

  it("redis.tls is validated: cert without key, wrong types, unknown keys warned", () => {
    expect(() => loadConfig({ redis: { tls: { cert: "c.pem" } } }, quiet)).toThrow(/redis\.tls\.key: a client certificate needs both cert and key/);
    expect(() => loadConfig({ redis: { tls: "yes" } } as ConfigInput, quiet)).toThrow(/redis\.tls: expected true, or a mapping with ca, cert, key, servername, reject_unauthorized/);
    const warnings: string[] = [];
    loadConfig({ redis: { tls: { cafile: "x" } } } as ConfigInput, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual(["configuration: unknown key redis.tls.cafile is ignored"]);
    expect(loadConfig({ redis: { tls: false } }, quiet).redis.tls).toBeUndefined();
  });
});

const pgBin = postgresBin();
const pgMissing = missing({ "PostgreSQL server binaries (initdb, pg_ctl)": pgBin, ...(process.getuid?.() === 0 ? { runuser: which("runuser") } : {}) });
describe.skipIf(pgMissing !== "")(`PostgreSQL with scram-sha-256 (a private cluster: initdb, pg_ctl) ${pgMissing}`, () => {
  const password = "Pg:p@ss/w0rd-" + Math.random().toString(36).slice(2, 8);
  let pg: PrivatePostgres;
  const url = (user: string, pw: string | undefined, db = "acn_user", port?: number) =>
    `postgresql://${user}${pw === undefined ? "" : `:${pw}`}@127.0.0.1:${port ?? pg.port}/${db}`;
  beforeAll(async () => {
    pg = await startPostgres();
    await pg.createRole("acn_user", password);
  }, 180_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it("connects with the right password (AutoCNet's keys, the password holding @ : /)", async () => {
    const config = loadConfig({ database: { type: "postgresql", username: "acn_user", password, host: "127.0.0.1", port: pg.port, name: "acn_user" } }, quiet);
    const db = await openDatabase(config, { postgis: false });
    try {
      expect(await db.query("SELECT current_user AS u")).toEqual([{ u: "acn_user" }]);
      expect(db.where).toBe(`postgresql://acn_user:***@127.0.0.1:${pg.port}/acn_user`);
    } finally {
      await db.close();
    }
  });

  it("a wrong password: authentication failed, the password never printed", async () => {
    const wrong = "wr0ng@pa:ss";
    const err = await failure(openPostgres(url("acn_user", wrong), { migrate: false, postgis: false }));
    expect(err.reason).toBe("auth");
    expect(err.message).toMatch(new RegExp(`^authentication failed at the database postgresql://acn_user:\\*\\*\\*@127\\.0\\.0\\.1:${pg.port}/acn_user \\(password authentication failed for user "acn_user"\\)`));
    for (const part of [wrong, "wr0ng", "pa:ss", encodeURIComponent(wrong), password]) expect(err.message).not.toContain(part);
  });

  it("no password: authentication failed, the server asks for one", async () => {
    const err = await failure(openPostgres(url("acn_user", undefined), { migrate: false, postgis: false }));
    expect(err.reason).toBe("auth");
    expect(err.message).toMatch(/^authentication failed at the database .*: the server asks for a password for user "acn_user" and none was given; set database\.password/);
  });

  it("a role that does not exist: says so where the server tells (trust), says it may be either where scram hides it", async () => {
    const socket = `postgresql://ghost_role@localhost/acn_user?host=${encodeURIComponent(pg.socketDir)}&port=${pg.port}`;
    const err = await failure(openPostgres(socket, { migrate: false, postgis: false }));
    expect(err.reason).toBe("missing");
    expect(err.message).toMatch(/^the database server at .* has no role "ghost_role" \(role "ghost_role" does not exist\); create it .* or fix database\.username$/);
    expect(err.message).not.toMatch(/cannot reach/);
    const scram = await failure(openPostgres(url("ghost_role", "whatever1"), { migrate: false, postgis: false }));
    expect(scram.reason).toBe("auth");
    expect(scram.message).toMatch(/a wrong password, or a role the server does not have \(it does not say which\)/);
  });

  it("a database that does not exist says so", async () => {
    const err = await failure(openPostgres(url("acn_user", encodeURIComponent(password), "no_such_db"), { migrate: false, postgis: false }));
    expect(err.reason).toBe("missing");
    expect(err.message).toMatch(/has no database "no_such_db" .*; create it \(createdb\) or fix database\.name$/);
    expect(err.message).not.toContain(password);
  });

  it("refused (a closed port, password in ?password=): says refused and masks the parameter", async () => {
    const port = await freePort();
    const err = await failure(openPostgres(`postgresql://acn_user@127.0.0.1:${port}/acn_user?password=${password}`, { migrate: false }));
    expect(err.reason).toBe("refused");
    expect(err.message).toBe(`cannot reach the database at postgresql://acn_user@127.0.0.1:${port}/acn_user?password=*** (connection refused: nothing listens there); ` +
      "start PostgreSQL or fix database: in the config");
  });

  it("timed out (a server that never answers): says timed out", async () => {
    const silent = await silentServer();
    try {
      const err = await failure(openPostgres(url("acn_user", encodeURIComponent(password), "acn_user", silent.port), { migrate: false, connectTimeoutMs: 1000 }));
      expect(err.reason).toBe("timeout");
      expect(err.message).toMatch(/^timed out connecting to the database at postgresql:\/\/acn_user:\*\*\*@127\.0\.0\.1:\d+\/acn_user \(.*\); check the address/);
      expect(err.message).not.toContain(password);
    } finally {
      silent.close();
    }
  });
});

describe("a role the shared test server does not have (trust auth on 127.0.0.1:5432)", () => {
  it("says the role does not exist, not 'cannot reach'", async () => {
    const err = await failure(openPostgres("postgresql://acn_no_such_role@127.0.0.1:5432/postgres", { migrate: false }));
    expect(err.reason).toBe("missing");
    expect(err.message).toMatch(/^the database server at postgresql:\/\/acn_no_such_role@127\.0\.0\.1:5432\/postgres has no role "acn_no_such_role"/);
  });
});
