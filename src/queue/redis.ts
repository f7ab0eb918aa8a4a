import * as fs from "fs";
import type { ConnectionOptions } from "tls";
import IORedis, { type Redis, type RedisOptions } from "ioredis";
import type { RedisConfig } from "../config";
import { ConfigError, ConnectionError, type ConnectionFailure } from "../errors";
import { maskSecrets, secretsOfUrl } from "../secrets";
import { defineScripts } from "./scripts";

/** Where a Redis config points, for messages: never a password (see maskSecrets). */
export function describeRedis(config: Pick<RedisConfig, "host" | "port" | "url" | "db"> & Partial<Pick<RedisConfig, "password" | "tls">>): string {
  const tls = config.tls && !config.url?.startsWith("rediss://") ? " with TLS" : "";
  if (config.url) return maskSecrets(config.url, { known: [config.password, ...secretsOfUrl(config.url)] }) + tls;
  return `${config.host}:${config.port}${config.db ? `/${config.db}` : ""}${tls}`;
}

/** ioredis's TLS options for `redis.tls` (files read now; a file that cannot be read is named with its key). */
export function redisTlsOptions(config: Pick<RedisConfig, "tls" | "url">): ConnectionOptions | undefined {
  const t = config.tls;
  if (!t) return config.url?.startsWith("rediss://") ? {} : undefined;
  const read = (key: "ca" | "cert" | "key"): Buffer | undefined => {
    const file = t[key];
    if (file === undefined) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new ConfigError(`redis.tls.${key}: cannot read ${file} (${code}); check the path (relative to the config file)`, `redis.tls.${key}`);
    }
  };
  const options: ConnectionOptions = { rejectUnauthorized: t.reject_unauthorized };
  const ca = read("ca");
  const cert = read("cert");
  const key = read("key");
  if (ca) options.ca = ca;
  if (cert) options.cert = cert;
  if (key) options.key = key;
  if (t.servername) options.servername = t.servername;
  return options;
}

/** An ioredis client for a config, not yet connected, with the transition scripts defined. */
export function createRedis(config: RedisConfig, overrides: RedisOptions = {}): Redis {
  const tls = "tls" in overrides ? overrides.tls : redisTlsOptions(config);
  const options: RedisOptions = {
    username: config.username,
    password: config.password,
    db: config.db,
    lazyConnect: true,
    connectionName: "autocnet",
    ...(tls ? { tls } : {}),
    ...overrides,
  };
  const client = config.url ? new IORedis(config.url, options) : new IORedis(config.port, config.host, options);
  // Reconnects are ioredis's business; without a listener an 'error' event would crash the process.
  client.on("error", () => {});
  defineScripts(client);
  return client;
}

/** Seconds connectRedis waits for a server's answer (TCP, TLS, AUTH, PING) before it gives up. */
export const REDIS_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Creates a client and waits until it answers. If Redis cannot be reached or refuses us, throws one line
 * that keeps the cause (authentication failed, TLS verification failed, refused, timed out), names the
 * address (masked) and what to do, and leaves nothing running.
 */
