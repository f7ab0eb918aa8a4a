#!/usr/bin/env node
/**
 * autocnet-sentinel: keeps a campaign healing when no notebook is open. Shares the sweep lock with the
 * sentinel inside a graph's process, so only one sweeps at a time.
 *
 *   autocnet-sentinel [--config FILE]
 */
import { openQueues } from "../worker/connection";
import { errorMessage } from "../errors";
import { Sentinel } from "../campaign/sentinel";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let config: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--config" || args[i] === "-c") config = args[++i];
    else throw new Error(`unknown argument '${args[i]}'; usage: autocnet-sentinel [--config FILE]`);
  }
  const conn = await openQueues(config);
  const sentinel = new Sentinel(conn.queues, conn.registry, { log: (l) => console.error(`[sentinel] ${l}`) }).start();
  console.error(`autocnet-sentinel: watching ${conn.queues.keys.working} every ${conn.config.cluster.sentinel_interval}s`);
  const keepAlive = setInterval(() => {}, 1 << 30);
  const stop = async () => {
    clearInterval(keepAlive);
    await sentinel.stop();
    console.error(`autocnet-sentinel: stopped ${JSON.stringify(sentinel.status())}`);
    await conn.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((err) => {
  console.error(`autocnet-sentinel: ${errorMessage(err)}`);
  process.exit(2);
});
