/**
 * A BullMQ worker process for the comparison benchmark: no-op jobs at the given concurrency.
 *   node build/bench/bullmq-worker.js PORT QUEUE CONCURRENCY
 * (bullmq is a devDependency: this file is only run by the benchmark.)
 */
async function main(): Promise<void> {
  const [port, queueName, concurrency] = process.argv.slice(2);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Worker } = require("bullmq") as typeof import("bullmq");
  const worker = new Worker(queueName, async () => undefined, {
    connection: { host: "127.0.0.1", port: Number(port) },
    concurrency: Number(concurrency),
  });
  await worker.waitUntilReady();
  process.stdout.write("ready\n");
  const stop = async () => {
    await worker.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
}

main().catch((err) => {
  console.error(`bullmq worker: ${(err as Error).message}`);
  process.exit(1);
});
