/**
 * npm run bench [-- --quick] [-- --json FILE]
 *
 * autocnet-ts against BullMQ and Redis's ceiling, in one run, on a private redis-server (no persistence,
 * same settings for both). Prints the median of 3 runs with min–max, and the ratios. `--quick` uses small
 * sizes (under a minute, what CI runs so the bench cannot rot).
 */
import * as fs from "fs";
import * as os from "os";
import { benchDeadWorker, benchPush, benchSentinel, type EngineBenchOptions } from "./engine";
import { benchEnqueue, benchLifecycleCompare, benchMemory } from "./compare";
import { benchDisplay } from "./display";
import { startPrivateRedis } from "./redis-server";
import { fmt, type Figure } from "./stats";

const range = (f: Figure, d = 0) => `${fmt(f.median, d)} (${fmt(f.min, d)}–${fmt(f.max, d)})`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const jsonIdx = args.indexOf("--json");
  const jsonFile = jsonIdx >= 0 ? args[jsonIdx + 1] : undefined;
  if (jsonIdx >= 0 && !jsonFile) throw new Error("--json needs a file name");
  const sizes = quick
    ? { enqueue: 50_000, enqueueBull: 20_000, lifecycle: 20_000, sentinel: 10_000, spread: 3_000, memory: 20_000, push: 20_000 }
    : { enqueue: 1_000_000, enqueueBull: 1_000_000, lifecycle: 200_000, sentinel: 100_000, spread: 10_000, memory: 100_000, push: 100_000 };
  const redis = await startPrivateRedis();
  const o: EngineBenchOptions = { port: redis.port, quick, runs: 3, log: console.log };
  const out: Record<string, unknown> = { quick, machine: { cores: os.cpus().length, node: process.version }, sizes };
  const t0 = Date.now();
  const say = (s: string) => console.log(s);
  try {
    say(`autocnet-ts benchmark${quick ? " (quick)" : ""}: private redis-server on 127.0.0.1:${redis.port}, no persistence; ` +
      `${os.cpus().length} cores shared by Redis, clients and workers: compare ratios, not absolute figures.`);
    say("median of 3 runs (min–max)\n");

    const e = await benchEnqueue(o, sizes.enqueue, sizes.enqueueBull);
    out.enqueue = e;
    say(`1. enqueue      ours: ncg.apply over ${fmt(e.n)} edges  ${range(e.ours)} msg/s`);
    say(`                BullMQ addBulk (${fmt(sizes.enqueueBull)})      ${range(e.bullmq)} jobs/s`);
    say(`                redis-benchmark LPUSH -P 64       ${range(e.ceiling)} ops/s (the ceiling)`);
    say(`                => ${fmt(e.ratio_vs_bullmq, 1)}x BullMQ (target >= 10x), ${fmt(e.fraction_of_ceiling * 100, 0)} % of the ceiling (target >= 25 %)\n`);

    const l = await benchLifecycleCompare(o, sizes.lifecycle, 4, 50);
    out.lifecycle = l;
    say(`2. lifecycle    ${fmt(l.n)} no-op jobs, ${l.processes} processes x ${l.concurrency}, steady state (10–90 % done)`);
    say(`                ours (lineage on)  ${range(l.ours)} jobs/s`);
    say(`                BullMQ             ${range(l.bullmq)} jobs/s`);
    say(`                => ${fmt(l.ratio_vs_bullmq, 2)}x BullMQ (target >= 2x)\n`);

    const s = await benchSentinel(o, sizes.sentinel, sizes.spread);
    out.sentinel = s;
    say(`3. sentinel     ${fmt(s.entries)} working entries expiring over ${sizes.spread / 1000} s (+ ${fmt(s.entries)} not expiring)`);
    say(`                requeue delay after the deadline: p50 ${fmt(s.p50_ms)} ms, p99 ${fmt(s.p99_ms)} ms, max ${fmt(s.max_ms)} ms (target p99 <= 1000 ms)`);
    say(`                ${fmt(s.commands_per_requeue, 3)} Redis commands per requeued job; an idle sweep of the ${fmt(s.entries * 2)}-entry working list: ${fmt(s.idle_commands_per_sweep, 1)} commands\n`);

    const d = await benchDeadWorker(o, 1);
    out.dead_worker = { detect_s: d.median, heartbeat_s: 1, runs: d.runs, min: d.min, max: d.max };
    say(`4. dead worker  kill -9 of 2 workers holding jobs, heartbeat 1 s: back in processing after ${range(d, 2)} s (target <= 2 s)\n`);

    const m = await benchMemory(o, sizes.memory);
    out.memory = { bytes_per_job: { ours: m.ours, bullmq: m.bullmq }, payload_bytes: m.payload_bytes, n: m.n };
    say(`5. memory       Redis bytes per queued plain edge job (${fmt(m.n)} queued): ours ${fmt(m.ours)} B (payload ${m.payload_bytes} B), BullMQ ${fmt(m.bullmq)} B`);
    say(`                => ${fmt(m.bullmq / m.ours, 1)}x less than BullMQ (target: payload <= 256 B, less than BullMQ)\n`);

    const disp = benchDisplay(100_000);
    out.display = disp;
    say(`6. displays     ${fmt(disp.jobs)} jobs: lineage ${range(disp.lineage_ms)} ms, queue depth (${fmt(disp.jobs)} samples) ${range(disp.queue_depth_ms)} ms (target < 200 ms)\n`);

    const push = await benchPush(o, sizes.push);
    out.push = push;
    say(`   (engine only) QueueSet.submit of ${fmt(sizes.push)}: ${range(push)} msg/s`);
    say(`\ntotal ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify(out, null, 2));
  } finally {
    await redis.stop();
  }
}

main().catch((err) => {
  console.error(`benchmark failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
