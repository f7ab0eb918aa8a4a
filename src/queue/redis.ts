import IORedis, { type Redis, type RedisOptions } from "ioredis";
import type { RedisConfig } from "../config";
import { ConnectionError } from "../errors";
import { defineScripts } from "./scripts";

/** Where a Redis config points, for messages. */
export function describeRedis(config: Pick<RedisConfig, "host" | "port" | "url" | "db">): string {
  if (config.url) return config.url.replace(/\/\/([^@/]*)@/, "//***@");
  return `${config.host}:${config.port}${config.db ? `/${config.db}` : ""}`;
}

/** An ioredis client for a config, not yet connected, with the transition scripts defined. */
export function createRedis(config: RedisConfig, overrides: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    username: config.username,
    password: config.password,
    db: config.db,
    lazyConnect: true,
    connectionName: "autocnet",
    ...overrides,
  };
  const client = config.url ? new IORedis(config.url, options) : new IORedis(config.port, config.host, options);
  // Reconnects are ioredis's business; without a listener an 'error' event would crash the process.
  client.on("error", () => {});
  defineScripts(client);
  return client;
}

/**
 * Creates a client and waits until it answers. If Redis cannot be reached, throws one line naming the
 * address and what to do, and leaves nothing running.
 */
export async function connectRedis(config: RedisConfig, overrides: RedisOptions = {}): Promise<Redis> {
  const client = createRedis(config, overrides);
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    client.disconnect();
    throw new ConnectionError(
      `cannot reach Redis at ${describeRedis(config)} (${(err as Error).message}); ` +
        `start Redis or set redis.host/redis.port/redis.url in the config`,
    );
  }
  return client;
}
