import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterEach, describe, expect, it } from "vitest";
import { configToInput, ensureConfigFile, loadConfig } from "../src/config";
import { ConfigError } from "../src/errors";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "acn-config-"));
function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}
const quiet = { onWarning: () => {} };

describe("loadConfig", () => {
  const saved = { a: process.env.AUTOCNET_CONFIG, b: process.env.autocnet_config };
  afterEach(() => {
    for (const [k, v] of [["AUTOCNET_CONFIG", saved.a], ["autocnet_config", saved.b]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("fills defaults and derives queue names from basename", () => {
    const c = loadConfig(write("min.yml", "redis:\n  basename: ctx\n"), quiet);
    expect(c.redis).toMatchObject({
      host: "127.0.0.1", port: 6379, processing_queue: "ctx:processing", working_queue: "ctx:working",
      completed_queue: "ctx:completed",
    });
    expect(c.cluster).toMatchObject({ backend: "local", maxfailures: 3, walltime: 600 });
    expect(c.database).toBeUndefined();
  });

  it("keeps explicit queue names (AutoCNet's keys) and accepts a numeric-string port", () => {
    const c = loadConfig(write("names.yml", [
      "redis:", "  host: localhost", "  port: '6380'", "  processing_queue: p", "  working_queue: w", "  completed_queue: c",
    ].join("\n")), quiet);
    expect(c.redis.port).toBe(6380);
    expect([c.redis.processing_queue, c.redis.working_queue, c.redis.completed_queue]).toEqual(["p", "w", "c"]);
  });

  it("accepts a redis URL, AutoCNet database keys, a database URL, and resolves jobs relative to the file", () => {
    const c = loadConfig(write("full.yml", [
      "redis:", "  url: rediss://user:pw@example:6390/0",
      "cluster:", "  walltime: '1-00:00:00'", "  queue: debug", "  arraychunk: 10",
      "database:", "  type: postgresql", "  username: u", "  password: p", "  host: db", "  port: 5433", "  name: mars",
      "jobs: [./myjobs.js]",
    ].join("\n")), quiet);
    expect(c.redis.url).toBe("rediss://user:pw@example:6390/0");
    expect(c.cluster.walltime).toBe(86400);
    expect(c.cluster.queue).toBe("debug");
    expect(c.database).toMatchObject({ host: "db", port: 5433, name: "mars" });
    expect(c.jobs).toEqual([path.join(dir, "myjobs.js")]);
    expect(loadConfig({ database: "postgresql://localhost/test" }, quiet).database).toEqual({ url: "postgresql://localhost/test" });
  });

  it("warns about unknown keys, naming them and the file, and still loads", () => {
    const warnings: string[] = [];
    const file = write("unknown.yml", "redis:\n  hots: x\nclustre:\n  a: 1\nspatial:\n  radius: 3\n");
    const c = loadConfig(file, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([`${file}: unknown key redis.hots is ignored`, `${file}: unknown key clustre is ignored`]);
    expect(c.warnings).toHaveLength(2);
  });

  it.each([
    ["redis:\n  port: abc\n", /redis\.port: .*port number.*"abc"/],
    ["redis:\n  port: 70000\n", /redis\.port: expected a port number from 1 to 65535/],
    ["cluster:\n  backend: pbs\n", /cluster\.backend: .*"local".*"slurm".*\(got "pbs"\)/],
    ["cluster:\n  maxfailures: -1\n", /cluster\.maxfailures/],
    ["cluster:\n  walltime: 30\n", /cluster\.walltime: expected a SLURM time string/],
    ["cluster:\n  walltime: soon\n", /cluster\.walltime: "soon" is not a SLURM time/],
    ["redis:\n  url: http://x\n", /redis\.url: expected a redis:\/\/ or rediss:\/\/ URL/],
    ["database:\n  host: x\n", /database\.name: expected the database name/],
    ["jobs: notalist\n", /jobs: /],
    ["- a\n- b\n", /expected a mapping of sections/],
  ])("rejects %j with the key path and file", (text, pattern) => {
    const file = write(`bad-${Math.random()}.yml`, text);
    let err: unknown;
    try {
      loadConfig(file, quiet);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message.startsWith(file)).toBe(true);
    expect((err as Error).message).not.toContain("\n");
  });

  it("says clearly when the file is missing or not YAML", () => {
    expect(() => loadConfig(path.join(dir, "nope.yml"))).toThrow(/nope\.yml: cannot read the configuration \(ENOENT\); check the path/);
    expect(() => loadConfig(write("broken.yml", "redis: [unclosed\n"))).toThrow(/broken\.yml: not valid YAML/);
  });

  it("reads $AUTOCNET_CONFIG, and AutoCNet's lower-case $autocnet_config", () => {
    delete process.env.AUTOCNET_CONFIG;
    process.env.autocnet_config = write("lower.yml", "redis:\n  basename: lower\n");
    expect(loadConfig(undefined, quiet).redis.basename).toBe("lower");
    process.env.AUTOCNET_CONFIG = write("upper.yml", "redis:\n  basename: upper\n");
    expect(loadConfig(undefined, quiet).redis.basename).toBe("upper");
  });

  it("a config object is written to a file for worker processes and reads back the same", () => {
    const c = loadConfig({ redis: { basename: "rt", port: "6390" }, cluster: { walltime: "1-12:00:00", backend: "slurm", queue: "debug" },
      database: { embedded: "/tmp/x-db" }, jobs: ["/abs/jobs.js"] }, quiet);
    expect(c.source).toBeUndefined();
    const file = ensureConfigFile(c);
    expect(c.source).toBe(file);
    const back = loadConfig(file, quiet);
    expect(back.redis).toEqual(c.redis);
    expect(back.cluster).toEqual(c.cluster);
    expect(back.database).toEqual({ embedded: "/tmp/x-db" });
    expect(back.jobs).toEqual(["/abs/jobs.js"]);
    expect(configToInput(c).cluster?.walltime).toBe("1-12:00:00");
  });
});
