import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { ensureConfigFile, loadConfig, removeConfigFile, type ConfigInput } from "../src/config";
import { hidePassword } from "../src/database";
import { ConfigError, errorMessage } from "../src/errors";
import { describeRedis } from "../src/queue/redis";
import { maskSecrets, secretsOfUrl } from "../src/secrets";

const quiet = { onWarning: () => {} };
const PW = "s3cr@t:p/w?x#1";

describe("maskSecrets: the one masking function", () => {
  it.each([
    // user-info, an unencoded @ in the password included (user-info ends at the last @)
    ["postgresql://u:p@ss@host:5432/db", "postgresql://u:***@host:5432/db"],
    ["redis://:p@ss@w@host:6379/0", "redis://:***@host:6379/0"],
    ["rediss://default:tok3n@redis.example:6380", "rediss://default:***@redis.example:6380"],
    // +driver schemes
    ["postgresql+psycopg2://acn:hunter2@db/ctx", "postgresql+psycopg2://acn:***@db/ctx"],
    ["redis+tls://default:hunter2@h:6380", "redis+tls://default:***@h:6380"],
    // query parameters, values holding @ : /
    ["redis://host:6379/0?password=p@ss:w/rd&db=1", "redis://host:6379/0?password=***&db=1"],
    ["postgresql://u@h/db?sslmode=require&sslpassword=k3y&application_name=a", "postgresql://u@h/db?sslmode=require&sslpassword=***&application_name=a"],
    ["https://api/x?token=abc123&secret=s&key=K&pass=p&page=2", "https://api/x?token=***&secret=***&key=***&pass=***&page=2"],
    // pairs in free text: libpq DSN, YAML, JSON
    ["host=db port=5432 password=hunter2 user=u", "host=db port=5432 password=*** user=u"],
    ["password: hunter2", "password: ***"],
    ['{"password":"hunter2","user":"u","api_key":"abc"}', '{"password":"***","user":"u","api_key":"***"}'],
    // what is not a secret stays readable
    ["rediss://user@host:6380/0", "rediss://user@host:6380/0"],
    ["/tmp/c.yml: redis.password: expected a string", "/tmp/c.yml: redis.password: expected a string"],
    ["Unexpected token } in JSON at position 3", "Unexpected token } in JSON at position 3"],
    ["password authentication failed for user \"acn\"", "password authentication failed for user \"acn\""],
  ])("%s", (input, expected) => {
    expect(maskSecrets(input)).toBe(expected);
  });

  it("a URL embedded in a sentence, several URLs in one text", () => {
    expect(maskSecrets("cannot reach postgresql://a:b@h/db (x); also redis://:c@d@r:1/0?password=e@f"))
      .toBe("cannot reach postgresql://a:***@h/db (x); also redis://:***@r:1/0?password=***");
  });

  it("values: secret-named keys hidden at any depth, strings masked as text", () => {
    expect(maskSecrets({ redis: { url: "redis://u:pw@h", password: "x1", port: 1 }, database: { password: 12345, name: "n" }, token: ["a"] }))
      .toBe('{"redis":{"url":"redis://u:***@h","password":"***","port":1},"database":{"password":"***","name":"n"},"token":"***"}');
    expect(maskSecrets("anything", { key: "database.password" })).toBe("***");
    expect(maskSecrets("fine", { key: "redis.url" })).toBe("fine");
  });

  it("known secrets are hidden wherever they appear, raw or URL-encoded (a space, which ends a URL, included)", () => {
    expect(maskSecrets(`pa ss failed; pa%20ss; ${encodeURIComponent(PW)}; ${PW}`, { known: ["pa ss", PW] })).toBe("*** failed; ***; ***; ***");
    expect(secretsOfUrl(`mysql://u:pa ss@h/db`)).toContain("pa ss");
    expect(maskSecrets("mysql://u:pa ss@h/db", { known: secretsOfUrl("mysql://u:pa ss@h/db") })).not.toMatch(/pa|ss@/);
    // a ?password= holding @ does not mislead the user-info
    const url = `postgresql://acn@h:1/db?password=${PW}`;
    expect(secretsOfUrl(url)).toContain(PW);
    expect(maskSecrets(`at ${url} (refused)`, { known: secretsOfUrl(url) })).toBe("at postgresql://acn@h:1/db?password=*** (refused)");
    expect(maskSecrets(`at ${url} (refused)`)).toBe("at postgresql://acn@h:1/db?password=*** (refused)");
  });

  it("is what describeRedis, hidePassword and errorMessage use", () => {
    expect(describeRedis({ url: `redis://default:${PW.replace("/", "%2F").replace("?", "%3F").replace("#", "%23")}@h:1/0`, host: "", port: 0, db: 0 })).toBe("redis://default:***@h:1/0");
    expect(describeRedis({ url: "redis://h:1/0?password=p@ss", host: "", port: 0, db: 0 })).toBe("redis://h:1/0?password=***");
    expect(hidePassword("postgresql+psycopg2://u:p@ss@h/db")).toBe("postgresql+psycopg2://u:***@h/db");
    expect(hidePassword("postgresql://u@h/db?password=p@ss:x")).toBe("postgresql://u@h/db?password=***");
    expect(errorMessage(new Error("failed at postgresql://u:hunter2@h/db"))).toBe("failed at postgresql://u:***@h/db");
  });
});

