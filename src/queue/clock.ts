import type { Redis } from "ioredis";

/**
 * Redis's clock in epoch milliseconds. Every deadline is stamped with it (the Lua side is `now_ms` in
 * commands/includes/common.lua), so nodes with skewed clocks agree on what has expired.
 */
export async function redisNowMs(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}