export async function connectRedis(config: RedisConfig, overrides: RedisOptions = {}): Promise<Redis> {
  const timeoutMs = overrides.connectTimeout ?? REDIS_CONNECT_TIMEOUT_MS;
  const tls = "tls" in overrides ? overrides.tls : redisTlsOptions(config);
  const client = createRedis(config, { connectTimeout: timeoutMs, ...overrides, tls });
  // the cause comes as an 'error' event; connect() itself then only says "Connection is closed."
  const seen: Error[] = [];
  const onError = (err: Error) => void seen.push(err);
  client.on("error", onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer in ${timeoutMs / 1000} s`), { code: "AUTOCNET_TIMEOUT" })), timeoutMs);
    });
    const attempt = client.connect().then(() => client.ping());
    attempt.catch(() => {}); // after the deadline, its rejection is expected and not ours to report
    await Promise.race([attempt, deadline]);
  } catch (err) {
    client.disconnect();
    throw redisConnectionError(config, seen.find(isTelling) ?? (err as Error), tls);
  } finally {
    clearTimeout(timer);
    client.off("error", onError);
  }
  return client;
}

/** An error message on one line; OpenSSL's long form ("…:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:…") cut to its reason. */
export function oneLine(message: string): string {
  const ssl = /SSL routines:[^:]*:([^:]+)/.exec(message);
  return (ssl ? ssl[1] : message).replace(/\s+/g, " ").trim();
}

/** Errors that say more than ioredis's "Connection is closed.". */
function isTelling(err: Error): boolean {
  return !/^Connection is closed\.?$/.test(err.message);
}

/** TLS error codes that mean the server's certificate did not verify. */
const TLS_VERIFY_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "CERT_SIGNATURE_FAILURE", "CERT_REVOKED",
  "CERT_UNTRUSTED", "CERT_REJECTED", "INVALID_CA", "ERR_TLS_CERT_ALTNAME_INVALID", "HOSTNAME_MISMATCH", "INVALID_PURPOSE",
]);

/** The one-line error for a failed Redis connection: the cause, the address (masked), what to do. */
export function redisConnectionError(config: RedisConfig, err: Error, tls?: ConnectionOptions | undefined): ConnectionError {
  const where = describeRedis(config);
  const code = String((err as NodeJS.ErrnoException).code ?? "");
  const known = [config.password, ...(config.url ? secretsOfUrl(config.url) : [])];
  const detail = maskSecrets(oneLine(err.message), { known });
  const fail = (reason: ConnectionFailure, message: string) => new ConnectionError(maskSecrets(message, { known }), reason);
  if (/^NOAUTH\b/.test(err.message)) {
    return fail("auth", `authentication failed at Redis ${where}: the server requires a password and none was given (${detail}); ` +
      `set redis.password (and redis.username for an ACL user), or put them in redis.url`);
  }
  if (/^WRONGPASS\b|invalid password|invalid username-password/i.test(err.message)) {
    return fail("auth", `authentication failed at Redis ${where}: wrong user name or password (${detail}); ` +
      `check redis.username and redis.password (or the user-info of redis.url)`);
  }
  if (/^NOPERM\b/.test(err.message)) {
    return fail("auth", `Redis ${where} accepted the login but the user may not run what autocnet needs (${detail}); ` +
      `grant the ACL user the commands and keys of redis.basename`);
  }
  // the server rejected our handshake (a TLS alert: no or a wrong client certificate, no common protocol)
  if (code.startsWith("ERR_SSL_") || /SSL routines|tlsv1\d? alert/i.test(err.message)) {
    if (/certificate required/i.test(err.message) || code === "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED") {
      return fail("tls", `the TLS handshake with Redis ${where} failed: the server requires a client certificate (${detail}); ` +
        "set redis.tls.cert and redis.tls.key");
    }
    return fail("tls", `the TLS handshake with Redis ${where} failed (${detail}); ` +
      (tls && !tls.cert ? "the server may require a client certificate: set redis.tls.cert and redis.tls.key"
        : "check redis.tls (cert, key, ca) against the server's TLS settings"));
  }
  // we rejected the server's certificate
  if (TLS_VERIFY_CODES.has(code) || /certificate/i.test(err.message)) {
    const altname = code === "ERR_TLS_CERT_ALTNAME_INVALID" || code === "HOSTNAME_MISMATCH";
    return fail("tls", `TLS verification failed for Redis ${where}: ${detail}` +
      (altname ? "; set redis.tls.servername to a name in the server's certificate, or connect by that name"
        : "; set redis.tls.ca to the certificate authority that signed the server's certificate (a PEM file)"));
  }
  if (code === "ECONNREFUSED") {
    return fail("refused", `cannot reach Redis at ${where} (connection refused: nothing listens there); ` +
      `start Redis or set redis.host/redis.port/redis.url in the config`);
  }
  if (code === "ETIMEDOUT" || code === "AUTOCNET_TIMEOUT") {
    return fail("timeout", `timed out connecting to Redis at ${where} (${detail}); check the address and any firewall, ` +
      (tls ? "and that the port speaks TLS (drop redis.tls and rediss:// if it does not)" : "and whether the port expects TLS (rediss:// or redis.tls)"));
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return fail("not-found", `cannot reach Redis at ${where} (host name not found: ${detail}); fix redis.host or redis.url`);
  }
  if (code === "ECONNRESET" || code === "EPIPE") {
    return fail(tls ? "tls" : "other", `Redis at ${where} closed the connection during the handshake (${detail}); ` +
      (tls ? (tls.cert ? "the server did not accept our TLS client certificate: check redis.tls.cert/key against its CA"
        : "the server may require a client certificate: set redis.tls.cert and redis.tls.key")
        : "if that port speaks TLS, use a rediss:// URL or set redis.tls"));
  }
  return fail("other", `cannot reach Redis at ${where} (${detail}); start Redis or set redis.host/redis.port/redis.url in the config`);
}