describe("config errors never echo a secret", () => {
  function configError(input: unknown): string {
    try {
      loadConfig(input as ConfigInput, quiet);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error("expected a ConfigError");
  }

  it("a SQLAlchemy +driver database URL: refused with a hint, its password masked", () => {
    const msg = configError({ database: `postgresql+psycopg2://acn:${PW}@db.example/ctx` });
    expect(msg).toBe('configuration: database: expected a postgresql:// URL: a SQLAlchemy driver such as +psycopg2 has no meaning here, drop it (got "postgresql+psycopg2://acn:***@db.example/ctx")');
  });

  it("a redis+tls:// URL, a redis URL with ?password=: masked", () => {
    expect(configError({ redis: { url: `redis+tls://default:${PW}@h:6380` } })).toBe(
      'configuration: redis.url: expected a redis:// or rediss:// URL (for TLS: rediss://, or redis.tls) (got "redis+tls://default:***@h:6380")');
    const msg = configError({ redis: { url: `http://h:1/0?password=${PW}` } });
    expect(msg).toContain('(got "http://h:1/0?password=***")');
    expect(msg).not.toContain("s3cr");
  });

  it("a wrong type under a secret key, or a whole section holding one: masked", () => {
    expect(configError({ redis: { password: { nested: PW } } })).not.toContain("s3cr");
    expect(configError({ database: { username: "u", password: PW, host: "h", port: "x" } })).not.toContain("s3cr");
    expect(configError({ database: { username: "u", password: PW, host: ["h"], name: "n" } })).not.toContain("s3cr");
    expect(configError({ redis: { password: [PW] } })).toMatch(/^configuration: redis\.password: .*\(got \*\*\*\)$/);
  });
});

describe("the config file written for workers", () => {
  it("is 0600 in a 0700 directory of its own, holds the config, and removeConfigFile deletes it", () => {
    const c = loadConfig({ redis: { password: PW }, database: { username: "u", password: PW, name: "n" } }, quiet);
    const file = ensureConfigFile(c);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(path.dirname(file))).toEqual(["config.yml"]);
    expect(loadConfig(file, quiet).database).toEqual(c.database); // workers get the credentials from it
    expect(ensureConfigFile(c)).toBe(file);
    removeConfigFile(c);
    expect(fs.existsSync(path.dirname(file))).toBe(false);
    expect(c.source).toBeUndefined();
  });

  it("removeConfigFile leaves a config file it did not write alone", () => {
    const dir = fs.mkdtempSync(path.join(require("os").tmpdir(), "acn-own-config-"));
    const file = path.join(dir, "config.yml");
    fs.writeFileSync(file, "redis:\n  basename: mine\n");
    const c = loadConfig(file, quiet);
    removeConfigFile(c);
    expect(fs.existsSync(file)).toBe(true);
    expect(c.source).toBe(file);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("the config file written for workers, when the process ends without close()", () => {
  it("is removed at exit", () => {
    const script = `
      const { loadConfig, ensureConfigFile } = require(${JSON.stringify(path.join(__dirname, "..", "dist", "config"))});
      const c = loadConfig({ redis: { password: "hunter2-at-exit" } }, { onWarning: () => {} });
      console.log(ensureConfigFile(c));`;
    const r = require("child_process").spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    const file = r.stdout.trim();
    expect(file).toMatch(/autocnet-config-.*config\.yml$/);
    expect(fs.existsSync(path.dirname(file))).toBe(false);
  });
});
