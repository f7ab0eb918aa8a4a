import type { Redis } from "ioredis";
import { loadConfig, type Config, type ConfigInput, type LoadOptions } from "../config";
import { registerBuiltinJobs } from "../jobs/builtin";
import { QueueSet } from "../queue/queue-set";
import { connectRedis } from "../queue/redis";
import { JobRegistry } from "./registry";

/** Everything a process needs to work on one queue set. */
export interface QueueConnection {
  config: Config;
  /** Commands and scripts. */
  redis: Redis;
  /** Blocking reads (BLMOVE) only: a blocked client cannot run anything else. */
  blocking: Redis;
  queues: QueueSet;
  registry: JobRegistry;
  close(): Promise<void>;
}

/**
 * Loads the config (a path, an object, or $AUTOCNET_CONFIG), connects to its Redis (two clients) and
 * loads its job modules. Throws one clear line if Redis cannot be reached or a module cannot be loaded.
 */
export async function openQueues(source?: string | ConfigInput | Config, options: LoadOptions = {}): Promise<QueueConnection> {
  const config = isConfig(source) ? source : loadConfig(source, options);
  const redis = await connectRedis(config.redis);
  let blocking: Redis;
  try {
    blocking = await connectRedis(config.redis, { connectionName: "autocnet-blocking" });
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const registry = registerBuiltinJobs(new JobRegistry());
  try {
    await registry.loadModules(config.jobs);
  } catch (err) {
    redis.disconnect();
    blocking.disconnect();
    throw err;
  }
  return {
    config, redis, blocking, queues: new QueueSet(redis, config), registry,
    async close() {
      blocking.disconnect();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

function isConfig(x: unknown): x is Config {
  return typeof x === "object" && x !== null && Array.isArray((x as Config).warnings) && typeof (x as Config).redis?.processing_queue === "string";
}
